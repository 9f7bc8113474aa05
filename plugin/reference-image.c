/* reference-image.c - decode a style reference image with GStreamer:
 *   filesrc ! decodebin ! videoconvert ! video/x-raw,format=RGB ! appsink
 * then convert to planar floats and resize with libtunit, so the picture
 * the guiding network sees is the one the `tunit` tool would give it.
 *
 * The file is untrusted.  An image of more than TUNIT_MAX_IMAGE_PIXELS is
 * refused before it is decoded: for PNG and JPEG from the file's header,
 * for any other format when the decoder proposes its output caps (the
 * caps are refused, so the decoder never allocates the picture).  A PNG
 * or JPEG that ends before its end marker is refused too: GStreamer's
 * decoders give a picture (partly grey) from a truncated file without a
 * word. */
#include "reference-image.h"

#include <string.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include "tunit.h"

#define DECODE_TIMEOUT (30 * GST_SECOND)

typedef struct {
  GstElement *convert;
  gboolean linked;
  /* set by the caps check in the streaming thread, read after the error
   * message it causes has come through the bus */
  gint refused_width, refused_height;
} PadAddedData;

/* -------------------------------------------- what the file's header says */

/* PNG and JPEG files must be complete and within the pixel bound (the
 * check is libtunit's, so the tunit tool refuses the same files); other
 * formats are checked by their decoder and the caps check below. */
static gboolean
check_file (const gchar *path, GError **error)
{
  GError *map_error = NULL;
  GMappedFile *mapped = g_mapped_file_new (path, FALSE, &map_error);
  const guint8 *data;
  gsize size;
  guint64 width = 0, height = 0;
  TunitImageFileCheck check;

  if (mapped == NULL) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
        "cannot read reference image '%s': %s", path, map_error->message);
    g_error_free (map_error);
    return FALSE;
  }
  data = (const guint8 *) g_mapped_file_get_contents (mapped);
  size = g_mapped_file_get_length (mapped);
  check = tunit_image_file_check (data, size, &width, &height);
  g_mapped_file_unref (mapped);

  if (check == TUNIT_IMAGE_FILE_TRUNCATED || check == TUNIT_IMAGE_FILE_MALFORMED) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
        "cannot read reference image '%s': the file is %s", path,
        check == TUNIT_IMAGE_FILE_TRUNCATED ? "truncated" : "malformed");
    return FALSE;
  }
  if (width * height > TUNIT_MAX_IMAGE_PIXELS) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
        "cannot read reference image '%s': it is %" G_GUINT64_FORMAT "x%"
        G_GUINT64_FORMAT " pixels, more than the %" G_GINT64_FORMAT
        " a reference may have", path, width, height, TUNIT_MAX_IMAGE_PIXELS);
    return FALSE;
  }
  return TRUE;
}

/* On videoconvert's sink pad: refuses caps of more than
 * TUNIT_MAX_IMAGE_PIXELS, so that the decoder's negotiation fails before
 * it allocates the picture. */
static GstPadProbeReturn
refuse_large_caps (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  PadAddedData *data = user_data;
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY (info);
  GstCaps *caps;
  GstStructure *structure;
  gint width, height;

  if (GST_QUERY_TYPE (query) != GST_QUERY_ACCEPT_CAPS)
    return GST_PAD_PROBE_OK;
  gst_query_parse_accept_caps (query, &caps);
  if (caps == NULL || gst_caps_get_size (caps) == 0)
    return GST_PAD_PROBE_OK;
  structure = gst_caps_get_structure (caps, 0);
  if (!gst_structure_get_int (structure, "width", &width)
      || !gst_structure_get_int (structure, "height", &height)
      || (gint64) width * height <= TUNIT_MAX_IMAGE_PIXELS)
    return GST_PAD_PROBE_OK;
  data->refused_width = width;
  data->refused_height = height;
  gst_query_set_accept_caps_result (query, FALSE);
  return GST_PAD_PROBE_HANDLED;
}

static void
on_pad_added (GstElement *decodebin, GstPad *pad, PadAddedData *data)
{
  GstCaps *caps;
  const gchar *name;
  GstPad *sinkpad;

  if (data->linked)
    return;
  caps = gst_pad_get_current_caps (pad);
  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  if (g_str_has_prefix (name, "video/")) {
    sinkpad = gst_element_get_static_pad (data->convert, "sink");
    if (gst_pad_link (pad, sinkpad) == GST_PAD_LINK_OK)
      data->linked = TRUE;
    gst_object_unref (sinkpad);
  }
  gst_caps_unref (caps);
}

