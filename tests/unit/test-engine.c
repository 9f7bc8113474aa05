/* test-engine.c - engine behaviour on a tiny model: any frame size, buffer
 * reuse across frames and sizes, style handling, errors. */
#include "tiny-model.h"
#include "tunit.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static TunitModel *model;

static TunitEngine *
cpu_engine_with (const TunitEngineOptions *options)
{
  GError *error = NULL;
  TunitEngine *engine = tunit_engine_new (model, options, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (tunit_engine_get_backend_name (engine), ==, "cpu");
  return engine;
}

static TunitEngine *
cpu_engine (void)
{
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  options.backend = TUNIT_BACKEND_CPU;
  return cpu_engine_with (&options);
}

static float *
test_frame (int width, int height)
{
  float *frame = g_new (float, (gsize) 3 * width * height);
  for (gsize i = 0; i < (gsize) 3 * width * height; i++)
    frame[i] = (float) sin (0.37 * i) * 0.9f;
  return frame;
}

static float *
translate (TunitEngine *engine, const float *frame, int width, int height)
{
  float *output = g_new (float, (gsize) 3 * width * height);
  GError *error = NULL;
  g_assert_true (tunit_engine_translate (engine, frame, width, height, output, &error));
  g_assert_no_error (error);
  return output;
}

static void
set_domain (TunitEngine *engine, int domain)
{
  GError *error = NULL;
  const float *centroid = tunit_model_get_centroid (model, domain, &error);
  g_assert_no_error (error);
  g_assert_true (tunit_engine_set_style (engine, centroid, &error));
}

static void
test_needs_style (void)
{
  g_autoptr (TunitEngine) engine = cpu_engine ();
  g_autofree float *frame = test_frame (32, 32);
  g_autofree float *output = g_new (float, 3 * 32 * 32);
  GError *error = NULL;
  g_assert_false (tunit_engine_translate (engine, frame, 32, 32, output, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "no style"));
  g_clear_error (&error);
  set_domain (engine, 0);
  g_assert_false (tunit_engine_translate (engine, frame, 15, 32, output, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_clear_error (&error);
}

/* Every size from the minimum up works, and a frame's result does not
 * depend on the sizes processed before it (buffers are reused). */
static void
test_any_size (void)
{
  g_autoptr (TunitEngine) engine = cpu_engine ();
  set_domain (engine, 1);
  const int sizes[][2] = { { 16, 16 }, { 17, 23 }, { 40, 32 }, { 161, 97 }, { 17, 23 } };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    int width = sizes[i][0], height = sizes[i][1];
    g_autofree float *frame = test_frame (width, height);
    g_autofree float *first = translate (engine, frame, width, height);
    g_autoptr (TunitEngine) fresh = cpu_engine ();
    set_domain (fresh, 1);
    g_autofree float *again = translate (fresh, frame, width, height);
    for (gsize k = 0; k < (gsize) 3 * width * height; k++) {
      g_assert_true (isfinite (first[k]) && first[k] >= -1.0f && first[k] <= 1.0f);
      g_assert_cmpfloat (first[k], ==, again[k]);
    }
  }
}

/* The fast paths (Winograd with either tile, kept or per frame,
 * upsample + conv as phase convolutions, stride-2 convolutions on the
 * space-to-depth input, the portable loops) give the reference path's
 * numbers (options.reference_kernels: im2col everywhere, nothing fused),
 * on sizes that do and do not fill whole tiles. */
static void
test_fast_paths_match_reference (void)
{
  typedef struct { const char *name; gboolean reference; int tile, keep; gboolean portable; } Variant;
  const Variant variants[] = {
    { "reference kernels", TRUE, 0, 0, FALSE }, { "chosen per layer", FALSE, 0, 0, FALSE },
    { "F(2x2) everywhere", FALSE, 2, 0, FALSE }, { "F(4x4) everywhere", FALSE, 4, 0, FALSE },
    { "F(4x4) per frame", FALSE, 4, -1, FALSE }, { "portable loops", FALSE, 0, 0, TRUE },
  };
  const int sizes[][2] = { { 16, 16 }, { 40, 24 }, { 161, 97 } };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    int width = sizes[i][0], height = sizes[i][1];
    gsize n = (gsize) 3 * width * height;
    g_autofree float *frame = test_frame (width, height);
    g_autofree float *reference = NULL;
    for (guint v = 0; v < G_N_ELEMENTS (variants); v++) {
      TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
      options.backend = TUNIT_BACKEND_CPU;
      options.reference_kernels = variants[v].reference;
      options.winograd_tile = variants[v].tile;
      options.keep_winograd_weights = variants[v].keep;
      options.portable_loops = variants[v].portable;
      g_autoptr (TunitEngine) engine = cpu_engine_with (&options);
      set_domain (engine, 2);
      float *output = translate (engine, frame, width, height);
      if (reference == NULL) {
        reference = output;
        continue;
      }
      double largest = 0;
      for (gsize k = 0; k < n; k++)
        largest = MAX (largest, fabs (output[k] - reference[k]));
      g_test_message ("%dx%d %s: max |fast - reference| %.3g", width, height,
                      variants[v].name, largest);
      g_assert_cmpfloat (largest, <, 1e-4);
      g_free (output);
    }
  }
}

/* The TUNIT_* switches are read only where a program asks for them, and a
 * malformed one is an error that leaves the options alone. */
static void
test_options_from_environment (void)
{
  GError *error = NULL;
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  g_setenv ("TUNIT_CPU_WINOGRAD", "4", TRUE);
  g_setenv ("TUNIT_CPU_KEEP_WEIGHTS", "0", TRUE);
  g_setenv ("TUNIT_VULKAN_CONV_CONFIG", "2", TRUE);
  g_setenv ("TUNIT_VULKAN_PHASE_SPLIT", "0", TRUE);
  g_setenv ("TUNIT_VULKAN_PROFILE", "1", TRUE);
  g_setenv ("TUNIT_VULKAN_DEVICE", "3", TRUE);
  g_assert_true (tunit_engine_options_read_environment (&options, &error));
  g_assert_no_error (error);
  g_assert_cmpint (options.winograd_tile, ==, 4);
  g_assert_false (options.reference_kernels);
  g_assert_cmpint (options.keep_winograd_weights, ==, -1);
  g_assert_cmpint (options.vulkan_conv_tile, ==, 3);
  g_assert_true (options.unfused_upsample);
  g_assert_true (options.profile);
  g_assert_cmpint (options.device_index, ==, 3);
  /* an explicit device wins over TUNIT_VULKAN_DEVICE */
  options.device_index = 1;
  g_assert_true (tunit_engine_options_read_environment (&options, &error));
  g_assert_cmpint (options.device_index, ==, 1);

  const char *bad[][2] = {
    { "TUNIT_CPU_WINOGRAD", "3" }, { "TUNIT_CPU_KEEP_WEIGHTS", "yes" },
    { "TUNIT_VULKAN_CONV_CONFIG", "9" }, { "TUNIT_VULKAN_DEVICE", "-2" },
    { "TUNIT_VULKAN_VALIDATION", "on" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    const char *before = g_getenv (bad[i][0]);
    g_autofree char *saved = g_strdup (before);
    g_setenv (bad[i][0], bad[i][1], TRUE);
    TunitEngineOptions untouched = TUNIT_ENGINE_OPTIONS_INIT;
    TunitEngineOptions copy = untouched;
    g_assert_false (tunit_engine_options_read_environment (&copy, &error));
    g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
    g_assert_nonnull (strstr (error->message, bad[i][0]));
    g_test_message ("%s", error->message);
    g_clear_error (&error);
    g_assert_true (memcmp (&copy, &untouched, sizeof copy) == 0);
    if (saved != NULL)
      g_setenv (bad[i][0], saved, TRUE);
    else
      g_unsetenv (bad[i][0]);
  }
  const char *names[] = { "TUNIT_CPU_WINOGRAD", "TUNIT_CPU_KEEP_WEIGHTS",
                          "TUNIT_VULKAN_CONV_CONFIG", "TUNIT_VULKAN_PHASE_SPLIT",
                          "TUNIT_VULKAN_PROFILE", "TUNIT_VULKAN_DEVICE" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_unsetenv (names[i]);
  /* the engine itself ignores the environment */
  g_setenv ("TUNIT_CPU_WINOGRAD", "bad", TRUE);
  g_autoptr (TunitEngine) engine = cpu_engine ();
  g_unsetenv ("TUNIT_CPU_WINOGRAD");
}

static void
test_style_changes_output (void)
{
  g_autoptr (TunitEngine) engine = cpu_engine ();
  g_autofree float *frame = test_frame (32, 32);
  set_domain (engine, 0);
  g_autofree float *a = translate (engine, frame, 32, 32);
  set_domain (engine, 2);
  g_autofree float *b = translate (engine, frame, 32, 32);
  set_domain (engine, 0);
  g_autofree float *c = translate (engine, frame, 32, 32);
  double difference = 0;
  for (int k = 0; k < 3 * 32 * 32; k++) {
    difference += fabs (a[k] - b[k]);
    g_assert_cmpfloat (a[k], ==, c[k]);
  }
  g_assert_cmpfloat (difference, >, 1e-3);
}

static void
test_style_and_centroids_roundtrip (void)
{
  g_autoptr (TunitEngine) engine = cpu_engine ();
  g_autofree float *reference = test_frame (32, 32);
  float style[4], logits[3];
  GError *error = NULL;
  g_assert_true (tunit_engine_compute_style (engine, reference, style, logits, &error));
  float centroids[12];
  for (int i = 0; i < 12; i++)
    centroids[i] = style[i % 4] + i;
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "tunit-test-centroids.safetensors", NULL);
  g_assert_true (tunit_model_save_with_centroids (model, centroids, path, &error));
  g_autoptr (TunitModel) reloaded = tunit_model_load (path, &error);
  g_assert_no_error (error);
  const float *centroid = tunit_model_get_centroid (reloaded, 2, &error);
  g_assert_nonnull (centroid);
  g_assert_cmpmem (centroid, 16, centroids + 8, 16);
  g_unlink (path);
}

static void
test_pixels_roundtrip (void)
{
  const int width = 5, height = 3;
  guint8 bgrx[5 * 3 * 4 + 8];   /* stride with padding */
  for (guint i = 0; i < sizeof bgrx; i++)
    bgrx[i] = (guint8) (i * 37);
  TunitPixelLayout layout = { width, height, 24, 4, 2, 1, 0 };
  float planar[3 * 5 * 3];
  tunit_pixels_to_planar (bgrx, &layout, planar);
  g_assert_cmpfloat_with_epsilon (planar[0], bgrx[2] / 127.5 - 1.0, 1e-6);   /* red */
  g_assert_cmpfloat_with_epsilon (planar[15 * 2], bgrx[0] / 127.5 - 1.0, 1e-6); /* blue */
  guint8 back[sizeof bgrx];
  memcpy (back, bgrx, sizeof bgrx);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < 3; c++)
        back[y * 24 + x * 4 + c] = 0;
  tunit_planar_to_pixels (planar, &layout, back);
  g_assert_cmpmem (back, sizeof back, bgrx, sizeof bgrx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  model = tiny_model_load ();
  g_test_add_func ("/engine/needs-style", test_needs_style);
  g_test_add_func ("/engine/any-size", test_any_size);
  g_test_add_func ("/engine/fast-paths-match-reference", test_fast_paths_match_reference);
  g_test_add_func ("/engine/options-from-environment", test_options_from_environment);
  g_test_add_func ("/engine/style-changes-output", test_style_changes_output);
  g_test_add_func ("/engine/centroids-roundtrip", test_style_and_centroids_roundtrip);
  g_test_add_func ("/engine/pixels-roundtrip", test_pixels_roundtrip);
  int status = g_test_run ();
  tunit_model_unref (model);
  return status;
}
