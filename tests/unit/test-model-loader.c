/* test-model-loader.c - the model loader against valid and malformed
 * files: every malformed file must give TUNIT_ERROR_FORMAT naming the
 * problem, never a crash. */
#include "tiny-model.h"
#include "tunit.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

static GBytes *valid_model;

static void
assert_rejected (GBytes *bytes, const char *expected_text)
{
  GError *error = NULL;
  TunitModel *model = tunit_model_load_from_bytes (bytes, &error);
  g_assert_null (model);
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT);
  if (expected_text != NULL && strstr (error->message, expected_text) == NULL)
    g_error ("message '%s' lacks '%s'", error->message, expected_text);
  g_error_free (error);
}

/* Applies `edit` to the parsed header and rebuilds the file around it. */
static GBytes *
edit_header (void (*edit) (JsonObject *root, gconstpointer data), gconstpointer data)
{
  g_autofree char *header = tiny_model_header (valid_model);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, header, -1, NULL));
  JsonNode *root = json_parser_get_root (parser);
  edit (json_node_get_object (root), data);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  json_generator_set_root (generator, root);
  g_autofree char *text = json_generator_to_data (generator, NULL);
  return tiny_model_with_header (valid_model, text);
}

static void
test_valid (void)
{
  GError *error = NULL;
  g_autoptr (TunitModel) model = tunit_model_load_from_bytes (valid_model, &error);
  g_assert_no_error (error);
  const TunitArchitecture *a = tunit_model_get_architecture (model);
  g_assert_cmpint (a->img_size, ==, 32);
  g_assert_cmpint (a->style_dim, ==, 4);
  g_assert_cmpint (a->nf, ==, 2);
  g_assert_cmpint (a->n_downs, ==, 1);
  g_assert_cmpint (a->num_domains, ==, 3);
  g_assert_true (a->has_centroids);
  g_assert_nonnull (tunit_model_get_centroid (model, 2, &error));
  g_assert_null (tunit_model_get_centroid (model, 3, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "0 to 2"));
  g_clear_error (&error);
}

static void
test_missing_file (void)
{
  GError *error = NULL;
  g_assert_null (tunit_model_load ("/nonexistent/model.safetensors", &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_FILE);
  g_assert_nonnull (strstr (error->message, "/nonexistent/model.safetensors"));
  g_error_free (error);
}

static void
test_short_and_truncated (void)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (valid_model, &size);
  g_autoptr (GBytes) empty = g_bytes_new_static ("", 0);
  assert_rejected (empty, "too short");
  /* cut the file at many points: header, first tensor, last byte */
  for (gsize cut = 1; cut < size; cut += 1 + cut / 7) {
    g_autoptr (GBytes) truncated = g_bytes_new_static (data, cut);
    assert_rejected (truncated, NULL);
  }
  g_autoptr (GBytes) one_short = g_bytes_new_static (data, size - 1);
  assert_rejected (one_short, "truncated");
}

static void
test_bad_header_length (void)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (valid_model, &size);
  guint8 *copy = g_memdup2 (data, size);
  memset (copy, 0xff, 8);   /* 2^64 - 1 */
  g_autoptr (GBytes) huge = g_bytes_new_take (copy, size);
  assert_rejected (huge, "header length");
}

static void
test_not_json (void)
{
  g_autoptr (GBytes) bytes = tiny_model_with_header (valid_model, "{\"G.x\": [1, 2");
  assert_rejected (bytes, "not JSON");
  g_autoptr (GBytes) array = tiny_model_with_header (valid_model, "[1, 2, 3]");
  assert_rejected (array, "not a JSON object");
  g_autoptr (GBytes) binary = tiny_model_with_header (valid_model, "{\"\xff\xfe\": 1}");
  assert_rejected (binary, "UTF-8");
}

/* The tiny model's header with `extra` as one more top-level member. */
static GBytes *
with_extra_member (const char *extra)
{
  g_autofree char *header = tiny_model_header (valid_model);
  char *end = strrchr (header, '}');
  g_assert_nonnull (end);
  *end = '\0';
  g_autofree char *text = g_strconcat (header, ",", extra, "}", NULL);
  return tiny_model_with_header (valid_model, text);
}

