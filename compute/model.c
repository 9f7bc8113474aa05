/* model.c - a TUNIT model: architecture, weights (as float32), centroids,
 * and the network description built from them. */
#include "model-private.h"
#include "network.h"

#include <string.h>

#define FORMAT_VERSION 1

struct _TunitModel {
  gint ref_count;
  SafetensorsFile *file;       /* the parsed file; its bytes back saving */
  GHashTable *tensors;         /* name -> TunitTensor* */
  TunitArchitecture architecture;
  const TunitTensor *centroids;
  TunitNetwork *network;
};

static void
tensor_free (gpointer data)
{
  TunitTensor *tensor = data;
  g_free (tensor->converted);
  g_free (tensor);
}

static gboolean
read_metadata_int (GHashTable *metadata, const char *key, gint64 min, gint64 max,
                   int *value, GError **error)
{
  const char *text = g_hash_table_lookup (metadata, key);
  if (text == NULL) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT,
                 "not a TUNIT model file: metadata '%s' is missing", key);
    return FALSE;
  }
  gint64 number;
  g_autoptr (GError) parse_error = NULL;
  if (!g_ascii_string_to_signed (text, 10, min, max, &number, &parse_error)) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT,
                 "model metadata '%s' = '%s' is invalid: %s", key, text, parse_error->message);
    return FALSE;
  }
  *value = (int) number;
  return TRUE;
}

static gboolean
read_architecture (GHashTable *metadata, TunitArchitecture *architecture, GError **error)
{
  int version;
  if (!read_metadata_int (metadata, "tunit.format_version", 1, 1000, &version, error))
    return FALSE;
  if (version > FORMAT_VERSION) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT,
                 "model format version %d is newer than this library reads (%d)",
                 version, FORMAT_VERSION);
    return FALSE;
  }
  /* The ranges are the ones models/FORMAT.md gives.  img_size is bounded
   * through n_downs: a reference image is resized to img_size x img_size
   * and the guiding network's first activation takes img_size^2 x 64
   * floats, 256 MiB at the largest. */
  if (!read_metadata_int (metadata, "tunit.img_size", 32, 1024, &architecture->img_size, error)
      || !read_metadata_int (metadata, "tunit.style_dim", 1, 65536, &architecture->style_dim, error)
      || !read_metadata_int (metadata, "tunit.nf", 1, 4096, &architecture->nf, error)
      || !read_metadata_int (metadata, "tunit.n_downs", 1, 6, &architecture->n_downs, error)
      || !read_metadata_int (metadata, "tunit.n_res", 0, 64, &architecture->n_res, error)
      || !read_metadata_int (metadata, "tunit.mlp_dim", 1, 65536, &architecture->mlp_dim, error)
      || !read_metadata_int (metadata, "tunit.mlp_layers", 2, 64, &architecture->mlp_layers, error)
      || !read_metadata_int (metadata, "tunit.num_domains", 1, 65536, &architecture->num_domains, error))
    return FALSE;
  if (architecture->img_size != 16 << architecture->n_downs) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT,
                 "model metadata 'tunit.img_size' = %d does not match 'tunit.n_downs' = %d "
                 "(img_size is 16 * 2^n_downs)", architecture->img_size, architecture->n_downs);
    return FALSE;
  }
  return TRUE;
}

/* Aligned little-endian F32 data can be used where it lies (the file is
 * mapped read-only), which keeps a model's memory at the size of its file. */
static gboolean
usable_in_place (const SafetensorsTensor *source)
{
  return G_BYTE_ORDER == G_LITTLE_ENDIAN && source->dtype == TUNIT_DTYPE_F32
         && ((guintptr) source->data % G_ALIGNOF (float)) == 0;
}

