/* tunit-cli.c - the `tunit` command: inspect models, compute style codes
 * and centroids, translate images, benchmark the backends. */
#include "image-io.h"
#include "tunit.h"
#include "tunit-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

/* Options shared by the commands that run the network. */
typedef struct {
  char *model_path;
  char *backend;
  char *precision;
  int device;
  int threads;
  char *reference;
  char *style_file;
  int domain;
  char *output;
  char *size;
  int frames;
} CliOptions;

static CliOptions options = { .device = -1, .domain = -1, .frames = 10 };

static GOptionEntry model_entries[] = {
  { "model", 'm', 0, G_OPTION_ARG_FILENAME, &options.model_path, "Model file (.safetensors)", "MODEL" },
  { NULL }
};

static GOptionEntry engine_entries[] = {
  { "backend", 'b', 0, G_OPTION_ARG_STRING, &options.backend, "cpu, vulkan or auto (default: Vulkan on a GPU, else CPU)", "BACKEND" },
  { "device", 'g', 0, G_OPTION_ARG_INT, &options.device, "Vulkan device index (default: best)", "N" },
  { "precision", 0, 0, G_OPTION_ARG_STRING, &options.precision, "fp32, fp16 or bf16 (default: backend's choice)", "P" },
  { "threads", 't', 0, G_OPTION_ARG_INT, &options.threads, "CPU threads (default: all cores)", "N" },
  { NULL }
};

static GOptionEntry style_entries[] = {
  { "reference", 'r', 0, G_OPTION_ARG_FILENAME, &options.reference, "Reference image whose style to take", "REF" },
  { "domain", 'd', 0, G_OPTION_ARG_INT, &options.domain, "Pseudo-domain whose centroid gives the style", "K" },
  { "style", 's', 0, G_OPTION_ARG_FILENAME, &options.style_file, "Style code (.npy, float32 [1,d])", "STYLE.npy" },
  { NULL }
};

static GOptionEntry output_entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &options.output, "Output file", "FILE" },
  { NULL }
};

static GOptionEntry bench_entries[] = {
  { "size", 0, 0, G_OPTION_ARG_STRING, &options.size, "Frame size (default 256x256)", "WxH" },
  { "frames", 'n', 0, G_OPTION_ARG_INT, &options.frames, "Frames to time (default 10)", "N" },
  { NULL }
};

static int
fail (GError *error)
{
  fprintf (stderr, "tunit: error: %s\n", error->message);
  g_error_free (error);
  return EXIT_FAILURE;
}

static int
usage_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

static int
usage_error (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  fprintf (stderr, "tunit: ");
  vfprintf (stderr, format, args);
  fprintf (stderr, "\n(see `tunit --help`)\n");
  va_end (args);
  return EXIT_USAGE;
}

static gboolean
parse_engine_options (TunitEngineOptions *engine_options, GError **error)
{
  *engine_options = (TunitEngineOptions) TUNIT_ENGINE_OPTIONS_INIT;
  const char *backend = options.backend ? options.backend : "auto";
  if (strcmp (backend, "auto") == 0)
    engine_options->backend = TUNIT_BACKEND_AUTO;
  else if (strcmp (backend, "cpu") == 0)
    engine_options->backend = TUNIT_BACKEND_CPU;
  else if (strcmp (backend, "vulkan") == 0)
    engine_options->backend = TUNIT_BACKEND_VULKAN;
  else {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "unknown backend '%s' (use cpu, vulkan or auto)", backend);
    return FALSE;
  }
  const char *precision = options.precision ? options.precision : "default";
  if (strcmp (precision, "default") == 0)
    engine_options->precision = TUNIT_PRECISION_DEFAULT;
  else if (strcmp (precision, "fp32") == 0)
    engine_options->precision = TUNIT_PRECISION_FP32;
  else if (strcmp (precision, "fp16") == 0)
    engine_options->precision = TUNIT_PRECISION_FP16;
  else if (strcmp (precision, "bf16") == 0)
    engine_options->precision = TUNIT_PRECISION_BF16;
  else {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "unknown precision '%s' (use fp32, fp16 or bf16)", precision);
    return FALSE;
  }
  if (options.device < -1 || options.threads < 0) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT, "device and threads must not be negative");
    return FALSE;
  }
  engine_options->device_index = options.device;
  engine_options->threads = options.threads;
  /* the tuning and debugging switches (TUNIT_CPU_*, TUNIT_VULKAN_*) */
  return tunit_engine_options_read_environment (engine_options, error);
}

