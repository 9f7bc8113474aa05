/* safetensors.c - defensive safetensors reader and writer. */
#include "safetensors.h"
#include "half-float.h"
#include "tunit.h"

#include <json-glib/json-glib.h>
#include <string.h>

/* Bounds on the untrusted header, all checked before the JSON parser sees
 * it (models/FORMAT.md lists them).  A TUNIT model has at most about a
 * thousand tensors (n_res and mlp_layers are at most 64) and a header of a
 * few hundred KiB; the bounds leave room for that many times over. */
#define MAX_HEADER_BYTES (16u * 1024u * 1024u)
#define MAX_TENSORS 10000
/* The format nests three deep (root, tensor entry, shape).  json-glib's
 * parser recurses once per level, so an unbounded depth is a stack
 * overflow; and it allocates a node per name and value, so their count is bounded
 * too. */
#define MAX_HEADER_DEPTH 8
#define MAX_HEADER_TOKENS (256u * 1024u)
/* The largest tensor of the official img_size-256 model has 2.4 million
 * elements and the whole model 30 million; these bounds keep a crafted file
 * (or one that is not a TUNIT model) from making us convert gigabytes. */
#define MAX_TENSOR_ELEMENTS (G_GUINT64_CONSTANT (1) << 28)
#define MAX_MODEL_ELEMENTS (G_GUINT64_CONSTANT (1) << 30)

static void
tensor_free (gpointer data)
{
  SafetensorsTensor *tensor = data;
  g_free (tensor->name);
  g_free (tensor);
}

void
safetensors_free (SafetensorsFile *file)
{
  if (file == NULL)
    return;
  g_clear_pointer (&file->by_name, g_hash_table_unref);
  g_clear_pointer (&file->tensors, g_ptr_array_unref);
  g_clear_pointer (&file->metadata, g_hash_table_unref);
  g_clear_pointer (&file->bytes, g_bytes_unref);
  g_free (file);
}

static gboolean
format_error (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
format_error (GError **error, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT, "not a valid model file: %s", message);
  g_free (message);
  return FALSE;
}

static gboolean
parse_dtype (const char *text, TunitDtype *dtype, gsize *element_size)
{
  if (g_strcmp0 (text, "F32") == 0) {
    *dtype = TUNIT_DTYPE_F32;
    *element_size = 4;
    return TRUE;
  }
  if (g_strcmp0 (text, "F16") == 0) {
    *dtype = TUNIT_DTYPE_F16;
    *element_size = 2;
    return TRUE;
  }
  return FALSE;
}

/* JSON numbers may be doubles; accept only exact non-negative integers. */
static gboolean
node_to_size (JsonNode *node, gint64 *value)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return FALSE;
  GType type = json_node_get_value_type (node);
  if (type != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return *value >= 0;
}

static gboolean
parse_shape (const char *name, JsonNode *node, SafetensorsTensor *tensor, GError **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return format_error (error, "tensor '%s' has no shape array", name);
  JsonArray *shape = json_node_get_array (node);
  guint n_dims = json_array_get_length (shape);
  if (n_dims > TUNIT_MAX_DIMS)
    return format_error (error, "tensor '%s' has %u dimensions (at most %d)", name,
                         n_dims, TUNIT_MAX_DIMS);
  tensor->n_dims = n_dims;
  tensor->n_elements = 1;
  for (guint i = 0; i < n_dims; i++) {
    gint64 dim;
    if (!node_to_size (json_array_get_element (shape, i), &dim))
      return format_error (error, "tensor '%s' has a shape entry that is not a non-negative integer", name);
    tensor->dims[i] = dim;
    if (dim != 0 && tensor->n_elements > MAX_TENSOR_ELEMENTS / (guint64) dim)
      return format_error (error, "tensor '%s' has more than %" G_GUINT64_FORMAT
                           " elements", name, MAX_TENSOR_ELEMENTS);
    tensor->n_elements *= dim;
  }
  return TRUE;
}

