/* live-change-stress.c - changes tunitfilter's properties at random while a
 * live pipeline plays, and checks that the stream survives them.
 *
 *   videotestsrc is-live=true ! tunitfilter ! fakesink (sync=false)
 *
 * Changes of style, domain, strength, processing-size, max-frames-in-flight
 * and model, valid and invalid (missing or broken files, domains out of
 * range, both style sources unset), at random moments.  It asserts: no
 * crash, no error message, no deadlock (a watchdog aborts when no frame
 * arrives for --watchdog-s seconds, or when shutting down takes that long),
 * and no gap between two output frames over --max-gap-ms plus twice the
 * usual time of a frame (so that the bound holds under a sanitizer too); it prints the
 * largest gap.  --style-only changes nothing but `style` between valid
 * references (what an element without live-change handling also takes),
 * which is how the gap around a style change is compared across versions,
 * and also checks that the changes show in the output (a tenth of them at
 * least: quicker changes than their preparation coalesce).  After the run,
 * one more style change must show within --watchdog-s.
 *
 * Usage: live-change-stress --model MODEL [--changes N] [--seed S]
 *   [--interval-ms MS] [--max-gap-ms MS] [--watchdog-s S] [--format FMT]
 *   [--width W --height H] [--backend cpu|vulkan|auto] [--style-only]
 * MODEL needs pseudo-domain centroids (the default model has them).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gst/gst.h>

#include "tunit.h"

typedef struct {
  gint changes;
  gint interval_ms;
  gint max_gap_ms;
  gint watchdog_s;
  gint width, height;
  gint reference_width, reference_height;
  guint32 seed;
  gchar *model;
  gchar *format;
  gchar *backend;
  gboolean style_only;
} Options;

/* What the streaming thread saw, under `lock`. */
typedef struct {
  GMutex lock;
  gint64 last_frame_us;       /* monotonic time of the last frame, 0 = none */
  gint64 largest_gap_us;
  gint64 gap_sum_us;
  guint64 frames;
  guint64 transitions;        /* frames whose content differs from the one before */
  guint64 last_hash;
  GHashTable *arrivals;       /* PTS -> monotonic time it entered tunitfilter */
  /* time frames spent in tunitfilter: [0] frames whose content is the one
   * before, [1] frames that show a change (the frame that carries it) */
  gint64 largest_frame_us[2];
  gint64 frame_sum_us[2];
  guint64 timed_frames[2];
  gint64 shutdown_started_us; /* 0 = still running */
  gboolean finished;
} Observations;

static Observations seen;
static gint watchdog_s;

static guint64
hash_bytes (const guint8 *data, gsize size)
{
  guint64 hash = 1469598103934665603ull;   /* FNV-1a */
  gsize i;
  for (i = 0; i < size; i++)
    hash = (hash ^ data[i]) * 1099511628211ull;
  return hash;
}

/* A frame enters tunitfilter. */
static GstPadProbeReturn
on_filter_input (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  gint64 now = g_get_monotonic_time ();

  if (GST_BUFFER_PTS_IS_VALID (buffer)) {
    g_mutex_lock (&seen.lock);
    g_hash_table_insert (seen.arrivals,
        g_memdup2 (&GST_BUFFER_PTS (buffer), sizeof (GstClockTime)),
        g_memdup2 (&now, sizeof (gint64)));
    g_mutex_unlock (&seen.lock);
  }
  return GST_PAD_PROBE_OK;
}

static void
on_handoff (GstElement *sink, GstBuffer *buffer, GstPad *pad, gpointer data)
{
  gint64 now = g_get_monotonic_time ();
  GstClockTime pts = GST_BUFFER_PTS (buffer);
  GstMapInfo map;
  guint64 hash = 0;
  gint64 *arrival;

  if (gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    hash = hash_bytes (map.data, map.size);
    gst_buffer_unmap (buffer, &map);
  }
  g_mutex_lock (&seen.lock);
  if (seen.last_frame_us != 0) {
    gint64 gap = now - seen.last_frame_us;
    seen.largest_gap_us = MAX (seen.largest_gap_us, gap);
    seen.gap_sum_us += gap;
    if (hash != seen.last_hash)
      seen.transitions++;
  }
  arrival = g_hash_table_lookup (seen.arrivals, &pts);
  if (arrival != NULL && seen.frames > 0) {
    int kind = hash != seen.last_hash;
    seen.largest_frame_us[kind] = MAX (seen.largest_frame_us[kind], now - *arrival);
    seen.frame_sum_us[kind] += now - *arrival;
    seen.timed_frames[kind]++;
  }
  if (arrival != NULL)
    g_hash_table_remove (seen.arrivals, &pts);
  seen.last_hash = hash;
  seen.last_frame_us = now;
  seen.frames++;
  g_mutex_unlock (&seen.lock);
}

