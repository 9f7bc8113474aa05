/* test-image-io.c - the tunit tool's image reader against valid, truncated,
 * corrupt and oversized files: a bad file is an error that names it, an
 * oversized one is refused before it is decoded. */
#include "image-io.h"
#include "test-images.h"
#include "tunit.h"

#include <string.h>

static void
assert_decodes (GBytes *file, int width, int height)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (file, &size);
  CliImage image = { 0 };
  GError *error = NULL;
  gboolean ok = cli_image_decode ("test-file", data, size, &image, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
  g_assert_cmpint (image.width, ==, width);
  g_assert_cmpint (image.height, ==, height);
  cli_image_clear (&image);
}

static void
assert_refused (GBytes *file, const char *expected)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (file, &size);
  CliImage image = { 0 };
  GError *error = NULL;
  gboolean ok = cli_image_decode ("test-file", data, size, &image, &error);
  if (ok)
    g_error ("a file of %" G_GSIZE_FORMAT " bytes was accepted (expected: %s)", size, expected);
  g_assert_nonnull (error);
  g_assert_null (image.planar);
  if (strstr (error->message, "test-file") == NULL || strstr (error->message, expected) == NULL)
    g_error ("message '%s' lacks the file name or '%s'", error->message, expected);
  g_error_free (error);
}

static void
test_valid (void)
{
  g_autofree guint8 *rgb = test_images_pattern (67, 45, 1);
  g_autoptr (GBytes) png = test_images_png (rgb, 67, 45);
  g_autoptr (GBytes) jpeg = test_images_jpeg (rgb, 67, 45, FALSE);
  g_autoptr (GBytes) progressive = test_images_jpeg (rgb, 67, 45, TRUE);
  assert_decodes (png, 67, 45);
  assert_decodes (jpeg, 67, 45);
  assert_decodes (progressive, 67, 45);
  g_autoptr (GBytes) black = test_images_black_png (3000, 2000);
  assert_decodes (black, 3000, 2000);
}

/* Every cut of a PNG or JPEG is an error, from the signature to the last
 * byte (libjpeg only warns at a premature end and fills the rest grey). */
static void
test_truncated (void)
{
  g_autofree guint8 *rgb = test_images_pattern (64, 48, 2);
  GBytes *files[3] = { test_images_png (rgb, 64, 48), test_images_jpeg (rgb, 64, 48, FALSE),
                       test_images_jpeg (rgb, 64, 48, TRUE) };
  for (int f = 0; f < 3; f++) {
    gsize size = g_bytes_get_size (files[f]);
    for (gsize cut = 0; cut < size; cut += 1 + cut / 16) {
      g_autoptr (GBytes) truncated = test_images_cut (files[f], cut);
      assert_refused (truncated, cut < 3 ? "not a PNG, JPEG" : "");
    }
    /* the last byte too */
    g_autoptr (GBytes) one_short = test_images_cut (files[f], size - 1);
    assert_refused (one_short, "");
    g_bytes_unref (files[f]);
  }
}

/* More than TUNIT_MAX_IMAGE_PIXELS (or 32768 a side) is refused from the
 * header: a valid 20000 x 20000 PNG of 50 KB used to take 6 GB. */
static void
test_too_large (void)
{
  g_autoptr (GBytes) huge = test_images_black_png (20000, 20000);
  assert_refused (huge, "20000x20000 pixels");
  g_autoptr (GBytes) just_over = test_images_black_png (8193, 4096);
  assert_refused (just_over, "8193x4096 pixels");
  g_autoptr (GBytes) wide = test_images_black_png (32769, 1);
  assert_refused (wide, "32769x1 pixels");
  g_autofree guint8 *rgb = test_images_pattern (16, 16, 3);
  g_autoptr (GBytes) jpeg = test_images_jpeg (rgb, 16, 16, TRUE);
  g_autoptr (GBytes) huge_jpeg = test_images_jpeg_resized (jpeg, 20000, 20000);
  assert_refused (huge_jpeg, "20000x20000 pixels");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/image-io/valid", test_valid);
  g_test_add_func ("/image-io/truncated", test_truncated);
  g_test_add_func ("/image-io/too-large", test_too_large);
  return g_test_run ();
}
