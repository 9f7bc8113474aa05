/* gsttunitfilter.h - the tunitfilter element: TUNIT image-to-image
 * translation of every video frame. */
#ifndef GST_TUNIT_FILTER_H
#define GST_TUNIT_FILTER_H

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

#include "tunit.h"

G_BEGIN_DECLS

#define GST_TYPE_TUNIT_FILTER (gst_tunit_filter_get_type ())
G_DECLARE_FINAL_TYPE (GstTunitFilter, gst_tunit_filter, GST, TUNIT_FILTER, GstVideoFilter)

#define GST_TYPE_TUNIT_BACKEND (gst_tunit_backend_get_type ())
GType gst_tunit_backend_get_type (void);

/* Where the style code comes from; the property set last wins. */
typedef enum {
  GST_TUNIT_STYLE_SOURCE_NONE,
  GST_TUNIT_STYLE_SOURCE_REFERENCE,
  GST_TUNIT_STYLE_SOURCE_DOMAIN,
} GstTunitStyleSource;

struct _GstTunitFilter {
  GstVideoFilter parent;

  /* Properties, protected by the object lock. */
  gchar *model_path;
  gchar *style_path;
  gint domain;
  TunitBackendKind backend;
  gint device;
  guint processing_size;
  gdouble strength;
  /* The style request: source and a counter bumped on every change of
   * `style` or `domain`.  Setters only record it; the streaming thread
   * (the only one that touches the engine) applies it. */
  GstTunitStyleSource style_source;
  guint64 style_request;

  /* Streaming state: touched only in start/stop/set_info (no data flow)
   * and in the streaming thread. */
  TunitModel *model;
  TunitEngine *engine;
  gchar *loaded_model_path;   /* path `model` had at start(), for messages */
  guint64 style_applied;      /* value of style_request last applied */
  gboolean have_style;        /* the engine has a style */
  float *style_code;          /* style_dim floats, scratch */

  GstVideoInfo info;
  TunitPixelLayout layout;
  float *frame_in;            /* 3 * width * height, the frame as planar */
  float *frame_out;           /* 3 * width * height, the translation */
  float *net_in, *net_out;    /* 3 * net_width * net_height when scaled */
  gint net_width, net_height; /* size of net_in/net_out */

  /* Processing time, for the LATENCY query.  Protected by latency_lock. */
  GMutex latency_lock;
  GstClockTime proc_avg;      /* moving average */
  GstClockTime proc_peak;     /* decaying maximum */
  GstClockTime latency;       /* value reported to LATENCY queries */
};

G_END_DECLS

#endif /* GST_TUNIT_FILTER_H */
