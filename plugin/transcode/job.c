/* job.c - runs one input file through tunitfilter (see job.h). */
#include "job.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#define JOB_ERROR (g_quark_from_static_string ("tunit-transcode-job"))

/* Between the demuxer and the branches: time enough for the encoders'
 * look-ahead.  multiqueue grows a full queue while another runs empty, so
 * a slow video branch cannot deadlock the audio beside it; the byte bound
 * keeps a file without timestamps from filling memory. */
#define QUEUE_TIME (3 * GST_SECOND)
#define QUEUE_BYTES (64 * 1024 * 1024)

/* A stream that ends with fewer frames than this share of what its header
 * promised is reported as cut short. */
#define EARLY_END_SHARE 0.95

struct _TranscodeJob {
  gchar *input;
  gchar *output;
  gchar *partial;
  const TranscodePlan *plan;
  const TranscodeFilterSettings *filter;

  GstElement *pipeline;
  GstElement *queues;
  GstElement *muxer;
  guint bus_watch;

  GMutex lock;                  /* guards frames: counted by streaming threads */
  guint64 frames;

  gint64 start_time;
  gint64 end_time;
  GError *error;
  gchar *error_detail;          /* the failing element's debug text */
  gchar *warning;

  TranscodeJobFinished finished;
  gpointer user_data;
};

TranscodeJob *
transcode_job_new (const gchar *input, const gchar *output,
    const TranscodePlan *plan, const TranscodeFilterSettings *filter)
{
  TranscodeJob *job = g_new0 (TranscodeJob, 1);

  job->input = g_strdup (input);
  job->output = g_strdup (output);
  job->partial = g_strconcat (output, ".partial", NULL);
  job->plan = plan;
  job->filter = filter;
  g_mutex_init (&job->lock);
  return job;
}

/* ------------------------------------------------- errors from the graph */

/* Reports a failure found while building a branch (a streaming thread): it
 * goes to the bus like any element error, so the main context sees it. */
static void
post_error (TranscodeJob *job, GError *error)
{
  GstMessage *message = gst_message_new_error (GST_OBJECT (job->pipeline), error, NULL);

  gst_element_post_message (job->pipeline, message);
  g_error_free (error);
}

static GstElement *
make_element (const gchar *factory, GError **error)
{
  GstElement *element = gst_element_factory_make (factory, NULL);

  if (element == NULL)
    g_set_error (error, JOB_ERROR, 0,
        "the GStreamer element %s is not installed", factory);
  return element;
}

/* Adds @elements (NULL-terminated, none NULL) to the pipeline and links
 * them in a chain; they are brought to the pipeline's state by
 * start_elements once the chain is linked at both ends. */
static gboolean
add_chain (TranscodeJob *job, GstElement **elements, GError **error)
{
  for (guint i = 0; elements[i] != NULL; i++)
    gst_bin_add (GST_BIN (job->pipeline), elements[i]);
  for (guint i = 0; elements[i] != NULL && elements[i + 1] != NULL; i++) {
    if (!gst_element_link (elements[i], elements[i + 1])) {
      g_set_error (error, JOB_ERROR, 0, "cannot link %s to %s",
          GST_ELEMENT_NAME (elements[i]), GST_ELEMENT_NAME (elements[i + 1]));
      return FALSE;
    }
  }
  return TRUE;
}

/* Downstream first, so that no element pushes into one not yet started. */
static void
start_elements (GstElement **elements)
{
  guint count = 0;

  while (elements[count] != NULL)
    count++;
  while (count-- > 0)
    gst_element_sync_state_with_parent (elements[count]);
}

/* Frees those of @elements that are not in a bin yet (after a failure). */
static void
free_chain (GstElement **elements, guint count)
{
  for (guint i = 0; i < count; i++) {
    if (elements[i] != NULL && GST_OBJECT_PARENT (elements[i]) == NULL) {
      gst_object_ref_sink (elements[i]);
      gst_object_unref (elements[i]);
    }
  }
}

/* ------------------------------------------------------------- branches */

/* Links a decodebin's pad to the first element of its branch, kept as the
 * decodebin's "tunit-next" data. */