static gboolean
parse_tensor (const char *name, JsonNode *node, const guint8 *data, gsize data_size,
              SafetensorsTensor *tensor, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return format_error (error, "header entry '%s' is not an object", name);
  JsonObject *object = json_node_get_object (node);

  JsonNode *dtype_node = json_object_get_member (object, "dtype");
  const char *dtype_text = dtype_node && JSON_NODE_HOLDS_VALUE (dtype_node)
      && json_node_get_value_type (dtype_node) == G_TYPE_STRING
      ? json_node_get_string (dtype_node) : NULL;
  gsize element_size;
  if (dtype_text == NULL)
    return format_error (error, "tensor '%s' has no dtype", name);
  if (!parse_dtype (dtype_text, &tensor->dtype, &element_size))
    return format_error (error, "tensor '%s' has dtype %s (supported: F32, F16)", name, dtype_text);

  if (!parse_shape (name, json_object_get_member (object, "shape"), tensor, error))
    return FALSE;

  JsonNode *offsets_node = json_object_get_member (object, "data_offsets");
  if (offsets_node == NULL || !JSON_NODE_HOLDS_ARRAY (offsets_node)
      || json_array_get_length (json_node_get_array (offsets_node)) != 2)
    return format_error (error, "tensor '%s' has no [begin, end] data_offsets", name);
  JsonArray *offsets = json_node_get_array (offsets_node);
  gint64 begin, end;
  if (!node_to_size (json_array_get_element (offsets, 0), &begin)
      || !node_to_size (json_array_get_element (offsets, 1), &end) || begin > end)
    return format_error (error, "tensor '%s' has invalid data_offsets", name);
  if ((guint64) end > data_size)
    return format_error (error, "tensor '%s' ends at byte %" G_GINT64_FORMAT
                         " but the file has only %" G_GSIZE_FORMAT " data bytes (truncated?)",
                         name, end, data_size);
  if (tensor->n_elements > G_MAXSIZE / element_size
      || (guint64) (end - begin) != tensor->n_elements * element_size)
    return format_error (error, "tensor '%s' has %" G_GINT64_FORMAT " bytes, its shape and dtype need %"
                         G_GSIZE_FORMAT, name, end - begin, tensor->n_elements * element_size);
  tensor->data = data + begin;
  tensor->n_bytes = end - begin;
  return TRUE;
}

static gboolean
parse_metadata (JsonNode *node, GHashTable *metadata, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return format_error (error, "__metadata__ is not an object");
  JsonObject *object = json_node_get_object (node);
  g_autoptr (GList) members = json_object_get_members (object);
  for (GList *l = members; l != NULL; l = l->next) {
    JsonNode *value = json_object_get_member (object, l->data);
    if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
      return format_error (error, "__metadata__ value of '%s' is not a string", (char *) l->data);
    g_hash_table_insert (metadata, g_strdup (l->data), g_strdup (json_node_get_string (value)));
  }
  return TRUE;
}

static int
compare_by_offset (gconstpointer a, gconstpointer b)
{
  const SafetensorsTensor *x = *(SafetensorsTensor * const *) a;
  const SafetensorsTensor *y = *(SafetensorsTensor * const *) b;
  return x->data < y->data ? -1 : x->data > y->data;
}

/* The format forbids overlapping tensors; two names sharing bytes would
 * also let a crafted file alias weights, so refuse it. */
static gboolean
check_no_overlap (SafetensorsFile *file, GError **error)
{
  /* a copy without the free function: the tensors stay owned by file */
  g_autoptr (GPtrArray) sorted = g_ptr_array_sized_new (file->tensors->len);
  for (guint i = 0; i < file->tensors->len; i++)
    g_ptr_array_add (sorted, file->tensors->pdata[i]);
  g_ptr_array_sort (sorted, compare_by_offset);
  for (guint i = 1; i < sorted->len; i++) {
    const SafetensorsTensor *previous = sorted->pdata[i - 1];
    const SafetensorsTensor *tensor = sorted->pdata[i];
    if (previous->data + previous->n_bytes > tensor->data)
      return format_error (error, "tensors '%s' and '%s' overlap", previous->name, tensor->name);
  }
  return TRUE;
}

