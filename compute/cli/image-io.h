/* image-io.h - the CLI's image and array files: PNG, JPEG and NumPy .npy
 * (float32, C order).  Images are handled as planar [-1, 1] floats. */
#ifndef TUNIT_IMAGE_IO_H
#define TUNIT_IMAGE_IO_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int width, height;
  float *planar;      /* 3 planes of width*height */
  gboolean exact;     /* came from .npy: used as-is, never resized */
} CliImage;

void cli_image_clear (CliImage *image);

/* PNG and JPEG (by content) are decoded to 8-bit RGB; .npy must be float32
 * [1,3,H,W] or [3,H,W] and is used as-is.  Images of more than
 * TUNIT_MAX_IMAGE_PIXELS pixels, or more than 32768 a side, are refused
 * before they are decoded, and so is a truncated PNG or JPEG. */
gboolean cli_image_load (const char *path, CliImage *image, GError **error);

/* The same from the bytes of a file; `path` only names it in errors. */
gboolean cli_image_decode (const char *path, const guint8 *data, gsize size,
                           CliImage *image, GError **error);

/* By extension: .png, .jpg/.jpeg or .npy ([1,3,H,W] float32). */
gboolean cli_image_save (const char *path, const float *planar, int width, int height,
                         GError **error);

/* float32 arrays of any shape. */
gboolean cli_npy_load (const char *path, int *n_dims, gint64 *dims, float **values,
                       gsize *count, GError **error);
gboolean cli_npy_parse (const char *path, const guint8 *data, gsize length, int *n_dims,
                        gint64 *dims, float **values, gsize *count, GError **error);
gboolean cli_npy_save (const char *path, int n_dims, const gint64 *dims, const float *values,
                       GError **error);

G_END_DECLS

#endif
