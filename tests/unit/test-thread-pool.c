/* test-thread-pool.c - the CPU backend's thread pool (cpu-thread-pool.h):
 * every index of a loop exactly once under both schedules, for many sizes
 * and thread counts (1, and more threads than items); the static shares
 * as documented; runs on the workers asked for; nested and concurrent
 * runs on the caller alone, without deadlock; many runs in a row, with
 * the helpers awake and asleep; two pools at once; no thread for a pool
 * of one; the start hook on every helper; and nothing spinning while the
 * pool is idle. */
#include "cpu/cpu-thread-pool.h"

#include <stdatomic.h>
#include <time.h>

#define MAX_WORKERS 16

static const int thread_counts[] = { 1, 2, 3, 4, 7, MAX_WORKERS };
static const int sizes[] = { 0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 100, 1000, 1023 };

typedef struct {
  atomic_int *visits;         /* [n] */
  int *worker;                /* [n]: who ran it */
} Visits;

static void
record_visit (void *data, int i, int index)
{
  Visits *v = data;
  atomic_fetch_add (&v->visits[i], 1);
  v->worker[i] = index;
}

static void
check_loop (CpuThreadPool *pool, int threads, int n, CpuSchedule schedule)
{
  Visits v = { g_new0 (atomic_int, MAX (n, 1)), g_new0 (int, MAX (n, 1)) };
  cpu_thread_pool_for (pool, threads, n, schedule, record_visit, &v);
  int count = MIN (MIN (threads, cpu_thread_pool_threads (pool)), n);
  for (int i = 0; i < n; i++) {
    if (atomic_load (&v.visits[i]) != 1 || v.worker[i] < 0 || v.worker[i] >= count)
      g_error ("threads %d n %d schedule %d: index %d visited %d times, by worker %d", threads,
               n, schedule, i, atomic_load (&v.visits[i]), v.worker[i]);
  }
  if (schedule == CPU_SCHEDULE_STATIC)
    for (int w = 0; w < count; w++) {
      int begin, end;
      cpu_static_range (n, w, count, &begin, &end);
      g_assert_cmpint (end - begin, >=, n / count);
      for (int i = begin; i < end; i++)
        g_assert_cmpint (v.worker[i], ==, w);
    }
  g_free (v.visits);
  g_free (v.worker);
}

