/* cpu-thread-pool.c - the worker threads of one CPU backend
 * (cpu-thread-pool.h).
 *
 * A run is published by bumping `generation`; each helper waits for a new
 * generation, does its part and counts itself off in `remaining`; the
 * caller does part 0 and waits for `remaining` to reach zero.  Both waits
 * spin for at most SPIN_BUDGET_US and then sleep on a condition variable.
 * The sleeping side announces itself under the mutex before checking
 * again, and the waking side takes the same mutex to broadcast, so no
 * wake-up is lost. */
#include "cpu-thread-pool.h"

#include <stdatomic.h>

/* How long a waiting thread spins before it sleeps.  The kernels of one
 * frame follow each other within a few microseconds (measured on the
 * default model at 256x256 and 640x480: every gap between two runs within
 * a frame under 10 us, nearly all under 2 us), so the helpers are still
 * spinning when the next one starts; an idle engine has them asleep after
 * this long. */
#define SPIN_BUDGET_US 50

/* How many spins between two looks at the clock. */
#define SPINS_PER_CLOCK_CHECK 64

struct _CpuThreadPool {
  int threads;
  GThread **helpers;          /* [threads - 1]: workers 1 .. threads-1 */
  CpuThreadStart start;
  void *start_data;
  atomic_flag busy;           /* a run is in flight */
  /* the run in flight, written before generation is bumped */
  CpuThreadTask task;
  void *data;
  int count;
  atomic_uint generation;
  atomic_int remaining;       /* helpers not finished with this generation */
  atomic_bool stopping;
  GMutex lock;
  GCond work_ready;           /* generation changed */
  GCond work_done;            /* remaining reached zero */
  int sleeping_helpers;       /* under lock */
  gboolean caller_sleeping;   /* under lock */
};

typedef struct {
  CpuThreadPool *pool;
  int index;
} Helper;

static inline void
spin_pause (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__ ("yield");
#endif
}

/* One more spin of a wait that began with *deadline = 0: FALSE once the
 * spin budget is spent. */
static gboolean
keep_spinning (unsigned spins, gint64 *deadline)
{
  if (spins % SPINS_PER_CLOCK_CHECK == 0) {
    gint64 now = g_get_monotonic_time ();
    if (*deadline == 0)
      *deadline = now + SPIN_BUDGET_US;
    else if (now >= *deadline)
      return FALSE;
  }
  spin_pause ();
  return TRUE;
}

/* Spins until generation differs from seen or the budget is spent. */
static gboolean
spin_for_generation (CpuThreadPool *pool, unsigned seen)
{
  gint64 deadline = 0;
  for (unsigned spins = 0;; spins++) {
    if (atomic_load_explicit (&pool->generation, memory_order_acquire) != seen)
      return TRUE;
    if (!keep_spinning (spins, &deadline))
      return FALSE;
  }
}

static void
wait_for_generation (CpuThreadPool *pool, unsigned seen)
{
  if (spin_for_generation (pool, seen))
    return;
  g_mutex_lock (&pool->lock);
  pool->sleeping_helpers++;
  while (atomic_load (&pool->generation) == seen)
    g_cond_wait (&pool->work_ready, &pool->lock);
  pool->sleeping_helpers--;
  g_mutex_unlock (&pool->lock);
}

static gpointer
helper_main (gpointer user_data)
{
  Helper *helper = user_data;
  CpuThreadPool *pool = helper->pool;
  int index = helper->index;
  g_free (helper);
  if (pool->start != NULL)
    pool->start (pool->start_data);
  unsigned seen = 0;
  for (;;) {
    wait_for_generation (pool, seen);
    seen = atomic_load_explicit (&pool->generation, memory_order_acquire);
    if (atomic_load (&pool->stopping))
      return NULL;
    if (index < pool->count)
      pool->task (pool->data, index, pool->count);
    if (atomic_fetch_sub_explicit (&pool->remaining, 1, memory_order_acq_rel) == 1) {
      g_mutex_lock (&pool->lock);
      if (pool->caller_sleeping)
        g_cond_signal (&pool->work_done);
      g_mutex_unlock (&pool->lock);
    }
  }
}

/* Publishes a new generation and wakes the helpers that sleep. */
static void
publish (CpuThreadPool *pool)
{
  atomic_store_explicit (&pool->remaining, pool->threads - 1, memory_order_relaxed);
  g_mutex_lock (&pool->lock);
  atomic_fetch_add_explicit (&pool->generation, 1, memory_order_release);
  if (pool->sleeping_helpers > 0)
    g_cond_broadcast (&pool->work_ready);
  g_mutex_unlock (&pool->lock);
}