/* Aborts the process (the test fails, and a core or sanitizer report
 * shows where every thread was) when frames stop or shutdown hangs. */
static gpointer
watchdog_main (gpointer data)
{
  for (;;) {
    gint64 now, last, shutdown;
    gboolean finished;

    g_usleep (100 * 1000);
    g_mutex_lock (&seen.lock);
    now = g_get_monotonic_time ();
    last = seen.last_frame_us;
    shutdown = seen.shutdown_started_us;
    finished = seen.finished;
    g_mutex_unlock (&seen.lock);
    if (finished)
      return NULL;
    if (shutdown != 0 && now - shutdown > watchdog_s * G_USEC_PER_SEC) {
      g_printerr ("FAIL: shutting the pipeline down takes over %d s: "
          "deadlock?\n", watchdog_s);
      abort ();
    }
    if (shutdown == 0 && last != 0
        && now - last > (gint64) watchdog_s * G_USEC_PER_SEC) {
      g_printerr ("FAIL: no frame for %d s: deadlock?\n", watchdog_s);
      abort ();
    }
  }
}

/* ------------------------------------------------------------ test files */

typedef struct {
  gchar *dir;
  gchar *references[3];
  gchar *garbage;
  gchar *broken_model;
  gchar *other_model;
  gint num_domains;
} Files;

static gboolean
write_reference (const gchar *path, const gchar *pattern, gint width, gint height)
{
  gchar *description = g_strdup_printf ("videotestsrc num-buffers=1 "
      "pattern=%s ! video/x-raw,width=%d,height=%d ! videoconvert ! pngenc ! "
      "filesink location=\"%s\"", pattern, width, height, path);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (description, &error);
  GstMessage *msg;
  gboolean ok;

  g_free (description);
  if (pipeline == NULL) {
    g_printerr ("cannot make %s: %s\n", path, error->message);
    g_error_free (error);
    return FALSE;
  }
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline), 30 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  ok = msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
  if (msg)
    gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return ok;
}

/* The model with other centroids: a second valid model to swap to. */
static gboolean
write_other_model (const gchar *model_path, const gchar *path, gint *num_domains)
{
  GError *error = NULL;
  TunitModel *model = tunit_model_load (model_path, &error);
  const TunitArchitecture *arch;
  float *centroids;
  gboolean ok;
  gint i;

  if (model == NULL) {
    g_printerr ("cannot load %s: %s\n", model_path, error->message);
    g_error_free (error);
    return FALSE;
  }
  arch = tunit_model_get_architecture (model);
  *num_domains = arch->num_domains;
  if (!arch->has_centroids) {
    g_printerr ("%s has no pseudo-domain centroids; give a model that has "
        "them (`tunit centroids`)\n", model_path);
    tunit_model_unref (model);
    return FALSE;
  }
  centroids = g_new (float, arch->num_domains * arch->style_dim);
  for (i = 0; i < arch->num_domains * arch->style_dim; i++)
    centroids[i] = (float) sin (0.7 * i + 0.4);
  ok = tunit_model_save_with_centroids (model, centroids, path, &error);
  if (!ok) {
    g_printerr ("cannot write %s: %s\n", path, error->message);
    g_error_free (error);
  }
  g_free (centroids);
  tunit_model_unref (model);
  return ok;
}