/* Decodes to an RGB sample; NULL with error on failure. */
static GstSample *
decode_first_frame (const gchar *path, GError **error)
{
  GstElement *pipeline, *src, *decode, *convert, *sink;
  GstCaps *caps;
  GstBus *bus;
  GstMessage *msg;
  GstSample *sample = NULL;
  PadAddedData data;
  gboolean done = FALSE;

  pipeline = gst_pipeline_new ("tunit-reference-image");
  src = gst_element_factory_make ("filesrc", NULL);
  decode = gst_element_factory_make ("decodebin", NULL);
  convert = gst_element_factory_make ("videoconvert", NULL);
  sink = gst_element_factory_make ("appsink", NULL);
  if (src == NULL || decode == NULL || convert == NULL || sink == NULL) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "cannot decode reference image '%s': a GStreamer element is missing "
        "(filesrc, decodebin, videoconvert and appsink are needed)", path);
    g_clear_object (&src);
    g_clear_object (&decode);
    g_clear_object (&convert);
    g_clear_object (&sink);
    gst_object_unref (pipeline);
    return NULL;
  }

  g_object_set (src, "location", path, NULL);
  caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "RGB", NULL);
  g_object_set (sink, "caps", caps, "sync", FALSE, "max-buffers", 1,
      "drop", FALSE, NULL);
  gst_caps_unref (caps);

  gst_bin_add_many (GST_BIN (pipeline), src, decode, convert, sink, NULL);
  gst_element_link (src, decode);
  gst_element_link (convert, sink);
  data.convert = convert;
  data.linked = FALSE;
  data.refused_width = data.refused_height = 0;
  g_signal_connect (decode, "pad-added", G_CALLBACK (on_pad_added), &data);
  {
    GstPad *convert_sink = gst_element_get_static_pad (convert, "sink");
    gst_pad_add_probe (convert_sink, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
        refuse_large_caps, &data, NULL);
    gst_object_unref (convert_sink);
  }

  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PAUSED);

  while (!done) {
    msg = gst_bus_timed_pop_filtered (bus, DECODE_TIMEOUT,
        GST_MESSAGE_ERROR | GST_MESSAGE_ASYNC_DONE | GST_MESSAGE_EOS);
    if (msg == NULL) {
      g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
          "cannot decode reference image '%s': timed out", path);
      break;
    }
    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_ERROR:{
        GError *err = NULL;
        gst_message_parse_error (msg, &err, NULL);
        if (data.refused_width > 0)
          g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
              "cannot read reference image '%s': it is %dx%d pixels, more than "
              "the %" G_GINT64_FORMAT " a reference may have", path,
              data.refused_width, data.refused_height, TUNIT_MAX_IMAGE_PIXELS);
        else if (!data.linked && g_error_matches (err, GST_STREAM_ERROR,
                GST_STREAM_ERROR_TYPE_NOT_FOUND))
          g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE,
              "cannot read reference image '%s': not an image file "
              "GStreamer can decode", path);
        else
          g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
              "cannot read reference image '%s': %s", path, err->message);
        g_error_free (err);
        done = TRUE;
        break;
      }
      case GST_MESSAGE_EOS:
        /* EOS before preroll: nothing decodable reached the sink */
        g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE,
            "cannot read reference image '%s': it contains no picture", path);
        done = TRUE;
        break;
      case GST_MESSAGE_ASYNC_DONE:
        if (GST_MESSAGE_SRC (msg) == GST_OBJECT (pipeline)) {
          sample = gst_app_sink_try_pull_preroll (GST_APP_SINK (sink), 0);
          if (sample == NULL)
            g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE,
                "cannot read reference image '%s': it contains no picture",
                path);
          done = TRUE;
        }
        break;
      default:
        break;
    }
    gst_message_unref (msg);
  }

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return sample;
}

float *
gst_tunit_reference_image_load (const gchar *path, gint size, GError **error)
{
  GstSample *sample;
  GstVideoInfo info;
  GstVideoFrame frame;
  TunitPixelLayout layout;
  float *native, *planar;
  gint width, height;

  g_return_val_if_fail (size > 0, NULL);

  if (path == NULL || *path == '\0') {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "no reference image given");
    return NULL;
  }
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "cannot read reference image '%s': the file does not exist", path);
    return NULL;
  }
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
        "cannot read reference image '%s': it is a directory", path);
    return NULL;
  }

  if (!check_file (path, error))
    return NULL;
  sample = decode_first_frame (path, error);
  if (sample == NULL)
    return NULL;

  if (!gst_video_info_from_caps (&info, gst_sample_get_caps (sample)) ||
      GST_VIDEO_INFO_FORMAT (&info) != GST_VIDEO_FORMAT_RGB ||
      gst_sample_get_buffer (sample) == NULL ||
      !gst_video_frame_map (&frame, &info, gst_sample_get_buffer (sample),
          GST_MAP_READ)) {
    g_set_error (error, GST_STREAM_ERROR, GST_STREAM_ERROR_DECODE,
        "cannot read reference image '%s': the decoder gave no usable picture",
        path);
    gst_sample_unref (sample);
    return NULL;
  }

  width = GST_VIDEO_FRAME_WIDTH (&frame);
  height = GST_VIDEO_FRAME_HEIGHT (&frame);
  layout.width = width;
  layout.height = height;
  layout.stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0);
  layout.channels = 3;
  layout.red_offset = 0;
  layout.green_offset = 1;
  layout.blue_offset = 2;

  native = g_try_new (float, (gsize) 3 * width * height);
  planar = g_try_new (float, (gsize) 3 * size * size);
  if (native == NULL || planar == NULL) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NO_SPACE_LEFT,
        "cannot read reference image '%s': out of memory for %dx%d pixels",
        path, width, height);
    g_free (native);
    g_free (planar);
    gst_video_frame_unmap (&frame);
    gst_sample_unref (sample);
    return NULL;
  }
  tunit_pixels_to_planar (GST_VIDEO_FRAME_PLANE_DATA (&frame, 0), &layout, native);
  gst_video_frame_unmap (&frame);
  gst_sample_unref (sample);

  if (width == size && height == size) {
    g_free (planar);
    return native;
  }
  tunit_planar_resize (native, width, height, planar, size, size);
  g_free (native);
  return planar;
}