/* `n` copies of `open` + `middle` + `n` copies of `close` */
static char *
nested (const char *open, gsize n, const char *middle, const char *close)
{
  GString *text = g_string_new (NULL);
  for (gsize i = 0; i < n; i++)
    g_string_append (text, open);
  g_string_append (text, middle);
  for (gsize i = 0; i < n; i++)
    g_string_append (text, close);
  return g_string_free (text, FALSE);
}

/* Deep or huge headers are refused before the (recursive) JSON parser
 * sees them: a nesting of 100000 used to overflow its stack. */
static void
test_header_depth (void)
{
  /* open, middle, close; levels per repetition */
  const struct { const char *open, *middle, *close; gsize levels; } shapes[] = {
    { "[", "1", "]", 1 }, { "{\"a\":", "1", "}", 1 }, { "[{\"a\":", "[]", "}]", 2 },
  };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (gsize n = 3; n <= 300000; n *= 10) {
      g_autofree char *value = nested (shapes[s].open, n, shapes[s].middle, shapes[s].close);
      g_autofree char *member = g_strconcat ("\"x\":", value, NULL);
      g_autoptr (GBytes) bytes = with_extra_member (member);
      /* within the bound (8 levels with the root) it fails later, as a
       * tensor entry that is not one */
      gboolean within = 1 + shapes[s].levels * n <= 8;
      assert_rejected (bytes, within ? "'x'" : "nests deeper than 8 levels");
    }
  /* brackets (and an escaped quote) inside strings do not count: this
   * model, with a metadata text of 2000 brackets, is valid */
  g_autofree char *brackets = nested ("[{", 1000, "\\\"", "}]");
  g_autofree char *decoded = nested ("[{", 1000, "\"", "}]");
  g_autofree char *header = tiny_model_header (valid_model);
  g_autoptr (GString) edited = g_string_new (header);
  const char *key = "\"__metadata__\":{";
  char *at = strstr (edited->str, key);
  g_assert_nonnull (at);
  g_autofree char *note = g_strdup_printf ("\"note\":\"%s\",", brackets);
  g_string_insert (edited, at - edited->str + strlen (key), note);
  g_autoptr (GBytes) valid = tiny_model_with_header (valid_model, edited->str);
  GError *error = NULL;
  g_autoptr (TunitModel) model = tunit_model_load_from_bytes (valid, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tunit_model_get_metadata (model, "note"), ==, decoded);
}

static void
test_header_size (void)
{
  /* many values in one array, many top-level members, a long header */
  g_autofree char *ones = nested ("1,", 300000, "1", "");
  g_autofree char *array = g_strconcat ("\"x\":[", ones, "]", NULL);
  g_autoptr (GBytes) many_values = with_extra_member (array);
  assert_rejected (many_values, "names and values");

  GString *members = g_string_new (NULL);
  for (int i = 0; i < 10001; i++)
    g_string_append_printf (members, "%s\"t%d\":0", i ? "," : "", i);
  g_autoptr (GBytes) many_members = with_extra_member (members->str);
  g_string_free (members, TRUE);
  assert_rejected (many_members, "more than 10000 tensors");

  gsize length = 16 * 1024 * 1024 + 1;
  char *padding = g_malloc (length + 1);
  memset (padding, ' ', length);
  padding[length] = '\0';
  padding[0] = '{';
  padding[length - 1] = '}';
  g_autoptr (GBytes) long_header = tiny_model_with_header (valid_model, padding);
  g_free (padding);
  assert_rejected (long_header, "header length");
}

static void
set_member (JsonObject *root, gconstpointer data)
{
  /* data: "tensor|field|json value" */
  g_auto (GStrv) parts = g_strsplit (data, "|", 3);
  JsonObject *tensor = json_object_get_object_member (root, parts[0]);
  g_autoptr (JsonNode) value = json_from_string (parts[2], NULL);
  if (value == NULL)
    json_object_remove_member (tensor, parts[1]);
  else
    json_object_set_member (tensor, parts[1], g_steal_pointer (&value));
}