static TunitModel *
load_model (GError **error)
{
  if (options.model_path == NULL) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT, "no model given (-m MODEL)");
    return NULL;
  }
  return tunit_model_load (options.model_path, error);
}

static TunitEngine *
open_engine (TunitModel *model, GError **error)
{
  TunitEngineOptions engine_options;
  if (!parse_engine_options (&engine_options, error))
    return NULL;
  return tunit_engine_new (model, &engine_options, error);
}

/* A reference image as the guide wants it: img_size x img_size. PNG and
 * JPEG are resized; a .npy must already have that size. */
static gboolean
load_reference (const char *path, int size, float **planar, GError **error)
{
  CliImage image = { 0 };
  if (!cli_image_load (path, &image, error))
    return FALSE;
  if (image.width == size && image.height == size) {
    *planar = g_steal_pointer (&image.planar);
    return TRUE;
  }
  if (image.exact) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "%s: a .npy reference is used as-is and must be %dx%d, not %dx%d", path,
                 size, size, image.width, image.height);
    cli_image_clear (&image);
    return FALSE;
  }
  *planar = g_new (float, (gsize) 3 * size * size);
  tunit_planar_resize (image.planar, image.width, image.height, *planar, size, size);
  cli_image_clear (&image);
  return TRUE;
}

static gboolean
style_from_reference (TunitEngine *engine, const char *path, float *style, float *logits,
                      GError **error)
{
  int size = tunit_model_get_architecture (tunit_engine_get_model (engine))->img_size;
  g_autofree float *reference = NULL;
  if (!load_reference (path, size, &reference, error))
    return FALSE;
  return tunit_engine_compute_style (engine, reference, style, logits, error);
}

static gboolean
style_from_file (const char *path, int style_dim, float *style, GError **error)
{
  int n_dims;
  gint64 dims[8];
  g_autofree float *values = NULL;
  gsize count;
  if (!cli_npy_load (path, &n_dims, dims, &values, &count, error))
    return FALSE;
  if (count != (gsize) style_dim || n_dims < 1 || n_dims > 2) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "%s: a style code must be float32 [1,%d]", path, style_dim);
    return FALSE;
  }
  memcpy (style, values, sizeof (float) * style_dim);
  return TRUE;
}

/* Exactly one of -r, -d, -s; fills style (style_dim floats). */
static gboolean
resolve_style (TunitEngine *engine, gboolean allow_file, float *style, GError **error)
{
  int given = (options.reference != NULL) + (options.domain >= 0)
              + (allow_file && options.style_file != NULL);
  if (given != 1 || options.domain < -1) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 allow_file ? "give exactly one of -r REF, -d K, -s STYLE.npy"
                            : "give exactly one of -r REF, -d K");
    return FALSE;
  }
  TunitModel *model = tunit_engine_get_model (engine);
  int style_dim = tunit_model_get_architecture (model)->style_dim;
  if (options.reference != NULL)
    return style_from_reference (engine, options.reference, style, NULL, error);
  if (options.style_file != NULL)
    return style_from_file (options.style_file, style_dim, style, error);
  const float *centroid = tunit_model_get_centroid (model, options.domain, error);
  if (centroid == NULL)
    return FALSE;
  memcpy (style, centroid, sizeof (float) * style_dim);
  return TRUE;
}

