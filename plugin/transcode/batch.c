/* batch.c - runs a batch of files (see batch.h). */
#include "batch.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "inputs.h"
#include "job.h"
#include "plan.h"
#include "progress.h"

/* Reading a file's header: generous, a network filesystem can be slow. */
#define DISCOVER_TIMEOUT (60 * GST_SECOND)

/* Live lines on a terminal are redrawn this often. */
#define TERMINAL_TICK_MS 500

typedef enum {
  ENTRY_PENDING,
  ENTRY_RUNNING,
  ENTRY_DONE,
  ENTRY_SKIPPED,
  ENTRY_FAILED,
  ENTRY_INTERRUPTED,
} EntryState;

typedef struct _Batch Batch;

typedef struct {
  Batch *batch;
  const TranscodeInput *input;
  guint number;                 /* from 1, for the log */
  TranscodePlan *plan;
  gchar *output;
  EntryState state;
  gchar *message;               /* why it failed, or a warning */
  TranscodeJob *job;
  guint64 frames;
  gdouble seconds;
} Entry;

struct _Batch {
  const TranscodeBatchSettings *settings;
  GPtrArray *entries;
  guint next;                   /* the next entry to look at for a start */
  guint running;
  GMainLoop *loop;
  TranscodeProgress *progress;
  gint64 start_time;            /* when the first file started, or 0 */
  guint64 frames_total;         /* expected frames of the files to run */
  guint64 frames_finished;      /* frames of the files that ended */
  gint signal_number;           /* the signal that stopped the batch, or 0 */
};

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  transcode_job_free (entry->job);
  transcode_plan_free (entry->plan);
  g_free (entry->output);
  g_free (entry->message);
  g_free (entry);
}

static void
fail_entry (Entry *entry, const gchar *message)
{
  entry->state = ENTRY_FAILED;
  g_free (entry->message);
  entry->message = g_strdup (message);
}

/* ---------------------------------------------------------- the plans */

/* OUTPUT_FOLDER/SUBFOLDER/NAME.EXT for input NAME.ANYTHING. */
static gchar *
output_path (const TranscodeBatchSettings *settings, const TranscodeInput *input,
    const TranscodePlan *plan)
{
  gchar *base = g_path_get_basename (input->path);
  gchar *dot = strrchr (base, '.');
  gchar *name, *path;

  if (dot != NULL && dot != base)
    *dot = '\0';
  name = g_strconcat (base, ".", transcode_container_extension (plan->container), NULL);
  path = g_build_filename (settings->output_folder, input->subfolder, name, NULL);
  g_free (name);
  g_free (base);
  return path;
}

static gboolean
same_file (const gchar *a, const gchar *b)
{
  GStatBuf info_a, info_b;

  return g_stat (a, &info_a) == 0 && g_stat (b, &info_b) == 0
      && info_a.st_dev == info_b.st_dev && info_a.st_ino == info_b.st_ino;
}

/* Decides what becomes of @entry: runs, is skipped, or fails before any
 * work.  @outputs maps each chosen output path to its input. */
static void
plan_entry (Batch *batch, Entry *entry, GstDiscoverer *discoverer,
    GHashTable *outputs)
{
  const TranscodeBatchSettings *settings = batch->settings;
  const gchar *other;
  GError *error = NULL;

  if (entry->input->error != NULL) {
    fail_entry (entry, entry->input->error);
    return;
  }
  entry->plan = transcode_plan_make (discoverer, entry->input->path,
      settings->format, &error);
  if (entry->plan == NULL) {
    fail_entry (entry, error->message);
    g_error_free (error);
    return;
  }
  entry->output = output_path (settings, entry->input, entry->plan);
  other = g_hash_table_lookup (outputs, entry->output);
  if (other != NULL) {
    gchar *message = g_strdup_printf ("its output %s is also %s's; put one "
        "of them in another folder", entry->output, other);
    fail_entry (entry, message);
    g_free (message);
  } else if (same_file (entry->output, entry->input->path)) {
    fail_entry (entry, "its output would replace it: choose another output folder (-o)");
  } else {
    g_hash_table_insert (outputs, entry->output, entry->input->path);
    if (!settings->force && g_file_test (entry->output, G_FILE_TEST_EXISTS)) {
      entry->state = ENTRY_SKIPPED;
    } else {
      entry->state = ENTRY_PENDING;
      batch->frames_total += entry->plan->frames;
    }
  }
}