static void
assert_edit_rejected (const char *edit, const char *expected_text)
{
  g_autoptr (GBytes) bytes = edit_header (set_member, edit);
  assert_rejected (bytes, expected_text);
}

static void
test_bad_tensor_entries (void)
{
  assert_edit_rejected ("G.decoder.model.3.conv.bias|dtype|\"I64\"", "dtype I64");
  assert_edit_rejected ("G.decoder.model.3.conv.bias|dtype|7", "no dtype");
  assert_edit_rejected ("G.decoder.model.3.conv.bias|shape|[4]", "bytes");
  assert_edit_rejected ("G.decoder.model.3.conv.bias|shape|[-3]", "non-negative integer");
  assert_edit_rejected ("G.decoder.model.3.conv.bias|shape|[1.5]", "non-negative integer");
  assert_edit_rejected ("G.decoder.model.3.conv.bias|shape|[1,1,1,1,1,1,1,1,1]", "dimensions");
  assert_edit_rejected ("G.decoder.model.3.conv.bias|shape|[4294967296,4294967296,4294967296]",
                        NULL);
  assert_edit_rejected ("G.decoder.model.3.conv.bias|data_offsets|[0]", "data_offsets");
  assert_edit_rejected ("G.decoder.model.3.conv.bias|data_offsets|[8, 4]", "data_offsets");
  assert_edit_rejected ("G.decoder.model.3.conv.bias|data_offsets|[0, 12]", "overlap");
  assert_edit_rejected ("G.decoder.model.3.conv.bias|data_offsets|[100000000, 100000012]",
                        "truncated");
}

/* A tensor may have at most 2^28 elements, checked before its bytes. */
static void
test_tensor_too_large (void)
{
  assert_edit_rejected ("G.decoder.model.3.conv.bias|shape|[16384,16385]",
                        "more than 268435456 elements");
  assert_edit_rejected ("G.decoder.model.3.conv.bias|shape|[16384,16384,0]", "bytes");
}

/* All tensors together may hold at most 2^30 elements: a sparse file of
 * five tensors of 2^28 floats (5 GiB, none of it read) is refused. */
static void
test_model_too_large (void)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  const gsize tensor_bytes = (gsize) 4 << 28;
  json_builder_begin_object (builder);
  for (int i = 0; i < 5; i++) {
    g_autofree char *name = g_strdup_printf ("t%d", i);
    json_builder_set_member_name (builder, name);
    json_builder_begin_object (builder);
    json_builder_set_member_name (builder, "dtype");
    json_builder_add_string_value (builder, "F32");
    json_builder_set_member_name (builder, "shape");
    json_builder_begin_array (builder);
    json_builder_add_int_value (builder, 1 << 28);
    json_builder_end_array (builder);
    json_builder_set_member_name (builder, "data_offsets");
    json_builder_begin_array (builder);
    json_builder_add_int_value (builder, i * tensor_bytes);
    json_builder_add_int_value (builder, (i + 1) * tensor_bytes);
    json_builder_end_array (builder);
    json_builder_end_object (builder);
  }
  json_builder_end_object (builder);
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  g_autofree char *header = json_generator_to_data (generator, NULL);
  guint64 length = strlen (header);
  guint8 prefix[8];
  for (int i = 0; i < 8; i++)
    prefix[i] = (guint8) (length >> (8 * i));

  g_autofree char *dir = g_dir_make_tmp ("test-model-loader-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "huge.safetensors", NULL);
  FILE *file = fopen (path, "wb");
  g_assert_nonnull (file);
  g_assert_cmpint (fwrite (prefix, 1, 8, file), ==, 8);
  g_assert_cmpint (fwrite (header, 1, length, file), ==, length);
  gboolean sparse = fseeko (file, 5 * tensor_bytes - 1, SEEK_CUR) == 0 && fputc (0, file) == 0;
  g_assert_cmpint (fclose (file), ==, 0);
  g_assert_true (sparse);
  GError *error = NULL;
  g_assert_null (tunit_model_load (path, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "more than 1073741824 elements in all"));
  g_error_free (error);
  g_unlink (path);
  g_rmdir (dir);
}

