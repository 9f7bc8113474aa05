/* cpu-thread-pool.h - the worker threads of one CPU backend.
 *
 * A pool of `threads` workers: the thread that calls a run is worker 0
 * and takes part, so a pool of 1 starts no thread at all.  Between runs
 * the helper threads spin for a few tens of microseconds (the gaps
 * between the kernels of one frame) and then sleep, so nothing spins
 * while the engine is idle: unlike OpenMP's runtime, whose workers spin
 * for milliseconds after every parallel region and take the cores that a
 * live pipeline converts its frames on.
 *
 * One run at a time: a run asked for while the pool is busy (from inside
 * a task, or from another thread) runs on the calling thread alone, as
 * worker 0 of 1, so it never waits and never deadlocks.  Tasks that index
 * per-thread scratch by worker index must therefore not share that
 * scratch with another run that can be in flight at the same time. */
#ifndef TUNIT_CPU_THREAD_POOL_H
#define TUNIT_CPU_THREAD_POOL_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CpuThreadPool CpuThreadPool;

/* One worker's part of a run: index in 0 .. count-1. */
typedef void (*CpuThreadTask) (void *data, int index, int count);

/* One iteration of a parallel loop, on worker `index`. */
typedef void (*CpuLoopBody) (void *data, int iteration, int index);

/* Called once on each helper thread as it starts, before any task: the
 * place to set up per-thread state of libraries that the tasks call. */
typedef void (*CpuThreadStart) (void *data);

typedef enum {
  CPU_SCHEDULE_STATIC,    /* contiguous, equal shares, decided up front */
  CPU_SCHEDULE_DYNAMIC,   /* one iteration at a time, to whoever is free */
} CpuSchedule;

CpuThreadPool *cpu_thread_pool_new (int threads, CpuThreadStart start, void *start_data,
                                    GError **error);
/* Stops and joins the helpers; the pool must not be running. */
void cpu_thread_pool_free (CpuThreadPool *pool);
int cpu_thread_pool_threads (const CpuThreadPool *pool);

/* Runs task on MIN (threads, pool size) workers and returns when all have
 * finished.  A NULL pool runs it on the caller, as worker 0 of 1. */
void cpu_thread_pool_run (CpuThreadPool *pool, int threads, CpuThreadTask task, void *data);

/* body (data, i, worker) for every i in 0 .. n-1, exactly once, on at
 * most `threads` workers; n <= 0 runs nothing. */
void cpu_thread_pool_for (CpuThreadPool *pool, int threads, int n, CpuSchedule schedule,
                          CpuLoopBody body, void *data);

/* Worker index's share begin .. end-1 of n items split over count workers
 * (contiguous; the first n % count workers get one more). */
static inline void
cpu_static_range (int n, int index, int count, int *begin, int *end)
{
  int share = n / count, extra = n % count;
  *begin = index * share + MIN (index, extra);
  *end = *begin + share + (index < extra ? 1 : 0);
}

G_END_DECLS

#endif /* TUNIT_CPU_THREAD_POOL_H */
