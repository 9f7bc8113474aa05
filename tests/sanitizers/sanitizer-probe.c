/* sanitizer-probe.c - a program with one known defect per mode, so that the
 * sanitizer trees show they catch what they are there for (a tree whose
 * sanitizer is not on, or whose suppressions hide too much, fails the
 * check), and one mode without a defect that must stay quiet.
 *
 *   guarded   two threads update a counter under a GMutex: no report (the
 *             GLib annotations must make the futex mutex visible to TSan)
 *   race      the same plus one unguarded update: a data race
 *   leak      a g_malloc'd block is lost: a leak
 *   overflow  a write one past a g_malloc'd block: a heap overflow
 *   undefined a signed integer overflow
 */
#include <glib.h>
#include <string.h>

static GMutex lock;
static int guarded, unguarded;
static gboolean racy;

static gpointer
count (gpointer data)
{
  for (int i = 0; i < 1000; i++) {
    g_mutex_lock (&lock);
    guarded++;
    g_mutex_unlock (&lock);
  }
  if (racy)
    unguarded++;
  return NULL;
}

static void *volatile kept;

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "guarded";
  if (strcmp (mode, "guarded") == 0 || strcmp (mode, "race") == 0) {
    racy = strcmp (mode, "race") == 0;
    GThread *thread = g_thread_new ("probe", count, NULL);
    count (NULL);
    g_thread_join (thread);
    g_print ("%d %d\n", guarded, unguarded);
  } else if (strcmp (mode, "leak") == 0) {
    kept = g_malloc (100);
    kept = NULL;
  } else if (strcmp (mode, "overflow") == 0) {
    char *block = g_malloc (16);
    kept = block;
    block[16] = 1;
    g_free (block);
  } else if (strcmp (mode, "undefined") == 0) {
    volatile int big = G_MAXINT;
    kept = GINT_TO_POINTER (big + argc);
  }
  return 0;
}
