/* image-io.c - PNG (libpng), JPEG (libjpeg) and .npy for the CLI. */
#include "image-io.h"
#include "tunit.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
/* jpeglib.h needs FILE declared first */
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#define MAX_DIMS 8
#define MAX_IMAGE_SIDE 32768

void
cli_image_clear (CliImage *image)
{
  g_clear_pointer (&image->planar, g_free);
  image->width = image->height = 0;
}

static gboolean
file_error (GError **error, const char *path, const char *what)
{
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FILE, "%s: %s", path, what);
  return FALSE;
}

/* Checked before anything of the image's size is allocated. */
static gboolean
check_image_size (const char *path, const char *kind, guint64 width, guint64 height,
                  GError **error)
{
  if (width == 0 || height == 0) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT, "%s: the %s has no pixels", path, kind);
    return FALSE;
  }
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > TUNIT_MAX_IMAGE_PIXELS) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT,
                 "%s: the %s is %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT " pixels; images "
                 "of at most %" G_GINT64_FORMAT " pixels (and %d a side) are read",
                 path, kind, width, height, TUNIT_MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE);
    return FALSE;
  }
  return TRUE;
}

static gboolean
rgb_to_image (const guint8 *rgb, int width, int height, CliImage *image)
{
  TunitPixelLayout layout = { width, height, width * 3, 3, 0, 1, 2 };
  image->width = width;
  image->height = height;
  image->planar = g_new (float, (gsize) 3 * width * height);
  tunit_pixels_to_planar (rgb, &layout, image->planar);
  return TRUE;
}

/* ------------------------------------------------------------------ PNG */

static gboolean
decode_png (const char *path, const guint8 *data, gsize size, CliImage *image, GError **error)
{
  png_image png;
  memset (&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory (&png, data, size))
    return file_error (error, path, png.message);
  png.format = PNG_FORMAT_RGB;
  if (!check_image_size (path, "PNG", png.width, png.height, error)) {
    png_image_free (&png);
    return FALSE;
  }
  g_autofree guint8 *rgb = g_malloc (PNG_IMAGE_SIZE (png));
  if (!png_image_finish_read (&png, NULL, rgb, 0, NULL)) {
    g_autofree char *message = g_strdup_printf ("broken PNG (%s)", png.message);
    png_image_free (&png);
    return file_error (error, path, message);
  }
  return rgb_to_image (rgb, png.width, png.height, image);
}

static gboolean
save_png (const char *path, const guint8 *rgb, int width, int height, GError **error)
{
  png_image png;
  memset (&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = width;
  png.height = height;
  png.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file (&png, path, 0, rgb, 0, NULL))
    return file_error (error, path, png.message);
  return TRUE;
}

/* ----------------------------------------------------------------- JPEG */

typedef struct {
  struct jpeg_error_mgr manager;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} JpegError;

static void
jpeg_error_exit (j_common_ptr info)
{
  JpegError *error = (JpegError *) info->err;
  info->err->format_message (info, error->message);
  longjmp (error->jump, 1);
}

/* libjpeg only warns when the data ends early and fills the rest of the
 * picture with grey; a truncated file is an error for us. */
static void
jpeg_emit_message (j_common_ptr info, int level)
{
  if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF)
    jpeg_error_exit (info);
}

static gboolean
decode_jpeg (const char *path, const guint8 *data, gsize size, CliImage *image, GError **error)
{
  struct jpeg_decompress_struct info;
  JpegError jpeg_error;
  guint8 *volatile rgb = NULL;
  info.err = jpeg_std_error (&jpeg_error.manager);
  jpeg_error.manager.error_exit = jpeg_error_exit;
  jpeg_error.manager.emit_message = jpeg_emit_message;
  if (setjmp (jpeg_error.jump)) {
    jpeg_destroy_decompress (&info);
    g_free (rgb);
    g_autofree char *message = g_strdup_printf ("broken JPEG (%s)", jpeg_error.message);
    return file_error (error, path, message);
  }
  jpeg_create_decompress (&info);
  jpeg_mem_src (&info, data, size);
  jpeg_read_header (&info, TRUE);
  /* before jpeg_start_decompress, which allocates for the whole image */
  if (!check_image_size (path, "JPEG", info.image_width, info.image_height, error)) {
    jpeg_destroy_decompress (&info);
    return FALSE;
  }
  info.out_color_space = JCS_RGB;
  jpeg_start_decompress (&info);
  gsize stride = (gsize) info.output_width * 3;
  rgb = g_malloc (stride * info.output_height);
  while (info.output_scanline < info.output_height) {
    JSAMPROW row = rgb + stride * info.output_scanline;
    jpeg_read_scanlines (&info, &row, 1);
  }
  jpeg_finish_decompress (&info);
  int width = info.output_width, height = info.output_height;
  jpeg_destroy_decompress (&info);
  rgb_to_image (rgb, width, height, image);
  g_free (rgb);
  return TRUE;
}