static gboolean
convert_tensors (TunitModel *model, GError **error)
{
  for (guint i = 0; i < model->file->tensors->len; i++) {
    const SafetensorsTensor *source = model->file->tensors->pdata[i];
    TunitTensor *tensor = g_new0 (TunitTensor, 1);
    tensor->name = source->name;
    tensor->n_dims = source->n_dims;
    memcpy (tensor->dims, source->dims, sizeof tensor->dims);
    tensor->n_elements = source->n_elements;
    g_hash_table_insert (model->tensors, (char *) tensor->name, tensor);
    if (usable_in_place (source)) {
      tensor->values = (const float *) source->data;
      continue;
    }
    tensor->converted = g_try_new (float, MAX (source->n_elements, 1));
    if (tensor->converted == NULL) {
      g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_OUT_OF_MEMORY,
                   "out of memory loading tensor '%s'", source->name);
      return FALSE;
    }
    safetensors_tensor_to_float (source, tensor->converted);
    tensor->values = tensor->converted;
  }
  return TRUE;
}

static char *
shape_to_string (int n_dims, const gint64 *dims)
{
  GString *text = g_string_new ("[");
  for (int i = 0; i < n_dims; i++) {
    if (dims[i] < 0)
      g_string_append_printf (text, "%s*", i ? "," : "");
    else
      g_string_append_printf (text, "%s%" G_GINT64_FORMAT, i ? "," : "", dims[i]);
  }
  g_string_append_c (text, ']');
  return g_string_free (text, FALSE);
}

const TunitTensor *
tunit_model_require_tensor (const TunitModel *model, const char *name, int n_dims,
                            const gint64 *dims, GError **error)
{
  const TunitTensor *tensor = g_hash_table_lookup (model->tensors, name);
  if (tensor == NULL) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT,
                 "model file lacks tensor '%s'", name);
    return NULL;
  }
  gboolean match = tensor->n_dims == n_dims;
  for (int i = 0; match && i < n_dims; i++)
    match = dims[i] < 0 || dims[i] == tensor->dims[i];
  if (!match) {
    g_autofree char *expected = shape_to_string (n_dims, dims);
    g_autofree char *found = shape_to_string (tensor->n_dims, tensor->dims);
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT,
                 "model tensor '%s' has shape %s, the architecture needs %s",
                 name, found, expected);
    return NULL;
  }
  return tensor;
}

static gboolean
find_centroids (TunitModel *model, GError **error)
{
  if (!g_hash_table_contains (model->tensors, "centroids"))
    return TRUE;
  gint64 dims[2] = { model->architecture.num_domains, model->architecture.style_dim };
  model->centroids = tunit_model_require_tensor (model, "centroids", 2, dims, error);
  model->architecture.has_centroids = model->centroids != NULL;
  return model->centroids != NULL;
}

TunitModel *
tunit_model_load_from_bytes (GBytes *bytes, GError **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  TunitModel *model = g_new0 (TunitModel, 1);
  model->ref_count = 1;
  model->tensors = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, tensor_free);
  model->file = safetensors_parse (bytes, error);
  if (model->file == NULL
      || !read_architecture (model->file->metadata, &model->architecture, error)
      || !convert_tensors (model, error)
      || !find_centroids (model, error)
      || !(model->network = tunit_network_build (model, error))) {
    tunit_model_unref (model);
    return NULL;
  }
  return model;
}

TunitModel *
tunit_model_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (GError) file_error = NULL;
  g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, &file_error);
  if (mapped == NULL) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FILE, "cannot read model %s: %s", path,
                 file_error->message);
    return NULL;
  }
  g_autoptr (GBytes) bytes = g_mapped_file_get_bytes (mapped);
  g_autoptr (GError) load_error = NULL;
  TunitModel *model = tunit_model_load_from_bytes (bytes, &load_error);
  if (model == NULL)
    g_set_error (error, TUNIT_ERROR, load_error->code, "%s: %s", path, load_error->message);
  return model;
}

TunitModel *
tunit_model_ref (TunitModel *model)
{
  g_atomic_int_inc (&model->ref_count);
  return model;
}