/* One pass over the header text, without recursion, before any parser
 * sees it: the nesting depth, the number of tokens (names and values) and
 * the number of top-level members (the tensors and __metadata__) must stay
 * within the bounds above.  Brackets and commas inside strings do not
 * count.  Whether the text is JSON at all is the parser's job; this only
 * keeps the parser's stack and memory bounded. */
static gboolean
check_header_bounds (const char *header, gsize header_size, GError **error)
{
  guint depth = 0;
  gsize tokens = 0, top_level_members = 1;
  gboolean in_string = FALSE, in_token = FALSE;
  for (gsize i = 0; i < header_size; i++) {
    char c = header[i];
    if (in_string) {
      if (c == '\\')
        i++;            /* the escaped character cannot end the string */
      else if (c == '"')
        in_string = FALSE;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      continue;
    if (c == ',' || c == ':' || c == ']' || c == '}') {
      in_token = FALSE;
      if (c == ']' || c == '}')
        depth -= depth > 0;
      else if (c == ',' && depth == 1 && ++top_level_members > MAX_TENSORS + 1)
        return format_error (error, "header lists more than %d tensors", MAX_TENSORS);
      continue;
    }
    /* the first character of a name or value: a string, number, literal,
     * array or object */
    if (!in_token && ++tokens > MAX_HEADER_TOKENS)
      return format_error (error, "header holds more than %u names and values",
                           MAX_HEADER_TOKENS);
    in_token = TRUE;
    if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > MAX_HEADER_DEPTH)
        return format_error (error, "header nests deeper than %d levels", MAX_HEADER_DEPTH);
      in_token = FALSE;
    }
  }
  return TRUE;
}

static gboolean
parse_header (SafetensorsFile *file, const char *header, gsize header_size,
              const guint8 *data, gsize data_size, GError **error)
{
  if (!g_utf8_validate (header, header_size, NULL))
    return format_error (error, "header is not UTF-8 text");
  if (!check_header_bounds (header, header_size, error))
    return FALSE;
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) json_error = NULL;
  if (!json_parser_load_from_data (parser, header, header_size, &json_error))
    return format_error (error, "header is not JSON (%s)", json_error->message);
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return format_error (error, "header is not a JSON object");
  JsonObject *object = json_node_get_object (root);
  g_autoptr (GList) members = json_object_get_members (object);
  guint64 total_elements = 0;
  for (GList *l = members; l != NULL; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (object, name);
    if (strcmp (name, "__metadata__") == 0) {
      if (!parse_metadata (node, file->metadata, error))
        return FALSE;
      continue;
    }
    SafetensorsTensor *tensor = g_new0 (SafetensorsTensor, 1);
    tensor->name = g_strdup (name);
    g_ptr_array_add (file->tensors, tensor);
    if (!parse_tensor (name, node, data, data_size, tensor, error))
      return FALSE;
    g_hash_table_insert (file->by_name, tensor->name, tensor);
    total_elements += tensor->n_elements;
    if (total_elements > MAX_MODEL_ELEMENTS)
      return format_error (error, "the tensors hold more than %" G_GUINT64_FORMAT
                           " elements in all", MAX_MODEL_ELEMENTS);
  }
  return check_no_overlap (file, error);
}

SafetensorsFile *
safetensors_parse (GBytes *bytes, GError **error)
{
  gsize size;
  const guint8 *base = g_bytes_get_data (bytes, &size);
  if (size < 8) {
    format_error (error, "%" G_GSIZE_FORMAT " bytes is too short for a safetensors header", size);
    return NULL;
  }
  guint64 header_size = 0;
  for (int i = 7; i >= 0; i--)
    header_size = (header_size << 8) | base[i];
  if (header_size < 2 || header_size > MAX_HEADER_BYTES || header_size > size - 8) {
    format_error (error, "header length %" G_GUINT64_FORMAT " does not fit the file of %"
                  G_GSIZE_FORMAT " bytes", header_size, size);
    return NULL;
  }
  g_autoptr (SafetensorsFile) file = g_new0 (SafetensorsFile, 1);
  file->bytes = g_bytes_ref (bytes);
  file->tensors = g_ptr_array_new_with_free_func (tensor_free);
  file->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  file->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const guint8 *data = base + 8 + header_size;
  if (!parse_header (file, (const char *) base + 8, header_size, data,
                     size - 8 - header_size, error))
    return NULL;
  return g_steal_pointer (&file);
}

