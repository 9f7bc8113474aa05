/* test-images.h - image files for the tests of the image readers (the
 * tunit tool's and the element's): valid, truncated and oversized ones,
 * made in memory without GStreamer. */
#ifndef TUNIT_TEST_IMAGES_H
#define TUNIT_TEST_IMAGES_H

#include <glib.h>

/* A deterministic RGB test picture (3 * width * height bytes). */
guint8 *test_images_pattern (int width, int height, int seed);

/* PNG (libpng) and baseline or progressive JPEG (libjpeg) of a picture. */
GBytes *test_images_png (const guint8 *rgb, int width, int height);
GBytes *test_images_jpeg (const guint8 *rgb, int width, int height, gboolean progressive);

/* A valid black 1-bit greyscale PNG of any size: a 20000 x 20000 one is
 * about 50 KB (written with zlib a row at a time). */
GBytes *test_images_black_png (int width, int height);

/* A copy of a JPEG whose frame header (SOFn) declares another size. */
GBytes *test_images_jpeg_resized (GBytes *jpeg, int width, int height);

/* A GIF of the given size with one colour and (almost) no image data. */
GBytes *test_images_blank_gif (int width, int height);

/* The first `length` bytes. */
GBytes *test_images_cut (GBytes *file, gsize length);

void test_images_write (const char *path, GBytes *file);

#endif
