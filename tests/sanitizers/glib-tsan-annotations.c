/* glib-tsan-annotations.c - tells ThreadSanitizer about GLib's locks.
 *
 * GLib is not built with ThreadSanitizer, and its mutexes are futexes, not
 * pthread mutexes: TSan sees neither the lock nor the unlock, so every
 * field our code guards with GST_OBJECT_LOCK or a GMutex would look racy.
 * Preloaded into a TSan process (tests/sanitizers/run), this wraps the
 * lock calls other libraries make into GLib: it calls GLib's own function,
 * which does the locking, and annotates the happens-before edge (acquire
 * after a lock, release before an unlock).  Reference counts get a release
 * and an acquire on the object before each unref, as an instrumented
 * atomic decrement would give, so the thread that runs a finalizer is
 * ordered after the others' last uses.  Nothing here changes what the
 * program does.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib.h>

/* From the TSan runtime of the process.  Weak, and this file is built
 * without instrumentation, so that it does nothing (but call GLib) in the
 * programs without a TSan runtime that run under the same LD_PRELOAD
 * (the shell, grep, ...). */
void __tsan_acquire (void *address) __attribute__ ((weak));
void __tsan_release (void *address) __attribute__ ((weak));

static void
acquire (void *address)
{
  if (__tsan_acquire != NULL)
    __tsan_acquire (address);
}

static void
release (void *address)
{
  if (__tsan_release != NULL)
    __tsan_release (address);
}

#define REAL(name) \
  static __typeof__ (name) *real; \
  if (real == NULL) \
    real = (__typeof__ (name) *) dlsym (RTLD_NEXT, #name)

void
g_mutex_lock (GMutex *mutex)
{
  REAL (g_mutex_lock);
  real (mutex);
  acquire (mutex);
}

gboolean
g_mutex_trylock (GMutex *mutex)
{
  REAL (g_mutex_trylock);
  gboolean locked = real (mutex);
  if (locked)
    acquire (mutex);
  return locked;
}

void
g_mutex_unlock (GMutex *mutex)
{
  REAL (g_mutex_unlock);
  release (mutex);
  real (mutex);
}

void
g_rec_mutex_lock (GRecMutex *mutex)
{
  REAL (g_rec_mutex_lock);
  real (mutex);
  acquire (mutex);
}

gboolean
g_rec_mutex_trylock (GRecMutex *mutex)
{
  REAL (g_rec_mutex_trylock);
  gboolean locked = real (mutex);
  if (locked)
    acquire (mutex);
  return locked;
}

void
g_rec_mutex_unlock (GRecMutex *mutex)
{
  REAL (g_rec_mutex_unlock);
  release (mutex);
  real (mutex);
}

void
g_rw_lock_writer_lock (GRWLock *lock)
{
  REAL (g_rw_lock_writer_lock);
  real (lock);
  acquire (lock);
}

gboolean
g_rw_lock_writer_trylock (GRWLock *lock)
{
  REAL (g_rw_lock_writer_trylock);
  gboolean locked = real (lock);
  if (locked)
    acquire (lock);
  return locked;
}

void
g_rw_lock_writer_unlock (GRWLock *lock)
{
  REAL (g_rw_lock_writer_unlock);
  release (lock);
  real (lock);
}

void
g_rw_lock_reader_lock (GRWLock *lock)
{
  REAL (g_rw_lock_reader_lock);
  real (lock);
  acquire (lock);
}

gboolean
g_rw_lock_reader_trylock (GRWLock *lock)
{
  REAL (g_rw_lock_reader_trylock);
  gboolean locked = real (lock);
  if (locked)
    acquire (lock);
  return locked;
}

void
g_rw_lock_reader_unlock (GRWLock *lock)
{
  REAL (g_rw_lock_reader_unlock);
  release (lock);
  real (lock);
}

/* the wait gives the mutex up and takes it again */
void
g_cond_wait (GCond *cond, GMutex *mutex)
{
  REAL (g_cond_wait);
  release (mutex);
  real (cond, mutex);
  acquire (mutex);
}

gboolean
g_cond_wait_until (GCond *cond, GMutex *mutex, gint64 end_time)
{
  REAL (g_cond_wait_until);
  release (mutex);
  gboolean signalled = real (cond, mutex, end_time);
  acquire (mutex);
  return signalled;
}

void
(g_bit_lock) (volatile gint *address, gint lock_bit)
{
  REAL (g_bit_lock);
  real (address, lock_bit);
  acquire ((void *) address);
}

void
(g_bit_unlock) (volatile gint *address, gint lock_bit)
{
  REAL (g_bit_unlock);
  release ((void *) address);
  real (address, lock_bit);
}

void
(g_pointer_bit_lock) (volatile void *address, gint lock_bit)
{
  REAL (g_pointer_bit_lock);
  real (address, lock_bit);
  acquire ((void *) address);
}

void
(g_pointer_bit_unlock) (volatile void *address, gint lock_bit)
{
  REAL (g_pointer_bit_unlock);
  release ((void *) address);
  real (address, lock_bit);
}

gboolean
(g_once_init_enter) (volatile void *location)
{
  REAL (g_once_init_enter);
  gboolean first = real (location);
  if (!first)
    acquire ((void *) location);
  return first;
}

void
(g_once_init_leave) (volatile void *location, gsize result)
{
  REAL (g_once_init_leave);
  release ((void *) location);
  real (location, result);
}

/* A GThreadPool hands its tasks over through GLib's own queue, inside
 * GLib, where this file cannot see: the push is annotated as a release on
 * the task and the pool's function, wrapped, starts with an acquire.
 * (GStreamer runs every streaming thread as a task of such a pool.) */
typedef struct {
  GFunc func;
  gpointer user_data;
} PoolFunction;

static void
run_pool_task (gpointer data, gpointer user_data)
{
  PoolFunction *function = user_data;
  acquire (data);
  function->func (data, function->user_data);
}

GThreadPool *
g_thread_pool_new (GFunc func, gpointer user_data, gint max_threads, gboolean exclusive,
                   GError **error)
{
  REAL (g_thread_pool_new);
  /* lives as long as the pool; pools live as long as the program here */
  PoolFunction *function = g_new (PoolFunction, 1);
  function->func = func;
  function->user_data = user_data;
  return real (run_pool_task, function, max_threads, exclusive, error);
}

gboolean
g_thread_pool_push (GThreadPool *pool, gpointer data, GError **error)
{
  REAL (g_thread_pool_push);
  release (data);
  return real (pool, data, error);
}

void
g_object_unref (gpointer object)
{
  REAL (g_object_unref);
  if (object != NULL) {
    release (object);
    acquire (object);
  }
  real (object);
}

/* GstMiniObject (buffers, caps, events, messages): declared here so that
 * this file needs only GLib; resolved in processes that load GStreamer */
typedef struct _GstMiniObject GstMiniObject;
void gst_mini_object_unref (GstMiniObject *object);

void
gst_mini_object_unref (GstMiniObject *object)
{
  REAL (gst_mini_object_unref);
  if (object != NULL) {
    release (object);
    acquire (object);
  }
  if (real != NULL)
    real (object);
}
