/* environment.c - the TUNIT_* environment variables, read into engine
 * options by the programs' edges (the `tunit` command, the element).
 * Nothing else in libtunit calls getenv: a backend sees only options. */
#include "tunit.h"

#include <string.h>

/* Sets *value to the integer in `name` when the variable is set and not
 * empty; fails unless it is one of allowed[0 .. n_allowed). */
static gboolean
read_choice (const char *name, const int *allowed, int n_allowed, gboolean *present,
             int *value, GError **error)
{
  const char *text = g_getenv (name);
  *present = text != NULL && *text != '\0';
  if (!*present)
    return TRUE;
  char *end = NULL;
  gint64 number = g_ascii_strtoll (text, &end, 10);
  for (int i = 0; *end == '\0' && end != text && i < n_allowed; i++) {
    if (number == allowed[i]) {
      *value = (int) number;
      return TRUE;
    }
  }
  GString *expected = g_string_new (NULL);
  for (int i = 0; i < n_allowed; i++)
    g_string_append_printf (expected, "%s%d", i == 0 ? "" : i == n_allowed - 1 ? " or " : ", ",
                            allowed[i]);
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT, "%s=\"%s\": expected %s", name, text,
               expected->str);
  g_string_free (expected, TRUE);
  return FALSE;
}

static const int on_off[] = { 0, 1 };

/* A switch: 1 turns it on, 0 off; unset or empty leaves *value. */
static gboolean
read_switch (const char *name, gboolean *value, GError **error)
{
  gboolean present;
  int number = 0;
  if (!read_choice (name, on_off, G_N_ELEMENTS (on_off), &present, &number, error))
    return FALSE;
  if (present)
    *value = number == 1;
  return TRUE;
}

static gboolean
read_device (TunitEngineOptions *options, GError **error)
{
  const char *text = g_getenv ("TUNIT_VULKAN_DEVICE");
  if (options->device_index >= 0 || text == NULL || *text == '\0')
    return TRUE;
  char *end = NULL;
  gint64 value = g_ascii_strtoll (text, &end, 10);
  if (end == text || *end != '\0' || value < 0 || value > G_MAXINT) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "TUNIT_VULKAN_DEVICE=\"%s\" is not a device index", text);
    return FALSE;
  }
  options->device_index = (int) value;
  return TRUE;
}

/* TUNIT_CPU_GEMM: a provider's name; unset or empty leaves the choice */
static gboolean
read_gemm_provider (TunitEngineOptions *options, GError **error)
{
  const char *text = g_getenv ("TUNIT_CPU_GEMM");
  if (text == NULL || *text == '\0')
    return TRUE;
  if (strcmp (text, "openblas") == 0)
    options->cpu_gemm = TUNIT_CPU_GEMM_OPENBLAS;
  else if (strcmp (text, "onednn") == 0)
    options->cpu_gemm = TUNIT_CPU_GEMM_ONEDNN;
  else {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "TUNIT_CPU_GEMM=\"%s\": expected openblas or onednn", text);
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_cpu_variables (TunitEngineOptions *options, GError **error)
{
  /* TUNIT_CPU_WINOGRAD: 0 = the reference kernels, 2 or 4 = that tile */
  static const int winograd[] = { 0, 2, 4 };
  gboolean present;
  int tile = 0, keep = 0;
  if (!read_choice ("TUNIT_CPU_WINOGRAD", winograd, G_N_ELEMENTS (winograd), &present, &tile,
                    error))
    return FALSE;
  if (present && tile == 0)
    options->reference_kernels = TRUE;
  else if (present)
    options->winograd_tile = tile;
  if (!read_choice ("TUNIT_CPU_KEEP_WEIGHTS", on_off, G_N_ELEMENTS (on_off), &present, &keep,
                    error))
    return FALSE;
  if (present)
    options->keep_winograd_weights = keep ? 1 : -1;
  return read_gemm_provider (options, error)
         && read_switch ("TUNIT_CPU_FORCE_BF16", &options->force_bf16, error)
         && read_switch ("TUNIT_CPU_PORTABLE_LOOPS", &options->portable_loops, error)
         && read_switch ("TUNIT_CPU_PROFILE", &options->profile, error);
}

static gboolean
read_vulkan_variables (TunitEngineOptions *options, GError **error)
{
  /* tile shapes 0 .. 4 of compute/vulkan/vulkan-pipelines.c */
  static const int tiles[] = { 0, 1, 2, 3, 4 };
  gboolean present;
  int tile = 0;
  if (!read_choice ("TUNIT_VULKAN_CONV_CONFIG", tiles, G_N_ELEMENTS (tiles), &present, &tile,
                    error))
    return FALSE;
  if (present)
    options->vulkan_conv_tile = tile + 1;
  gboolean phase_split = !options->unfused_upsample, profile = FALSE;
  if (!read_switch ("TUNIT_VULKAN_PHASE_SPLIT", &phase_split, error)
      || !read_switch ("TUNIT_VULKAN_VALIDATION", &options->vulkan_validation, error)
      || !read_switch ("TUNIT_VULKAN_PROFILE", &profile, error))
    return FALSE;
  options->unfused_upsample = !phase_split;
  options->profile = options->profile || profile;
  return read_device (options, error);
}

gboolean
tunit_engine_options_read_environment (TunitEngineOptions *options, GError **error)
{
  g_return_val_if_fail (options != NULL, FALSE);
  TunitEngineOptions read = *options;
  if (!read_cpu_variables (&read, error) || !read_vulkan_variables (&read, error))
    return FALSE;
  *options = read;
  return TRUE;
}
