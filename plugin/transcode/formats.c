/* formats.c - output containers, codecs and encoder settings. */
#include "formats.h"

#include <string.h>

#include <gst/pbutils/pbutils.h>

struct _TranscodeVideoCodec {
  const gchar *caps_name;     /* what the encoder writes: "video/x-vp8" */
  const gchar *encoder;       /* its factory name */
  const gchar *settings;      /* "property=value ..." applied where present */
  const gchar *bitrate_property; /* set from the frame size, or NULL */
  guint bitrate_unit;         /* bits per second in one unit of it */
  gboolean even_sides_for_420; /* 4:2:0 only for even widths and heights */
};

struct _TranscodeContainer {
  TranscodeFormat format;
  const gchar *name;
  const gchar *extension;
  const gchar *muxer;
  const gchar *default_video; /* caps name of the default video codec */
  const gchar *const *audio_encoders; /* in order of preference */
  const gchar *missing_encoder_hint;
};

/* Speed settings: the network costs far more per frame than any of these
 * encoders, so they run at their usual quality presets; VP8/VP9 get a
 * bitrate from the frame size since their default (256 kbit/s) is too low
 * for anything but tiny frames. */
static const TranscodeVideoCodec video_codecs[] = {
  { "video/x-vp8", "vp8enc", "deadline=1 cpu-used=4 end-usage=vbr",
    "target-bitrate", 1, FALSE },
  { "video/x-vp9", "vp9enc", "deadline=1 cpu-used=4 end-usage=vbr row-mt=true",
    "target-bitrate", 1, FALSE },
  { "video/x-h264", "x264enc", "pass=qual quantizer=20 speed-preset=faster",
    NULL, 0, TRUE },
  { "video/x-h265", "x265enc", "speed-preset=faster", NULL, 0, TRUE },
};

static const gchar *const webm_audio[] = { "opusenc", "vorbisenc", NULL };
static const gchar *const matroska_audio[] = {
  "opusenc", "vorbisenc", "flacenc", NULL
};
static const gchar *const mp4_audio[] = {
  "avenc_aac", "fdkaacenc", "voaacenc", "opusenc", "lamemp3enc", NULL
};

static const TranscodeContainer containers[] = {
  { TRANSCODE_FORMAT_WEBM, "WebM", "webm", "webmmux", "video/x-vp8", webm_audio,
    "vp8enc is in gstreamer1.0-plugins-good" },
  { TRANSCODE_FORMAT_MKV, "Matroska", "mkv", "matroskamux", "video/x-vp8",
    matroska_audio, "vp8enc is in gstreamer1.0-plugins-good" },
  { TRANSCODE_FORMAT_MP4, "MP4", "mp4", "mp4mux", "video/x-h264", mp4_audio,
    "x264enc is in gstreamer1.0-plugins-ugly" },
};

gboolean
transcode_format_parse (const gchar *text, TranscodeFormat *format)
{
  if (g_ascii_strcasecmp (text, "webm") == 0)
    *format = TRANSCODE_FORMAT_WEBM;
  else if (g_ascii_strcasecmp (text, "mkv") == 0
      || g_ascii_strcasecmp (text, "matroska") == 0)
    *format = TRANSCODE_FORMAT_MKV;
  else if (g_ascii_strcasecmp (text, "mp4") == 0)
    *format = TRANSCODE_FORMAT_MP4;
  else
    return FALSE;
  return TRUE;
}

const TranscodeContainer *
transcode_container_get (TranscodeFormat format)
{
  for (guint i = 0; i < G_N_ELEMENTS (containers); i++) {
    if (containers[i].format == format)
      return &containers[i];
  }
  return transcode_container_default ();
}

const TranscodeContainer *
transcode_container_default (void)
{
  return &containers[0];
}

