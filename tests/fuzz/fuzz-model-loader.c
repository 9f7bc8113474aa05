/* fuzz-model-loader.c - libFuzzer target: a model file from bytes, through
 * the whole loader (header, tensors, architecture, network description).
 * Every input must load or fail with a GError; a crash, a sanitizer report,
 * a leak or a hang is a bug. */
#include "tunit.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  GBytes *bytes = g_bytes_new_static (data, size);
  GError *error = NULL;
  TunitModel *model = tunit_model_load_from_bytes (bytes, &error);
  g_assert ((model == NULL) == (error != NULL));
  g_clear_error (&error);
  g_clear_pointer (&model, tunit_model_unref);
  g_bytes_unref (bytes);
  return 0;
}
