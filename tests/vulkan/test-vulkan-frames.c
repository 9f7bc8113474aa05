/* test-vulkan-frames.c - the Vulkan engine against the CPU engine over a
 * sequence of frames: several frames at one size, a style change, a
 * frame-size change and back, plus style codes from the guiding network.
 *
 * Models: the tiny test model (tests/unit/tiny-model.c) and, when the
 * parity fixtures exist (TUNIT_FIXTURES), the converted s64 model, whose
 * widths exercise the larger convolution tiles. */
#include "tunit.h"
#include "tiny-model.h"

#include <math.h>
#include <string.h>

typedef struct {
  TunitEngine *cpu, *vulkan;
  const TunitArchitecture *architecture;
  guint32 seed;
  double tolerance;
  double worst;
} Pair;

static float
random_unit (guint32 *seed)
{
  *seed = *seed * 1664525u + 1013904223u;
  return (*seed >> 8) / 16777216.0f * 2.0f - 1.0f;
}

/* A smooth random image: frames with structure, not only noise. */
static float *
random_image (guint32 *seed, int width, int height)
{
  float *image = g_new (float, (gsize) 3 * width * height);
  float a = random_unit (seed) * 0.2f, b = random_unit (seed) * 0.2f;
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        image[((gsize) c * height + y) * width + x] =
          0.6f * sinf (a * x + b * y + c) + 0.3f * random_unit (seed);
  return image;
}

static double
max_difference (const float *a, const float *b, gsize count)
{
  double worst = 0;
  for (gsize i = 0; i < count; i++) {
    double d = fabs ((double) a[i] - b[i]);
    worst = isnan (d) ? INFINITY : MAX (worst, d);
  }
  return worst;
}

static double
max_magnitude (const float *a, gsize count)
{
  double largest = 0;
  for (gsize i = 0; i < count; i++)
    largest = MAX (largest, fabs (a[i]));
  return largest;
}

/* Fails when |cpu - vulkan| > tolerance * max(1, max |cpu|). */
static void
check_close (Pair *pair, const float *cpu, const float *vulkan, gsize count, const char *what)
{
  double d = max_difference (cpu, vulkan, count);
  double scale = MAX (1.0, max_magnitude (cpu, count));
  g_test_message ("%s: max |cpu - vulkan| = %.3g (max |cpu| %.3g)", what, d, scale);
  pair->worst = MAX (pair->worst, d / scale);
  if (!(d <= pair->tolerance * scale))
    g_error ("%s: Vulkan differs from the CPU by %.3g (tolerance %.3g x %.3g)", what, d,
             pair->tolerance, scale);
}

/* Translates `input` on both engines; returns the Vulkan output. */
static float *
translate_both (Pair *pair, const float *input, int width, int height, const char *what)
{
  g_autoptr (GError) error = NULL;
  gsize count = (gsize) 3 * width * height;
  g_autofree float *cpu = g_new (float, count);
  float *vulkan = g_new (float, count);
  g_assert_true (tunit_engine_translate (pair->cpu, input, width, height, cpu, &error));
  g_assert_no_error (error);
  g_assert_true (tunit_engine_translate (pair->vulkan, input, width, height, vulkan, &error));
  g_assert_no_error (error);
  g_autofree char *label = g_strdup_printf ("%s (%dx%d)", what, width, height);
  check_close (pair, cpu, vulkan, count, label);
  return vulkan;
}

/* Style code of a random reference on both engines (the guiding network). */
static void
style_both (Pair *pair, float *style)
{
  g_autoptr (GError) error = NULL;
  int size = pair->architecture->img_size, d = pair->architecture->style_dim;
  int k = pair->architecture->num_domains;
  g_autofree float *image = random_image (&pair->seed, size, size);
  g_autofree float *cpu_style = g_new (float, d);
  g_autofree float *cpu_logits = g_new (float, k);
  g_autofree float *logits = g_new (float, k);
  g_assert_true (tunit_engine_compute_style (pair->cpu, image, cpu_style, cpu_logits, &error));
  g_assert_true (tunit_engine_compute_style (pair->vulkan, image, style, logits, &error));
  g_assert_no_error (error);
  check_close (pair, cpu_style, style, d, "style code");
  check_close (pair, cpu_logits, logits, k, "logits");
}

static void
set_style_both (Pair *pair, const float *style)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (tunit_engine_set_style (pair->cpu, style, &error));
  g_assert_true (tunit_engine_set_style (pair->vulkan, style, &error));
  g_assert_no_error (error);
}