/* ------------------------------------------------------------ commands */

static int
command_info (int argc, char **argv)
{
  if (argc != 1)
    return usage_error ("usage: tunit info MODEL");
  GError *error = NULL;
  g_autoptr (TunitModel) model = tunit_model_load (argv[0], &error);
  if (model == NULL)
    return fail (error);
  const TunitArchitecture *a = tunit_model_get_architecture (model);
  printf ("model:            %s\n", argv[0]);
  printf ("img_size:         %d\n", a->img_size);
  printf ("style_dim:        %d\n", a->style_dim);
  printf ("generator:        nf %d, n_downs %d, n_res %d, MLP %d x %d\n", a->nf, a->n_downs,
          a->n_res, a->mlp_layers, a->mlp_dim);
  printf ("domains (K):      %d\n", a->num_domains);
  printf ("centroids:        %s\n", a->has_centroids ? "yes" : "no");
  printf ("parameters:       generator %" G_GSIZE_FORMAT ", guiding network %" G_GSIZE_FORMAT "\n",
          tunit_model_count_parameters (model, "G."), tunit_model_count_parameters (model, "E."));
  printf ("GFLOP per frame:  %.1f at %dx%d, %.1f at 256x256\n",
          tunit_model_generator_flops (model, a->img_size, a->img_size) / 1e9, a->img_size,
          a->img_size, tunit_model_generator_flops (model, 256, 256) / 1e9);
  const char *keys[] = { "tunit.source", "tunit.weights", "tunit.epoch", "tunit.converter" };
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++) {
    const char *value = tunit_model_get_metadata (model, keys[i]);
    if (value != NULL)
      printf ("%-17s %s\n", keys[i] + 6, value);
  }
  return EXIT_SUCCESS;
}

static int
command_translate (int argc, char **argv)
{
  if (argc != 2)
    return usage_error ("usage: tunit translate -m MODEL (-r REF | -d K | -s STYLE.npy) IN OUT");
  GError *error = NULL;
  g_autoptr (TunitModel) model = load_model (&error);
  if (model == NULL)
    return fail (error);
  g_autoptr (TunitEngine) engine = open_engine (model, &error);
  if (engine == NULL)
    return fail (error);
  g_autofree float *style = g_new (float, tunit_model_get_architecture (model)->style_dim);
  if (!resolve_style (engine, TRUE, style, &error) || !tunit_engine_set_style (engine, style, &error))
    return fail (error);
  CliImage input = { 0 };
  if (!cli_image_load (argv[0], &input, &error))
    return fail (error);
  g_autofree float *output = g_new (float, (gsize) 3 * input.width * input.height);
  gboolean ok = tunit_engine_translate (engine, input.planar, input.width, input.height, output,
                                        &error)
                && cli_image_save (argv[1], output, input.width, input.height, &error);
  cli_image_clear (&input);
  return ok ? EXIT_SUCCESS : fail (error);
}

static int
command_style (int argc, char **argv)
{
  if (argc != 0 || options.output == NULL)
    return usage_error ("usage: tunit style -m MODEL (-r REF | -d K) -o STYLE.npy");
  GError *error = NULL;
  g_autoptr (TunitModel) model = load_model (&error);
  if (model == NULL)
    return fail (error);
  g_autoptr (TunitEngine) engine = open_engine (model, &error);
  if (engine == NULL)
    return fail (error);
  int style_dim = tunit_model_get_architecture (model)->style_dim;
  g_autofree float *style = g_new (float, style_dim);
  gint64 dims[2] = { 1, style_dim };
  if (!resolve_style (engine, FALSE, style, &error)
      || !cli_npy_save (options.output, 2, dims, style, &error))
    return fail (error);
  return EXIT_SUCCESS;
}