static gboolean
save_jpeg (const char *path, const guint8 *rgb, int width, int height, GError **error)
{
  FILE *file = fopen (path, "wb");
  if (file == NULL)
    return file_error (error, path, g_strerror (errno));
  struct jpeg_compress_struct info;
  JpegError jpeg_error;
  info.err = jpeg_std_error (&jpeg_error.manager);
  jpeg_error.manager.error_exit = jpeg_error_exit;
  if (setjmp (jpeg_error.jump)) {
    jpeg_destroy_compress (&info);
    fclose (file);
    return file_error (error, path, jpeg_error.message);
  }
  jpeg_create_compress (&info);
  jpeg_stdio_dest (&info, file);
  info.image_width = width;
  info.image_height = height;
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults (&info);
  jpeg_set_quality (&info, 95, TRUE);
  jpeg_start_compress (&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = (JSAMPROW) rgb + (gsize) info.next_scanline * width * 3;
    jpeg_write_scanlines (&info, &row, 1);
  }
  jpeg_finish_compress (&info);
  jpeg_destroy_compress (&info);
  if (fclose (file) != 0)
    return file_error (error, path, g_strerror (errno));
  return TRUE;
}

/* ------------------------------------------------------------------ npy */

static gboolean
npy_error (GError **error, const char *path, const char *what)
{
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT, "%s: not a float32 .npy array: %s",
               path, what);
  return FALSE;
}

/* Reads the shape tuple "(1, 3, 64, 64)" of a header. */
static gboolean
parse_npy_shape (const char *header, int *n_dims, gint64 *dims, gsize *count)
{
  const char *shape = strstr (header, "'shape':");
  if (shape == NULL || (shape = strchr (shape, '(')) == NULL)
    return FALSE;
  shape++;
  *n_dims = 0;
  *count = 1;
  while (*shape != ')') {
    while (*shape == ' ' || *shape == ',')
      shape++;
    if (*shape == ')')
      break;
    char *end;
    guint64 dim = g_ascii_strtoull (shape, &end, 10);
    if (end == shape || *n_dims >= MAX_DIMS || dim > G_MAXINT32
        || (dim && *count > G_MAXSIZE / 8 / dim))
      return FALSE;
    dims[(*n_dims)++] = (gint64) dim;
    *count *= dim;
    shape = end;
  }
  return TRUE;
}

gboolean
cli_npy_parse (const char *path, const guint8 *data, gsize length, int *n_dims, gint64 *dims,
               float **values, gsize *count, GError **error)
{
  const char *contents = (const char *) data;
  if (length < 10 || memcmp (contents, "\x93NUMPY", 6) != 0)
    return npy_error (error, path, "no NUMPY magic");
  int major = (guint8) contents[6];
  gsize header_length, offset;
  if (major == 1) {
    header_length = (guint8) contents[8] | (guint8) contents[9] << 8;
    offset = 10;
  } else if ((major == 2 || major == 3) && length >= 12) {
    header_length = (guint32) ((guint8) contents[8] | (guint8) contents[9] << 8
                               | (guint8) contents[10] << 16 | (guint32) (guint8) contents[11] << 24);
    offset = 12;
  } else {
    return npy_error (error, path, "unknown .npy version");
  }
  if (header_length > length - offset)
    return npy_error (error, path, "truncated header");
  g_autofree char *header = g_strndup (contents + offset, header_length);
  if (strstr (header, "'descr': '<f4'") == NULL)
    return npy_error (error, path, "dtype must be little-endian float32 ('<f4')");
  if (strstr (header, "'fortran_order': False") == NULL)
    return npy_error (error, path, "Fortran order is not supported");
  if (!parse_npy_shape (header, n_dims, dims, count))
    return npy_error (error, path, "unreadable shape");
  gsize data_offset = offset + header_length;
  if (length - data_offset != *count * 4)
    return npy_error (error, path, "data size does not match the shape");
  *values = g_new (float, MAX (*count, 1));
  memcpy (*values, contents + data_offset, *count * 4);
  return TRUE;
}

/* The file's bytes, mapped read-only; NULL with an error. */
static GBytes *
map_file (const char *path, GError **error)
{
  g_autoptr (GError) map_error = NULL;
  g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, &map_error);
  if (mapped == NULL) {
    file_error (error, path, map_error->message);
    return NULL;
  }
  return g_mapped_file_get_bytes (mapped);
}

gboolean
cli_npy_load (const char *path, int *n_dims, gint64 *dims, float **values, gsize *count,
              GError **error)
{
  g_autoptr (GBytes) bytes = map_file (path, error);
  if (bytes == NULL)
    return FALSE;
  gsize length;
  const guint8 *data = g_bytes_get_data (bytes, &length);
  return cli_npy_parse (path, data, length, n_dims, dims, values, count, error);
}

