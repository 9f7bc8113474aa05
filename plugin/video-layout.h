/* video-layout.h - GStreamer's description of a video frame as libtunit's
 * TunitImageLayout, so that libtunit converts any accepted format (packed
 * RGB, planar, semi-planar and packed YUV) without knowing GStreamer. */
#ifndef GST_TUNIT_VIDEO_LAYOUT_H
#define GST_TUNIT_VIDEO_LAYOUT_H

#include <gst/video/video.h>

#include "tunit.h"

G_BEGIN_DECLS

/* The formats tunitfilter accepts, for its caps. */
#define GST_TUNIT_VIDEO_FORMATS \
  "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, ARGB, ABGR, xRGB, xBGR, " \
  "I420, YV12, NV12, NV21, YUY2, UYVY, YVYU }"

/* The layout of frames of `info`: components, subsampling, and for YUV the
 * matrix, range and chroma siting of its colorimetry.  Strides are the
 * info's; gst_tunit_video_frame_planes puts a mapped frame's own. */
void gst_tunit_video_layout (const GstVideoInfo *info, TunitImageLayout *layout);

/* Plane pointers of a mapped frame, and its strides into layout. */
void gst_tunit_video_frame_planes (GstVideoFrame *frame,
                                   TunitImageLayout *layout, guint8 *planes[4]);

G_END_DECLS

#endif /* GST_TUNIT_VIDEO_LAYOUT_H */
