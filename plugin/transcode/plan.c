/* plan.c - discovers an input and chooses its output container and codecs. */
#include "plan.h"

#include <string.h>

#define PLAN_ERROR (g_quark_from_static_string ("tunit-transcode-plan"))

void
transcode_plan_free (TranscodePlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->description);
  g_free (plan);
}

/* The caps a missing-plugin installer detail asks a decoder for ("...|
 * decoder-audio/x-ac3, ..."), or NULL for any other kind of plug-in. */
static GstCaps *
missing_decoder_caps (const gchar *detail)
{
  const gchar *decoder = strstr (detail, "|decoder-");

  return decoder == NULL ? NULL : gst_caps_from_string (decoder + strlen ("|decoder-"));
}

/* The words of a missing-plugin installer detail ("VP8 decoder"): its
 * fourth field, "gstreamer|1.0|APPLICATION|DESCRIPTION|TYPE-DETAIL". */
static gchar *
missing_plugin_description (const gchar *detail)
{
  gchar **fields = g_strsplit (detail, "|", -1);
  gchar *description = g_strdup (g_strv_length (fields) >= 4 ? fields[3] : detail);

  g_strfreev (fields);
  return description;
}

/* The description of the first missing plug-in, or NULL. */
static gchar *
first_missing_plugin (GstDiscovererInfo *info)
{
  const gchar **details = gst_discoverer_info_get_missing_elements_installer_details (info);

  return details == NULL || details[0] == NULL ? NULL :
      missing_plugin_description (details[0]);
}

/* A missing decoder is fatal unless it is for a stream that is copied as
 * it is (audio the container takes, say): then nothing needs to decode it. */
static gboolean
check_missing_plugins (GstDiscovererInfo *info, const TranscodeContainer *container,
    GError **error)
{
  const gchar **details = gst_discoverer_info_get_missing_elements_installer_details (info);

  for (guint i = 0; details != NULL && details[i] != NULL; i++) {
    GstCaps *caps = missing_decoder_caps (details[i]);
    const gchar *encoder;
    gboolean copied = caps != NULL && !transcode_caps_are_video (caps)
        && transcode_stream_action (container, caps, &encoder) == TRANSCODE_STREAM_COPY;

    if (!copied) {
      gchar *missing = missing_plugin_description (details[i]);

      g_set_error (error, PLAN_ERROR, 0,
          "cannot decode it: a GStreamer plug-in is missing (%s)", missing);
      g_free (missing);
    }
    if (caps != NULL)
      gst_caps_unref (caps);
    if (!copied)
      return FALSE;
  }
  return TRUE;
}

/* FALSE with @error set if discovery failed for a reason other than a
 * missing plug-in (those are judged once the container is known). */
static gboolean
check_discovery (GstDiscovererInfo *info, GError *discover_error, GError **error)
{
  GstDiscovererResult result = info != NULL ?
      gst_discoverer_info_get_result (info) : GST_DISCOVERER_ERROR;

  switch (result) {
    case GST_DISCOVERER_OK:
    case GST_DISCOVERER_MISSING_PLUGINS:
      return TRUE;
    case GST_DISCOVERER_TIMEOUT:
      g_set_error (error, PLAN_ERROR, 0,
          "cannot read it: reading its header timed out");
      return FALSE;
    case GST_DISCOVERER_URI_INVALID:
      g_set_error (error, PLAN_ERROR, 0, "cannot open it as a file");
      return FALSE;
    default:
      g_set_error (error, PLAN_ERROR, 0, "cannot read it as a video: %s",
          discover_error != NULL ? discover_error->message : "unknown error");
      return FALSE;
  }
}

static GstCaps *
top_level_caps (GstDiscovererInfo *info)
{
  GstDiscovererStreamInfo *top = gst_discoverer_info_get_stream_info (info);
  GstCaps *caps = NULL;

  if (top != NULL && GST_IS_DISCOVERER_CONTAINER_INFO (top))
    caps = gst_discoverer_stream_info_get_caps (top);
  if (top != NULL)
    gst_discoverer_stream_info_unref (top);
  return caps;
}

