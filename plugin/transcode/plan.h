/* plan.h - what one input becomes: found out with GstDiscoverer before the
 * file runs, so that a broken input is reported before any work, the
 * choice of container and codecs is printed, and progress has a total. */
#pragma once

#include <gst/pbutils/pbutils.h>

#include "formats.h"

G_BEGIN_DECLS

typedef struct {
  const TranscodeContainer *container;
  const TranscodeVideoCodec *video_codec;
  GstClockTime duration;      /* GST_CLOCK_TIME_NONE if unknown */
  guint64 frames;             /* expected video frames, 0 if unknown */
  gchar *description;         /* the choice in words, for the log */
} TranscodePlan;

/* Discovers @path and decides its output.  @format is the requested one
 * (AUTO: the input's container where we write it, else the default).
 * NULL with @error set (a message fit for the user) if the input cannot be
 * read, has no video, needs a plug-in that is not installed, or has audio
 * that the container cannot keep. */
TranscodePlan *transcode_plan_make (GstDiscoverer *discoverer,
    const gchar *path, TranscodeFormat format, GError **error);

void transcode_plan_free (TranscodePlan *plan);

G_END_DECLS