static int
argmax_softmax (const float *logits, int n, double *probability)
{
  int best = 0;
  for (int k = 1; k < n; k++)
    if (logits[k] > logits[best])
      best = k;
  double total = 0.0;
  for (int k = 0; k < n; k++)
    total += exp ((double) logits[k] - logits[best]);
  *probability = 1.0 / total;
  return best;
}

static int
command_classify (int argc, char **argv)
{
  if (argc < 1)
    return usage_error ("usage: tunit classify -m MODEL IMAGE...");
  GError *error = NULL;
  g_autoptr (TunitModel) model = load_model (&error);
  if (model == NULL)
    return fail (error);
  g_autoptr (TunitEngine) engine = open_engine (model, &error);
  if (engine == NULL)
    return fail (error);
  const TunitArchitecture *a = tunit_model_get_architecture (model);
  g_autofree float *style = g_new (float, a->style_dim);
  g_autofree float *logits = g_new (float, a->num_domains);
  for (int i = 0; i < argc; i++) {
    if (!style_from_reference (engine, argv[i], style, logits, &error))
      return fail (error);
    double probability;
    int domain = argmax_softmax (logits, a->num_domains, &probability);
    printf ("%s: domain %d (probability %.3f)\n", argv[i], domain, probability);
  }
  return EXIT_SUCCESS;
}

static gboolean
is_image_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  return g_str_has_suffix (lower, ".png") || g_str_has_suffix (lower, ".jpg")
         || g_str_has_suffix (lower, ".jpeg") || g_str_has_suffix (lower, ".npy");
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* Expands directories to their image files, sorted by name. */
static GPtrArray *
collect_images (int argc, char **argv, GError **error)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < argc; i++) {
    if (!g_file_test (argv[i], G_FILE_TEST_IS_DIR)) {
      g_ptr_array_add (paths, g_strdup (argv[i]));
      continue;
    }
    GDir *dir = g_dir_open (argv[i], 0, error);
    if (dir == NULL) {
      g_ptr_array_unref (paths);
      return NULL;
    }
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    const char *name;
    while ((name = g_dir_read_name (dir)) != NULL)
      if (is_image_name (name))
        g_ptr_array_add (names, g_build_filename (argv[i], name, NULL));
    g_dir_close (dir);
    g_ptr_array_sort (names, compare_paths);
    for (guint j = 0; j < names->len; j++)
      g_ptr_array_add (paths, g_strdup (names->pdata[j]));
  }
  return paths;
}