static void
on_decoded_pad (GstElement *decoder, GstPad *pad, TranscodeJob *job)
{
  GstElement *next = g_object_get_data (G_OBJECT (decoder), "tunit-next");
  GstPad *sink = gst_element_get_static_pad (next, "sink");

  if (!gst_pad_is_linked (sink) && GST_PAD_LINK_FAILED (gst_pad_link (pad, sink))) {
    GstCaps *caps = gst_pad_query_caps (pad, NULL);
    gchar *text = gst_caps_to_string (caps);

    post_error (job, g_error_new (JOB_ERROR, 0,
            "cannot use the decoded stream (%s)", text));
    g_free (text);
    gst_caps_unref (caps);
  }
  gst_object_unref (sink);
}

static GstElement *
make_decoder (TranscodeJob *job, GstElement *next, GError **error)
{
  GstElement *decoder = make_element ("decodebin", error);

  if (decoder != NULL) {
    g_object_set_data (G_OBJECT (decoder), "tunit-next", next);
    g_signal_connect (decoder, "pad-added", G_CALLBACK (on_decoded_pad), job);
  }
  return decoder;
}

static GstPadProbeReturn
count_frame (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  TranscodeJob *job = user_data;

  g_mutex_lock (&job->lock);
  job->frames++;
  g_mutex_unlock (&job->lock);
  return GST_PAD_PROBE_OK;
}

static gboolean
link_to_decoder (GstPad *queued, GstElement *decoder, GError **error)
{
  GstPad *sink = gst_element_get_static_pad (decoder, "sink");
  gboolean linked = GST_PAD_LINK_SUCCESSFUL (gst_pad_link (queued, sink));

  gst_object_unref (sink);
  if (!linked)
    g_set_error (error, JOB_ERROR, 0, "cannot link the stream to a decoder");
  return linked;
}

/* decodebin ! videoconvert ! tunitfilter ! videoconvert ! I420 ! queue !
 * encoder ! muxer: the queue lets the encoder work on one frame while the
 * network works on the next. */
static gboolean
make_video_chain (TranscodeJob *job, const GstCaps *caps, GstElement **chain,
    GError **error)
{
  const GstStructure *structure = gst_caps_get_structure (caps, 0);
  gint width = 0, height = 0, fps_n = 0, fps_d = 1;
  gchar *format;

  gst_structure_get_int (structure, "width", &width);
  gst_structure_get_int (structure, "height", &height);
  gst_structure_get_fraction (structure, "framerate", &fps_n, &fps_d);
  if ((chain[0] = make_element ("videoconvert", error)) == NULL
      || (chain[1] = transcode_filter_make (job->filter, error)) == NULL
      || (chain[2] = make_element ("videoconvert", error)) == NULL
      || (chain[3] = make_element ("capsfilter", error)) == NULL
      || (chain[4] = make_element ("queue", error)) == NULL
      || (chain[5] = transcode_video_codec_make_encoder (job->plan->video_codec,
              width, height, fps_n, fps_d, error)) == NULL)
    return FALSE;
  /* A format of our choosing: an encoder left to choose could pick 4:4:4
   * from the RGB frames, which few players play. */
  format = g_strdup_printf ("video/x-raw,format=%s",
      transcode_video_codec_input_format (job->plan->video_codec, width, height));
  gst_util_set_object_arg (G_OBJECT (chain[3]), "caps", format);
  g_free (format);
  g_object_set (chain[4], "max-size-buffers", 4, "max-size-bytes", 0,
      "max-size-time", (guint64) 0, NULL);
  return TRUE;
}

/* Adds a decodebin feeding @chain (whose last element links to the muxer)
 * and links @queued into it. */
static gboolean
add_decoded_branch (TranscodeJob *job, GstPad *queued, GstElement **chain,
    guint length, GError **error)
{
  GstElement *decoder = make_decoder (job, chain[0], error);
  gboolean ok;

  if (decoder == NULL) {
    free_chain (chain, length);
    return FALSE;
  }
  ok = add_chain (job, chain, error);
  gst_bin_add (GST_BIN (job->pipeline), decoder);
  if (ok && !gst_element_link (chain[length - 1], job->muxer)) {
    g_set_error (error, JOB_ERROR, 0, "%s does not take what %s writes",
        transcode_container_name (job->plan->container),
        GST_ELEMENT_NAME (chain[length - 1]));
    ok = FALSE;
  }
  ok = ok && link_to_decoder (queued, decoder, error);
  if (ok) {
    start_elements (chain);
    gst_element_sync_state_with_parent (decoder);
  }
  return ok;
}

