/* test-reference-image.c - the element's reference-image decoder (plugin/
 * reference-image.c, compiled in) against valid, truncated and oversized
 * files, and tunitfilter's error for such a style.
 *
 * Oversized pictures are refused before they are decoded: from the header
 * for PNG and JPEG, through the caps for anything else (an AVI whose header
 * declares 9000x4000 raw frames). */
#include <string.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#include "reference-image.h"
#include "test-images.h"
#include "tiny-model.h"

#define SIZE 32

static gchar *tmp_dir;

static gchar *
write_temp (const gchar *name, GBytes *file)
{
  gchar *path = g_build_filename (tmp_dir, name, NULL);
  test_images_write (path, file);
  return path;
}

static void
assert_loads (const gchar *path)
{
  GError *error = NULL;
  float *planar = gst_tunit_reference_image_load (path, SIZE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (planar);
  for (int i = 0; i < 3 * SIZE * SIZE; i++)
    g_assert_true (planar[i] >= -1.0f && planar[i] <= 1.0f);
  g_free (planar);
}

static void
assert_refused (const gchar *path, const gchar *expected)
{
  GError *error = NULL;
  float *planar = gst_tunit_reference_image_load (path, SIZE, &error);
  if (planar != NULL)
    g_error ("%s was accepted (expected: %s)", path, expected);
  g_assert_nonnull (error);
  if (strstr (error->message, path) == NULL || strstr (error->message, expected) == NULL)
    g_error ("message '%s' lacks the path or '%s'", error->message, expected);
  g_error_free (error);
}

static void
test_valid (void)
{
  g_autofree guint8 *rgb = test_images_pattern (70, 50, 1);
  g_autoptr (GBytes) png = test_images_png (rgb, 70, 50);
  g_autoptr (GBytes) jpeg = test_images_jpeg (rgb, 70, 50, TRUE);
  g_autofree gchar *png_path = write_temp ("valid.png", png);
  g_autofree gchar *jpeg_path = write_temp ("valid.jpg", jpeg);
  assert_loads (png_path);
  assert_loads (jpeg_path);
}

/* GStreamer's decoders give a (partly grey) picture from a truncated PNG
 * or JPEG without a word; the element used to take it as the style. */
static void
test_truncated (void)
{
  g_autofree guint8 *rgb = test_images_pattern (256, 192, 2);
  GBytes *files[3] = { test_images_png (rgb, 256, 192), test_images_jpeg (rgb, 256, 192, FALSE),
                       test_images_jpeg (rgb, 256, 192, TRUE) };
  for (int f = 0; f < 3; f++) {
    gsize size = g_bytes_get_size (files[f]);
    gsize cuts[] = { 40, size / 3, size / 2, size - 20, size - 1 };
    for (guint c = 0; c < G_N_ELEMENTS (cuts); c++) {
      g_autoptr (GBytes) cut = test_images_cut (files[f], cuts[c]);
      g_autofree gchar *name = g_strdup_printf ("cut-%d-%u%s", f, c, f ? ".jpg" : ".png");
      g_autofree gchar *path = write_temp (name, cut);
      assert_refused (path, "truncated");
    }
    g_bytes_unref (files[f]);
  }
}

/* A valid 20000x20000 PNG of 50 KB used to take 5.9 GB to decode. */
static void
test_too_large (void)
{
  g_autoptr (GBytes) huge = test_images_black_png (20000, 20000);
  g_autofree gchar *huge_path = write_temp ("huge.png", huge);
  assert_refused (huge_path, "20000x20000 pixels");
  g_autofree guint8 *rgb = test_images_pattern (16, 16, 3);
  g_autoptr (GBytes) jpeg = test_images_jpeg (rgb, 16, 16, FALSE);
  g_autoptr (GBytes) huge_jpeg = test_images_jpeg_resized (jpeg, 12000, 3000);
  g_autofree gchar *jpeg_path = write_temp ("huge.jpg", huge_jpeg);
  assert_refused (jpeg_path, "12000x3000 pixels");
}

static void
set_le32 (guint8 *at, guint32 value)
{
  for (int i = 0; i < 4; i++)
    at[i] = value >> (8 * i);
}

/* An AVI of raw 16x16 frames whose headers are made to declare 9000x4000:
 * not PNG or JPEG, so the caps check refuses it when avidemux proposes its
 * caps, before any frame is read. */
static void
test_too_large_other_format (void)
{
  g_autofree gchar *path = g_build_filename (tmp_dir, "huge.avi", NULL);
  g_autofree gchar *description = g_strdup_printf ("videotestsrc num-buffers=1 ! "
      "video/x-raw,format=BGR,width=16,height=16 ! avimux ! filesink location=%s", path);
  GstElement *pipeline = gst_parse_launch (description, NULL);
  g_assert_nonnull (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstMessage *message = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      30 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (message);
  g_assert_cmpint (GST_MESSAGE_TYPE (message), ==, GST_MESSAGE_EOS);
  gst_message_unref (message);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);

  gchar *contents;
  gsize size;
  g_assert_true (g_file_get_contents (path, &contents, &size, NULL));
  guint8 *data = (guint8 *) contents;
  int patched = 0;
  for (gsize at = 0; at + 16 < size; at++) {
    if (memcmp (data + at, "avih", 4) == 0) {
      set_le32 (data + at + 8 + 32, 9000);
      set_le32 (data + at + 8 + 36, 4000);
      patched++;
    } else if (memcmp (data + at, "strf", 4) == 0) {
      set_le32 (data + at + 8 + 4, 9000);
      set_le32 (data + at + 8 + 8, 4000);
      patched++;
    }
  }
  g_assert_cmpint (patched, ==, 2);
  g_assert_true (g_file_set_contents (path, contents, size, NULL));
  g_free (contents);
  assert_refused (path, "9000x4000 pixels");
}

/* tunitfilter with a truncated style: a GStreamer error from the element
 * naming the file, at start. */
static void
test_element_error (void)
{
  g_autoptr (GBytes) model = tiny_model_build (TRUE);
  g_autofree gchar *model_path = write_temp ("tiny.safetensors", model);
  g_autofree guint8 *rgb = test_images_pattern (320, 240, 4);
  /* GStreamer's jpegdec gives a picture, grey below the cut, from this */
  g_autoptr (GBytes) jpeg = test_images_jpeg (rgb, 320, 240, FALSE);
  g_autoptr (GBytes) cut = test_images_cut (jpeg, g_bytes_get_size (jpeg) / 2);
  g_autofree gchar *style = write_temp ("style.jpg", cut);
  GstElement *pipeline = gst_parse_launch ("videotestsrc num-buffers=2 ! "
      "video/x-raw,format=RGB,width=32,height=32 ! tunitfilter name=t backend=cpu ! fakesink",
      NULL);
  g_assert_nonnull (pipeline);
  GstElement *filter = gst_bin_get_by_name (GST_BIN (pipeline), "t");
  g_object_set (filter, "model", model_path, "style", style, NULL);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstMessage *message = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (message);
  g_assert_cmpint (GST_MESSAGE_TYPE (message), ==, GST_MESSAGE_ERROR);
  g_assert_true (GST_MESSAGE_SRC (message) == GST_OBJECT (filter));
  GError *error = NULL;
  gst_message_parse_error (message, &error, NULL);
  if (strstr (error->message, style) == NULL || strstr (error->message, "truncated") == NULL)
    g_error ("error '%s' does not say that %s is truncated", error->message, style);
  g_error_free (error);
  gst_message_unref (message);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (filter);
  gst_object_unref (pipeline);
}

static void
remove_tmp_dir (void)
{
  GDir *dir = g_dir_open (tmp_dir, 0, NULL);
  const gchar *name;
  while (dir && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree gchar *path = g_build_filename (tmp_dir, name, NULL);
    g_unlink (path);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (tmp_dir);
  g_free (tmp_dir);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-reference-image-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/reference-image/valid", test_valid);
  g_test_add_func ("/reference-image/truncated", test_truncated);
  g_test_add_func ("/reference-image/too-large", test_too_large);
  g_test_add_func ("/reference-image/too-large-other-format", test_too_large_other_format);
  g_test_add_func ("/reference-image/element-error", test_element_error);
  int status = g_test_run ();
  remove_tmp_dir ();
  gst_deinit ();
  return status;
}