const TranscodeContainer *
transcode_container_for_input (const GstCaps *caps)
{
  const gchar *name;

  if (caps == NULL || gst_caps_get_size (caps) == 0)
    return NULL;
  name = gst_structure_get_name (gst_caps_get_structure (caps, 0));
  if (strcmp (name, "video/webm") == 0 || strcmp (name, "audio/webm") == 0)
    return transcode_container_get (TRANSCODE_FORMAT_WEBM);
  if (strcmp (name, "video/x-matroska") == 0
      || strcmp (name, "audio/x-matroska") == 0)
    return transcode_container_get (TRANSCODE_FORMAT_MKV);
  /* qtdemux's caps for MP4, MOV and 3GP alike: all written as MP4. */
  if (strcmp (name, "video/quicktime") == 0)
    return transcode_container_get (TRANSCODE_FORMAT_MP4);
  return NULL;
}

const gchar *
transcode_container_name (const TranscodeContainer *container)
{
  return container->name;
}

const gchar *
transcode_container_extension (const TranscodeContainer *container)
{
  return container->extension;
}

const gchar *
transcode_container_muxer (const TranscodeContainer *container)
{
  return container->muxer;
}

const gchar *
transcode_container_missing_encoder_hint (const TranscodeContainer *container)
{
  return container->missing_encoder_hint;
}

/* TRUE if one of @factory's always/request pad templates of @direction can
 * take @caps. */
static gboolean
factory_takes (GstElementFactory *factory, GstPadDirection direction,
    const GstCaps *caps)
{
  const GList *templates = gst_element_factory_get_static_pad_templates (factory);

  for (const GList *item = templates; item != NULL; item = item->next) {
    GstStaticPadTemplate *template = item->data;
    GstCaps *template_caps;
    gboolean takes;

    if (template->direction != direction)
      continue;
    template_caps = gst_static_pad_template_get_caps (template);
    takes = gst_caps_can_intersect (template_caps, caps);
    gst_caps_unref (template_caps);
    if (takes)
      return TRUE;
  }
  return FALSE;
}

static gboolean
muxer_takes (const TranscodeContainer *container, const GstCaps *caps)
{
  GstElementFactory *muxer = gst_element_factory_find (container->muxer);
  gboolean takes;

  if (muxer == NULL)
    return FALSE;
  takes = factory_takes (muxer, GST_PAD_SINK, caps);
  gst_object_unref (muxer);
  return takes;
}

/* TRUE if @encoder is installed and writes something @container takes. */
static gboolean
encoder_fits (const TranscodeContainer *container, const gchar *encoder)
{
  GstElementFactory *factory = gst_element_factory_find (encoder);
  const GList *templates;
  gboolean fits = FALSE;

  if (factory == NULL)
    return FALSE;
  templates = gst_element_factory_get_static_pad_templates (factory);
  for (const GList *item = templates; item != NULL && !fits; item = item->next) {
    GstStaticPadTemplate *template = item->data;
    GstCaps *caps;

    if (template->direction != GST_PAD_SRC)
      continue;
    caps = gst_static_pad_template_get_caps (template);
    fits = muxer_takes (container, caps);
    gst_caps_unref (caps);
  }
  gst_object_unref (factory);
  return fits;
}

static const TranscodeVideoCodec *
video_codec_for_caps_name (const gchar *caps_name)
{
  for (guint i = 0; i < G_N_ELEMENTS (video_codecs); i++) {
    if (strcmp (video_codecs[i].caps_name, caps_name) == 0)
      return &video_codecs[i];
  }
  return NULL;
}

const TranscodeVideoCodec *
transcode_video_codec_choose (const TranscodeContainer *container,
    const GstCaps *input_caps)
{
  const TranscodeVideoCodec *codec = NULL;

  if (input_caps != NULL && gst_caps_get_size (input_caps) > 0)
    codec = video_codec_for_caps_name (
        gst_structure_get_name (gst_caps_get_structure (input_caps, 0)));
  if (codec != NULL && encoder_fits (container, codec->encoder))
    return codec;
  codec = video_codec_for_caps_name (container->default_video);
  if (codec != NULL && encoder_fits (container, codec->encoder))
    return codec;
  return NULL;
}