static gboolean
add_video_branch (TranscodeJob *job, GstPad *queued, const GstCaps *caps,
    GError **error)
{
  GstElement *chain[7] = { NULL };
  GstPad *filter_source;

  if (!make_video_chain (job, caps, chain, error)) {
    free_chain (chain, 6);
    return FALSE;
  }
  filter_source = gst_element_get_static_pad (chain[1], "src");
  gst_pad_add_probe (filter_source, GST_PAD_PROBE_TYPE_BUFFER, count_frame, job, NULL);
  gst_object_unref (filter_source);
  return add_decoded_branch (job, queued, chain, 6, error);
}

/* decodebin ! audioconvert ! audioresample ! ENCODER ! muxer */
static gboolean
add_audio_encoder_branch (TranscodeJob *job, GstPad *queued,
    const gchar *encoder_name, GError **error)
{
  GstElement *chain[4] = { NULL };

  if ((chain[0] = make_element ("audioconvert", error)) == NULL
      || (chain[1] = make_element ("audioresample", error)) == NULL
      || (chain[2] = make_element (encoder_name, error)) == NULL) {
    free_chain (chain, 3);
    return FALSE;
  }
  return add_decoded_branch (job, queued, chain, 3, error);
}

/* Streams the container takes as they are go straight to the muxer. */
static gboolean
add_copy_branch (TranscodeJob *job, GstPad *queued, const GstCaps *caps,
    GError **error)
{
  GstPad *muxer_pad = gst_element_get_compatible_pad (job->muxer, queued,
      (GstCaps *) caps);
  gboolean linked = muxer_pad != NULL
      && GST_PAD_LINK_SUCCESSFUL (gst_pad_link (queued, muxer_pad));

  if (!linked) {
    gchar *codec = transcode_caps_describe (caps);

    g_set_error (error, JOB_ERROR, 0, "%s refused the %s stream",
        transcode_container_name (job->plan->container), codec);
    g_free (codec);
  }
  if (muxer_pad != NULL)
    gst_object_unref (muxer_pad);
  return linked;
}

/* A stream the output cannot keep (subtitles the container does not take)
 * is read and thrown away, so that the demuxer is not stopped by an
 * unlinked pad. */
static gboolean
add_drop_branch (TranscodeJob *job, GstPad *queued, GError **error)
{
  GstElement *sink = make_element ("fakesink", error);
  GstPad *sink_pad;
  gboolean linked;

  if (sink == NULL)
    return FALSE;
  g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (job->pipeline), sink);
  sink_pad = gst_element_get_static_pad (sink, "sink");
  linked = GST_PAD_LINK_SUCCESSFUL (gst_pad_link (queued, sink_pad));
  gst_object_unref (sink_pad);
  gst_element_sync_state_with_parent (sink);
  if (!linked)
    g_set_error (error, JOB_ERROR, 0, "cannot link a stream to fakesink");
  return linked;
}

static gboolean
add_other_branch (TranscodeJob *job, GstPad *queued, const GstCaps *caps,
    GError **error)
{
  const gchar *encoder = NULL;
  gchar *codec;

  switch (transcode_stream_action (job->plan->container, caps, &encoder)) {
    case TRANSCODE_STREAM_COPY:
      return add_copy_branch (job, queued, caps, error);
    case TRANSCODE_STREAM_ENCODE:
      return add_audio_encoder_branch (job, queued, encoder, error);
    case TRANSCODE_STREAM_DROP:
    default:
      if (!transcode_caps_are_audio (caps))
        return add_drop_branch (job, queued, error);
      codec = transcode_caps_describe (caps);
      g_set_error (error, JOB_ERROR, 0,
          "%s does not take the %s audio and no encoder for it is installed",
          transcode_container_name (job->plan->container), codec);
      g_free (codec);
      return FALSE;
  }
}

/* Gives @pad a queue of the multiqueue; returns the queue's source pad. */
static GstPad *
queue_stream (TranscodeJob *job, GstPad *pad)
{
  GstPadTemplate *template = gst_element_get_pad_template (job->queues, "sink_%u");
  GstPad *sink = gst_element_request_pad (job->queues, template, NULL, NULL);
  gchar *sink_name, *source_name;
  GstPad *source;

  if (sink == NULL)
    return NULL;
  sink_name = gst_pad_get_name (sink);
  source_name = g_strdup_printf ("src_%s", sink_name + strlen ("sink_"));
  source = gst_element_get_static_pad (job->queues, source_name);
  if (source != NULL && GST_PAD_LINK_FAILED (gst_pad_link (pad, sink)))
    g_clear_object (&source);
  g_free (source_name);
  g_free (sink_name);
  gst_object_unref (sink);
  return source;
}

