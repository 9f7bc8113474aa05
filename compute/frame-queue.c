/* frame-queue.c - frames in flight: an engine on a thread of its own.
 *
 * The caller submits frames and waits for them in the same order; between
 * the two it is free to convert the next frame, so that its CPU work
 * overlaps the engine's.  Any other use of the engine (a style change) is
 * queued as a call, so it lands exactly between two frames.  A caller that
 * would wait at once (one frame in flight) translates on its own thread
 * instead, saving two thread switches per frame, which on busy cores cost
 * a scheduler slice each.  Built on the public engine calls only: the
 * engine itself stays single-threaded, since whoever runs a job holds the
 * `running` role first. */
#include "tunit.h"

typedef enum {
  JOB_FRAME,
  JOB_CALL,
} JobKind;

typedef struct {
  JobKind kind;
  /* JOB_FRAME */
  const float *input;
  float *output;
  int width, height;
  gpointer user_data;
  gboolean done;
  gboolean ok;
  GError *error;
  gint64 compute_us;
  /* JOB_CALL */
  TunitEngineFunc func;
  gpointer func_data;
  GDestroyNotify destroy;
} Job;

struct _TunitFrameQueue {
  TunitEngine *engine;         /* only the worker touches it */
  GThread *worker;
  GMutex lock;
  GCond changed;               /* a job was queued or finished, or stopping */
  GQueue pending;              /* jobs not started yet, oldest first */
  GQueue frames;               /* frame jobs not waited for, oldest first */
  gboolean running;            /* a thread is using the engine */
  gboolean stopping;
};

static void
job_free (Job *job)
{
  g_clear_error (&job->error);
  g_free (job);
}

static void
run_job (TunitEngine *engine, Job *job)
{
  if (job->kind == JOB_CALL) {
    job->func (engine, job->func_data);
    if (job->destroy != NULL)
      job->destroy (job->func_data);
    return;
  }
  gint64 start = g_get_monotonic_time ();
  job->ok = tunit_engine_translate (engine, job->input, job->width, job->height, job->output,
                                    &job->error);
  job->compute_us = g_get_monotonic_time () - start;
}

static gpointer
worker_main (gpointer data)
{
  TunitFrameQueue *queue = data;

  g_mutex_lock (&queue->lock);
  for (;;) {
    Job *job = queue->running ? NULL : g_queue_pop_head (&queue->pending);
    if (job == NULL) {
      if (queue->stopping && !queue->running && g_queue_is_empty (&queue->pending))
        break;
      g_cond_wait (&queue->changed, &queue->lock);
      continue;
    }
    queue->running = TRUE;
    g_mutex_unlock (&queue->lock);
    run_job (queue->engine, job);
    g_mutex_lock (&queue->lock);
    queue->running = FALSE;
    g_cond_broadcast (&queue->changed);
    if (job->kind == JOB_CALL) {
      g_free (job);
    } else {
      job->done = TRUE;
      g_cond_broadcast (&queue->changed);
    }
  }
  g_mutex_unlock (&queue->lock);
  return NULL;
}

TunitFrameQueue *
tunit_frame_queue_new (TunitEngine *engine)
{
  g_return_val_if_fail (engine != NULL, NULL);
  TunitFrameQueue *queue = g_new0 (TunitFrameQueue, 1);
  queue->engine = engine;
  g_mutex_init (&queue->lock);
  g_cond_init (&queue->changed);
  g_queue_init (&queue->pending);
  g_queue_init (&queue->frames);
  queue->worker = g_thread_new ("tunit-frames", worker_main, queue);
  return queue;
}

void
tunit_frame_queue_free (TunitFrameQueue *queue)
{
  if (queue == NULL)
    return;
  g_mutex_lock (&queue->lock);
  queue->stopping = TRUE;
  g_cond_broadcast (&queue->changed);
  g_mutex_unlock (&queue->lock);
  /* the worker finishes what was queued before it stops */
  g_thread_join (queue->worker);
  g_queue_clear_full (&queue->frames, (GDestroyNotify) job_free);
  tunit_engine_free (queue->engine);
  g_mutex_clear (&queue->lock);
  g_cond_clear (&queue->changed);
  g_free (queue);
}

static void
enqueue (TunitFrameQueue *queue, Job *job)
{
  g_mutex_lock (&queue->lock);
  g_queue_push_tail (&queue->pending, job);
  if (job->kind == JOB_FRAME)
    g_queue_push_tail (&queue->frames, job);
  g_cond_broadcast (&queue->changed);
  g_mutex_unlock (&queue->lock);
}

void
tunit_frame_queue_submit (TunitFrameQueue *queue, const float *input, int width, int height,
                          float *output, gpointer user_data)
{
  g_return_if_fail (queue != NULL && input != NULL && output != NULL);
  Job *job = g_new0 (Job, 1);
  job->kind = JOB_FRAME;
  job->input = input;
  job->output = output;
  job->width = width;
  job->height = height;
  job->user_data = user_data;
  enqueue (queue, job);
}

void
tunit_frame_queue_call (TunitFrameQueue *queue, TunitEngineFunc func, gpointer user_data,
                        GDestroyNotify destroy)
{
  g_return_if_fail (queue != NULL && func != NULL);
  Job *job = g_new0 (Job, 1);
  job->kind = JOB_CALL;
  job->func = func;
  job->func_data = user_data;
  job->destroy = destroy;
  enqueue (queue, job);
}

guint
tunit_frame_queue_get_in_flight (TunitFrameQueue *queue)
{
  g_mutex_lock (&queue->lock);
  guint count = queue->frames.length;
  g_mutex_unlock (&queue->lock);
  return count;
}

gboolean
tunit_frame_queue_translate (TunitFrameQueue *queue, const float *input, int width,
                             int height, float *output, gint64 *compute_us, GError **error)
{
  g_return_val_if_fail (queue != NULL && input != NULL && output != NULL, FALSE);
  Job job = { .kind = JOB_FRAME, .input = input, .output = output, .width = width,
              .height = height };

  /* after everything queued before: the engine is ours once it is idle */
  g_mutex_lock (&queue->lock);
  while (queue->running || !g_queue_is_empty (&queue->pending))
    g_cond_wait (&queue->changed, &queue->lock);
  queue->running = TRUE;
  g_mutex_unlock (&queue->lock);

  run_job (queue->engine, &job);

  g_mutex_lock (&queue->lock);
  queue->running = FALSE;
  g_cond_broadcast (&queue->changed);
  g_mutex_unlock (&queue->lock);
  if (compute_us != NULL)
    *compute_us = job.compute_us;
  if (!job.ok)
    g_propagate_error (error, job.error);
  return job.ok;
}

gboolean
tunit_frame_queue_wait (TunitFrameQueue *queue, gpointer *user_data, gint64 *compute_us,
                        GError **error)
{
  g_mutex_lock (&queue->lock);
  Job *job = g_queue_peek_head (&queue->frames);
  if (job == NULL) {
    g_mutex_unlock (&queue->lock);
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT, "no frame in flight to wait for");
    return FALSE;
  }
  while (!job->done)
    g_cond_wait (&queue->changed, &queue->lock);
  g_queue_pop_head (&queue->frames);
  g_mutex_unlock (&queue->lock);

  if (user_data != NULL)
    *user_data = job->user_data;
  if (compute_us != NULL)
    *compute_us = job->compute_us;
  gboolean ok = job->ok;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&job->error));
  job_free (job);
  return ok;
}