static void
test_every_index_once (void)
{
  for (guint t = 0; t < G_N_ELEMENTS (thread_counts); t++) {
    GError *error = NULL;
    CpuThreadPool *pool = cpu_thread_pool_new (thread_counts[t], NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (cpu_thread_pool_threads (pool), ==, thread_counts[t]);
    for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
      for (int asked = 1; asked <= thread_counts[t] + 1; asked++) {
        check_loop (pool, asked, sizes[s], CPU_SCHEDULE_STATIC);
        check_loop (pool, asked, sizes[s], CPU_SCHEDULE_DYNAMIC);
      }
    cpu_thread_pool_free (pool);
  }
  /* no pool: the caller alone */
  check_loop (NULL, 4, 10, CPU_SCHEDULE_STATIC);
  check_loop (NULL, 4, 10, CPU_SCHEDULE_DYNAMIC);
}

typedef struct {
  atomic_int calls[MAX_WORKERS];
  atomic_int bad_count;
  int expected_count;
  GThread *threads[MAX_WORKERS];
} RunRecord;

static void
record_run (void *data, int index, int count)
{
  RunRecord *r = data;
  if (count != r->expected_count || index < 0 || index >= count)
    atomic_fetch_add (&r->bad_count, 1);
  else {
    atomic_fetch_add (&r->calls[index], 1);
    r->threads[index] = g_thread_self ();
  }
}

static void
test_run_workers (void)
{
  GError *error = NULL;
  CpuThreadPool *pool = cpu_thread_pool_new (4, NULL, NULL, &error);
  g_assert_no_error (error);
  for (int asked = -1; asked <= 6; asked++) {
    RunRecord r = { .expected_count = CLAMP (asked, 1, 4) };
    cpu_thread_pool_run (pool, asked, record_run, &r);
    g_assert_cmpint (atomic_load (&r.bad_count), ==, 0);
    for (int i = 0; i < MAX_WORKERS; i++)
      g_assert_cmpint (atomic_load (&r.calls[i]), ==, i < r.expected_count ? 1 : 0);
    /* the caller is worker 0; the others are distinct threads */
    g_assert_true (r.threads[0] == g_thread_self ());
    for (int i = 1; i < r.expected_count; i++)
      for (int j = 0; j < i; j++)
        g_assert_true (r.threads[i] != r.threads[j]);
  }
  cpu_thread_pool_free (pool);
}

typedef struct {
  CpuThreadPool *pool;
  atomic_int outer, inner, inner_bad;
} Nested;

static void
inner_task (void *data, int index, int count)
{
  Nested *n = data;
  if (index != 0 || count != 1)
    atomic_fetch_add (&n->inner_bad, 1);
  atomic_fetch_add (&n->inner, 1);
}

static void
outer_task (void *data, int index, int count)
{
  Nested *n = data;
  atomic_fetch_add (&n->outer, 1);
  cpu_thread_pool_run (n->pool, 4, inner_task, n);
}

/* Documented: a run from inside a task runs on that worker alone. */
static void
test_nested_runs_on_caller (void)
{
  GError *error = NULL;
  Nested n = { .pool = cpu_thread_pool_new (3, NULL, NULL, &error) };
  g_assert_no_error (error);
  for (int i = 0; i < 50; i++)
    cpu_thread_pool_run (n.pool, 3, outer_task, &n);
  g_assert_cmpint (atomic_load (&n.outer), ==, 150);
  g_assert_cmpint (atomic_load (&n.inner), ==, 150);
  g_assert_cmpint (atomic_load (&n.inner_bad), ==, 0);
  cpu_thread_pool_free (n.pool);
}

typedef struct {
  atomic_long sum;
} Sum;

static void
add_index (void *data, int i, int index)
{
  Sum *s = data;
  atomic_fetch_add (&s->sum, i + 1);
}

/* Runs `runs` loops of n items, sleeping `gap_us` between some of them so
 * that the helpers have gone to sleep; checks every sum. */
static void
repeated_runs (CpuThreadPool *pool, int runs, int gap_us)
{
  for (int r = 0; r < runs; r++) {
    int n = 1 + r % 37;
    Sum s = { 0 };
    cpu_thread_pool_for (pool, MAX_WORKERS, n, r % 2 ? CPU_SCHEDULE_DYNAMIC : CPU_SCHEDULE_STATIC,
                         add_index, &s);
    g_assert_cmpint (atomic_load (&s.sum), ==, (long) n * (n + 1) / 2);
    if (gap_us > 0 && r % 7 == 0)
      g_usleep (gap_us);
  }
}

static void
test_repeated_runs (void)
{
  GError *error = NULL;
  CpuThreadPool *pool = cpu_thread_pool_new (4, NULL, NULL, &error);
  g_assert_no_error (error);
  repeated_runs (pool, 5000, 0);
  repeated_runs (pool, 300, 300);
  cpu_thread_pool_free (pool);
}

static gpointer
use_pool (gpointer data)
{
  repeated_runs (data, 2000, 0);
  repeated_runs (data, 100, 200);
  return NULL;
}

static void
test_two_pools_at_once (void)
{
  GError *error = NULL;
  CpuThreadPool *a = cpu_thread_pool_new (3, NULL, NULL, &error);
  g_assert_no_error (error);
  CpuThreadPool *b = cpu_thread_pool_new (2, NULL, NULL, &error);
  g_assert_no_error (error);
  GThread *ta = g_thread_new ("pool-a", use_pool, a);
  GThread *tb = g_thread_new ("pool-b", use_pool, b);
  g_thread_join (ta);
  g_thread_join (tb);
  cpu_thread_pool_free (a);
  cpu_thread_pool_free (b);
}

/* Two threads running on one pool: one of them gets it, the other runs
 * alone; neither waits for the other, and every sum is right. */
static void
test_one_pool_two_callers (void)
{
  GError *error = NULL;
  CpuThreadPool *pool = cpu_thread_pool_new (3, NULL, NULL, &error);
  g_assert_no_error (error);
  GThread *ta = g_thread_new ("caller-a", use_pool, pool);
  GThread *tb = g_thread_new ("caller-b", use_pool, pool);
  g_thread_join (ta);
  g_thread_join (tb);
  cpu_thread_pool_free (pool);
}

static int
thread_count (void)
{
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  g_assert_nonnull (dir);
  int n = 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

static void
count_start (void *data)
{
  atomic_fetch_add ((atomic_int *) data, 1);
}

static void
nothing (void *data, int index, int count)
{
}

/* threads - 1 helpers (none for a pool of one), each started with the
 * hook, all gone when the pool is freed, idle or not. */
static void
test_helpers_and_start_hook (void)
{
  int before = thread_count ();
  atomic_int started = 0;
  GError *error = NULL;
  CpuThreadPool *pool = cpu_thread_pool_new (1, count_start, &started, &error);
  g_assert_no_error (error);
  g_assert_cmpint (thread_count (), ==, before);
  cpu_thread_pool_run (pool, 8, nothing, NULL);
  cpu_thread_pool_free (pool);
  g_assert_cmpint (atomic_load (&started), ==, 0);

  pool = cpu_thread_pool_new (5, count_start, &started, &error);
  g_assert_no_error (error);
  g_assert_cmpint (thread_count (), ==, before + 4);
  cpu_thread_pool_run (pool, 5, nothing, NULL);
  g_assert_cmpint (atomic_load (&started), ==, 4);
  g_usleep (20000);           /* helpers asleep */
  cpu_thread_pool_free (pool);
  g_assert_cmpint (thread_count (), ==, before);

  /* freed at once, before the helpers may even have started */
  for (int i = 0; i < 20; i++)
    cpu_thread_pool_free (cpu_thread_pool_new (4, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (thread_count (), ==, before);
}

static double
process_cpu_seconds (void)
{
  struct timespec t;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Between runs the helpers spin for tens of microseconds and then sleep:
 * over 40 idle gaps of 10 ms, 3 helpers spending the whole gap spinning
 * would take 1.2 s of CPU; OpenMP's default of some 8 ms a gap about 1 s.
 * The bound allows 500 us a gap and helper (a spin of 50 us, a sleep and
 * a wake-up, with room for a slow sanitizer build). */
static void
test_idle_does_not_spin (void)
{
  GError *error = NULL;
  CpuThreadPool *pool = cpu_thread_pool_new (4, NULL, NULL, &error);
  g_assert_no_error (error);
  cpu_thread_pool_run (pool, 4, nothing, NULL);
  g_usleep (10000);
  double start = process_cpu_seconds ();
  int gaps = 40;
  for (int i = 0; i < gaps; i++) {
    cpu_thread_pool_run (pool, 4, nothing, NULL);
    g_usleep (10000);
  }
  double used = process_cpu_seconds () - start;
  g_test_message ("CPU over %d idle gaps of 10 ms with 3 helpers: %.1f ms", gaps, used * 1e3);
  g_assert_cmpfloat (used, <, gaps * 3 * 500e-6);
  cpu_thread_pool_free (pool);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/thread-pool/every-index-once", test_every_index_once);
  g_test_add_func ("/thread-pool/run-workers", test_run_workers);
  g_test_add_func ("/thread-pool/nested-runs-on-caller", test_nested_runs_on_caller);
  g_test_add_func ("/thread-pool/repeated-runs", test_repeated_runs);
  g_test_add_func ("/thread-pool/two-pools-at-once", test_two_pools_at_once);
  g_test_add_func ("/thread-pool/one-pool-two-callers", test_one_pool_two_callers);
  g_test_add_func ("/thread-pool/helpers-and-start-hook", test_helpers_and_start_hook);
  g_test_add_func ("/thread-pool/idle-does-not-spin", test_idle_does_not_spin);
  return g_test_run ();
}
