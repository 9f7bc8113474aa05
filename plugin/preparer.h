/* preparer.h - tunitfilter's live changes, prepared off the streaming
 * thread: a new engine (model, backend, device, threads, precision) or a
 * new style (reference image or pseudo-domain). */
#ifndef GST_TUNIT_PREPARER_H
#define GST_TUNIT_PREPARER_H

#include <gst/gst.h>

#include "tunit.h"

G_BEGIN_DECLS

/* Where the style code comes from; the property set last wins. */
typedef enum {
  GST_TUNIT_STYLE_SOURCE_NONE,
  GST_TUNIT_STYLE_SOURCE_REFERENCE,
  GST_TUNIT_STYLE_SOURCE_DOMAIN,
} GstTunitStyleSource;

/* A snapshot of the element's properties that need preparation.  Each
 * request counter is bumped by a change of its properties. */
typedef struct {
  guint64 engine_request;     /* model, backend, device, threads, precision */
  gchar *model_path;          /* resolved: never NULL */
  TunitEngineOptions options;
  guint64 style_request;      /* style, domain */
  GstTunitStyleSource style_source;
  gchar *style_path;
  gint domain;
} GstTunitSettings;

void gst_tunit_settings_free (GstTunitSettings *settings);

/* ---------------------------------------------------- one-shot steps
 * Used by start() on its own thread and by the preparer's worker.  Errors
 * are in GStreamer's domains and name the problem. */

/* Loads the model of settings and starts an engine on its backend, on a
 * frame queue (the engine's own thread) from the start. */
TunitFrameQueue *gst_tunit_open_engine (const GstTunitSettings *settings,
                                        GError **error);

/* The model of the engine on queue. */
TunitModel *gst_tunit_queue_model (TunitFrameQueue *queue);

/* The style settings ask for, for model (at model_path): a reference
 * image decoded and resized to img_size (*image, the guide still has to
 * run) or a pseudo-domain centroid (*code, a copy), with a description
 * for messages.  TRUE with both NULL when no style is set. */
gboolean gst_tunit_load_style (const GstTunitSettings *settings,
                               TunitModel *model, const gchar *model_path,
                               float **image, float **code, gchar **description,
                               GError **error);

/* Runs the guide on image (when not NULL) and sets the resulting style
 * code, or code, on engine: on the engine's thread. */
gboolean gst_tunit_apply_style (TunitEngine *engine, const float *image,
                                const float *code, const gchar *description,
                                GError **error);

/* gst_tunit_apply_style on the queue's thread, waiting for it: so that
 * the engine's heavy work stays on the one thread that translates. */
gboolean gst_tunit_apply_style_on_queue (TunitFrameQueue *queue,
                                         const float *image, const float *code,
                                         const gchar *description,
                                         GError **error);

/* Posts error as a message of type (ERROR, WARNING) from element, with
 * `consequence` (nullable) appended to its text. */
void gst_tunit_post_problem (GstElement *element, GstMessageType type,
                             const GError *error, const gchar *consequence);

/* ---------------------------------------------------- the worker */

typedef enum {
  GST_TUNIT_PREPARED_ENGINE,   /* a new engine with its style set: swap it in */
  GST_TUNIT_PREPARED_STYLE,    /* a new style for the engine of `model` */
} GstTunitPreparedKind;

typedef struct {
  GstTunitPreparedKind kind;
  TunitModel *model;          /* the model it belongs to (a reference) */
  TunitFrameQueue *queue;     /* ENGINE: its engine on its own thread */
  gchar *model_path;          /* ENGINE */
  float *style_image;         /* STYLE: a reference for the guide, or NULL */
  float *style_code;          /* STYLE: a style code, or NULL */
  gchar *description;         /* of the style, for messages */
} GstTunitPrepared;

void gst_tunit_prepared_free (GstTunitPrepared *prepared);

typedef struct _GstTunitPreparer GstTunitPreparer;

/* Starts a worker for owner (which must outlive it), whose engine runs
 * model (from model_path) with the requests of `applied` prepared. */
GstTunitPreparer *gst_tunit_preparer_new (GstElement *owner, TunitModel *model,
                                          const gchar *model_path,
                                          const GstTunitSettings *applied);

/* Stops the worker after its current step (it never starts another) and
 * frees whatever it prepared that was not taken. */
void gst_tunit_preparer_free (GstTunitPreparer *preparer);

/* Asks for settings (taken).  Never blocks on a preparation: a request
 * still waiting is replaced, so the newest wins. */
void gst_tunit_preparer_request (GstTunitPreparer *preparer,
                                 GstTunitSettings *settings);

/* The oldest result not taken yet, or NULL.  Never blocks.  Results must
 * be used in this order. */
GstTunitPrepared *gst_tunit_preparer_pop (GstTunitPreparer *preparer);

/* Waits until every request made so far has been prepared. */
void gst_tunit_preparer_wait_idle (GstTunitPreparer *preparer);

/* Frees queue (and its engine) on the worker's thread, so that the
 * streaming thread does not wait for it. */
void gst_tunit_preparer_dispose_queue (GstTunitPreparer *preparer,
                                       TunitFrameQueue *queue);

G_END_DECLS

#endif /* GST_TUNIT_PREPARER_H */
