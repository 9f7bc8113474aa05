/* formats.h - the output containers and codecs tunit-transcode writes, and
 * what the installed GStreamer plugins allow of them.
 *
 * Containers: WebM (VP8 video by default), Matroska (VP8 by default) and
 * MP4 (H.264 by default, x264enc).  The video is always re-encoded, with
 * the input's codec where an encoder for it is installed and the container
 * takes it.  Other streams (audio, subtitles) are copied untouched where the
 * container's muxer takes their caps; audio it does not take is re-encoded
 * with the container's first installed audio encoder. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum {
  TRANSCODE_FORMAT_AUTO,      /* the input's container where we write it */
  TRANSCODE_FORMAT_WEBM,
  TRANSCODE_FORMAT_MKV,
  TRANSCODE_FORMAT_MP4,
} TranscodeFormat;

typedef struct _TranscodeContainer TranscodeContainer;
typedef struct _TranscodeVideoCodec TranscodeVideoCodec;

/* Parses "webm", "mkv" or "mp4" (also "matroska"); FALSE if unknown. */
gboolean transcode_format_parse (const gchar *text, TranscodeFormat *format);

/* The container of a requested format (not AUTO); never NULL. */
const TranscodeContainer *transcode_container_get (TranscodeFormat format);

/* The container an input with top-level caps @caps (from the discoverer)
 * is written in when no format is requested, or NULL if it is none of
 * ours (the caller then uses the default). */
const TranscodeContainer *transcode_container_for_input (const GstCaps *caps);

/* The default container: WebM, whose VP8 and Opus/Vorbis encoders come with
 * gstreamer1.0-plugins-good/-base. */
const TranscodeContainer *transcode_container_default (void);

const gchar *transcode_container_name (const TranscodeContainer *container);
const gchar *transcode_container_extension (const TranscodeContainer *container);
const gchar *transcode_container_muxer (const TranscodeContainer *container);

/* The video codec to write for an input whose video caps are @input_caps
 * (may be NULL): the input's codec if its encoder is installed and the
 * container takes it, else the container's default codec if its encoder is
 * installed.  NULL if neither. */
const TranscodeVideoCodec *transcode_video_codec_choose (
    const TranscodeContainer *container, const GstCaps *input_caps);

/* "VP8 (vp8enc)" */
gchar *transcode_video_codec_describe (const TranscodeVideoCodec *codec);

/* The raw format @codec's encoder gets for frames of @width x @height:
 * I420, which every player plays, unless the encoder takes 4:2:0 only at
 * even sides (x264enc, x265enc) and a side is odd: then Y444, so that the
 * output keeps the input's size. */
const gchar *transcode_video_codec_input_format (const TranscodeVideoCodec *codec,
    gint width, gint height);

/* The hint for a container without an installed video encoder. */
const gchar *transcode_container_missing_encoder_hint (
    const TranscodeContainer *container);

/* A configured encoder for frames of @width x @height at @fps_n/@fps_d
 * (0/1 if unknown), or NULL with @error set. */
GstElement *transcode_video_codec_make_encoder (const TranscodeVideoCodec *codec,
    gint width, gint height, gint fps_n, gint fps_d, GError **error);

typedef enum {
  TRANSCODE_STREAM_COPY,      /* the muxer takes it as it is */
  TRANSCODE_STREAM_ENCODE,    /* audio: decoded and re-encoded */
  TRANSCODE_STREAM_DROP,      /* neither: not kept (said so) */
} TranscodeStreamAction;

/* What becomes of a non-video stream with caps @caps in @container; for
 * ENCODE, *@encoder is the encoder's factory name.  Audio the container
 * does not take and no installed encoder can write gives DROP with
 * is_audio set, which callers treat as an error (audio is never lost
 * silently). */
TranscodeStreamAction transcode_stream_action (const TranscodeContainer *container,
    const GstCaps *caps, const gchar **encoder);

/* TRUE if @caps are audio (their name starts with "audio/"). */
gboolean transcode_caps_are_audio (const GstCaps *caps);

/* TRUE if @caps are video (their name starts with "video/"). */
gboolean transcode_caps_are_video (const GstCaps *caps);

/* The codec of @caps in words ("Vorbis", "H.264"), owned by the caller. */
gchar *transcode_caps_describe (const GstCaps *caps);

G_END_DECLS
