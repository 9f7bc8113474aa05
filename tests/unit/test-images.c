/* test-images.c - image files for the image-reader tests (see the header). */
#include "test-images.h"

#include <stdio.h>
#include <string.h>
/* jpeglib.h needs FILE declared first */
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

guint8 *
test_images_pattern (int width, int height, int seed)
{
  guint8 *rgb = g_malloc ((gsize) 3 * width * height);
  GRand *rand = g_rand_new_with_seed (seed);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      guint8 *p = rgb + 3 * ((gsize) y * width + x);
      int noise = g_rand_int_range (rand, -30, 31);
      p[0] = CLAMP (255 * x / width + noise, 0, 255);
      p[1] = CLAMP (255 * y / height - noise, 0, 255);
      p[2] = CLAMP (((x ^ y) & 0xff) + noise, 0, 255);
    }
  g_rand_free (rand);
  return rgb;
}

GBytes *
test_images_png (const guint8 *rgb, int width, int height)
{
  png_image png;
  memset (&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = width;
  png.height = height;
  png.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  g_assert_true (png_image_write_to_memory (&png, NULL, &size, 0, rgb, 0, NULL));
  void *data = g_malloc (size);
  g_assert_true (png_image_write_to_memory (&png, data, &size, 0, rgb, 0, NULL));
  return g_bytes_new_take (data, size);
}

GBytes *
test_images_jpeg (const guint8 *rgb, int width, int height, gboolean progressive)
{
  struct jpeg_compress_struct info;
  struct jpeg_error_mgr error;
  unsigned char *data = NULL;
  unsigned long size = 0;
  info.err = jpeg_std_error (&error);
  jpeg_create_compress (&info);
  jpeg_mem_dest (&info, &data, &size);
  info.image_width = width;
  info.image_height = height;
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults (&info);
  jpeg_set_quality (&info, 90, TRUE);
  if (progressive)
    jpeg_simple_progression (&info);
  jpeg_start_compress (&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = (JSAMPROW) rgb + (gsize) info.next_scanline * width * 3;
    jpeg_write_scanlines (&info, &row, 1);
  }
  jpeg_finish_compress (&info);
  jpeg_destroy_compress (&info);
  GBytes *bytes = g_bytes_new (data, size);
  free (data);
  return bytes;
}

static void
append_be32 (GByteArray *out, guint32 value)
{
  guint8 bytes[4] = { value >> 24, value >> 16, value >> 8, value };
  g_byte_array_append (out, bytes, 4);
}

static void
append_png_chunk (GByteArray *out, const char *type, const guint8 *data, gsize length)
{
  append_be32 (out, length);
  g_byte_array_append (out, (const guint8 *) type, 4);
  if (length)
    g_byte_array_append (out, data, length);
  uLong crc = crc32 (0, (const Bytef *) type, 4);
  if (length)
    crc = crc32 (crc, data, length);
  append_be32 (out, crc);
}

GBytes *
test_images_black_png (int width, int height)
{
  GByteArray *out = g_byte_array_new ();
  g_byte_array_append (out, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
  guint8 header[13] = { 0 };
  for (int i = 0; i < 4; i++) {
    header[i] = (guint32) width >> (24 - 8 * i);
    header[4 + i] = (guint32) height >> (24 - 8 * i);
  }
  header[8] = 1;         /* bit depth; colour type 0 (grey), no interlace */
  append_png_chunk (out, "IHDR", header, 13);

  gsize row_length = 1 + ((gsize) width + 7) / 8;     /* filter byte + bits */
  guint8 *row = g_malloc0 (row_length);
  GByteArray *compressed = g_byte_array_new ();
  guint8 buffer[65536];
  z_stream stream;
  memset (&stream, 0, sizeof stream);
  g_assert_cmpint (deflateInit (&stream, 9), ==, Z_OK);
  for (int y = 0; y <= height; y++) {
    stream.next_in = row;
    stream.avail_in = y < height ? row_length : 0;
    int flush = y < height ? Z_NO_FLUSH : Z_FINISH;
    do {
      stream.next_out = buffer;
      stream.avail_out = sizeof buffer;
      deflate (&stream, flush);
      g_byte_array_append (compressed, buffer, sizeof buffer - stream.avail_out);
    } while (stream.avail_out == 0);
  }
  deflateEnd (&stream);
  g_free (row);
  append_png_chunk (out, "IDAT", compressed->data, compressed->len);
  g_byte_array_unref (compressed);
  append_png_chunk (out, "IEND", NULL, 0);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
test_images_jpeg_resized (GBytes *jpeg, int width, int height)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (jpeg, &size);
  guint8 *copy = g_memdup2 (data, size);
  /* markers from SOI on, each with a length, up to the frame header */
  for (gsize at = 2; at + 9 < size;) {
    g_assert_cmpint (copy[at], ==, 0xff);
    guint8 marker = copy[at + 1];
    if (marker == 0xc0 || marker == 0xc2) {
      copy[at + 5] = height >> 8;
      copy[at + 6] = height & 0xff;
      copy[at + 7] = width >> 8;
      copy[at + 8] = width & 0xff;
      return g_bytes_new_take (copy, size);
    }
    at += 2 + ((gsize) copy[at + 2] << 8 | copy[at + 3]);
  }
  g_assert_not_reached ();
}

GBytes *
test_images_blank_gif (int width, int height)
{
  GByteArray *out = g_byte_array_new ();
  guint8 screen[13] = { 'G', 'I', 'F', '8', '9', 'a', width & 0xff, width >> 8,
                        height & 0xff, height >> 8, 0x80, 0, 0 };
  g_byte_array_append (out, screen, sizeof screen);
  guint8 colours[6] = { 0, 0, 0, 255, 255, 255 };
  g_byte_array_append (out, colours, sizeof colours);
  guint8 image[10] = { 0x2c, 0, 0, 0, 0, width & 0xff, width >> 8, height & 0xff,
                       height >> 8, 0 };
  g_byte_array_append (out, image, sizeof image);
  /* LZW minimum code size 2; one sub-block: clear code (4) then end (5) */
  guint8 pixels[5] = { 2, 1, 0x2c, 0, 0x3b };
  g_byte_array_append (out, pixels, sizeof pixels);
  return g_byte_array_free_to_bytes (out);
}

GBytes *
test_images_cut (GBytes *file, gsize length)
{
  return g_bytes_new_from_bytes (file, 0, MIN (length, g_bytes_get_size (file)));
}

void
test_images_write (const char *path, GBytes *file)
{
  gsize size;
  const char *data = g_bytes_get_data (file, &size);
  GError *error = NULL;
  if (!g_file_set_contents (path, data, size, &error))
    g_error ("cannot write %s: %s", path, error->message);
}
