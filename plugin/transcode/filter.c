/* filter.c - makes and checks the tunitfilter element for tunit-transcode. */
#include "filter.h"

#define FILTER_ERROR (g_quark_from_static_string ("tunit-transcode-filter"))

/* The check's frame: small, so that it costs a few milliseconds. */
#define CHECK_CAPS "video/x-raw,width=64,height=48"

/* How long the check may take: a model load plus one frame, on any backend. */
#define CHECK_TIMEOUT (120 * GST_SECOND)

void
transcode_filter_find_plugin (const gchar *const *folders)
{
  GstElementFactory *factory = gst_element_factory_find ("tunitfilter");

  if (factory != NULL) {
    gst_object_unref (factory);
    return;
  }
  for (guint i = 0; folders[i] != NULL; i++) {
    if (g_file_test (folders[i], G_FILE_TEST_IS_DIR))
      gst_registry_scan_path (gst_registry_get (), folders[i]);
  }
}

/* Sets the enum property @name from its nick, with an error naming the
 * values the element takes. */
static gboolean
set_enum_by_nick (GstElement *element, const gchar *name, const gchar *nick,
    GError **error)
{
  GParamSpec *spec = g_object_class_find_property (G_OBJECT_GET_CLASS (element), name);
  GEnumClass *values;
  GEnumValue *value;
  GString *known;

  if (spec == NULL || !G_IS_PARAM_SPEC_ENUM (spec)) {
    g_set_error (error, FILTER_ERROR, 0, "tunitfilter has no %s property", name);
    return FALSE;
  }
  values = G_PARAM_SPEC_ENUM (spec)->enum_class;
  value = g_enum_get_value_by_nick (values, nick);
  if (value != NULL) {
    g_object_set (element, name, value->value, NULL);
    return TRUE;
  }
  known = g_string_new (NULL);
  for (guint i = 0; i < values->n_values; i++)
    g_string_append_printf (known, "%s%s", i > 0 ? ", " : "", values->values[i].value_nick);
  g_set_error (error, FILTER_ERROR, 0, "unknown %s '%s' (one of: %s)", name, nick,
      known->str);
  g_string_free (known, TRUE);
  return FALSE;
}

GstElement *
transcode_filter_make (const TranscodeFilterSettings *settings, GError **error)
{
  GstElement *filter = gst_element_factory_make ("tunitfilter", NULL);

  if (filter == NULL) {
    g_set_error (error, FILTER_ERROR, 0,
        "the tunitfilter element is not installed (GStreamer finds no plug-in "
        "with it; GST_PLUGIN_PATH can name the folder of libgsttunit.so)");
    return NULL;
  }
  g_object_set (filter, "qos", FALSE, NULL);
  if (settings->model != NULL)
    g_object_set (filter, "model", settings->model, NULL);
  if (settings->style != NULL)
    g_object_set (filter, "style", settings->style, NULL);
  if (settings->domain >= 0)
    g_object_set (filter, "domain", settings->domain, NULL);
  if (settings->processing_size >= 0)
    g_object_set (filter, "processing-size", (guint) settings->processing_size, NULL);
  if (settings->strength >= 0)
    g_object_set (filter, "strength", settings->strength, NULL);
  if (settings->backend != NULL
      && !set_enum_by_nick (filter, "backend", settings->backend, error)) {
    gst_object_unref (filter);
    return NULL;
  }
  return filter;
}

/* Waits for the end of @pipeline's run: TRUE at EOS, FALSE with @error
 * set at an error or after CHECK_TIMEOUT. */
static gboolean
wait_for_end (GstElement *pipeline, GError **error)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *message = gst_bus_timed_pop_filtered (bus, CHECK_TIMEOUT,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gboolean ok = FALSE;

  if (message == NULL) {
    g_set_error (error, FILTER_ERROR, 0, "the test frame took longer than %d s",
        (int) (CHECK_TIMEOUT / GST_SECOND));
  } else if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (message, error, NULL);
  } else {
    ok = TRUE;
  }
  if (message != NULL)
    gst_message_unref (message);
  gst_object_unref (bus);
  return ok;
}

gboolean
transcode_filter_check (const TranscodeFilterSettings *settings, GError **error)
{
  GstElement *filter = transcode_filter_make (settings, error);
  GstElement *pipeline, *source, *size, *convert, *sink;
  gboolean ok;

  if (filter == NULL)
    return FALSE;
  pipeline = gst_pipeline_new ("tunit-check");
  source = gst_element_factory_make ("videotestsrc", NULL);
  size = gst_element_factory_make ("capsfilter", NULL);
  convert = gst_element_factory_make ("videoconvert", NULL);
  sink = gst_element_factory_make ("fakesink", NULL);
  if (source == NULL || size == NULL || convert == NULL || sink == NULL) {
    g_set_error (error, FILTER_ERROR, 0,
        "videotestsrc, capsfilter, videoconvert or fakesink is missing "
        "(gstreamer1.0-plugins-base)");
    gst_object_unref (pipeline);
    return FALSE;
  }
  g_object_set (source, "num-buffers", 1, NULL);
  gst_util_set_object_arg (G_OBJECT (size), "caps", CHECK_CAPS);
  gst_bin_add_many (GST_BIN (pipeline), source, size, convert, filter, sink, NULL);
  ok = gst_element_link_many (source, size, convert, filter, sink, NULL);
  if (!ok)
    g_set_error (error, FILTER_ERROR, 0, "cannot link the test pipeline");
  if (ok) {
    /* A failed state change posts its error too: wait_for_end reads it. */
    gst_element_set_state (pipeline, GST_STATE_PLAYING);
    ok = wait_for_end (pipeline, error);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return ok;
}