static gboolean
make_files (const Options *options, Files *files)
{
  static const gchar *patterns[3] = { "smpte", "spokes", "gradient" };
  gint i;

  files->dir = g_dir_make_tmp ("live-change-stress-XXXXXX", NULL);
  if (files->dir == NULL)
    return FALSE;
  for (i = 0; i < 3; i++) {
    gchar *name = g_strdup_printf ("reference-%d.png", i);
    files->references[i] = g_build_filename (files->dir, name, NULL);
    g_free (name);
    if (!write_reference (files->references[i], patterns[i],
            options->reference_width + 16 * i, options->reference_height))
      return FALSE;
  }
  files->garbage = g_build_filename (files->dir, "garbage.png", NULL);
  files->broken_model = g_build_filename (files->dir, "broken.safetensors", NULL);
  files->other_model = g_build_filename (files->dir, "other.safetensors", NULL);
  if (!g_file_set_contents (files->garbage, "not a picture\n", -1, NULL)
      || !g_file_set_contents (files->broken_model, "\x10\0\0\0\0\0\0\0{\"a\":", 14,
          NULL))
    return FALSE;
  return write_other_model (options->model, files->other_model,
      &files->num_domains);
}

static void
remove_files (Files *files)
{
  GDir *dir = g_dir_open (files->dir, 0, NULL);
  const gchar *name;
  gint i;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    gchar *path = g_build_filename (files->dir, name, NULL);
    g_unlink (path);
    g_free (path);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (files->dir);
  for (i = 0; i < 3; i++)
    g_free (files->references[i]);
  g_free (files->garbage);
  g_free (files->broken_model);
  g_free (files->other_model);
  g_free (files->dir);
}

/* --------------------------------------------------------------- changes */

/* The reference set last, so that a final change can pick another. */
static gint last_reference = 0;

static void
set_reference (GstElement *filter, const Files *files, gint index)
{
  last_reference = index;
  g_object_set (filter, "style", files->references[index], NULL);
}

/* Makes one random change; returns TRUE when it is an invalid value. */
static gboolean
random_change (GstElement *filter, const Options *options, const Files *files,
    GRand *rand, gint index)
{
  gint k = files->num_domains;
  gint choice = g_rand_int_range (rand, 0, 100);

  if (options->style_only) {
    /* the next reference each time, so that each change can show */
    set_reference (filter, files, (index + 1) % 3);
    return FALSE;
  }
  if (choice < 30) {
    set_reference (filter, files, g_rand_int_range (rand, 0, 3));
    return FALSE;
  }
  if (choice < 50) {
    g_object_set (filter, "domain", g_rand_int_range (rand, 0, k), NULL);
    return FALSE;
  }
  if (choice < 60) {
    gdouble strength = g_rand_double (rand);
    if (g_rand_int_range (rand, 0, 4) == 0)
      strength = g_rand_boolean (rand) ? 0.0 : 1.0;
    g_object_set (filter, "strength", strength, NULL);
    return FALSE;
  }
  if (choice < 70) {
    static const guint sizes[] = { 0, 16, 24, 40, 64, 100000 };
    g_object_set (filter, "processing-size",
        sizes[g_rand_int_range (rand, 0, G_N_ELEMENTS (sizes))], NULL);
    return FALSE;
  }
  if (choice < 74) {
    g_object_set (filter, "max-frames-in-flight", g_rand_int_range (rand, 0, 4),
        NULL);
    return FALSE;
  }
  if (choice < 78) {
    g_object_set (filter, "model", g_rand_boolean (rand) ?
        files->other_model : options->model, NULL);
    return FALSE;
  }
  /* invalid values */
  switch (g_rand_int_range (rand, 0, 8)) {
    case 0:
      g_object_set (filter, "style", "/nonexistent/reference.png", NULL);
      break;
    case 1:
      g_object_set (filter, "style", files->garbage, NULL);
      break;
    case 2:
      g_object_set (filter, "style", files->dir, NULL);
      break;
    case 3:
      g_object_set (filter, "domain", k + g_rand_int_range (rand, 0, 100), NULL);
      break;
    case 4:
      /* both sources unset: the stream keeps the last style */
      g_object_set (filter, "style", NULL, "domain", -1, NULL);
      break;
    case 5:
      g_object_set (filter, "model", files->broken_model, NULL);
      break;
    case 6:
      g_object_set (filter, "model", "/nonexistent/model.safetensors", NULL);
      break;
    default:
      g_object_set (filter, "style", "/dev/null", NULL);
      break;
  }
  return TRUE;
}