gboolean
cli_npy_save (const char *path, int n_dims, const gint64 *dims, const float *values,
              GError **error)
{
  g_autoptr (GString) header = g_string_new ("{'descr': '<f4', 'fortran_order': False, 'shape': (");
  gsize count = 1;
  for (int i = 0; i < n_dims; i++) {
    g_string_append_printf (header, "%" G_GINT64_FORMAT "%s", dims[i],
                            n_dims == 1 || i < n_dims - 1 ? ", " : "");
    count *= dims[i];
  }
  g_string_append (header, "), }");
  /* magic + version + length + header + '\n' is a multiple of 64 */
  while ((10 + header->len + 1) % 64 != 0)
    g_string_append_c (header, ' ');
  g_string_append_c (header, '\n');
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  guint8 prefix[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                        (guint8) (header->len & 0xff), (guint8) (header->len >> 8) };
  g_byte_array_append (bytes, prefix, 10);
  g_byte_array_append (bytes, (const guint8 *) header->str, header->len);
  g_byte_array_append (bytes, (const guint8 *) values, count * 4);
  g_autoptr (GError) write_error = NULL;
  if (!g_file_set_contents (path, (const char *) bytes->data, bytes->len, &write_error))
    return file_error (error, path, write_error->message);
  return TRUE;
}

/* ---------------------------------------------------------------- glue */

static gboolean
decode_npy_image (const char *path, const guint8 *data, gsize size, CliImage *image,
                  GError **error)
{
  int n_dims;
  gint64 dims[MAX_DIMS];
  float *values;
  gsize count;
  if (!cli_npy_parse (path, data, size, &n_dims, dims, &values, &count, error))
    return FALSE;
  const gint64 *chw = n_dims == 4 ? dims + 1 : dims;
  if (!((n_dims == 4 && dims[0] == 1) || n_dims == 3) || chw[0] != 3 || chw[1] < 1
      || chw[2] < 1) {
    g_free (values);
    return npy_error (error, path, "an image must have shape [1,3,H,W] or [3,H,W]");
  }
  if (!check_image_size (path, ".npy image", chw[2], chw[1], error)) {
    g_free (values);
    return FALSE;
  }
  image->height = (int) chw[1];
  image->width = (int) chw[2];
  image->planar = values;
  image->exact = TRUE;
  return TRUE;
}

gboolean
cli_image_decode (const char *path, const guint8 *data, gsize size, CliImage *image,
                  GError **error)
{
  guint64 width, height;
  TunitImageFileCheck check = tunit_image_file_check (data, size, &width, &height);
  if (check == TUNIT_IMAGE_FILE_TRUNCATED || check == TUNIT_IMAGE_FILE_MALFORMED) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT, "%s: the %s file is %s", path,
                 data[0] == 0xff ? "JPEG" : "PNG",
                 check == TUNIT_IMAGE_FILE_TRUNCATED ? "truncated" : "malformed");
    return FALSE;
  }
  /* the size the header declares, before a decoder allocates for it */
  if (check == TUNIT_IMAGE_FILE_COMPLETE
      && !check_image_size (path, data[0] == 0xff ? "JPEG" : "PNG", width, height, error))
    return FALSE;
  if (size >= 6 && memcmp (data, "\x93NUMPY", 6) == 0)
    return decode_npy_image (path, data, size, image, error);
  if (size >= 8 && memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0)
    return decode_png (path, data, size, image, error);
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return decode_jpeg (path, data, size, image, error);
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_FORMAT,
               "%s: not a PNG, JPEG or .npy file", path);
  return FALSE;
}

gboolean
cli_image_load (const char *path, CliImage *image, GError **error)
{
  g_autoptr (GBytes) bytes = map_file (path, error);
  if (bytes == NULL)
    return FALSE;
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  return cli_image_decode (path, data, size, image, error);
}

gboolean
cli_image_save (const char *path, const float *planar, int width, int height, GError **error)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);
  if (g_str_has_suffix (lower, ".npy")) {
    gint64 dims[4] = { 1, 3, height, width };
    return cli_npy_save (path, 4, dims, planar, error);
  }
  gboolean png = g_str_has_suffix (lower, ".png");
  gboolean jpeg = g_str_has_suffix (lower, ".jpg") || g_str_has_suffix (lower, ".jpeg");
  if (!png && !jpeg) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "%s: output must end in .png, .jpg, .jpeg or .npy", path);
    return FALSE;
  }
  g_autofree guint8 *rgb = g_malloc ((gsize) 3 * width * height);
  TunitPixelLayout layout = { width, height, width * 3, 3, 0, 1, 2 };
  tunit_planar_to_pixels (planar, &layout, rgb);
  return png ? save_png (path, rgb, width, height, error)
             : save_jpeg (path, rgb, width, height, error);
}