static gboolean
spin_for_helpers (CpuThreadPool *pool)
{
  gint64 deadline = 0;
  for (unsigned spins = 0;; spins++) {
    if (atomic_load_explicit (&pool->remaining, memory_order_acquire) == 0)
      return TRUE;
    if (!keep_spinning (spins, &deadline))
      return FALSE;
  }
}

static void
wait_for_helpers (CpuThreadPool *pool)
{
  if (spin_for_helpers (pool))
    return;
  g_mutex_lock (&pool->lock);
  pool->caller_sleeping = TRUE;
  while (atomic_load (&pool->remaining) != 0)
    g_cond_wait (&pool->work_done, &pool->lock);
  pool->caller_sleeping = FALSE;
  g_mutex_unlock (&pool->lock);
}

CpuThreadPool *
cpu_thread_pool_new (int threads, CpuThreadStart start, void *start_data, GError **error)
{
  CpuThreadPool *pool = g_new0 (CpuThreadPool, 1);
  pool->threads = 1;
  pool->start = start;
  pool->start_data = start_data;
  atomic_flag_clear (&pool->busy);
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->work_ready);
  g_cond_init (&pool->work_done);
  threads = MAX (threads, 1);
  pool->helpers = g_new0 (GThread *, threads);
  for (int i = 1; i < threads; i++) {
    Helper *helper = g_new (Helper, 1);
    helper->pool = pool;
    helper->index = i;
    pool->helpers[i - 1] = g_thread_try_new ("tunit-cpu", helper_main, helper, error);
    if (pool->helpers[i - 1] == NULL) {
      g_free (helper);
      g_prefix_error (error, "CPU backend: cannot start worker thread %d of %d: ", i, threads);
      cpu_thread_pool_free (pool);
      return NULL;
    }
    pool->threads = i + 1;
  }
  return pool;
}

void
cpu_thread_pool_free (CpuThreadPool *pool)
{
  if (pool == NULL)
    return;
  atomic_store (&pool->stopping, TRUE);
  publish (pool);
  for (int i = 0; i < pool->threads - 1; i++)
    g_thread_join (pool->helpers[i]);
  g_free (pool->helpers);
  g_mutex_clear (&pool->lock);
  g_cond_clear (&pool->work_ready);
  g_cond_clear (&pool->work_done);
  g_free (pool);
}

int
cpu_thread_pool_threads (const CpuThreadPool *pool)
{
  return pool != NULL ? pool->threads : 1;
}

void
cpu_thread_pool_run (CpuThreadPool *pool, int threads, CpuThreadTask task, void *data)
{
  int count = MIN (MAX (threads, 1), cpu_thread_pool_threads (pool));
  /* one worker, or the pool busy (a nested or concurrent run): the
   * caller alone */
  if (count == 1 || atomic_flag_test_and_set_explicit (&pool->busy, memory_order_acquire)) {
    task (data, 0, 1);
    return;
  }
  pool->task = task;
  pool->data = data;
  pool->count = count;
  publish (pool);
  task (data, 0, count);
  wait_for_helpers (pool);
  atomic_flag_clear_explicit (&pool->busy, memory_order_release);
}

typedef struct {
  int n;
  CpuSchedule schedule;
  CpuLoopBody body;
  void *data;
  atomic_int next;            /* the dynamic schedule's next iteration */
} Loop;

static void
loop_task (void *data, int index, int count)
{
  Loop *loop = data;
  if (loop->schedule == CPU_SCHEDULE_STATIC) {
    int begin, end;
    cpu_static_range (loop->n, index, count, &begin, &end);
    for (int i = begin; i < end; i++)
      loop->body (loop->data, i, index);
    return;
  }
  for (;;) {
    int i = atomic_fetch_add_explicit (&loop->next, 1, memory_order_relaxed);
    if (i >= loop->n)
      return;
    loop->body (loop->data, i, index);
  }
}

void
cpu_thread_pool_for (CpuThreadPool *pool, int threads, int n, CpuSchedule schedule,
                     CpuLoopBody body, void *data)
{
  if (n <= 0)
    return;
  Loop loop = { .n = n, .schedule = schedule, .body = body, .data = data };
  atomic_init (&loop.next, 0);
  cpu_thread_pool_run (pool, MIN (threads, n), loop_task, &loop);
}
