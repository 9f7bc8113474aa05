/* test-frame-queue.c - frames in flight on the engine's own thread: results
 * in submission order and equal to the engine's, calls ordered between
 * frames, translation on the caller's thread after the queued work, a
 * failed frame reported without stopping the others. */
#include "tiny-model.h"
#include "tunit.h"

#include <math.h>
#include <string.h>

static TunitModel *model;

static TunitEngine *
engine_with_domain (int domain)
{
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  GError *error = NULL;
  options.backend = TUNIT_BACKEND_CPU;
  TunitEngine *engine = tunit_engine_new (model, &options, &error);
  g_assert_no_error (error);
  const float *centroid = tunit_model_get_centroid (model, domain, &error);
  g_assert_no_error (error);
  g_assert_true (tunit_engine_set_style (engine, centroid, &error));
  return engine;
}

static float *
frame (int width, int height, int seed)
{
  float *f = g_new (float, (gsize) 3 * width * height);
  for (gsize i = 0; i < (gsize) 3 * width * height; i++)
    f[i] = (float) sin (0.37 * i + seed) * 0.9f;
  return f;
}

static float
max_difference (const float *a, const float *b, gsize n)
{
  float m = 0.0f;
  for (gsize i = 0; i < n; i++)
    m = MAX (m, fabsf (a[i] - b[i]));
  return m;
}

/* Five frames of different sizes submitted at once come back in order,
 * each the engine's own translation of it. */