/* parsebin found a stream: a streaming thread, before any of its data
 * flows (parsebin exposes a file's streams together). */
static void
on_parsed_stream (GstElement *parsebin, GstPad *pad, TranscodeJob *job)
{
  GstCaps *caps = gst_pad_get_current_caps (pad);
  GError *error = NULL;
  GstPad *queued;
  gboolean ok;

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  queued = queue_stream (job, pad);
  if (queued == NULL) {
    g_set_error (&error, JOB_ERROR, 0, "cannot queue a stream");
    ok = FALSE;
  } else if (transcode_caps_are_video (caps)) {
    ok = add_video_branch (job, queued, caps, &error);
  } else {
    ok = add_other_branch (job, queued, caps, &error);
  }
  if (!ok)
    post_error (job, error != NULL ? error :
        g_error_new (JOB_ERROR, 0, "cannot build the pipeline"));
  if (queued != NULL)
    gst_object_unref (queued);
  gst_caps_unref (caps);
}

/* ------------------------------------------------------------- the run */

static gboolean
build_pipeline (TranscodeJob *job, GError **error)
{
  GstElement *made[5] = { NULL };
  const gchar *muxer = transcode_container_muxer (job->plan->container);

  job->pipeline = gst_pipeline_new (NULL);
  if ((made[0] = make_element ("filesrc", error)) == NULL
      || (made[1] = make_element ("parsebin", error)) == NULL
      || (made[2] = make_element ("multiqueue", error)) == NULL
      || (made[3] = make_element (muxer, error)) == NULL
      || (made[4] = make_element ("filesink", error)) == NULL) {
    free_chain (made, G_N_ELEMENTS (made));
    return FALSE;
  }
  job->queues = made[2];
  job->muxer = made[3];
  g_object_set (made[0], "location", job->input, NULL);
  g_object_set (made[4], "location", job->partial, NULL);
  g_object_set (job->queues, "max-size-buffers", 0, "max-size-bytes", QUEUE_BYTES,
      "max-size-time", (guint64) QUEUE_TIME, NULL);
  gst_bin_add_many (GST_BIN (job->pipeline), made[0], made[1], made[2], made[3],
      made[4], NULL);
  if (!gst_element_link (made[0], made[1]) || !gst_element_link (job->muxer, made[4])) {
    g_set_error (error, JOB_ERROR, 0, "cannot link the file elements");
    return FALSE;
  }
  g_signal_connect (made[1], "pad-added", G_CALLBACK (on_parsed_stream), job);
  return TRUE;
}

/* Checks the frame count against the header's promise, renames the
 * partial output to its final name. */
static void
complete_output (TranscodeJob *job)
{
  guint64 frames = transcode_job_get_frames (job);

  if (frames == 0) {
    g_set_error (&job->error, JOB_ERROR, 0, "no video frame could be decoded");
    return;
  }
  if (job->plan->frames > 0 && frames < EARLY_END_SHARE * job->plan->frames) {
    g_free (job->warning);
    job->warning = g_strdup_printf ("only %" G_GUINT64_FORMAT " of the %"
        G_GUINT64_FORMAT " frames its header promises were decoded (is it cut short?)",
        frames, job->plan->frames);
  }
  if (g_rename (job->partial, job->output) != 0)
    g_set_error (&job->error, JOB_ERROR, 0, "cannot rename %s to %s: %s",
        job->partial, job->output, g_strerror (errno));
}

/* Stops the pipeline; the partial output goes unless it became the output. */
static void
stop (TranscodeJob *job)
{
  if (job->bus_watch != 0) {
    g_source_remove (job->bus_watch);
    job->bus_watch = 0;
  }
  if (job->pipeline != NULL)
    gst_element_set_state (job->pipeline, GST_STATE_NULL);
  job->end_time = g_get_monotonic_time ();
}

static void
finish (TranscodeJob *job)
{
  stop (job);
  if (job->error == NULL)
    complete_output (job);
  if (job->error != NULL)
    g_unlink (job->partial);
  job->finished (job, job->user_data);
}