static void
run_sequence (TunitModel *model, TunitPrecision precision, int width, int height)
{
  g_autoptr (GError) error = NULL;
  TunitEngineOptions cpu_options = TUNIT_ENGINE_OPTIONS_INIT;
  cpu_options.backend = TUNIT_BACKEND_CPU;
  /* TUNIT_VULKAN_VALIDATION=1, as meson runs the test */
  TunitEngineOptions vulkan_options = TUNIT_ENGINE_OPTIONS_INIT;
  g_assert_true (tunit_engine_options_read_environment (&vulkan_options, NULL));
  vulkan_options.backend = TUNIT_BACKEND_VULKAN;
  vulkan_options.precision = precision;
  Pair pair = { .seed = 7, .architecture = tunit_model_get_architecture (model) };
  pair.cpu = tunit_engine_new (model, &cpu_options, &error);
  g_assert_no_error (error);
  pair.vulkan = tunit_engine_new (model, &vulkan_options, &error);
  g_assert_no_error (error);
  const char *description = tunit_engine_get_description (pair.vulkan);
  gboolean fp16 = strstr (description, "fp16") != NULL;
  pair.tolerance = fp16 ? 2e-2 : 1e-4;
  g_test_message ("%s", description);

  int d = pair.architecture->style_dim;
  g_autofree float *style_a = g_new (float, d);
  g_autofree float *style_b = g_new (float, d);
  /* the guide runs on both engines; the styles used are that code and a
   * centroid (the tiny model's guide barely depends on its input) */
  style_both (&pair, style_a);
  if (pair.architecture->has_centroids) {
    memcpy (style_b, tunit_model_get_centroid (model, 1, &error), d * sizeof (float));
    g_assert_no_error (error);
  } else {
    style_both (&pair, style_b);
  }

  gsize count = (gsize) 3 * width * height;
  int width2 = height + 8, height2 = width / 2 + 3;
  g_autofree float *input1 = random_image (&pair.seed, width, height);
  g_autofree float *input2 = random_image (&pair.seed, width, height);
  g_autofree float *input3 = random_image (&pair.seed, width2, height2);

  set_style_both (&pair, style_a);
  g_autofree float *first = translate_both (&pair, input1, width, height, "frame 1, style A");
  g_autofree float *second = translate_both (&pair, input2, width, height, "frame 2, style A");
  set_style_both (&pair, style_b);
  g_autofree float *third = translate_both (&pair, input1, width, height, "frame 3, style B");
  g_autofree float *resized = translate_both (&pair, input3, width2, height2,
                                              "frame 4, new size");
  set_style_both (&pair, style_a);
  g_autofree float *back = translate_both (&pair, input1, width, height,
                                           "frame 5, first size, style A");

  /* the style change took effect; going back to style A and to the first
   * size (a rebuilt program) gives the first frame again */
  double style_effect = max_difference (first, third, count);
  g_test_message ("style A vs B on the same frame: %.3g", style_effect);
  /* a stale style would give exactly the same output */
  g_assert_cmpfloat (style_effect, >, 1e-4);
  g_assert_cmpfloat (max_difference (first, back, count), <=, 1e-6);
  g_test_message ("worst relative difference: %.3g", pair.worst);

  tunit_engine_free (pair.cpu);
  tunit_engine_free (pair.vulkan);
}

static void
test_tiny_model (gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = tiny_model_build (TRUE);
  g_autoptr (TunitModel) model = tunit_model_load_from_bytes (bytes, &error);
  g_assert_no_error (error);
  run_sequence (model, GPOINTER_TO_INT (data), 40, 32);
}

static void
test_fixture_model (gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *fixtures = g_getenv ("TUNIT_FIXTURES");
  g_autofree char *path = fixtures ? g_build_filename (fixtures, "s64", "model.safetensors",
                                                       NULL)
                                   : NULL;
  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_test_skip ("no parity fixtures (TUNIT_FIXTURES/s64/model.safetensors)");
    return;
  }
  g_autoptr (TunitModel) model = tunit_model_load (path, &error);
  g_assert_no_error (error);
  run_sequence (model, GPOINTER_TO_INT (data), 36, 20);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/vulkan/frames/tiny/fp32", GINT_TO_POINTER (TUNIT_PRECISION_FP32),
                        test_tiny_model);
  g_test_add_data_func ("/vulkan/frames/tiny/fp16", GINT_TO_POINTER (TUNIT_PRECISION_FP16),
                        test_tiny_model);
  g_test_add_data_func ("/vulkan/frames/s64/fp32", GINT_TO_POINTER (TUNIT_PRECISION_FP32),
                        test_fixture_model);
  g_test_add_data_func ("/vulkan/frames/s64/fp16", GINT_TO_POINTER (TUNIT_PRECISION_FP16),
                        test_fixture_model);
  return g_test_run ();
}