void
tunit_model_unref (TunitModel *model)
{
  if (model == NULL || !g_atomic_int_dec_and_test (&model->ref_count))
    return;
  g_clear_pointer (&model->network, tunit_network_free);
  g_clear_pointer (&model->tensors, g_hash_table_unref);
  g_clear_pointer (&model->file, safetensors_free);
  g_free (model);
}

const TunitArchitecture *
tunit_model_get_architecture (const TunitModel *model)
{
  return &model->architecture;
}

const char *
tunit_model_get_metadata (const TunitModel *model, const char *key)
{
  return g_hash_table_lookup (model->file->metadata, key);
}

const TunitNetwork *
tunit_model_get_network (const TunitModel *model)
{
  return model->network;
}

gsize
tunit_model_count_parameters (const TunitModel *model, const char *prefix)
{
  gsize count = 0;
  for (guint i = 0; i < model->file->tensors->len; i++) {
    const SafetensorsTensor *tensor = model->file->tensors->pdata[i];
    if (g_str_has_prefix (tensor->name, prefix) && strcmp (tensor->name, "centroids") != 0)
      count += tensor->n_elements;
  }
  return count;
}

const float *
tunit_model_get_centroid (const TunitModel *model, int domain, GError **error)
{
  if (model->centroids == NULL) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "the model has no pseudo-domain centroids (add them with `tunit centroids`)");
    return NULL;
  }
  if (domain < 0 || domain >= model->architecture.num_domains) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "domain %d is out of range: the model has domains 0 to %d", domain,
                 model->architecture.num_domains - 1);
    return NULL;
  }
  return model->centroids->values + (gsize) domain * model->architecture.style_dim;
}

gboolean
tunit_model_save_with_centroids (const TunitModel *model, const float *centroids,
                                 const char *path, GError **error)
{
  GPtrArray *tensors = model->file->tensors;
  g_autofree SafetensorsEntry *entries = g_new0 (SafetensorsEntry, tensors->len + 1);
  gsize n = 0;
  for (guint i = 0; i < tensors->len; i++) {
    const SafetensorsTensor *tensor = tensors->pdata[i];
    if (strcmp (tensor->name, "centroids") == 0)
      continue;
    SafetensorsEntry *entry = &entries[n++];
    entry->name = tensor->name;
    entry->dtype = tensor->dtype;
    entry->n_dims = tensor->n_dims;
    memcpy (entry->dims, tensor->dims, sizeof entry->dims);
    entry->data = tensor->data;
    entry->n_bytes = tensor->n_bytes;
  }
  const TunitArchitecture *architecture = &model->architecture;
  gsize count = (gsize) architecture->num_domains * architecture->style_dim;
  g_autofree guint32 *little_endian = g_new (guint32, count);
  for (gsize i = 0; i < count; i++) {
    guint32 bits;
    memcpy (&bits, &centroids[i], 4);
    little_endian[i] = GUINT32_TO_LE (bits);
  }
  entries[n] = (SafetensorsEntry) { "centroids", TUNIT_DTYPE_F32, 2,
                                    { architecture->num_domains, architecture->style_dim },
                                    little_endian, count * 4 };
  n++;
  return safetensors_write (path, entries, n, model->file->metadata, error);
}

double
tunit_model_generator_flops (const TunitModel *model, int width, int height)
{
  const TunitGraph *graph = &model->network->generator;
  int multiple = model->network->size_multiple;
  int padded_width = (width + multiple - 1) / multiple * multiple;
  int padded_height = (height + multiple - 1) / multiple * multiple;
  g_autofree TunitShape *shapes = g_new (TunitShape, graph->n_nodes);
  if (!tunit_graph_infer_shapes (graph, 3, padded_height, padded_width, shapes, NULL))
    return 0;
  return tunit_graph_flops (graph, shapes);
}