/* Counts warnings; fails on an error.  (One filter for both: popping with a
 * filter drops the other messages.) */
static gboolean
check_bus (GstBus *bus, guint *warnings)
{
  GstMessage *msg;

  while ((msg = gst_bus_pop_filtered (bus,
              GST_MESSAGE_WARNING | GST_MESSAGE_ERROR)) != NULL) {
    GError *err = NULL;
    gchar *debug = NULL;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      gst_message_parse_error (msg, &err, &debug);
      g_printerr ("FAIL: error from %s: %s (%s)\n", GST_MESSAGE_SRC_NAME (msg),
          err->message, GST_STR_NULL (debug));
      g_error_free (err);
      g_free (debug);
      gst_message_unref (msg);
      return FALSE;
    }
    (*warnings)++;
    gst_message_unref (msg);
  }
  return TRUE;
}

static gboolean play_for (GstBus *bus, gint ms, guint *warnings);

static guint64
last_hash (void)
{
  guint64 hash;
  g_mutex_lock (&seen.lock);
  hash = seen.last_hash;
  g_mutex_unlock (&seen.lock);
  return hash;
}

/* After the storm, a style change still lands: full strength, another
 * reference, and the output must change within `seconds`.  Returns the
 * milliseconds it took, or -1. */
static gdouble
final_change_lands (GstElement *filter, const Files *files, GstBus *bus,
    guint *warnings, gint seconds)
{
  gint64 start, deadline;
  guint64 before;

  g_object_set (filter, "strength", 1.0, "processing-size", 0, NULL);
  if (!play_for (bus, 1000, warnings))
    return -1;
  before = last_hash ();
  start = g_get_monotonic_time ();
  deadline = start + (gint64) seconds * G_USEC_PER_SEC;
  set_reference (filter, files, (last_reference + 1) % 3);
  while (g_get_monotonic_time () < deadline) {
    if (!play_for (bus, 10, warnings))
      return -1;
    if (last_hash () != before)
      return (g_get_monotonic_time () - start) / 1000.0;
  }
  return -1;
}

/* ------------------------------------------------------------------ main */

static gboolean
parse_options (int *argc, char ***argv, Options *options)
{
  GOptionEntry entries[] = {
    {"model", 0, 0, G_OPTION_ARG_FILENAME, &options->model,
        "Model with pseudo-domain centroids", "PATH"},
    {"changes", 0, 0, G_OPTION_ARG_INT, &options->changes,
        "Number of property changes (default 1000)", "N"},
    {"interval-ms", 0, 0, G_OPTION_ARG_INT, &options->interval_ms,
        "Mean time between two changes (default 15)", "MS"},
    {"max-gap-ms", 0, 0, G_OPTION_ARG_INT, &options->max_gap_ms,
        "Largest gap between two frames allowed beyond twice the usual frame time (default 1000)", "MS"},
    {"watchdog-s", 0, 0, G_OPTION_ARG_INT, &options->watchdog_s,
        "Abort when no frame comes for this long (default 20)", "S"},
    {"width", 0, 0, G_OPTION_ARG_INT, &options->width, "Frame width", "W"},
    {"height", 0, 0, G_OPTION_ARG_INT, &options->height, "Frame height", "H"},
    {"reference-width", 0, 0, G_OPTION_ARG_INT, &options->reference_width,
        "Width of the reference images (default 320)", "W"},
    {"reference-height", 0, 0, G_OPTION_ARG_INT, &options->reference_height,
        "Height of the reference images (default 240)", "H"},
    {"format", 0, 0, G_OPTION_ARG_STRING, &options->format,
        "Video format (default NV12)", "FMT"},
    {"backend", 0, 0, G_OPTION_ARG_STRING, &options->backend,
        "tunitfilter backend (default cpu)", "NAME"},
    {"seed", 0, 0, G_OPTION_ARG_INT, &options->seed, "Random seed", "S"},
    {"style-only", 0, 0, G_OPTION_ARG_NONE, &options->style_only,
        "Change only `style`, between valid references", NULL},
    {NULL}
  };
  GOptionContext *context = g_option_context_new ("- tunitfilter live changes");
  GError *error = NULL;
  gboolean ok;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  ok = g_option_context_parse (context, argc, argv, &error);
  if (!ok) {
    g_printerr ("%s\n", error->message);
    g_error_free (error);
  } else if (options->model == NULL) {
    g_printerr ("--model is required\n");
    ok = FALSE;
  }
  g_option_context_free (context);
  return ok;
}

