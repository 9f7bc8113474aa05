/* fuzz-npy.c - libFuzzer target: the tunit tool's .npy reader. */
#include "image-io.h"

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  int n_dims;
  gint64 dims[8];
  float *values = NULL;
  gsize count;
  GError *error = NULL;
  gboolean ok = cli_npy_parse ("input", data, size, &n_dims, dims, &values, &count, &error);
  g_assert (ok == (error == NULL));
  g_assert (!ok || values != NULL);
  g_clear_error (&error);
  g_free (values);
  return 0;
}
