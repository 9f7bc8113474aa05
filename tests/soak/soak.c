/* soak.c - many frames through tunitfilter, the process's resident memory
 * sampled as they pass: after a warm-up it must not grow (a leak per frame
 * or per style change would show as steady growth).
 *
 *   soak MODEL FRAMES [BACKEND] [WIDTHxHEIGHT]
 *
 *   videotestsrc num-buffers=FRAMES ! RGB WIDTHxHEIGHT ! tunitfilter
 *     model=MODEL domain=0 backend=BACKEND ! fakesink
 *
 * Every 10th frame of the second half alternates the domain (0, 1), so the
 * style path runs too.  The resident size is read from /proc/self/statm
 * every FRAMES/50 frames; the warm-up is the first fifth of the frames.
 * Prints the samples and "soak: N frames, RSS after warm-up A KiB, at the
 * end B KiB, highest after warm-up C KiB: growth D KiB", and exits 1 when
 * the highest sample after the warm-up is 1 MiB or more above the first
 * one after it, or when the pipeline does not end with EOS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gst/gst.h>

#define GROWTH_LIMIT_KIB 1024

typedef struct {
  GstElement *filter;
  guint64 frames, total, sample_every, warm_up;
  long warm_rss_kib, highest_kib, last_kib;
} Soak;

static long
resident_kib (void)
{
  long pages_total = 0, pages_resident = 0;
  FILE *file = fopen ("/proc/self/statm", "r");
  if (file == NULL)
    return -1;
  if (fscanf (file, "%ld %ld", &pages_total, &pages_resident) != 2)
    pages_resident = -1;
  fclose (file);
  return pages_resident < 0 ? -1 : pages_resident * (sysconf (_SC_PAGESIZE) / 1024);
}

static GstPadProbeReturn
on_frame (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Soak *soak = user_data;
  soak->frames++;
  if (soak->frames > soak->total / 2 && soak->frames % 10 == 0)
    g_object_set (soak->filter, "domain", (int) (soak->frames / 10 % 2), NULL);
  if (soak->frames % soak->sample_every == 0) {
    long rss = resident_kib ();
    soak->last_kib = rss;
    if (soak->frames == soak->warm_up)
      soak->warm_rss_kib = rss;
    if (soak->frames > soak->warm_up)
      soak->highest_kib = MAX (soak->highest_kib, rss);
    g_print ("frame %" G_GUINT64_FORMAT ": RSS %ld KiB\n", soak->frames, rss);
  }
  return GST_PAD_PROBE_OK;
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  if (argc < 3) {
    g_printerr ("usage: soak MODEL FRAMES [BACKEND] [WIDTHxHEIGHT]\n");
    return 2;
  }
  const char *model = argv[1];
  guint64 total = g_ascii_strtoull (argv[2], NULL, 10);
  const char *backend = argc > 3 ? argv[3] : "cpu";
  const char *size = argc > 4 ? argv[4] : "32x32";
  int width, height;
  if (total < 100 || sscanf (size, "%dx%d", &width, &height) != 2) {
    g_printerr ("soak: FRAMES must be at least 100 and the size WIDTHxHEIGHT\n");
    return 2;
  }
  g_autofree char *description = g_strdup_printf ("videotestsrc num-buffers=%" G_GUINT64_FORMAT
      " pattern=ball ! video/x-raw,format=RGB,width=%d,height=%d ! tunitfilter name=t "
      "domain=0 backend=%s ! fakesink name=sink", total, width, height, backend);
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (description, &error);
  if (pipeline == NULL) {
    g_printerr ("soak: %s\n", error->message);
    return 1;
  }
  Soak soak = { .total = total, .sample_every = MAX (total / 50, 1) };
  soak.warm_up = total / 5 / soak.sample_every * soak.sample_every;
  soak.filter = gst_bin_get_by_name (GST_BIN (pipeline), "t");
  g_object_set (soak.filter, "model", model, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_frame, &soak, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstMessage *message = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gboolean eos = GST_MESSAGE_TYPE (message) == GST_MESSAGE_EOS;
  if (!eos) {
    gst_message_parse_error (message, &error, NULL);
    g_printerr ("soak: error: %s\n", error->message);
    g_clear_error (&error);
  }
  gst_message_unref (message);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (soak.filter);
  gst_object_unref (pipeline);

  long growth = soak.highest_kib - soak.warm_rss_kib;
  g_print ("soak: %" G_GUINT64_FORMAT " frames (%s, %dx%d), RSS after warm-up %ld KiB, at the "
           "end %ld KiB, highest after warm-up %ld KiB: growth %ld KiB (limit %d)\n",
           soak.frames, backend, width, height, soak.warm_rss_kib, soak.last_kib,
           soak.highest_kib, growth, GROWTH_LIMIT_KIB);
  if (!eos || soak.frames != total || soak.warm_rss_kib <= 0)
    return 1;
  return growth < GROWTH_LIMIT_KIB ? 0 : 1;
}