static void
set_metadata (JsonObject *root, gconstpointer data)
{
  g_auto (GStrv) parts = g_strsplit (data, "|", 2);
  JsonObject *metadata = json_object_get_object_member (root, "__metadata__");
  g_autoptr (JsonNode) value = json_from_string (parts[1], NULL);
  if (value == NULL)
    json_object_remove_member (metadata, parts[0]);
  else
    json_object_set_member (metadata, parts[0], g_steal_pointer (&value));
}

static void
assert_metadata_rejected (const char *edit, const char *expected_text)
{
  g_autoptr (GBytes) bytes = edit_header (set_metadata, edit);
  assert_rejected (bytes, expected_text);
}

static void
test_bad_metadata (void)
{
  assert_metadata_rejected ("tunit.style_dim|", "'tunit.style_dim' is missing");
  assert_metadata_rejected ("tunit.n_res|\"two\"", "tunit.n_res");
  assert_metadata_rejected ("tunit.n_res|2", "not a string");
  assert_metadata_rejected ("tunit.nf|\"-1\"", "tunit.nf");
  assert_metadata_rejected ("tunit.format_version|\"99\"", "newer");
  /* architecture and tensors disagree: the error names the tensor */
  assert_metadata_rejected ("tunit.nf|\"3\"", "G.cnt_encoder.model.0.conv.weight");
  assert_metadata_rejected ("tunit.n_res|\"2\"", "lacks tensor");
  assert_metadata_rejected ("tunit.num_domains|\"4\"", "centroids");
  assert_metadata_rejected ("tunit.style_dim|\"5\"", NULL);
  /* img_size is 16 * 2^n_downs, and n_downs at most 6 */
  assert_metadata_rejected ("tunit.img_size|\"64\"", "does not match");
  assert_metadata_rejected ("tunit.n_downs|\"7\"", "tunit.n_downs");
  assert_metadata_rejected ("tunit.img_size|\"2048\"", "tunit.img_size");
}

static void
remove_tensor (JsonObject *root, gconstpointer data)
{
  json_object_remove_member (root, data);
}

static void
test_missing_tensor (void)
{
  g_autoptr (GBytes) bytes = edit_header (remove_tensor, "E.features.12.running_var");
  assert_rejected (bytes, "E.features.12.running_var");
}

/* Random corruption of the header: load or fail cleanly, never crash. */
static void
test_random_corruption (void)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (valid_model, &size);
  GRand *rand = g_rand_new_with_seed (42);
  for (int round = 0; round < 2000; round++) {
    guint8 *copy = g_memdup2 (data, size);
    int flips = g_rand_int_range (rand, 1, 4);
    for (int f = 0; f < flips; f++) {
      gsize at = g_rand_int_range (rand, 0, MIN (size, 4096));
      copy[at] = (guint8) g_rand_int_range (rand, 0, 256);
    }
    g_autoptr (GBytes) bytes = g_bytes_new_take (copy, size);
    GError *error = NULL;
    TunitModel *model = tunit_model_load_from_bytes (bytes, &error);
    g_assert_true ((model == NULL) == (error != NULL));
    g_clear_error (&error);
    g_clear_pointer (&model, tunit_model_unref);
  }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  valid_model = tiny_model_build (TRUE);
  g_test_add_func ("/loader/valid", test_valid);
  g_test_add_func ("/loader/missing-file", test_missing_file);
  g_test_add_func ("/loader/short-and-truncated", test_short_and_truncated);
  g_test_add_func ("/loader/bad-header-length", test_bad_header_length);
  g_test_add_func ("/loader/not-json", test_not_json);
  g_test_add_func ("/loader/header-depth", test_header_depth);
  g_test_add_func ("/loader/header-size", test_header_size);
  g_test_add_func ("/loader/bad-tensor-entries", test_bad_tensor_entries);
  g_test_add_func ("/loader/tensor-too-large", test_tensor_too_large);
  g_test_add_func ("/loader/model-too-large", test_model_too_large);
  g_test_add_func ("/loader/bad-metadata", test_bad_metadata);
  g_test_add_func ("/loader/missing-tensor", test_missing_tensor);
  g_test_add_func ("/loader/random-corruption", test_random_corruption);
  int status = g_test_run ();
  g_bytes_unref (valid_model);
  return status;
}