/* Says so when the video is written as 4:4:4 to keep an odd frame size. */
static void
note_pixel_format (const TranscodePlan *plan, const GstCaps *video_caps,
    GString *description)
{
  const GstStructure *structure = video_caps != NULL && gst_caps_get_size (video_caps) > 0 ?
      gst_caps_get_structure (video_caps, 0) : NULL;
  gint width = 0, height = 0;

  if (structure == NULL || !gst_structure_get_int (structure, "width", &width)
      || !gst_structure_get_int (structure, "height", &height))
    return;
  if (strcmp (transcode_video_codec_input_format (plan->video_codec, width, height),
          "Y444") == 0)
    g_string_append (description, " in 4:4:4 (4:2:0 needs even sides)");
}

/* Picks the container and the video codec; notes on the choice go to
 * @description.  FALSE with @error set if no video encoder fits. */
static gboolean
choose_container (TranscodePlan *plan, GstDiscovererInfo *info,
    TranscodeFormat format, const GstCaps *video_caps, GString *description,
    GError **error)
{
  GstCaps *input_caps = top_level_caps (info);
  gchar *input_name = input_caps != NULL ? transcode_caps_describe (input_caps) : NULL;
  gchar *codec;

  if (format != TRANSCODE_FORMAT_AUTO) {
    plan->container = transcode_container_get (format);
    g_string_append (description, transcode_container_name (plan->container));
  } else if ((plan->container = transcode_container_for_input (input_caps)) != NULL) {
    g_string_append_printf (description, "%s (as the input)",
        transcode_container_name (plan->container));
  } else {
    plan->container = transcode_container_default ();
    g_string_append_printf (description, "%s (the default; the input is %s)",
        transcode_container_name (plan->container),
        input_name != NULL ? input_name : "not in a container");
  }
  plan->video_codec = transcode_video_codec_choose (plan->container, video_caps);
  if (plan->video_codec == NULL && format == TRANSCODE_FORMAT_AUTO
      && plan->container != transcode_container_default ()) {
    g_string_append_printf (description,
        " -> no video encoder for it is installed (%s), so %s",
        transcode_container_missing_encoder_hint (plan->container),
        transcode_container_name (transcode_container_default ()));
    plan->container = transcode_container_default ();
    plan->video_codec = transcode_video_codec_choose (plan->container, video_caps);
  }
  if (input_caps != NULL)
    gst_caps_unref (input_caps);
  g_free (input_name);
  if (plan->video_codec == NULL) {
    g_set_error (error, PLAN_ERROR, 0,
        "no video encoder for %s is installed (%s)",
        transcode_container_name (plan->container),
        transcode_container_missing_encoder_hint (plan->container));
    return FALSE;
  }
  codec = transcode_video_codec_describe (plan->video_codec);
  g_string_append_printf (description, ", video %s", codec);
  g_free (codec);
  note_pixel_format (plan, video_caps, description);
  return TRUE;
}

/* Adds up the video streams' frames and describes the first; FALSE with
 * @error set if there is no video (a still image counts as none). */
static gboolean
measure_video (TranscodePlan *plan, GstDiscovererInfo *info,
    GstCaps **first_caps, GString *size_text, GError **error)
{
  GList *streams = gst_discoverer_info_get_video_streams (info);
  guint videos = 0;

  *first_caps = NULL;
  for (GList *item = streams; item != NULL; item = item->next) {
    GstDiscovererVideoInfo *video = item->data;
    guint fps_n = gst_discoverer_video_info_get_framerate_num (video);
    guint fps_d = gst_discoverer_video_info_get_framerate_denom (video);

    if (gst_discoverer_video_info_is_image (video))
      continue;
    if (videos++ == 0) {
      *first_caps = gst_discoverer_stream_info_get_caps (GST_DISCOVERER_STREAM_INFO (video));
      g_string_append_printf (size_text, "%ux%u, %g fps",
          gst_discoverer_video_info_get_width (video),
          gst_discoverer_video_info_get_height (video),
          fps_d > 0 ? (gdouble) fps_n / fps_d : 0.0);
    }
    if (fps_n > 0 && fps_d > 0 && GST_CLOCK_TIME_IS_VALID (plan->duration))
      plan->frames += gst_util_uint64_scale_round (plan->duration, fps_n,
          (guint64) fps_d * GST_SECOND);
  }
  gst_discoverer_stream_info_list_free (streams);
  if (videos == 0) {
    g_set_error (error, PLAN_ERROR, 0, "it has no video stream");
    return FALSE;
  }
  if (videos > 1)
    g_string_append_printf (size_text, " (+%u more video streams)", videos - 1);
  return TRUE;
}

/* Describes what becomes of each audio and subtitle stream; FALSE with
 * @error set if audio would be lost. */