gchar *
transcode_video_codec_describe (const TranscodeVideoCodec *codec)
{
  GstCaps *caps = gst_caps_new_empty_simple (codec->caps_name);
  gchar *name = transcode_caps_describe (caps);
  gchar *text = g_strdup_printf ("%s (%s)", name, codec->encoder);

  g_free (name);
  gst_caps_unref (caps);
  return text;
}

const gchar *
transcode_video_codec_input_format (const TranscodeVideoCodec *codec,
    gint width, gint height)
{
  gboolean odd = (width % 2) != 0 || (height % 2) != 0;

  return codec->even_sides_for_420 && odd ? "Y444" : "I420";
}

/* Sets the "name=value" pairs of @settings that @element has. */
static void
apply_settings (GstElement *element, const gchar *settings)
{
  gchar **pairs = g_strsplit (settings, " ", -1);

  for (guint i = 0; pairs[i] != NULL; i++) {
    gchar **name_value = g_strsplit (pairs[i], "=", 2);

    if (name_value[0] != NULL && name_value[1] != NULL
        && g_object_class_find_property (G_OBJECT_GET_CLASS (element),
            name_value[0]) != NULL)
      gst_util_set_object_arg (G_OBJECT (element), name_value[0], name_value[1]);
    g_strfreev (name_value);
  }
  g_strfreev (pairs);
}

/* About 0.2 bit per pixel, within what VP8/VP9 handle well. */
static guint64
bitrate_for (gint width, gint height, gint fps_n, gint fps_d)
{
  gdouble fps = (fps_n > 0 && fps_d > 0) ? (gdouble) fps_n / fps_d : 30.0;
  gdouble bits = 0.2 * width * height * fps;

  return (guint64) CLAMP (bits, 200e3, 40e6);
}

GstElement *
transcode_video_codec_make_encoder (const TranscodeVideoCodec *codec,
    gint width, gint height, gint fps_n, gint fps_d, GError **error)
{
  GstElement *encoder = gst_element_factory_make (codec->encoder, NULL);
  GParamSpec *bitrate;

  if (encoder == NULL) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_MISSING_PLUGIN,
        "cannot make the video encoder %s", codec->encoder);
    return NULL;
  }
  apply_settings (encoder, codec->settings);
  bitrate = codec->bitrate_property == NULL ? NULL :
      g_object_class_find_property (G_OBJECT_GET_CLASS (encoder),
      codec->bitrate_property);
  if (bitrate != NULL && G_PARAM_SPEC_VALUE_TYPE (bitrate) == G_TYPE_INT)
    g_object_set (encoder, codec->bitrate_property,
        (gint) (bitrate_for (width, height, fps_n, fps_d) / codec->bitrate_unit),
        NULL);
  return encoder;
}

gboolean
transcode_caps_are_audio (const GstCaps *caps)
{
  return caps != NULL && gst_caps_get_size (caps) > 0
      && g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure (caps, 0)),
      "audio/");
}

gboolean
transcode_caps_are_video (const GstCaps *caps)
{
  return caps != NULL && gst_caps_get_size (caps) > 0
      && g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure (caps, 0)),
      "video/");
}

gchar *
transcode_caps_describe (const GstCaps *caps)
{
  gchar *description = gst_pb_utils_get_codec_description (caps);

  if (description == NULL)
    description = g_strdup (gst_structure_get_name (gst_caps_get_structure (caps, 0)));
  return description;
}

TranscodeStreamAction
transcode_stream_action (const TranscodeContainer *container,
    const GstCaps *caps, const gchar **encoder)
{
  *encoder = NULL;
  if (muxer_takes (container, caps))
    return TRANSCODE_STREAM_COPY;
  if (!transcode_caps_are_audio (caps))
    return TRANSCODE_STREAM_DROP;
  for (guint i = 0; container->audio_encoders[i] != NULL; i++) {
    if (encoder_fits (container, container->audio_encoders[i])) {
      *encoder = container->audio_encoders[i];
      return TRANSCODE_STREAM_ENCODE;
    }
  }
  return TRANSCODE_STREAM_DROP;
}