static void
note_error (TranscodeJob *job, GstMessage *message)
{
  GError *error = NULL;
  gchar *debug = NULL;
  gchar *source = gst_object_get_name (GST_MESSAGE_SRC (message));

  gst_message_parse_error (message, &error, &debug);
  if (job->error == NULL) {
    g_set_error (&job->error, error->domain, error->code, "%s (%s)",
        error->message, source);
    job->error_detail = debug;
    debug = NULL;
  }
  g_error_free (error);
  g_free (debug);
  g_free (source);
}

static void
note_warning (TranscodeJob *job, GstMessage *message)
{
  GError *warning = NULL;
  gchar *source = gst_object_get_name (GST_MESSAGE_SRC (message));

  gst_message_parse_warning (message, &warning, NULL);
  if (job->warning == NULL)
    job->warning = g_strdup_printf ("%s: %s", source, warning->message);
  g_error_free (warning);
  g_free (source);
}

static gboolean
on_message (GstBus *bus, GstMessage *message, gpointer user_data)
{
  TranscodeJob *job = user_data;

  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ERROR:
      note_error (job, message);
      break;
    case GST_MESSAGE_WARNING:
      note_warning (job, message);
      return G_SOURCE_CONTINUE;
    case GST_MESSAGE_EOS:
      break;
    default:
      return G_SOURCE_CONTINUE;
  }
  /* finish() removes this watch; keep the source alive until we return. */
  job->bus_watch = 0;
  finish (job);
  return G_SOURCE_REMOVE;
}

gboolean
transcode_job_start (TranscodeJob *job, TranscodeJobFinished finished,
    gpointer user_data, GError **error)
{
  gchar *folder = g_path_get_dirname (job->output);
  GstBus *bus;
  int made = g_mkdir_with_parents (folder, 0755);

  if (made != 0) {
    g_set_error (error, JOB_ERROR, 0, "cannot make the folder %s: %s", folder,
        g_strerror (errno));
    g_free (folder);
    return FALSE;
  }
  g_free (folder);
  if (!build_pipeline (job, error))
    return FALSE;
  job->finished = finished;
  job->user_data = user_data;
  job->start_time = g_get_monotonic_time ();
  bus = gst_element_get_bus (job->pipeline);
  job->bus_watch = gst_bus_add_watch (bus, on_message, job);
  gst_object_unref (bus);
  /* A failed state change posts an error, which the watch reports. */
  gst_element_set_state (job->pipeline, GST_STATE_PLAYING);
  return TRUE;
}

void
transcode_job_cancel (TranscodeJob *job)
{
  if (job->pipeline == NULL || job->end_time != 0)
    return;
  stop (job);
  g_unlink (job->partial);
}

guint64
transcode_job_get_frames (TranscodeJob *job)
{
  guint64 frames;

  g_mutex_lock (&job->lock);
  frames = job->frames;
  g_mutex_unlock (&job->lock);
  return frames;
}

gdouble
transcode_job_get_elapsed (TranscodeJob *job)
{
  gint64 end = job->end_time != 0 ? job->end_time : g_get_monotonic_time ();

  return job->start_time == 0 ? 0.0 : (end - job->start_time) / 1e6;
}

const GError *
transcode_job_get_error (TranscodeJob *job)
{
  return job->error;
}

const gchar *
transcode_job_get_error_detail (TranscodeJob *job)
{
  return job->error_detail;
}

const gchar *
transcode_job_get_warning (TranscodeJob *job)
{
  return job->warning;
}

const gchar *
transcode_job_get_input (TranscodeJob *job)
{
  return job->input;
}

const gchar *
transcode_job_get_output (TranscodeJob *job)
{
  return job->output;
}

const TranscodePlan *
transcode_job_get_plan (TranscodeJob *job)
{
  return job->plan;
}

void
transcode_job_free (TranscodeJob *job)
{
  if (job == NULL)
    return;
  transcode_job_cancel (job);
  if (job->pipeline != NULL)
    gst_object_unref (job->pipeline);
  g_clear_error (&job->error);
  g_free (job->error_detail);
  g_free (job->warning);
  g_free (job->input);
  g_free (job->output);
  g_free (job->partial);
  g_mutex_clear (&job->lock);
  g_free (job);
}
