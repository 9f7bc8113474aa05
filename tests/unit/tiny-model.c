/* tiny-model.c - a small valid model file written with the engine's own
 * safetensors writer. */
#include "tiny-model.h"
#include "safetensors.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  GArray *entries;      /* SafetensorsEntry */
  GPtrArray *buffers;   /* names and data */
  guint32 seed;
} TinyWriter;

static void
add_tensor (TinyWriter *writer, const char *name, int n_dims, const gint64 *dims)
{
  gsize count = 1;
  for (int i = 0; i < n_dims; i++)
    count *= dims[i];
  float *values = g_new (float, count);
  for (gsize i = 0; i < count; i++) {
    writer->seed = writer->seed * 1664525u + 1013904223u;
    values[i] = ((writer->seed >> 8) / 16777216.0f - 0.5f) * 0.5f;
  }
  /* running variances must be positive */
  if (g_str_has_suffix (name, "running_var"))
    for (gsize i = 0; i < count; i++)
      values[i] = 1.0f + values[i];
  SafetensorsEntry entry = { g_strdup (name), TUNIT_DTYPE_F32, n_dims, { 0 }, values, count * 4 };
  memcpy (entry.dims, dims, sizeof (gint64) * n_dims);
  g_ptr_array_add (writer->buffers, (char *) entry.name);
  g_ptr_array_add (writer->buffers, values);
  g_array_append_val (writer->entries, entry);
}

static void
add_conv (TinyWriter *writer, const char *prefix, int out, int in, int kernel)
{
  g_autofree char *weight = g_strdup_printf ("%s.weight", prefix);
  g_autofree char *bias = g_strdup_printf ("%s.bias", prefix);
  add_tensor (writer, weight, 4, (gint64[]) { out, in, kernel, kernel });
  add_tensor (writer, bias, 1, (gint64[]) { out });
}

static void
add_linear (TinyWriter *writer, const char *prefix, int out, int in)
{
  g_autofree char *weight = g_strdup_printf ("%s.weight", prefix);
  g_autofree char *bias = g_strdup_printf ("%s.bias", prefix);
  add_tensor (writer, weight, 2, (gint64[]) { out, in });
  add_tensor (writer, bias, 1, (gint64[]) { out });
}

static void
add_generator (TinyWriter *writer)
{
  add_conv (writer, "G.cnt_encoder.model.0.conv", 2, 3, 7);
  add_conv (writer, "G.cnt_encoder.model.1.conv", 4, 2, 4);
  add_conv (writer, "G.cnt_encoder.model.2.model.0.model.0.conv", 4, 4, 3);
  add_conv (writer, "G.cnt_encoder.model.2.model.0.model.1.conv", 4, 4, 3);
  add_conv (writer, "G.decoder.model.0.model.0.model.0.conv", 4, 4, 3);
  add_conv (writer, "G.decoder.model.0.model.0.model.1.conv", 4, 4, 3);
  add_conv (writer, "G.decoder.model.2.conv", 2, 4, 5);
  add_conv (writer, "G.decoder.model.3.conv", 3, 2, 7);
  /* AdaIN layers: 4 + 4 + 2 channels, two parameters each */
  add_linear (writer, "G.mlp.model.0.fc", 8, 4);
  add_linear (writer, "G.mlp.model.1.fc", 8, 8);
  add_linear (writer, "G.mlp.model.2.fc", 20, 8);
}

static void
add_guide (TinyWriter *writer)
{
  const int convs[] = { 0, 4, 8, 11, 15, 18, 22, 25 };
  int in = 3;
  for (guint i = 0; i < G_N_ELEMENTS (convs); i++) {
    g_autofree char *conv = g_strdup_printf ("E.features.%d", convs[i]);
    add_conv (writer, conv, 2, in, 3);
    const char *parts[] = { "weight", "bias", "running_mean", "running_var" };
    for (int p = 0; p < 4; p++) {
      g_autofree char *name = g_strdup_printf ("E.features.%d.%s", convs[i] + 1, parts[p]);
      add_tensor (writer, name, 1, (gint64[]) { 2 });
    }
    in = 2;
  }
  add_linear (writer, "E.cont", 4, 2);
  add_linear (writer, "E.disc", 3, 2);
}

GBytes *
tiny_model_build (gboolean with_centroids)
{
  TinyWriter writer = { g_array_new (FALSE, TRUE, sizeof (SafetensorsEntry)),
                        g_ptr_array_new_with_free_func (g_free), 12345 };
  add_generator (&writer);
  add_guide (&writer);
  if (with_centroids)
    add_tensor (&writer, "centroids", 2, (gint64[]) { 3, 4 });
  g_autoptr (GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  const char *pairs[][2] = {
    { "tunit.format_version", "1" }, { "tunit.img_size", "32" }, { "tunit.style_dim", "4" },
    { "tunit.nf", "2" }, { "tunit.n_downs", "1" }, { "tunit.n_res", "1" },
    { "tunit.mlp_dim", "8" }, { "tunit.mlp_layers", "3" }, { "tunit.num_domains", "3" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    g_hash_table_insert (metadata, (char *) pairs[i][0], (char *) pairs[i][1]);
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "tunit-tiny-XXXXXX", NULL);
  int fd = g_mkstemp (path);
  close (fd);
  GError *error = NULL;
  g_assert_true (safetensors_write (path, (SafetensorsEntry *) writer.entries->data,
                                    writer.entries->len, metadata, &error));
  g_assert_no_error (error);
  char *contents;
  gsize length;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  g_unlink (path);
  g_array_unref (writer.entries);
  g_ptr_array_unref (writer.buffers);
  return g_bytes_new_take (contents, length);
}

char *
tiny_model_header (GBytes *model)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (model, &size);
  guint64 length = 0;
  for (int i = 7; i >= 0; i--)
    length = (length << 8) | data[i];
  return g_strndup ((const char *) data + 8, length);
}

GBytes *
tiny_model_with_header (GBytes *model, const char *header)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (model, &size);
  guint64 old_length = 0;
  for (int i = 7; i >= 0; i--)
    old_length = (old_length << 8) | data[i];
  gsize new_length = strlen (header);
  GByteArray *bytes = g_byte_array_new ();
  guint8 prefix[8];
  for (int i = 0; i < 8; i++)
    prefix[i] = (guint8) ((guint64) new_length >> (8 * i));
  g_byte_array_append (bytes, prefix, 8);
  g_byte_array_append (bytes, (const guint8 *) header, new_length);
  g_byte_array_append (bytes, data + 8 + old_length, size - 8 - old_length);
  return g_byte_array_free_to_bytes (bytes);
}

TunitModel *
tiny_model_load (void)
{
  GError *error = NULL;
  GBytes *bytes = tiny_model_build (TRUE);
  TunitModel *model = tunit_model_load_from_bytes (bytes, &error);
  g_assert_no_error (error);
  g_bytes_unref (bytes);
  return model;
}