static void
test_order_and_results (void)
{
  static const int sizes[5][2] = { { 32, 32 }, { 48, 32 }, { 17, 40 }, { 32, 32 }, { 64, 16 } };
  g_autoptr (TunitEngine) direct = engine_with_domain (0);
  TunitFrameQueue *queue = tunit_frame_queue_new (engine_with_domain (0));
  float *inputs[5], *outputs[5];
  GError *error = NULL;

  for (int i = 0; i < 5; i++) {
    inputs[i] = frame (sizes[i][0], sizes[i][1], i);
    outputs[i] = g_new (float, (gsize) 3 * sizes[i][0] * sizes[i][1]);
    tunit_frame_queue_submit (queue, inputs[i], sizes[i][0], sizes[i][1], outputs[i],
                              GINT_TO_POINTER (i + 1));
  }
  g_assert_cmpuint (tunit_frame_queue_get_in_flight (queue), ==, 5);
  for (int i = 0; i < 5; i++) {
    gpointer tag = NULL;
    gint64 compute_us = -1;
    gsize n = (gsize) 3 * sizes[i][0] * sizes[i][1];
    g_autofree float *expected = g_new (float, n);
    g_assert_true (tunit_frame_queue_wait (queue, &tag, &compute_us, &error));
    g_assert_no_error (error);
    g_assert_cmpint (GPOINTER_TO_INT (tag), ==, i + 1);
    g_assert_cmpint (compute_us, >=, 0);
    g_assert_true (tunit_engine_translate (direct, inputs[i], sizes[i][0], sizes[i][1],
                                           expected, &error));
    g_assert_cmpfloat (max_difference (outputs[i], expected, n), <=, 1e-6f);
    g_free (inputs[i]);
    g_free (outputs[i]);
  }
  g_assert_cmpuint (tunit_frame_queue_get_in_flight (queue), ==, 0);
  g_assert_false (tunit_frame_queue_wait (queue, NULL, NULL, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_clear_error (&error);
  tunit_frame_queue_free (queue);
}

static void
set_domain_1 (TunitEngine *engine, gpointer data)
{
  GError *error = NULL;
  const float *centroid = tunit_model_get_centroid (model, 1, &error);
  g_assert_true (tunit_engine_set_style (engine, centroid, &error));
  g_atomic_int_inc ((gint *) data);
}

static void
count_destroy (gpointer data)
{
  g_atomic_int_add ((gint *) data, 10);
}

/* A call queued between two frames changes the style of the second only. */
static void
test_call_between_frames (void)
{
  g_autoptr (TunitEngine) domain0 = engine_with_domain (0);
  g_autoptr (TunitEngine) domain1 = engine_with_domain (1);
  TunitFrameQueue *queue = tunit_frame_queue_new (engine_with_domain (0));
  g_autofree float *input = frame (32, 32, 7);
  g_autofree float *first = g_new (float, 3 * 32 * 32);
  g_autofree float *second = g_new (float, 3 * 32 * 32);
  g_autofree float *expected0 = g_new (float, 3 * 32 * 32);
  g_autofree float *expected1 = g_new (float, 3 * 32 * 32);
  GError *error = NULL;
  gint calls = 0;

  tunit_frame_queue_submit (queue, input, 32, 32, first, NULL);
  tunit_frame_queue_call (queue, set_domain_1, &calls, count_destroy);
  tunit_frame_queue_submit (queue, input, 32, 32, second, NULL);
  g_assert_true (tunit_frame_queue_wait (queue, NULL, NULL, &error));
  g_assert_true (tunit_frame_queue_wait (queue, NULL, NULL, &error));
  g_assert_cmpint (g_atomic_int_get (&calls), ==, 11);   /* run once, destroyed once */
  g_assert_true (tunit_engine_translate (domain0, input, 32, 32, expected0, &error));
  g_assert_true (tunit_engine_translate (domain1, input, 32, 32, expected1, &error));
  g_assert_cmpfloat (max_difference (expected0, expected1, 3 * 32 * 32), >, 1e-3f);
  g_assert_cmpfloat (max_difference (first, expected0, 3 * 32 * 32), <=, 1e-6f);
  g_assert_cmpfloat (max_difference (second, expected1, 3 * 32 * 32), <=, 1e-6f);
  tunit_frame_queue_free (queue);
}

/* run() waits for func, which runs on the queue's own thread (where the
 * frames run, so the engine has one calling thread), after the work queued
 * before it: the frame submitted earlier is done by then. */
typedef struct {
  TunitFrameQueue *queue;
  GThread *thread;
  gint calls;
} RunRecord;

static void
record_run (TunitEngine *engine, gpointer data)
{
  RunRecord *record = data;

  record->thread = g_thread_self ();
  g_assert_true (engine == tunit_frame_queue_get_engine (record->queue));
  set_domain_1 (engine, &record->calls);
}

static void
test_run_waits_on_queue_thread (void)
{
  g_autoptr (TunitEngine) domain0 = engine_with_domain (0);
  g_autoptr (TunitEngine) domain1 = engine_with_domain (1);
  TunitFrameQueue *queue = tunit_frame_queue_new (engine_with_domain (0));
  g_autofree float *input = frame (48, 32, 9);
  g_autofree float *first = g_new (float, 3 * 48 * 32);
  g_autofree float *second = g_new (float, 3 * 48 * 32);
  g_autofree float *expected0 = g_new (float, 3 * 48 * 32);
  g_autofree float *expected1 = g_new (float, 3 * 48 * 32);
  GError *error = NULL;
  RunRecord record = { queue, NULL, 0 };

  tunit_frame_queue_submit (queue, input, 48, 32, first, NULL);
  tunit_frame_queue_run (queue, record_run, &record);
  g_assert_cmpint (record.calls, ==, 1);
  g_assert_nonnull (record.thread);
  g_assert_true (record.thread != g_thread_self ());
  tunit_frame_queue_submit (queue, input, 48, 32, second, NULL);
  g_assert_true (tunit_frame_queue_wait (queue, NULL, NULL, &error));
  g_assert_true (tunit_frame_queue_wait (queue, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tunit_engine_translate (domain0, input, 48, 32, expected0, &error));
  g_assert_true (tunit_engine_translate (domain1, input, 48, 32, expected1, &error));
  g_assert_cmpfloat (max_difference (first, expected0, 3 * 48 * 32), <=, 1e-6f);
  g_assert_cmpfloat (max_difference (second, expected1, 3 * 48 * 32), <=, 1e-6f);
  tunit_frame_queue_free (queue);
}

/* A frame the engine refuses gives its error at its turn; the frames
 * around it are fine.  Freeing the queue with frames in flight finishes
 * them first. */
static void
test_failure_and_free_in_flight (void)
{
  TunitFrameQueue *queue = tunit_frame_queue_new (engine_with_domain (0));
  g_autofree float *input = frame (32, 32, 3);
  g_autofree float *out1 = g_new (float, 3 * 32 * 32);
  g_autofree float *out2 = g_new (float, 3 * 32 * 32);
  g_autofree float *out3 = g_new (float, 3 * 32 * 32);
  GError *error = NULL;

  tunit_frame_queue_submit (queue, input, 32, 32, out1, NULL);
  tunit_frame_queue_submit (queue, input, 8, 8, out2, NULL);   /* under 16x16 */
  tunit_frame_queue_submit (queue, input, 32, 32, out3, NULL);
  g_assert_true (tunit_frame_queue_wait (queue, NULL, NULL, &error));
  g_assert_false (tunit_frame_queue_wait (queue, NULL, NULL, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (tunit_frame_queue_wait (queue, NULL, NULL, &error));
  /* two left in flight, never waited for */
  tunit_frame_queue_submit (queue, input, 32, 32, out1, NULL);
  tunit_frame_queue_submit (queue, input, 32, 32, out2, NULL);
  tunit_frame_queue_free (queue);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  model = tiny_model_load ();
  g_test_add_func ("/frame-queue/order-and-results", test_order_and_results);
  g_test_add_func ("/frame-queue/call-between-frames", test_call_between_frames);
  g_test_add_func ("/frame-queue/run-waits-on-queue-thread", test_run_waits_on_queue_thread);
  g_test_add_func ("/frame-queue/failure-and-free-in-flight", test_failure_and_free_in_flight);
  int status = g_test_run ();
  tunit_model_unref (model);
  return status;
}
