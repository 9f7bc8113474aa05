/* fuzz-image.c - libFuzzer target: the tunit tool's image reader (PNG with
 * libpng, JPEG with libjpeg, .npy), with libtunit's file check in front.
 *
 * Inputs whose header declares more than FUZZ_MAX_PIXELS are dropped
 * before decoding: the reader accepts up to TUNIT_MAX_IMAGE_PIXELS (32 Mi),
 * which decodes in seconds and would only slow the search down; the bound
 * itself is tested by tests/unit/test-image-io. */
#include "image-io.h"
#include "tunit.h"

#define FUZZ_MAX_PIXELS (1 << 20)

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data, size_t size)
{
  guint64 width, height;
  if (tunit_image_file_check (data, size, &width, &height) == TUNIT_IMAGE_FILE_COMPLETE
      && width * height > FUZZ_MAX_PIXELS)
    return 0;
  CliImage image = { 0 };
  GError *error = NULL;
  gboolean ok = cli_image_decode ("input", data, size, &image, &error);
  g_assert (ok == (error == NULL));
  if (ok)
    g_assert (image.planar != NULL && image.width > 0 && image.height > 0);
  g_clear_error (&error);
  cli_image_clear (&image);
  return 0;
}