void
safetensors_tensor_to_float (const SafetensorsTensor *tensor, float *out)
{
  if (tensor->dtype == TUNIT_DTYPE_F32) {
    for (gsize i = 0; i < tensor->n_elements; i++) {
      guint32 bits;
      memcpy (&bits, tensor->data + 4 * i, 4);
      bits = GUINT32_FROM_LE (bits);
      memcpy (&out[i], &bits, 4);
    }
    return;
  }
  for (gsize i = 0; i < tensor->n_elements; i++) {
    guint16 bits;
    memcpy (&bits, tensor->data + 2 * i, 2);
    out[i] = tunit_half_to_float (GUINT16_FROM_LE (bits));
  }
}

/* ------------------------------------------------------------- writing */

static char *
build_header (const SafetensorsEntry *entries, gsize n_entries, GHashTable *metadata,
              gsize *header_size)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  if (metadata != NULL) {
    json_builder_set_member_name (builder, "__metadata__");
    json_builder_begin_object (builder);
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init (&iter, metadata);
    while (g_hash_table_iter_next (&iter, &key, &value)) {
      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, value);
    }
    json_builder_end_object (builder);
  }
  gsize offset = 0;
  for (gsize i = 0; i < n_entries; i++) {
    const SafetensorsEntry *entry = &entries[i];
    json_builder_set_member_name (builder, entry->name);
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "dtype");
    json_builder_add_string_value (builder, entry->dtype == TUNIT_DTYPE_F32 ? "F32" : "F16");
    json_builder_set_member_name (builder, "shape");
    json_builder_begin_array (builder);
    for (int d = 0; d < entry->n_dims; d++)
      json_builder_add_int_value (builder, entry->dims[d]);
    json_builder_end_array (builder);
    json_builder_set_member_name (builder, "data_offsets");
    json_builder_begin_array (builder);
    json_builder_add_int_value (builder, offset);
    json_builder_add_int_value (builder, offset + entry->n_bytes);
    json_builder_end_array (builder);
    json_builder_end_object (builder);
    offset += entry->n_bytes;
  }
  json_builder_end_object (builder);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  g_autoptr (GString) text = g_string_new (NULL);
  char *json = json_generator_to_data (generator, NULL);
  g_string_append (text, json);
  g_free (json);
  /* pad with spaces so the data starts 8-byte aligned */
  while ((text->len + 8) % 8 != 0)
    g_string_append_c (text, ' ');
  *header_size = text->len;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

gboolean
safetensors_write (const char *path, const SafetensorsEntry *entries, gsize n_entries,
                   GHashTable *metadata, GError **error)
{
  gsize header_size;
  g_autofree char *header = build_header (entries, n_entries, metadata, &header_size);
  g_autoptr (GByteArray) contents = g_byte_array_new ();
  guint8 length[8];
  for (int i = 0; i < 8; i++)
    length[i] = (guint8) ((guint64) header_size >> (8 * i));
  g_byte_array_append (contents, length, 8);
  g_byte_array_append (contents, (const guint8 *) header, header_size);
  for (gsize i = 0; i < n_entries; i++)
    g_byte_array_append (contents, entries[i].data, entries[i].n_bytes);
  g_autoptr (GError) file_error = NULL;
  if (!g_file_set_contents (path, (const char *) contents->data, contents->len, &file_error)) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FILE, "cannot write %s: %s", path,
                 file_error->message);
    return FALSE;
  }
  return TRUE;
}