static int
command_centroids (int argc, char **argv)
{
  if (argc < 1 || options.output == NULL)
    return usage_error ("usage: tunit centroids -m MODEL -o OUT_MODEL IMAGE_OR_DIR...");
  GError *error = NULL;
  g_autoptr (TunitModel) model = load_model (&error);
  if (model == NULL)
    return fail (error);
  g_autoptr (TunitEngine) engine = open_engine (model, &error);
  g_autoptr (GPtrArray) paths = engine ? collect_images (argc, argv, &error) : NULL;
  if (paths == NULL)
    return fail (error);
  if (paths->len == 0)
    return usage_error ("no images found");
  const TunitArchitecture *a = tunit_model_get_architecture (model);
  int d = a->style_dim, k_count = a->num_domains;
  g_autofree double *sums = g_new0 (double, (gsize) k_count * d);
  g_autofree int *counts = g_new0 (int, k_count);
  g_autofree float *style = g_new (float, d);
  g_autofree float *logits = g_new (float, k_count);
  for (guint i = 0; i < paths->len; i++) {
    if (!style_from_reference (engine, paths->pdata[i], style, logits, &error))
      return fail (error);
    double probability;
    int k = argmax_softmax (logits, k_count, &probability);
    counts[k]++;
    for (int j = 0; j < d; j++)
      sums[(gsize) k * d + j] += style[j];
  }
  g_autofree float *centroids = g_new0 (float, (gsize) k_count * d);
  for (int k = 0; k < k_count; k++) {
    printf ("domain %d: %d images\n", k, counts[k]);
    if (counts[k] == 0)
      fprintf (stderr, "tunit: warning: no image fell in domain %d; its centroid is zero\n", k);
    for (int j = 0; counts[k] > 0 && j < d; j++)
      centroids[(gsize) k * d + j] = (float) (sums[(gsize) k * d + j] / counts[k]);
  }
  if (!tunit_model_save_with_centroids (model, centroids, options.output, &error))
    return fail (error);
  return EXIT_SUCCESS;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* "Intel(R) Xeon(R) ...; avx2 avx512f avx512_bf16, no amx_bf16": the
 * CPU a benchmark ran on and the flags that decide its kernels (Linux
 * /proc/cpuinfo; NULL elsewhere). */
static char *
describe_cpu (void)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/cpuinfo", &text, NULL, NULL))
    return NULL;
  static const char *const wanted[] = { "avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16" };
  g_autofree char *model = NULL;
  g_auto (GStrv) flags = NULL;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i] != NULL && (model == NULL || flags == NULL); i++) {
    char *colon = strchr (lines[i], ':');
    if (colon == NULL)
      continue;
    if (model == NULL && g_str_has_prefix (lines[i], "model name"))
      model = g_strstrip (g_strdup (colon + 1));
    else if (flags == NULL && g_str_has_prefix (lines[i], "flags"))
      flags = g_strsplit (g_strstrip (colon + 1), " ", -1);
  }
  GString *out = g_string_new (model != NULL ? model : "unknown CPU");
  GString *absent = g_string_new (NULL);
  g_string_append (out, ";");
  for (guint f = 0; f < G_N_ELEMENTS (wanted); f++) {
    gboolean has = flags != NULL && g_strv_contains ((const char *const *) flags, wanted[f]);
    g_string_append_printf (has ? out : absent, " %s", wanted[f]);
  }
  if (absent->len > 0)
    g_string_append_printf (out, ", no%s", absent->str);
  g_string_free (absent, TRUE);
  return g_string_free (out, FALSE);
}

static int
command_bench (int argc, char **argv)
{
  int width = 256, height = 256;
  if (argc != 0 || (options.size && sscanf (options.size, "%dx%d", &width, &height) != 2)
      || options.frames < 1)
    return usage_error ("usage: tunit bench -m MODEL --size WxH [-b BACKEND] [-n FRAMES]");
  GError *error = NULL;
  g_autoptr (TunitModel) model = load_model (&error);
  if (model == NULL)
    return fail (error);
  g_autoptr (TunitEngine) engine = open_engine (model, &error);
  if (engine == NULL)
    return fail (error);
  const TunitArchitecture *a = tunit_model_get_architecture (model);
  /* a deterministic, smooth test picture as both reference and frame */
  gsize count = (gsize) 3 * width * height;
  g_autofree float *frame = g_new (float, count);
  g_autofree float *output = g_new (float, count);
  for (gsize i = 0; i < count; i++)
    frame[i] = (float) sin (0.001 * (double) i);
  g_autofree float *reference = g_new (float, (gsize) 3 * a->img_size * a->img_size);
  tunit_planar_resize (frame, width, height, reference, a->img_size, a->img_size);
  g_autofree float *style = g_new (float, a->style_dim);
  if (!tunit_engine_compute_style (engine, reference, style, NULL, &error)
      || !tunit_engine_set_style (engine, style, &error)
      || !tunit_engine_translate (engine, frame, width, height, output, &error))  /* warm-up */
    return fail (error);
  g_autofree double *times = g_new (double, options.frames);
  for (int i = 0; i < options.frames; i++) {
    gint64 start = g_get_monotonic_time ();
    if (!tunit_engine_translate (engine, frame, width, height, output, &error))
      return fail (error);
    times[i] = (g_get_monotonic_time () - start) / 1000.0;
  }
  qsort (times, options.frames, sizeof (double), compare_doubles);
  double median = options.frames % 2 ? times[options.frames / 2]
                                     : (times[options.frames / 2 - 1] + times[options.frames / 2]) / 2;
  double flops = tunit_model_generator_flops (model, width, height);
  g_autofree char *cpu = describe_cpu ();
  if (cpu != NULL)
    printf ("cpu %s\n", cpu);
  printf ("backend %s (%s)\n", tunit_engine_get_backend_name (engine),
          tunit_engine_get_description (engine));
  printf ("size %dx%d: median %.1f ms/frame (min %.1f, max %.1f, %d frames), %.1f GFLOP/frame, %.1f GFLOP/s\n",
          width, height, median, times[0], times[options.frames - 1], options.frames,
          flops / 1e9, flops / 1e9 / (median / 1000.0));
  return EXIT_SUCCESS;
}