static gboolean
plan_other_streams (TranscodePlan *plan, GstDiscovererInfo *info,
    GString *description, GError **error)
{
  GList *audio = gst_discoverer_info_get_audio_streams (info);
  GList *subtitles = gst_discoverer_info_get_subtitle_streams (info);
  GList *streams = g_list_concat (audio, subtitles);
  gboolean ok = TRUE, have_audio = FALSE;

  for (GList *item = streams; item != NULL && ok; item = item->next) {
    GstCaps *caps = gst_discoverer_stream_info_get_caps (item->data);
    gboolean is_audio = transcode_caps_are_audio (caps);
    gchar *codec = caps != NULL ? transcode_caps_describe (caps) : g_strdup ("unknown");
    const gchar *encoder = NULL;
    TranscodeStreamAction action = caps != NULL ?
        transcode_stream_action (plan->container, caps, &encoder) : TRANSCODE_STREAM_DROP;
    const gchar *kind = is_audio ? "audio" : "subtitles";

    have_audio |= is_audio;
    if (action == TRANSCODE_STREAM_COPY)
      g_string_append_printf (description, ", %s %s copied", kind, codec);
    else if (action == TRANSCODE_STREAM_ENCODE)
      g_string_append_printf (description, ", audio %s re-encoded with %s (%s does not take %s)",
          codec, encoder, transcode_container_name (plan->container), codec);
    else if (!is_audio)
      g_string_append_printf (description, ", %s %s not kept (%s does not take them)",
          kind, codec, transcode_container_name (plan->container));
    else {
      g_set_error (error, PLAN_ERROR, 0,
          "%s does not take its %s audio and no audio encoder for %s is installed",
          transcode_container_name (plan->container), codec,
          transcode_container_name (plan->container));
      ok = FALSE;
    }
    g_free (codec);
    if (caps != NULL)
      gst_caps_unref (caps);
  }
  if (ok && !have_audio)
    g_string_append (description, ", no audio");
  gst_discoverer_stream_info_list_free (streams);
  return ok;
}

static TranscodePlan *
plan_from_info (GstDiscovererInfo *info, TranscodeFormat format, GError **error)
{
  TranscodePlan *plan = g_new0 (TranscodePlan, 1);
  GString *description = g_string_new (NULL);
  GString *size_text = g_string_new (NULL);
  GstCaps *video_caps = NULL;
  gboolean ok;

  plan->duration = gst_discoverer_info_get_duration (info);
  if (plan->duration == 0)
    plan->duration = GST_CLOCK_TIME_NONE;
  ok = measure_video (plan, info, &video_caps, size_text, error);
  if (!ok) {
    /* A stream nothing decodes is not reported as video: say what is
     * missing rather than "no video stream". */
    gchar *missing = first_missing_plugin (info);

    if (missing != NULL) {
      g_clear_error (error);
      g_set_error (error, PLAN_ERROR, 0,
          "cannot decode it: a GStreamer plug-in is missing (%s)", missing);
    }
    g_free (missing);
  }
  ok = ok && choose_container (plan, info, format, video_caps, description, error)
      && check_missing_plugins (info, plan->container, error)
      && plan_other_streams (plan, info, description, error);
  if (video_caps != NULL)
    gst_caps_unref (video_caps);
  if (ok && plan->frames > 0)
    g_string_append_printf (size_text, ", %" G_GUINT64_FORMAT " frames", plan->frames);
  plan->description = g_strdup_printf ("%s; %s", size_text->str, description->str);
  g_string_free (description, TRUE);
  g_string_free (size_text, TRUE);
  if (!ok) {
    transcode_plan_free (plan);
    return NULL;
  }
  return plan;
}

TranscodePlan *
transcode_plan_make (GstDiscoverer *discoverer, const gchar *path,
    TranscodeFormat format, GError **error)
{
  GError *discover_error = NULL;
  GstDiscovererInfo *info;
  TranscodePlan *plan = NULL;
  gchar *uri = gst_filename_to_uri (path, error);

  if (uri == NULL)
    return NULL;
  info = gst_discoverer_discover_uri (discoverer, uri, &discover_error);
  if (check_discovery (info, discover_error, error))
    plan = plan_from_info (info, format, error);
  g_clear_error (&discover_error);
  if (info != NULL)
    gst_discoverer_info_unref (info);
  g_free (uri);
  return plan;
}