static void
print_plan (Batch *batch, Entry *entry)
{
  guint count = batch->entries->len;
  const gchar *input = entry->input->path;

  if (entry->state == ENTRY_FAILED)
    transcode_progress_print (batch->progress, "[%u/%u] %s: FAILED: %s",
        entry->number, count, input, entry->message);
  else if (entry->state == ENTRY_SKIPPED)
    transcode_progress_print (batch->progress,
        "[%u/%u] %s -> %s: skipped, already done (--force redoes it)",
        entry->number, count, input, entry->output);
  else
    transcode_progress_print (batch->progress, "[%u/%u] %s -> %s: %s",
        entry->number, count, input, entry->output, entry->plan->description);
}

static gboolean
plan_entries (Batch *batch, GPtrArray *inputs)
{
  GError *error = NULL;
  GstDiscoverer *discoverer = gst_discoverer_new (DISCOVER_TIMEOUT, &error);
  GHashTable *outputs;

  if (discoverer == NULL) {
    g_printerr ("tunit-transcode: cannot read video files: %s\n", error->message);
    g_error_free (error);
    return FALSE;
  }
  outputs = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < inputs->len; i++) {
    Entry *entry = g_new0 (Entry, 1);

    entry->batch = batch;
    entry->input = inputs->pdata[i];
    entry->number = i + 1;
    g_ptr_array_add (batch->entries, entry);
  }
  for (guint i = 0; i < inputs->len; i++) {
    plan_entry (batch, batch->entries->pdata[i], discoverer, outputs);
    print_plan (batch, batch->entries->pdata[i]);
  }
  g_hash_table_unref (outputs);
  g_object_unref (discoverer);
  return TRUE;
}

/* ------------------------------------------------------------ progress */

static gchar *
file_progress (Entry *entry)
{
  gchar *base = g_path_get_basename (entry->input->path);
  gchar *counts = transcode_progress_describe (transcode_job_get_frames (entry->job),
      entry->plan->frames, transcode_job_get_elapsed (entry->job));
  gchar *line = g_strdup_printf ("[%u/%u] %s: %s", entry->number,
      entry->batch->entries->len, base, counts);

  g_free (counts);
  g_free (base);
  return line;
}

static gchar *
batch_progress (Batch *batch)
{
  guint64 frames = batch->frames_finished;
  guint ended = 0;
  gdouble seconds = batch->start_time == 0 ? 0.0 :
      (g_get_monotonic_time () - batch->start_time) / 1e6;
  gchar *counts, *line;

  for (guint i = 0; i < batch->entries->len; i++) {
    Entry *entry = batch->entries->pdata[i];

    if (entry->state == ENTRY_RUNNING)
      frames += transcode_job_get_frames (entry->job);
    else if (entry->state != ENTRY_PENDING)
      ended++;
  }
  counts = transcode_progress_describe (frames, batch->frames_total, seconds);
  line = g_strdup_printf ("batch: %u of %u files finished, %s", ended,
      batch->entries->len, counts);
  g_free (counts);
  return line;
}

/* The running files' lines, then the batch's. */
static GPtrArray *
progress_lines (Batch *batch)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < batch->entries->len; i++) {
    Entry *entry = batch->entries->pdata[i];

    if (entry->state == ENTRY_RUNNING)
      g_ptr_array_add (lines, file_progress (entry));
  }
  g_ptr_array_add (lines, batch_progress (batch));
  g_ptr_array_add (lines, NULL);
  return lines;
}