static GstElement *
make_pipeline (const Options *options, const Files *files, GstElement **filter)
{
  gchar *description = g_strdup_printf ("videotestsrc is-live=true "
      "pattern=pinwheel ! video/x-raw,format=%s,width=%d,height=%d,"
      "framerate=30/1 ! tunitfilter name=filter backend=%s ! "
      "fakesink name=sink sync=false signal-handoffs=true",
      options->format, options->width, options->height, options->backend);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (description, &error);
  GstElement *sink;
  GstPad *input;

  g_free (description);
  if (pipeline == NULL) {
    g_printerr ("cannot make the pipeline: %s\n", error->message);
    g_error_free (error);
    return NULL;
  }
  *filter = gst_bin_get_by_name (GST_BIN (pipeline), "filter");
  g_object_set (*filter, "model", options->model, "style",
      files->references[0], NULL);
  input = gst_element_get_static_pad (*filter, "sink");
  gst_pad_add_probe (input, GST_PAD_PROBE_TYPE_BUFFER, on_filter_input, NULL,
      NULL);
  gst_object_unref (input);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), NULL);
  gst_object_unref (sink);
  return pipeline;
}

/* Plays for `ms` milliseconds, checking the bus. */
static gboolean
play_for (GstBus *bus, gint ms, guint *warnings)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  while (g_get_monotonic_time () < end) {
    if (!check_bus (bus, warnings))
      return FALSE;
    g_usleep (5000);
  }
  return check_bus (bus, warnings);
}