static int
command_devices (int argc, char **argv)
{
  GError *error = NULL;
  g_autofree char *text = tunit_vulkan_describe_devices (&error);
  if (text == NULL)
    return fail (error);
  fputs (text, stdout);
  return EXIT_SUCCESS;
}

/* --------------------------------------------------------------- main */

typedef struct {
  const char *name;
  const char *arguments;
  const char *summary;
  int (*run) (int argc, char **argv);
  gboolean engine, style, output, bench;
} Command;

static const Command commands[] = {
  { "info", "MODEL", "show a model's architecture and contents", command_info, FALSE, FALSE, FALSE, FALSE },
  { "translate", "IN OUT", "translate an image (PNG, JPEG or .npy)", command_translate, TRUE, TRUE, FALSE, FALSE },
  { "style", "", "write a style code (.npy)", command_style, TRUE, TRUE, TRUE, FALSE },
  { "classify", "IMAGE...", "pseudo-domain of each image", command_classify, TRUE, FALSE, FALSE, FALSE },
  { "centroids", "IMAGE_OR_DIR...", "compute pseudo-domain centroids into a new model file", command_centroids, TRUE, FALSE, TRUE, FALSE },
  { "bench", "", "time the generator: median ms per frame and GFLOP/s", command_bench, TRUE, FALSE, FALSE, TRUE },
  { "devices", "", "list Vulkan devices", command_devices, FALSE, FALSE, FALSE, FALSE },
};

static void
print_usage (void)
{
  printf ("Usage: tunit COMMAND [OPTION...] ARGUMENTS\n\nTUNIT image-to-image translation (gst-tunit %s).\n\nCommands:\n",
          TUNIT_VERSION);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    printf ("  %-10s %s\n", commands[i].name, commands[i].summary);
  printf ("\n`tunit COMMAND --help` shows a command's options.\n");
}

int
main (int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
    print_usage ();
    return argc < 2 ? EXIT_USAGE : EXIT_SUCCESS;
  }
  const Command *command = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      command = &commands[i];
  if (command == NULL)
    return usage_error ("unknown command '%s'", argv[1]);
  g_autofree char *parameter = g_strdup_printf ("%s %s", command->name, command->arguments);
  g_autoptr (GOptionContext) context = g_option_context_new (parameter);
  g_option_context_set_summary (context, command->summary);
  if (command->engine) {
    g_option_context_add_main_entries (context, model_entries, NULL);
    g_option_context_add_main_entries (context, engine_entries, NULL);
  }
  if (command->style)
    g_option_context_add_main_entries (context, style_entries, NULL);
  if (command->output)
    g_option_context_add_main_entries (context, output_entries, NULL);
  if (command->bench)
    g_option_context_add_main_entries (context, bench_entries, NULL);
  /* parse everything after the command word */
  int sub_argc = argc - 1;
  char **sub_argv = argv + 1;
  GError *error = NULL;
  if (!g_option_context_parse (context, &sub_argc, &sub_argv, &error)) {
    int status = usage_error ("%s", error->message);
    g_error_free (error);
    return status;
  }
  return command->run (sub_argc - 1, sub_argv + 1);
}