static gboolean
on_tick (gpointer user_data)
{
  Batch *batch = user_data;
  GPtrArray *lines = progress_lines (batch);

  if (transcode_progress_is_terminal (batch->progress)) {
    transcode_progress_show (batch->progress, (gchar **) lines->pdata);
  } else {
    gchar *joined = g_strjoinv (" | ", (gchar **) lines->pdata);

    transcode_progress_print (batch->progress, "progress: %s", joined);
    g_free (joined);
  }
  g_ptr_array_unref (lines);
  return G_SOURCE_CONTINUE;
}

/* ---------------------------------------------------------- the run */

static void start_jobs (Batch *batch);

static gboolean
after_job (gpointer user_data)
{
  Entry *entry = user_data;

  g_clear_pointer (&entry->job, transcode_job_free);
  start_jobs (entry->batch);
  return G_SOURCE_REMOVE;
}

static void
report_job (Batch *batch, Entry *entry)
{
  guint count = batch->entries->len;
  gdouble fps = entry->seconds > 0 ? entry->frames / entry->seconds : 0.0;

  if (entry->state == ENTRY_FAILED) {
    transcode_progress_print (batch->progress, "[%u/%u] %s: FAILED: %s",
        entry->number, count, entry->input->path, entry->message);
    return;
  }
  transcode_progress_print (batch->progress,
      "[%u/%u] done: %s (%" G_GUINT64_FORMAT " frames in %.1f s, %.1f fps)%s%s",
      entry->number, count, entry->output, entry->frames, entry->seconds, fps,
      entry->message != NULL ? "; warning: " : "",
      entry->message != NULL ? entry->message : "");
}

static void
on_job_finished (TranscodeJob *job, gpointer user_data)
{
  Entry *entry = user_data;
  Batch *batch = entry->batch;
  const GError *error = transcode_job_get_error (job);
  const gchar *detail = transcode_job_get_error_detail (job);
  const gchar *warning = transcode_job_get_warning (job);

  entry->frames = transcode_job_get_frames (job);
  entry->seconds = transcode_job_get_elapsed (job);
  batch->frames_finished += entry->frames;
  batch->running--;
  if (error != NULL) {
    entry->state = ENTRY_FAILED;
    entry->message = batch->settings->verbose && detail != NULL ?
        g_strdup_printf ("%s\n    %s", error->message, detail) :
        g_strdup (error->message);
  } else {
    entry->state = ENTRY_DONE;
    entry->message = g_strdup (warning);
  }
  report_job (batch, entry);
  /* The job's pipeline is still dispatching this call: free it later. */
  g_idle_add (after_job, entry);
}

static void
start_entry (Batch *batch, Entry *entry)
{
  GError *error = NULL;

  entry->job = transcode_job_new (entry->input->path, entry->output, entry->plan,
      &batch->settings->filter);
  if (batch->start_time == 0)
    batch->start_time = g_get_monotonic_time ();
  if (!transcode_job_start (entry->job, on_job_finished, entry, &error)) {
    fail_entry (entry, error->message);
    g_error_free (error);
    g_clear_pointer (&entry->job, transcode_job_free);
    report_job (batch, entry);
    return;
  }
  entry->state = ENTRY_RUNNING;
  batch->running++;
}

static void
start_jobs (Batch *batch)
{
  while (batch->signal_number == 0 && batch->running < batch->settings->jobs
      && batch->next < batch->entries->len) {
    Entry *entry = batch->entries->pdata[batch->next++];

    if (entry->state == ENTRY_PENDING)
      start_entry (batch, entry);
  }
  if (batch->running == 0)
    g_main_loop_quit (batch->loop);
}

/* SIGINT/SIGTERM: stop every running file, remove its partial output. */
static void
interrupt (Batch *batch, gint signal_number)
{
  batch->signal_number = signal_number;
  for (guint i = 0; i < batch->entries->len; i++) {
    Entry *entry = batch->entries->pdata[i];

    if (entry->state != ENTRY_RUNNING)
      continue;
    entry->frames = transcode_job_get_frames (entry->job);
    transcode_job_cancel (entry->job);
    entry->state = ENTRY_INTERRUPTED;
    transcode_progress_print (batch->progress,
        "[%u/%u] interrupted: %s (its partial output was removed)",
        entry->number, batch->entries->len, entry->input->path);
  }
  batch->running = 0;
  g_main_loop_quit (batch->loop);
}