int
main (int argc, char **argv)
{
  Options options = { 1000, 15, 1000, 20, 96, 72, 320, 240, 1, NULL, NULL,
    NULL, FALSE
  };
  Files files = { 0 };
  GstElement *pipeline, *filter;
  GstBus *bus;
  GstMessage *msg;
  GRand *rand;
  GThread *watchdog;
  guint warnings = 0, invalid = 0;
  gint i;
  gint64 shutdown_us;
  gdouble landed_ms = -1;
  gboolean ok = TRUE;

  if (!parse_options (&argc, &argv, &options))
    return 2;
  if (options.format == NULL)
    options.format = g_strdup ("NV12");
  if (options.backend == NULL)
    options.backend = g_strdup ("cpu");
  gst_init (&argc, &argv);
  watchdog_s = options.watchdog_s;
  g_mutex_init (&seen.lock);
  seen.arrivals = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
      g_free);

  if (!make_files (&options, &files)) {
    g_printerr ("FAIL: cannot make the test files\n");
    return 1;
  }
  pipeline = make_pipeline (&options, &files, &filter);
  if (pipeline == NULL)
    return 1;
  bus = gst_element_get_bus (pipeline);
  rand = g_rand_new_with_seed (options.seed);

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE) {
    check_bus (bus, &warnings);
    g_printerr ("FAIL: the pipeline does not start\n");
    return 1;
  }
  watchdog = g_thread_new ("watchdog", watchdog_main, NULL);
  /* frames first, so that the watchdog has something to watch */
  ok = play_for (bus, 500, &warnings);
  for (i = 0; ok && i < options.changes; i++) {
    if (random_change (filter, &options, &files, rand, i))
      invalid++;
    ok = play_for (bus, g_rand_int_range (rand, 0, 2 * options.interval_ms + 1),
        &warnings);
  }
  /* the last change settles, and one more must still land */
  if (ok) {
    landed_ms = final_change_lands (filter, &files, bus, &warnings,
        options.watchdog_s);
    if (landed_ms < 0) {
      g_printerr ("FAIL: after the changes, a style change did not show "
          "within %d s\n", options.watchdog_s);
      ok = FALSE;
    }
  }
  /* then a change just before shutdown, so that the element stops while a
   * preparation runs */
  g_object_set (filter, "style", files.references[1], "model",
      files.other_model, NULL);

  g_mutex_lock (&seen.lock);
  seen.shutdown_started_us = g_get_monotonic_time ();
  g_mutex_unlock (&seen.lock);
  gst_element_send_event (pipeline, gst_event_new_eos ());
  msg = gst_bus_timed_pop_filtered (bus, (GstClockTime) options.watchdog_s
      * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg == NULL || GST_MESSAGE_TYPE (msg) != GST_MESSAGE_EOS) {
    g_printerr ("FAIL: no EOS after the changes\n");
    ok = FALSE;
  }
  if (msg)
    gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  shutdown_us = g_get_monotonic_time () - seen.shutdown_started_us;

  g_mutex_lock (&seen.lock);
  seen.finished = TRUE;
  g_mutex_unlock (&seen.lock);
  g_thread_join (watchdog);

  /* The bounds are the stated ones beyond what a frame costs anyway: under
   * a sanitizer or on a loaded machine every frame is slower, and a change
   * must not add more than the stated gap to that. */
  double usual_frame_ms = seen.timed_frames[0] > 0 ?
      seen.frame_sum_us[0] / 1000.0 / seen.timed_frames[0] : 0.0;
  double gap_bound_ms = options.max_gap_ms + 2.0 * usual_frame_ms;
  guint64 shown_needed = MIN ((guint64) options.changes / 10, seen.frames / 5);

  g_print ("%d changes (%u invalid), %u warnings, %" G_GUINT64_FORMAT
      " frames, %" G_GUINT64_FORMAT " content changes; largest gap %.1f ms "
      "(bound %.0f ms), mean gap %.1f ms; time in tunitfilter: frames that "
      "show a change mean %.1f ms, largest %.1f ms, other frames mean %.1f "
      "ms, largest %.1f ms; a change after the run landed in %.0f ms; EOS "
      "and shutdown %.1f ms\n",
      options.changes, invalid, warnings, seen.frames, seen.transitions,
      seen.largest_gap_us / 1000.0, gap_bound_ms,
      seen.frames > 1 ? seen.gap_sum_us / 1000.0 / (seen.frames - 1) : 0.0,
      seen.timed_frames[1] > 0 ?
      seen.frame_sum_us[1] / 1000.0 / seen.timed_frames[1] : 0.0,
      seen.largest_frame_us[1] / 1000.0, seen.timed_frames[0] > 0 ?
      seen.frame_sum_us[0] / 1000.0 / seen.timed_frames[0] : 0.0,
      seen.largest_frame_us[0] / 1000.0, landed_ms, shutdown_us / 1000.0);
  if (seen.frames < 10) {
    g_printerr ("FAIL: only %" G_GUINT64_FORMAT " frames\n", seen.frames);
    ok = FALSE;
  }
  if (seen.largest_gap_us / 1000.0 > gap_bound_ms) {
    g_printerr ("FAIL: a gap of %.1f ms between two frames (bound %.0f ms: "
        "%d ms + twice the usual %.1f ms of a frame)\n",
        seen.largest_gap_us / 1000.0, gap_bound_ms, options.max_gap_ms,
        usual_frame_ms);
    ok = FALSE;
  }
  /* a static picture only changes when the style does; changes faster
   * than their preparation coalesce (the newest wins), so under load not
   * every one shows, but many must: a tenth of the changes, or a fifth of
   * the frames where frames are few (a sanitizer build) */
  if (options.style_only && seen.transitions < shown_needed) {
    g_printerr ("FAIL: the output changed %" G_GUINT64_FORMAT " times for %d "
        "style changes\n", seen.transitions, options.changes);
    ok = FALSE;
  }

  gst_object_unref (filter);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  g_rand_free (rand);
  g_hash_table_destroy (seen.arrivals);
  remove_files (&files);
  g_free (options.model);
  g_free (options.format);
  g_free (options.backend);
  g_print (ok ? "PASS\n" : "FAIL\n");
  return ok ? 0 : 1;
}
