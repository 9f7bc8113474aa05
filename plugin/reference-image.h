/* reference-image.h - decode a style reference image with GStreamer. */
#ifndef GST_TUNIT_REFERENCE_IMAGE_H
#define GST_TUNIT_REFERENCE_IMAGE_H

#include <gst/gst.h>

G_BEGIN_DECLS

/* Decodes the first picture of the file at `path` (any format GStreamer
 * reads: PNG, JPEG, a video file, ...) and returns it as planar float RGB
 * in [-1, 1] (3 * size * size floats, free with g_free), resized to
 * size x size with tunit_planar_resize, as the guiding network expects.
 * On failure returns NULL and sets `error` (GST_RESOURCE_ERROR or
 * GST_STREAM_ERROR) with a message that names the file. */
float *gst_tunit_reference_image_load (const gchar *path, gint size, GError **error);

G_END_DECLS

#endif /* GST_TUNIT_REFERENCE_IMAGE_H */