static gboolean
on_sigint (gpointer user_data)
{
  interrupt (user_data, SIGINT);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm (gpointer user_data)
{
  interrupt (user_data, SIGTERM);
  return G_SOURCE_CONTINUE;
}

static void
run_entries (Batch *batch)
{
  guint interval_ms = transcode_progress_is_terminal (batch->progress) ?
      TERMINAL_TICK_MS : MAX (batch->settings->progress_interval, 1) * 1000;
  guint sources[3];

  sources[0] = g_unix_signal_add (SIGINT, on_sigint, batch);
  sources[1] = g_unix_signal_add (SIGTERM, on_sigterm, batch);
  sources[2] = g_timeout_add (interval_ms, on_tick, batch);
  start_jobs (batch);
  if (batch->running > 0)
    g_main_loop_run (batch->loop);
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    g_source_remove (sources[i]);
}

/* ------------------------------------------------------------ summary */

static guint
count_state (Batch *batch, EntryState state)
{
  guint count = 0;

  for (guint i = 0; i < batch->entries->len; i++)
    count += ((Entry *) batch->entries->pdata[i])->state == state;
  return count;
}

static void
print_summary (Batch *batch)
{
  gdouble seconds = batch->start_time == 0 ? 0.0 :
      (g_get_monotonic_time () - batch->start_time) / 1e6;
  guint unfinished = count_state (batch, ENTRY_INTERRUPTED)
      + count_state (batch, ENTRY_PENDING);
  gchar *interrupted = unfinished == 0 ? g_strdup ("") :
      g_strdup_printf (", %u not finished (interrupted)", unfinished);

  transcode_progress_print (batch->progress,
      "summary: %u files: %u translated, %u skipped (already done), %u failed%s; "
      "%" G_GUINT64_FORMAT " frames in %.1f s (%.1f fps)",
      batch->entries->len, count_state (batch, ENTRY_DONE),
      count_state (batch, ENTRY_SKIPPED), count_state (batch, ENTRY_FAILED),
      interrupted, batch->frames_finished, seconds,
      seconds > 0 ? batch->frames_finished / seconds : 0.0);
  g_free (interrupted);
  for (guint i = 0; i < batch->entries->len; i++) {
    Entry *entry = batch->entries->pdata[i];

    if (entry->state == ENTRY_FAILED)
      transcode_progress_print (batch->progress, "  failed: %s: %s",
          entry->input->path, entry->message);
    else if (entry->state == ENTRY_DONE && entry->message != NULL)
      transcode_progress_print (batch->progress, "  warning: %s: %s",
          entry->input->path, entry->message);
    else if (entry->state == ENTRY_INTERRUPTED || entry->state == ENTRY_PENDING)
      transcode_progress_print (batch->progress, "  not finished: %s",
          entry->input->path);
  }
}

int
transcode_batch_run (const TranscodeBatchSettings *settings, GPtrArray *inputs)
{
  Batch batch = { 0 };
  int status;

  batch.settings = settings;
  batch.entries = g_ptr_array_new_with_free_func (entry_free);
  batch.loop = g_main_loop_new (NULL, FALSE);
  batch.progress = transcode_progress_new (stdout, isatty (STDOUT_FILENO));
  if (!plan_entries (&batch, inputs)) {
    status = TRANSCODE_EXIT_USAGE;
  } else {
    run_entries (&batch);
    print_summary (&batch);
    if (batch.signal_number != 0)
      status = 128 + batch.signal_number;
    else
      status = count_state (&batch, ENTRY_FAILED) > 0 ?
          TRANSCODE_EXIT_SOME_FAILED : TRANSCODE_EXIT_OK;
  }
  transcode_progress_free (batch.progress);
  g_main_loop_unref (batch.loop);
  g_ptr_array_unref (batch.entries);
  return status;
}
