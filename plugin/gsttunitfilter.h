/* gsttunitfilter.h - the tunitfilter element: TUNIT image-to-image
 * translation of every video frame. */
#ifndef GST_TUNIT_FILTER_H
#define GST_TUNIT_FILTER_H

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

#include "preparer.h"
#include "tunit.h"

G_BEGIN_DECLS

#define GST_TYPE_TUNIT_FILTER (gst_tunit_filter_get_type ())
G_DECLARE_FINAL_TYPE (GstTunitFilter, gst_tunit_filter, GST, TUNIT_FILTER, GstVideoFilter)

#define GST_TYPE_TUNIT_BACKEND (gst_tunit_backend_get_type ())
GType gst_tunit_backend_get_type (void);
#define GST_TYPE_TUNIT_PRECISION (gst_tunit_precision_get_type ())
GType gst_tunit_precision_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (tunitfilter);

struct _GstTunitFilter {
  GstVideoFilter parent;

  /* Properties, protected by the object lock.  Setters only record: a
   * change that needs preparation bumps its request counter and hands a
   * snapshot of the settings to the preparer. */
  gchar *model_path;          /* NULL: $TUNIT_MODEL, else the installed model */
  gchar *style_path;
  gint domain;
  TunitBackendKind backend;
  gint device;
  guint threads;
  TunitPrecision precision;
  /* the TUNIT_* tuning and debugging switches, read at each start() */
  TunitEngineOptions environment_options;
  guint processing_size;
  gdouble strength;
  guint max_in_flight;        /* 0: automatic */
  guint statistics_interval;
  GstTunitStyleSource style_source;
  guint64 engine_request;     /* bumped by model, backend, device, threads, precision */
  guint64 style_request;      /* bumped by style, domain */
  GstTunitPreparer *preparer; /* between start() and stop() */

  /* Streaming state: touched only in start/stop (no data flow) and in the
   * streaming thread. */
  TunitFrameQueue *queue;     /* the engine in use, on a thread of its own */
  TunitModel *model;          /* its model */
  gchar *model_in_use;        /* its path, for messages */
  gboolean on_vulkan;         /* it runs on Vulkan */
  gboolean have_style;        /* a style is set or queued on it */
  GstTunitPrepared *next_engine;  /* waits for the frames in flight */
  GQueue in_flight;           /* frames submitted, oldest first */
  GQueue spare_slots;         /* their buffers, for reuse */
  GstVideoInfo info;
  TunitImageLayout layout;

  /* Statistics and latency, protected by stats_lock. */
  GMutex stats_lock;
  guint64 frames, dropped;
  gint64 total_us, max_us;    /* processing time of the frames */
  guint64 frames_reported;    /* `frames` at the last statistics message */
  GstClockTime frame_duration;
  GstClockTime proc_avg;      /* moving average of the processing time */
  GstClockTime proc_peak;     /* decaying maximum */
  GstClockTime latency;       /* value reported to LATENCY queries */
  guint latency_depth;        /* frames in flight `latency` was computed for */
};

G_END_DECLS

#endif /* GST_TUNIT_FILTER_H */
