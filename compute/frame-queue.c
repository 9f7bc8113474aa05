/* frame-queue.c - an engine on a thread of its own, and frames in flight.
 *
 * The caller submits frames and waits for them in the same order; between
 * the two it is free to convert the next frame, so that its CPU work
 * overlaps the engine's.  Any other use of the engine (a style change:
 * the guide and the style MLP) is queued as a call, so it lands exactly
 * between two frames, and on the same thread as the frames.
 *
 * Every heavy call of the engine runs on this one thread, whoever asks for
 * it and however many frames are in flight: the engine is single-threaded,
 * and the CPU backend's thread pool takes one run at a time (a run asked
 * for while it is busy goes on the asking thread alone), so a second
 * calling thread (the streaming thread, a preparation thread) would at
 * best run its part serially.  Built on the public engine calls only. */
#include "tunit.h"

typedef enum {
  JOB_FRAME,
  JOB_CALL,
} JobKind;

typedef struct {
  JobKind kind;
  gboolean done;
  /* JOB_FRAME */
  const float *input;
  float *output;
  int width, height;
  gpointer user_data;
  gboolean ok;
  GError *error;
  gint64 compute_us;
  /* JOB_CALL */
  TunitEngineFunc func;
  gpointer func_data;
  GDestroyNotify destroy;
  gboolean waited_for;         /* the caller waits for it and frees it */
} Job;

struct _TunitFrameQueue {
  TunitEngine *engine;         /* only the worker runs it */
  GThread *worker;
  GMutex lock;
  GCond changed;               /* a job was queued or finished, or stopping */
  GQueue pending;              /* jobs not started yet, oldest first */
  GQueue frames;               /* frame jobs not waited for, oldest first */
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
    Job *job = g_queue_pop_head (&queue->pending);
    if (job == NULL) {
      if (queue->stopping)
        break;
      g_cond_wait (&queue->changed, &queue->lock);
      continue;
    }
    g_mutex_unlock (&queue->lock);
    run_job (queue->engine, job);
    g_mutex_lock (&queue->lock);
    if (job->kind == JOB_CALL && !job->waited_for) {
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
  queue->worker = g_thread_new ("tunit-engine", worker_main, queue);
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

TunitEngine *
tunit_frame_queue_get_engine (TunitFrameQueue *queue)
{
  g_return_val_if_fail (queue != NULL, NULL);
  return queue->engine;
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

/* Called with the lock held. */
static void
wait_done (TunitFrameQueue *queue, Job *job)
{
  while (!job->done)
    g_cond_wait (&queue->changed, &queue->lock);
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

static Job *
call_job (TunitEngineFunc func, gpointer user_data, GDestroyNotify destroy)
{
  Job *job = g_new0 (Job, 1);
  job->kind = JOB_CALL;
  job->func = func;
  job->func_data = user_data;
  job->destroy = destroy;
  return job;
}

void
tunit_frame_queue_call (TunitFrameQueue *queue, TunitEngineFunc func, gpointer user_data,
                        GDestroyNotify destroy)
{
  g_return_if_fail (queue != NULL && func != NULL);
  enqueue (queue, call_job (func, user_data, destroy));
}

void
tunit_frame_queue_run (TunitFrameQueue *queue, TunitEngineFunc func, gpointer user_data)
{
  g_return_if_fail (queue != NULL && func != NULL);
  Job *job = call_job (func, user_data, NULL);
  job->waited_for = TRUE;
  enqueue (queue, job);
  g_mutex_lock (&queue->lock);
  wait_done (queue, job);
  g_mutex_unlock (&queue->lock);
  job_free (job);
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
  wait_done (queue, job);
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
