/* gsttunitfilter.c - the tunitfilter element. */

/**
 * SECTION:element-tunitfilter
 * @title: tunitfilter
 *
 * Translates every video frame with a TUNIT generator (Baek et al.,
 * "Rethinking the Truly Unsupervised Image-to-Image Translation", ICCV
 * 2021) to the style of a reference image (`style`, through the model's
 * guiding network) or of a pseudo-domain centroid stored in the model
 * (`domain`), on a Vulkan device or on the CPU.  The output frame has the
 * input's format and size.
 *
 * Packed RGB and the YUV formats cameras and decoders produce (YUY2, UYVY,
 * NV12, I420, ...) are accepted directly: the colour conversion (matrix,
 * range and chroma siting from the caps' colorimetry) is fused into the
 * element's own conversion to and from the network's planar floats, so no
 * videoconvert is needed around it.
 *
 * ## Live changes
 *
 * `style`, `domain`, `model`, `backend`, `device`, `threads` and
 * `precision` can change while PLAYING.  The new style (the reference
 * decoded, the guide run) or engine (the model loaded, the backend started)
 * is prepared off the streaming thread and swapped in between two frames;
 * until it is ready, frames keep the old one.  A bad value (an unreadable
 * reference, a domain out of range, a broken or missing model) posts a
 * warning message that names the problem and the stream goes on with the
 * last good style and model.  Only a start with no usable model is an
 * error, and a first frame with no usable style.
 *
 * ## Frames in flight
 *
 * With `max-frames-in-flight` N > 1 the element converts frame k+1 while
 * the engine computes frame k, and outputs a frame when N frames are in
 * flight (or on EOS, a caps change, a flush, ...), in order and with its
 * timestamps.  The reported latency grows by N - 1 frame durations.
 *
 * ## Statistics
 *
 * With `statistics-interval` N > 0 the element posts an element message
 * `tunit-statistics` every N translated frames; the `statistics` property
 * holds the same structure at any time: `frames` and `dropped` (by QoS)
 * since start, `mean-ms` and `max-ms` of the processing time per frame
 * (conversion in, network, conversion out; not the time a frame waits
 * behind others), `frames-in-flight` and `latency-ms` (what LATENCY
 * queries are answered).
 *
 * ## Example launch lines
 * |[
 * # live: a webcam (YUY2 straight from the camera) styled like a picture
 * gst-launch-1.0 v4l2src ! tunitfilter style=ref.png processing-size=256 ! videoconvert ! autovideosink
 * # batch: a video file through pseudo-domain 3 (I420 from the decoder, to the encoder)
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! tunitfilter domain=3 ! x264enc ! mp4mux ! filesink location=out.mp4
 * # the same engine without GStreamer: the command-line tool
 * tunit translate -m model.safetensors -r ref.png in.png out.png
 * ]|
 */

/* Threading: four kinds of threads meet here.
 * - Property setters (any thread) only record requests under the object
 *   lock and hand a snapshot to the preparer (preparer.c), whose worker
 *   decodes references, checks centroids, loads models and starts engines.
 * - The streaming thread converts frames, submits them to the frame queue
 *   and takes what the preparer made between two frames: a new style
 *   becomes a call queued between two frames on the engine's thread, a
 *   new engine is swapped in once the old one's frames are out.
 * - Each engine's own thread (compute/frame-queue.c, "tunit-engine") runs
 *   every heavy call of that engine, in order: translations, the guide,
 *   the style MLP; also the first style of start() and the style of an
 *   engine the preparer made.  Nothing else calls into an engine's
 *   network, so each CPU backend's thread pool serves that thread alone.
 * - The application's thread runs start()/stop().
 * Only start()/stop() (no data flow) and the streaming thread touch the
 * streaming state of the element. */
#include <math.h>
#include <string.h>

#include "gsttunitfilter.h"
#include "video-layout.h"
#include "tunit-config.h"

GST_DEBUG_CATEGORY (gst_tunit_filter_debug);
#define GST_CAT_DEFAULT gst_tunit_filter_debug

enum {
  PROP_0,
  PROP_MODEL,
  PROP_STYLE,
  PROP_DOMAIN,
  PROP_BACKEND,
  PROP_DEVICE,
  PROP_THREADS,
  PROP_PRECISION,
  PROP_PROCESSING_SIZE,
  PROP_STRENGTH,
  PROP_MAX_FRAMES_IN_FLIGHT,
  PROP_STATISTICS_INTERVAL,
  PROP_STATISTICS,
};

#define DEFAULT_DOMAIN (-1)
#define DEFAULT_BACKEND TUNIT_BACKEND_AUTO
#define DEFAULT_DEVICE (-1)
#define DEFAULT_THREADS 0
#define DEFAULT_PRECISION TUNIT_PRECISION_DEFAULT
#define DEFAULT_PROCESSING_SIZE 0
#define DEFAULT_STRENGTH 1.0
#define DEFAULT_MAX_FRAMES_IN_FLIGHT 0
#define DEFAULT_STATISTICS_INTERVAL 0
#define MAX_FRAMES_IN_FLIGHT 16

/* The smallest side the network accepts. */
#define MIN_SIDE 16

#define TUNIT_CAPS \
  "video/x-raw, format = (string) " GST_TUNIT_VIDEO_FORMATS ", " \
  "width = (int) [ 16, 2147483647 ], height = (int) [ 16, 2147483647 ], " \
  "framerate = (fraction) [ 0/1, 2147483647/1 ]"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (TUNIT_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (TUNIT_CAPS));

G_DEFINE_TYPE (GstTunitFilter, gst_tunit_filter, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (tunitfilter, "tunitfilter", GST_RANK_NONE,
    GST_TYPE_TUNIT_FILTER);

GType
gst_tunit_backend_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {TUNIT_BACKEND_AUTO, "Vulkan when a Vulkan device exists, else CPU", "auto"},
    {TUNIT_BACKEND_VULKAN, "Vulkan compute (fails if no Vulkan device is usable)",
        "vulkan"},
    {TUNIT_BACKEND_CPU, "CPU (OpenBLAS)", "cpu"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstTunitBackend", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_tunit_precision_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {TUNIT_PRECISION_DEFAULT, "The backend's choice: fp16 on Vulkan devices "
          "with 16-bit storage, else fp32", "auto"},
    {TUNIT_PRECISION_FP32, "32-bit floats everywhere", "fp32"},
    {TUNIT_PRECISION_FP16, "16-bit float weights and activations (Vulkan)",
        "fp16"},
    {TUNIT_PRECISION_BF16, "bfloat16 (where the backend has it; others run "
          "fp32 and say so)", "bf16"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstTunitPrecision", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

/* ------------------------------------------------------------ properties */

/* The model file of `model_path`: itself, else $TUNIT_MODEL, else the
 * installed default.  The environment is read here, when a stream starts
 * or changes, never when the class or an instance is made, so that
 * gst-inspect shows the same defaults everywhere. */
static gchar *
resolve_model_path (const gchar *model_path)
{
  const gchar *env_model = g_getenv ("TUNIT_MODEL");

  if (model_path != NULL)
    return g_strdup (model_path);
  if (env_model != NULL && *env_model != '\0')
    return g_strdup (env_model);
  return g_strdup (TUNIT_DEFAULT_MODEL_PATH);
}

/* A snapshot of what needs preparing.  Called with the object lock held. */
static GstTunitSettings *
take_settings (GstTunitFilter *self)
{
  GstTunitSettings *settings = g_new0 (GstTunitSettings, 1);

  settings->engine_request = self->engine_request;
  settings->model_path = resolve_model_path (self->model_path);
  settings->options = self->environment_options;
  settings->options.backend = self->backend;
  if (self->device >= 0)
    settings->options.device_index = self->device;
  settings->options.threads = (int) self->threads;
  settings->options.precision = self->precision;
  settings->style_request = self->style_request;
  settings->style_source = self->style_source;
  settings->style_path = g_strdup (self->style_path);
  settings->domain = self->domain;
  return settings;
}

/* Records that an engine or style property changed; while a stream runs,
 * the preparer gets to work on it.  Called with the object lock held. */
static void
request_preparation (GstTunitFilter *self, guint64 *counter)
{
  (*counter)++;
  if (self->preparer != NULL)
    gst_tunit_preparer_request (self->preparer, take_settings (self));
}

/* The style source after `style` or `domain` changed: the one set last
 * wins, and unsetting one falls back to the other. */
static GstTunitStyleSource
style_source_after (GstTunitFilter *self, gboolean domain_changed)
{
  gboolean have_domain = self->domain >= 0;

  if (domain_changed && have_domain)
    return GST_TUNIT_STYLE_SOURCE_DOMAIN;
  if (self->style_path != NULL)
    return GST_TUNIT_STYLE_SOURCE_REFERENCE;
  return have_domain ? GST_TUNIT_STYLE_SOURCE_DOMAIN : GST_TUNIT_STYLE_SOURCE_NONE;
}

static gchar *
dup_path (const GValue *value)
{
  const gchar *path = g_value_get_string (value);
  return (path != NULL && *path != '\0') ? g_strdup (path) : NULL;
}

static void
gst_tunit_filter_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = dup_path (value);
      request_preparation (self, &self->engine_request);
      break;
    case PROP_STYLE:
      g_free (self->style_path);
      self->style_path = dup_path (value);
      self->style_source = style_source_after (self, FALSE);
      request_preparation (self, &self->style_request);
      break;
    case PROP_DOMAIN:
      self->domain = g_value_get_int (value);
      self->style_source = style_source_after (self, TRUE);
      request_preparation (self, &self->style_request);
      break;
    case PROP_BACKEND:
      self->backend = g_value_get_enum (value);
      request_preparation (self, &self->engine_request);
      break;
    case PROP_DEVICE:
      self->device = g_value_get_int (value);
      request_preparation (self, &self->engine_request);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_uint (value);
      request_preparation (self, &self->engine_request);
      break;
    case PROP_PRECISION:
      self->precision = g_value_get_enum (value);
      request_preparation (self, &self->engine_request);
      break;
    case PROP_PROCESSING_SIZE:
      self->processing_size = g_value_get_uint (value);
      break;
    case PROP_STRENGTH:
      self->strength = g_value_get_double (value);
      break;
    case PROP_MAX_FRAMES_IN_FLIGHT:
      self->max_in_flight = g_value_get_uint (value);
      break;
    case PROP_STATISTICS_INTERVAL:
      self->statistics_interval = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GstStructure *statistics_structure (GstTunitFilter *self);

static void
gst_tunit_filter_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (object);

  if (prop_id == PROP_STATISTICS) {
    g_value_take_boxed (value, statistics_structure (self));
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_STYLE:
      g_value_set_string (value, self->style_path);
      break;
    case PROP_DOMAIN:
      g_value_set_int (value, self->domain);
      break;
    case PROP_BACKEND:
      g_value_set_enum (value, self->backend);
      break;
    case PROP_DEVICE:
      g_value_set_int (value, self->device);
      break;
    case PROP_THREADS:
      g_value_set_uint (value, self->threads);
      break;
    case PROP_PRECISION:
      g_value_set_enum (value, self->precision);
      break;
    case PROP_PROCESSING_SIZE:
      g_value_set_uint (value, self->processing_size);
      break;
    case PROP_STRENGTH:
      g_value_set_double (value, self->strength);
      break;
    case PROP_MAX_FRAMES_IN_FLIGHT:
      g_value_set_uint (value, self->max_in_flight);
      break;
    case PROP_STATISTICS_INTERVAL:
      g_value_set_uint (value, self->statistics_interval);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* Frames kept in flight: the property, or 2 on Vulkan (conversion on the
 * CPU overlaps the device's work) and 1 on the CPU backend (where both
 * would share the same cores). */
static guint
frames_in_flight (GstTunitFilter *self)
{
  guint depth;

  GST_OBJECT_LOCK (self);
  depth = self->max_in_flight;
  GST_OBJECT_UNLOCK (self);
  if (depth == 0)
    depth = self->on_vulkan ? 2 : 1;
  return depth;
}

/* ------------------------------------------------ statistics and latency */

static void
reset_statistics (GstTunitFilter *self)
{
  g_mutex_lock (&self->stats_lock);
  self->frames = self->dropped = self->frames_reported = 0;
  self->total_us = self->max_us = 0;
  self->proc_avg = self->proc_peak = self->latency = 0;
  self->latency_depth = 1;
  g_mutex_unlock (&self->stats_lock);
}

/* Called with stats_lock held. */
static GstStructure *
statistics_structure_locked (GstTunitFilter *self)
{
  return gst_structure_new ("tunit-statistics",
      "frames", G_TYPE_UINT64, self->frames,
      "dropped", G_TYPE_UINT64, self->dropped,
      "mean-ms", G_TYPE_DOUBLE,
      self->frames > 0 ? self->total_us / 1000.0 / self->frames : 0.0,
      "max-ms", G_TYPE_DOUBLE, self->max_us / 1000.0,
      "frames-in-flight", G_TYPE_UINT, self->latency_depth,
      "latency-ms", G_TYPE_DOUBLE, self->latency / 1e6, NULL);
}

static GstStructure *
statistics_structure (GstTunitFilter *self)
{
  GstStructure *s;

  g_mutex_lock (&self->stats_lock);
  s = statistics_structure_locked (self);
  g_mutex_unlock (&self->stats_lock);
  return s;
}

/* What the element adds to the latency: its processing time (a decaying
 * maximum) and, with N frames in flight, the N - 1 frame durations a frame
 * waits for the frames behind it.  Called with stats_lock held; TRUE when
 * the value moved enough to be worth a LATENCY message. */
static gboolean
update_latency_locked (GstTunitFilter *self, GstClockTime duration, guint depth)
{
  GstClockTime latency;

  if (self->proc_avg == 0) {
    self->proc_avg = self->proc_peak = duration;
  } else {
    self->proc_avg = (self->proc_avg * 7 + duration) / 8;
    if (duration >= self->proc_peak)
      self->proc_peak = duration;
    else
      self->proc_peak -= (self->proc_peak - MAX (self->proc_avg, duration)) / 16;
  }
  latency = self->proc_peak;
  if (depth > 1)
    latency += (depth - 1) * (GST_CLOCK_TIME_IS_VALID (self->frame_duration) ?
        self->frame_duration : self->proc_peak);
  if (self->latency == 0 || depth != self->latency_depth
      || latency > self->latency + self->latency / 4
      || latency < self->latency / 2) {
    self->latency = latency;
    self->latency_depth = depth;
    return TRUE;
  }
  return FALSE;
}

static void
record_frame (GstTunitFilter *self, gint64 processing_us, guint depth)
{
  GstStructure *report = NULL;
  gboolean latency_changed;
  GstClockTime latency;
  guint interval;

  GST_OBJECT_LOCK (self);
  interval = self->statistics_interval;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->stats_lock);
  self->frames++;
  self->total_us += processing_us;
  self->max_us = MAX (self->max_us, processing_us);
  latency_changed = update_latency_locked (self,
      (GstClockTime) processing_us * GST_USECOND, depth);
  latency = self->latency;
  if (interval > 0 && self->frames - self->frames_reported >= interval) {
    self->frames_reported = self->frames;
    report = statistics_structure_locked (self);
  }
  g_mutex_unlock (&self->stats_lock);

  if (latency_changed) {
    GST_DEBUG_OBJECT (self, "latency now %" GST_TIME_FORMAT,
        GST_TIME_ARGS (latency));
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
  }
  if (report != NULL)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), report));
}

/* ------------------------------------------------------------ the engine */

/* Says once per engine what a reduced precision request ended as. */
static void
report_precision (GstTunitFilter *self, TunitPrecision requested,
    const gchar *description)
{
  if (requested != TUNIT_PRECISION_FP16 && requested != TUNIT_PRECISION_BF16)
    return;
  GST_ELEMENT_INFO (self, LIBRARY, SETTINGS,
      ("precision=%s was asked for; the engine runs: %s",
          requested == TUNIT_PRECISION_BF16 ? "bf16" : "fp16", description),
      (NULL));
}

/* Makes the engine on queue (taken) the one in use.  Streaming thread with
 * nothing in flight, or start(). */
static void
use_engine (GstTunitFilter *self, TunitFrameQueue *queue,
    const gchar *model_path, TunitPrecision precision)
{
  TunitEngine *engine = tunit_frame_queue_get_engine (queue);
  const gchar *description = tunit_engine_get_description (engine);

  GST_INFO_OBJECT (self, "model %s on %s", model_path, description);
  report_precision (self, precision, description);
  self->on_vulkan = g_str_equal (tunit_engine_get_backend_name (engine), "vulkan");
  g_clear_pointer (&self->model, tunit_model_unref);
  self->model = tunit_model_ref (tunit_engine_get_model (engine));
  g_free (self->model_in_use);
  self->model_in_use = g_strdup (model_path);
  if (self->queue != NULL)
    gst_tunit_preparer_dispose_queue (self->preparer, self->queue);
  self->queue = queue;
}

typedef struct {
  GstElement *element;
  GstTunitPrepared *prepared;
} StyleCall;

static void
style_call_free (gpointer data)
{
  StyleCall *call = data;

  gst_tunit_prepared_free (call->prepared);
  g_free (call);
}

/* On the engine's thread, between two frames: the guide (for a reference)
 * and the style MLP. */
static void
run_style_call (TunitEngine *engine, gpointer data)
{
  StyleCall *call = data;
  GstTunitPrepared *prepared = call->prepared;
  GError *error = NULL;

  if (gst_tunit_apply_style (engine, prepared->style_image,
          prepared->style_code, prepared->description, &error)) {
    GST_INFO_OBJECT (call->element, "style now from %s", prepared->description);
    return;
  }
  GST_WARNING_OBJECT (call->element, "%s", error->message);
  gst_tunit_post_problem (call->element, GST_MESSAGE_WARNING, error,
      "; the stream keeps the previous style");
  g_error_free (error);
}

/* Takes what the preparer finished, in order, up to the first new engine,
 * which has to wait until the old engine's frames are out. */
static void
take_prepared (GstTunitFilter *self)
{
  GstTunitPrepared *prepared;

  while (self->next_engine == NULL
      && (prepared = gst_tunit_preparer_pop (self->preparer)) != NULL) {
    if (prepared->kind == GST_TUNIT_PREPARED_ENGINE) {
      self->next_engine = prepared;
    } else if (prepared->model != self->model) {
      GST_DEBUG_OBJECT (self, "dropping %s, prepared for another model",
          prepared->description);
      gst_tunit_prepared_free (prepared);
    } else {
      StyleCall *call = g_new0 (StyleCall, 1);
      call->element = GST_ELEMENT (self);
      call->prepared = prepared;
      tunit_frame_queue_call (self->queue, run_style_call, call,
          style_call_free);
      self->have_style = TRUE;
    }
  }
}

/* Swaps in the engine that waited for the frames in flight. */
static void
swap_engine (GstTunitFilter *self)
{
  GstTunitPrepared *prepared = g_steal_pointer (&self->next_engine);
  TunitPrecision precision;

  GST_OBJECT_LOCK (self);
  precision = self->precision;
  GST_OBJECT_UNLOCK (self);
  use_engine (self, g_steal_pointer (&prepared->queue), prepared->model_path,
      precision);
  GST_INFO_OBJECT (self, "now model %s with the style of %s",
      prepared->model_path, prepared->description);
  self->have_style = TRUE;
  gst_tunit_prepared_free (prepared);
  /* the processing time starts again for the new engine */
  g_mutex_lock (&self->stats_lock);
  self->proc_avg = self->proc_peak = 0;
  g_mutex_unlock (&self->stats_lock);
}

/* -------------------------------------------------------------- lifecycle */

typedef struct {
  GstBuffer *buffer;          /* the frame, written in place when done */
  float *frame_in, *frame_out;        /* 3 * width * height */
  float *net_in, *net_out;            /* 3 * net_width * net_height */
  gsize frame_capacity, net_capacity; /* floats allocated in each */
  gint net_width, net_height;         /* the network's size, when scaled */
  gboolean scaled;
  gdouble strength;
  gint64 convert_us;          /* time spent converting it so far */
} FrameSlot;

static void
frame_slot_free (FrameSlot *slot)
{
  gst_clear_buffer (&slot->buffer);
  g_free (slot->frame_in);
  g_free (slot->frame_out);
  g_free (slot->net_in);
  g_free (slot->net_out);
  g_free (slot);
}

/* Drops the frames in flight (flush, stop): waits for the engine to
 * finish them, then lets them go. */
static void
discard_in_flight (GstTunitFilter *self)
{
  FrameSlot *slot;

  while ((slot = g_queue_pop_head (&self->in_flight)) != NULL) {
    tunit_frame_queue_wait (self->queue, NULL, NULL, NULL);
    gst_clear_buffer (&slot->buffer);
    g_queue_push_tail (&self->spare_slots, slot);
  }
}

static void
release_streaming_state (GstTunitFilter *self)
{
  GstTunitPreparer *preparer;

  if (self->queue != NULL)
    discard_in_flight (self);
  GST_OBJECT_LOCK (self);
  preparer = g_steal_pointer (&self->preparer);
  GST_OBJECT_UNLOCK (self);
  /* stops after its current step; frees the engines it was handed */
  gst_tunit_preparer_free (preparer);
  g_clear_pointer (&self->next_engine, gst_tunit_prepared_free);
  g_clear_pointer (&self->queue, tunit_frame_queue_free);
  g_clear_pointer (&self->model, tunit_model_unref);
  g_clear_pointer (&self->model_in_use, g_free);
  g_queue_clear_full (&self->spare_slots, (GDestroyNotify) frame_slot_free);
  self->have_style = FALSE;
  self->on_vulkan = FALSE;
}

static GstFlowReturn drain_in_flight (GstTunitFilter *self);

/* The first engine and style, on the thread that changes the state: a
 * stream that cannot start is an error. */
static gboolean
gst_tunit_filter_start (GstBaseTransform *trans)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (trans);
  GstTunitSettings *settings;
  TunitFrameQueue *queue;
  float *image = NULL, *code = NULL;
  gchar *description = NULL;
  TunitEngineOptions environment = TUNIT_ENGINE_OPTIONS_INIT;
  GError *error = NULL;

  /* tuning and debugging switches (TUNIT_CPU_*, TUNIT_VULKAN_*): a bad
   * value is a warning, and the element runs without them */
  if (!tunit_engine_options_read_environment (&environment, &error)) {
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("ignoring the TUNIT_* environment variables: %s", error->message),
        (NULL));
    g_clear_error (&error);
  }

  GST_OBJECT_LOCK (self);
  self->environment_options = environment;
  settings = take_settings (self);
  GST_OBJECT_UNLOCK (self);

  queue = gst_tunit_open_engine (settings, &error);
  if (queue == NULL)
    goto failed;
  if (!gst_tunit_load_style (settings, gst_tunit_queue_model (queue),
          settings->model_path, &image, &code, &description, &error))
    goto failed;
  if (image != NULL || code != NULL) {
    if (!gst_tunit_apply_style_on_queue (queue, image, code, description,
            &error))
      goto failed;
    GST_INFO_OBJECT (self, "style from %s", description);
    self->have_style = TRUE;
  }
  g_free (image);
  g_free (code);
  g_free (description);

  reset_statistics (self);
  use_engine (self, queue, settings->model_path, settings->options.precision);

  GST_OBJECT_LOCK (self);
  self->preparer = gst_tunit_preparer_new (GST_ELEMENT (self), self->model,
      settings->model_path, settings);
  /* a property may have changed since the snapshot */
  if (self->engine_request != settings->engine_request
      || self->style_request != settings->style_request)
    gst_tunit_preparer_request (self->preparer, take_settings (self));
  GST_OBJECT_UNLOCK (self);
  gst_tunit_settings_free (settings);
  return TRUE;

failed:
  gst_tunit_post_problem (GST_ELEMENT (self), GST_MESSAGE_ERROR, error, NULL);
  g_error_free (error);
  g_clear_pointer (&queue, tunit_frame_queue_free);
  g_free (image);
  g_free (code);
  g_free (description);
  gst_tunit_settings_free (settings);
  self->have_style = FALSE;
  return FALSE;
}

static gboolean
gst_tunit_filter_stop (GstBaseTransform *trans)
{
  release_streaming_state (GST_TUNIT_FILTER (trans));
  return TRUE;
}

static gboolean
gst_tunit_filter_set_info (GstVideoFilter *filter, GstCaps *incaps,
    GstVideoInfo *in_info, GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (filter);

  if (GST_VIDEO_INFO_FORMAT (in_info) != GST_VIDEO_INFO_FORMAT (out_info)
      || GST_VIDEO_INFO_WIDTH (in_info) != GST_VIDEO_INFO_WIDTH (out_info)
      || GST_VIDEO_INFO_HEIGHT (in_info) != GST_VIDEO_INFO_HEIGHT (out_info)) {
    GST_ERROR_OBJECT (self, "input and output caps differ");
    return FALSE;
  }
  /* the frames in flight go out with the caps they came with: drained
   * before a caps event already, but a reconfiguration lands here */
  drain_in_flight (self);
  self->info = *in_info;
  gst_tunit_video_layout (in_info, &self->layout);

  g_mutex_lock (&self->stats_lock);
  self->frame_duration = in_info->fps_n > 0 ?
      gst_util_uint64_scale_int (GST_SECOND, in_info->fps_d, in_info->fps_n) :
      GST_CLOCK_TIME_NONE;
  g_mutex_unlock (&self->stats_lock);

  GST_DEBUG_OBJECT (self, "%s %dx%d%s", GST_VIDEO_INFO_NAME (in_info),
      self->layout.width, self->layout.height,
      self->layout.color == TUNIT_COLOR_YUV ? (self->layout.full_range ?
          ", YUV full range" : ", YUV limited range") : "");
  return TRUE;
}

/* ------------------------------------------------------------ the frames */

/* The size the network sees: the frame scaled so that its longest side is
 * at most processing_size (0 = native), each side at least MIN_SIDE. */
static void
network_size (gint width, gint height, guint processing_size, gint *net_width,
    gint *net_height)
{
  gint longest = MAX (width, height);

  *net_width = width;
  *net_height = height;
  if (processing_size == 0 || (guint) longest <= processing_size)
    return;
  {
    double scale = (double) MAX (processing_size, MIN_SIDE) / longest;
    *net_width = CLAMP ((gint) lround (width * scale), MIN_SIDE, width);
    *net_height = CLAMP ((gint) lround (height * scale), MIN_SIDE, height);
  }
}

static gboolean
ensure_pair (float **a, float **b, gsize *capacity, gsize count)
{
  if (*capacity >= count)
    return TRUE;
  g_free (*a);
  g_free (*b);
  *a = g_try_new (float, count);
  *b = g_try_new (float, count);
  *capacity = (*a != NULL && *b != NULL) ? count : 0;
  return *capacity > 0;
}

static FrameSlot *
take_slot (GstTunitFilter *self, gint net_width, gint net_height)
{
  FrameSlot *slot = g_queue_pop_head (&self->spare_slots);
  gint width = self->layout.width, height = self->layout.height;

  if (slot == NULL)
    slot = g_new0 (FrameSlot, 1);
  slot->scaled = net_width != width || net_height != height;
  slot->net_width = net_width;
  slot->net_height = net_height;
  if (!ensure_pair (&slot->frame_in, &slot->frame_out, &slot->frame_capacity,
          (gsize) 3 * width * height)
      || (slot->scaled && !ensure_pair (&slot->net_in, &slot->net_out,
              &slot->net_capacity, (gsize) 3 * net_width * net_height))) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
        ("out of memory for %dx%d frames", width, height), (NULL));
    frame_slot_free (slot);
    return NULL;
  }
  return slot;
}

/* Converts the frame in inbuf (taken) to planar floats and submits it to
 * the engine's thread (even with one frame in flight: see frame-queue.c). */
static GstFlowReturn
submit_frame (GstTunitFilter *self, GstBuffer *inbuf)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstBuffer *outbuf = NULL;
  GstVideoFrame frame;
  TunitImageLayout layout = self->layout;
  guint8 *planes[4];
  FrameSlot *slot;
  GstFlowReturn ret;
  gint net_width, net_height;
  guint processing_size;
  gint64 start = g_get_monotonic_time ();

  /* in place: inbuf itself when writable, else a copy */
  ret = GST_BASE_TRANSFORM_CLASS (gst_tunit_filter_parent_class)->
      prepare_output_buffer (trans, inbuf, &outbuf);
  if (outbuf != inbuf)
    gst_buffer_unref (inbuf);
  if (ret != GST_FLOW_OK)
    return ret;

  GST_OBJECT_LOCK (self);
  processing_size = self->processing_size;
  GST_OBJECT_UNLOCK (self);
  network_size (layout.width, layout.height, processing_size, &net_width,
      &net_height);
  slot = take_slot (self, net_width, net_height);
  if (slot == NULL) {
    gst_buffer_unref (outbuf);
    return GST_FLOW_ERROR;
  }
  if (!gst_video_frame_map (&frame, &self->info, outbuf, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("cannot map a video frame"),
        (NULL));
    gst_buffer_unref (outbuf);
    g_queue_push_tail (&self->spare_slots, slot);
    return GST_FLOW_ERROR;
  }
  gst_tunit_video_frame_planes (&frame, &layout, planes);
  tunit_image_to_planar ((const guint8 * const *) planes, &layout,
      slot->frame_in);
  gst_video_frame_unmap (&frame);

  GST_OBJECT_LOCK (self);
  slot->strength = self->strength;
  GST_OBJECT_UNLOCK (self);
  slot->buffer = outbuf;
  {
    const float *input = slot->frame_in;
    float *output = slot->frame_out;
    if (slot->scaled) {
      tunit_planar_resize (slot->frame_in, layout.width, layout.height,
          slot->net_in, net_width, net_height);
      input = slot->net_in;
      output = slot->net_out;
    }
    slot->convert_us = g_get_monotonic_time () - start;
    tunit_frame_queue_submit (self->queue, input, net_width, net_height,
        output, slot);
  }
  g_queue_push_tail (&self->in_flight, slot);
  return GST_FLOW_OK;
}

/* Waits for the oldest frame in flight and writes its translation into its
 * buffer, returned in *outbuf. */
static GstFlowReturn
finish_frame (GstTunitFilter *self, GstBuffer **outbuf, guint depth)
{
  FrameSlot *slot = g_queue_pop_head (&self->in_flight);
  TunitImageLayout layout = self->layout;
  gsize i, n = (gsize) 3 * layout.width * layout.height;
  GstVideoFrame frame;
  guint8 *planes[4];
  GError *error = NULL;
  gint64 compute_us = 0, start;
  gpointer done = NULL;

  *outbuf = NULL;
  if (tunit_frame_queue_wait (self->queue, &done, &compute_us, &error))
    g_assert (done == slot);
  if (error != NULL) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
        ("translating a %dx%d frame failed: %s", slot->net_width,
            slot->net_height, error->message), (NULL));
    g_error_free (error);
    gst_clear_buffer (&slot->buffer);
    g_queue_push_tail (&self->spare_slots, slot);
    return GST_FLOW_ERROR;
  }

  start = g_get_monotonic_time ();
  if (slot->scaled)
    tunit_planar_resize (slot->net_out, slot->net_width, slot->net_height,
        slot->frame_out, layout.width, layout.height);
  if (slot->strength < 1.0) {
    float s = (float) slot->strength;
    for (i = 0; i < n; i++)
      slot->frame_out[i] = slot->frame_in[i]
          + s * (slot->frame_out[i] - slot->frame_in[i]);
  }
  if (!gst_video_frame_map (&frame, &self->info, slot->buffer, GST_MAP_WRITE)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("cannot map a video frame"),
        (NULL));
    gst_clear_buffer (&slot->buffer);
    g_queue_push_tail (&self->spare_slots, slot);
    return GST_FLOW_ERROR;
  }
  gst_tunit_video_frame_planes (&frame, &layout, planes);
  tunit_planar_to_image (slot->frame_out, &layout, planes);
  gst_video_frame_unmap (&frame);

  record_frame (self, slot->convert_us + compute_us
      + (g_get_monotonic_time () - start), depth);
  *outbuf = g_steal_pointer (&slot->buffer);
  g_queue_push_tail (&self->spare_slots, slot);
  return GST_FLOW_OK;
}

/* Pushes every frame in flight downstream (before EOS, a caps change, a
 * segment, ...: whatever must not overtake them). */
static GstFlowReturn
drain_in_flight (GstTunitFilter *self)
{
  GstFlowReturn ret = GST_FLOW_OK;
  GstBuffer *outbuf;
  guint depth = frames_in_flight (self);

  while (!g_queue_is_empty (&self->in_flight)) {
    GstFlowReturn frame_ret = finish_frame (self, &outbuf, depth);
    if (frame_ret == GST_FLOW_OK && ret == GST_FLOW_OK)
      ret = gst_pad_push (GST_BASE_TRANSFORM_SRC_PAD (self), outbuf);
    else if (outbuf != NULL)
      gst_buffer_unref (outbuf);   /* downstream refused one: drop the rest */
    if (ret == GST_FLOW_OK)
      ret = frame_ret;
  }
  return ret;
}

/* No style yet (none was set at start): wait for a preparation that may
 * still be running.  Without a style, there is nothing to show. */
static gboolean
wait_for_first_style (GstTunitFilter *self)
{
  gst_tunit_preparer_wait_idle (self->preparer);
  take_prepared (self);
  if (self->next_engine != NULL)
    swap_engine (self);       /* nothing is in flight without a style */
  if (self->have_style)
    return TRUE;
  GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
      ("no style to translate to: set the `style` property to a reference "
          "image or `domain` to a pseudo-domain index"), (NULL));
  return FALSE;
}

static GstFlowReturn
gst_tunit_filter_submit_input_buffer (GstBaseTransform *trans,
    gboolean is_discont, GstBuffer *input)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (trans);
  GstClockTime duration = GST_BUFFER_DURATION (input);
  GstFlowReturn ret;

  ret = GST_BASE_TRANSFORM_CLASS (gst_tunit_filter_parent_class)->
      submit_input_buffer (trans, is_discont, input);
  g_mutex_lock (&self->stats_lock);
  if (ret == GST_BASE_TRANSFORM_FLOW_DROPPED)
    self->dropped++;            /* late: QoS dropped it */
  if (self->info.fps_n == 0 && GST_CLOCK_TIME_IS_VALID (duration))
    self->frame_duration = duration;
  g_mutex_unlock (&self->stats_lock);
  return ret;
}

/* Frames in flight stay inside GstBaseTransform rather than in an element
 * of our own with a source pad task: the base class's submit_input_buffer
 * keeps its QoS (a late input is dropped before it costs a conversion, and
 * counted), its allocation and caps handling and the controller sync, and
 * generate_output may return nothing (a frame just went in flight) or one
 * buffer per call, which chain() pushes in order.  The price: a frame
 * leaves when a later one comes in (or at a drain), not the moment it is
 * done, so with N in flight the latency is N - 1 frame durations more,
 * which the LATENCY query reports; a pushing thread would save that but
 * would need its own flushing, EOS and QoS.
 *
 * Called after each input (queued_buf) and again as long as it returns a
 * buffer: submits the input, then returns the oldest frame once
 * max-frames-in-flight are in flight.  A frame boundary: the place where
 * prepared changes are taken. */
static GstFlowReturn
gst_tunit_filter_generate_output (GstBaseTransform *trans, GstBuffer **outbuf)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (trans);
  guint depth = frames_in_flight (self);
  gdouble strength;

  *outbuf = NULL;
  if (trans->queued_buf != NULL) {
    take_prepared (self);
    if (self->next_engine != NULL) {
      /* the old engine's frames go out first */
      if (!g_queue_is_empty (&self->in_flight))
        return finish_frame (self, outbuf, depth);
      swap_engine (self);
      depth = frames_in_flight (self);
    }
    if (!self->have_style && !wait_for_first_style (self))
      return GST_FLOW_ERROR;

    GST_OBJECT_LOCK (self);
    strength = self->strength;
    GST_OBJECT_UNLOCK (self);
    if (strength <= 0.0) {
      /* the input untouched, in order after the frames in flight */
      if (!g_queue_is_empty (&self->in_flight))
        return finish_frame (self, outbuf, depth);
      gst_base_transform_set_passthrough (trans, TRUE);
      *outbuf = g_steal_pointer (&trans->queued_buf);
      return GST_FLOW_OK;
    }
    gst_base_transform_set_passthrough (trans, FALSE);
    {
      GstFlowReturn ret = submit_frame (self,
          g_steal_pointer (&trans->queued_buf));
      if (ret != GST_FLOW_OK)
        return ret;
    }
  }
  if (!g_queue_is_empty (&self->in_flight)
      && g_queue_get_length (&self->in_flight) >= depth)
    return finish_frame (self, outbuf, depth);
  return GST_FLOW_OK;
}

static gboolean
gst_tunit_filter_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP) {
    discard_in_flight (self);
  } else if (GST_EVENT_IS_SERIALIZED (event)
      && !g_queue_is_empty (&self->in_flight)) {
    GstFlowReturn ret = drain_in_flight (self);
    if (ret != GST_FLOW_OK)
      GST_DEBUG_OBJECT (self, "draining before %s: %s",
          GST_EVENT_TYPE_NAME (event), gst_flow_get_name (ret));
  }
  return GST_BASE_TRANSFORM_CLASS (gst_tunit_filter_parent_class)->sink_event
      (trans, event);
}

static void
gst_tunit_filter_before_transform (GstBaseTransform *trans, GstBuffer *buffer)
{
  GstClockTime stream_time = gst_segment_to_stream_time (&trans->segment,
      GST_FORMAT_TIME, GST_BUFFER_PTS (buffer));

  /* controlled properties (strength) follow the stream */
  if (GST_CLOCK_TIME_IS_VALID (stream_time))
    gst_object_sync_values (GST_OBJECT (trans), stream_time);
}

/* Upstream's pools need room for the buffers the element holds in flight. */
static gboolean
gst_tunit_filter_propose_allocation (GstBaseTransform *trans,
    GstQuery *decide_query, GstQuery *query)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (trans);
  guint i, size, min, max, extra = frames_in_flight (self);
  GstBufferPool *pool;

  if (!GST_BASE_TRANSFORM_CLASS (gst_tunit_filter_parent_class)->
      propose_allocation (trans, decide_query, query))
    return FALSE;
  for (i = 0; i < gst_query_get_n_allocation_pools (query); i++) {
    gst_query_parse_nth_allocation_pool (query, i, &pool, &size, &min, &max);
    min += extra;
    if (max != 0 && max < min)
      max = min;
    gst_query_set_nth_allocation_pool (query, i, pool, size, min, max);
    if (pool)
      gst_object_unref (pool);
  }
  return TRUE;
}

static gboolean
gst_tunit_filter_query (GstBaseTransform *trans, GstPadDirection direction,
    GstQuery *query)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (trans);
  gboolean live;
  GstClockTime min, max, latency;

  if (direction == GST_PAD_SINK && GST_QUERY_TYPE (query) == GST_QUERY_DRAIN)
    drain_in_flight (self);
  if (direction != GST_PAD_SRC || GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS (gst_tunit_filter_parent_class)->query
        (trans, direction, query);

  if (!GST_BASE_TRANSFORM_CLASS (gst_tunit_filter_parent_class)->query
      (trans, direction, query))
    return FALSE;

  gst_query_parse_latency (query, &live, &min, &max);
  g_mutex_lock (&self->stats_lock);
  latency = self->latency;
  g_mutex_unlock (&self->stats_lock);
  GST_DEBUG_OBJECT (self, "upstream latency min %" GST_TIME_FORMAT " max %"
      GST_TIME_FORMAT ", adding %" GST_TIME_FORMAT, GST_TIME_ARGS (min),
      GST_TIME_ARGS (max), GST_TIME_ARGS (latency));
  min += latency;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += latency;
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

/* ------------------------------------------------------------------ class */

static void
gst_tunit_filter_finalize (GObject *object)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (object);

  release_streaming_state (self);
  g_free (self->model_path);
  g_free (self->style_path);
  g_mutex_clear (&self->stats_lock);
  G_OBJECT_CLASS (gst_tunit_filter_parent_class)->finalize (object);
}

#define LIVE_CHANGE_DOC " Can be changed while PLAYING: the change is " \
  "prepared off the streaming thread and swapped in between two frames; " \
  "until then frames keep the old value, and a bad value is a warning that " \
  "leaves the stream as it was."

static void
install_properties (GObjectClass *gobject_class)
{
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of the TUNIT model file (.safetensors, made by tunit-convert). "
          "NULL (the default): the TUNIT_MODEL environment variable when set, "
          "else the installed default model " TUNIT_DEFAULT_MODEL_PATH "."
          LIVE_CHANGE_DOC, NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_STYLE,
      g_param_spec_string ("style", "Style reference image",
          "Path of a reference image (PNG, JPEG or anything GStreamer decodes; "
          "the first frame of a video) whose style the frames are translated "
          "to. It is resized to the model's img_size and run through the "
          "guiding network once per change. When both `style` and `domain` "
          "are set, the one set last wins. Empty or NULL unsets it."
          LIVE_CHANGE_DOC, NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_DOMAIN,
      g_param_spec_int ("domain", "Pseudo-domain",
          "Index of the pseudo-domain whose centroid style code (stored in "
          "the model, see `tunit centroids`) the frames are translated to, "
          "0..K-1 for a model of K pseudo-domains; -1 = unset. When both "
          "`style` and `domain` are set, the one set last wins."
          LIVE_CHANGE_DOC, -1, G_MAXINT, DEFAULT_DOMAIN,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_BACKEND,
      g_param_spec_enum ("backend", "Backend",
          "Compute backend: auto (Vulkan on a GPU when one exists, else CPU; "
          "a CPU-only Vulkan driver such as lavapipe is skipped), vulkan "
          "(error if no Vulkan device is usable) or cpu (OpenBLAS)."
          LIVE_CHANGE_DOC, GST_TYPE_TUNIT_BACKEND, DEFAULT_BACKEND,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_int ("device", "Vulkan device",
          "Index of the Vulkan device to run on (as listed by "
          "`tunit devices`); -1 = choose automatically (the TUNIT_VULKAN_DEVICE "
          "environment variable, else the best device)." LIVE_CHANGE_DOC,
          -1, G_MAXINT, DEFAULT_DEVICE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_uint ("threads", "CPU threads",
          "Threads of the CPU backend; 0 = one per core. The Vulkan backend "
          "ignores it." LIVE_CHANGE_DOC, 0, 1024, DEFAULT_THREADS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_PRECISION,
      g_param_spec_enum ("precision", "Precision",
          "Arithmetic of the network: auto (fp16 on Vulkan devices with "
          "16-bit storage, else fp32), fp32, fp16 or bf16. On the CPU, bf16 "
          "runs the convolutions with bf16 inputs and weights (fp32 "
          "accumulation) where the CPU has AMX-BF16 or AVX512-BF16; a backend "
          "without the precision asked for runs fp32. Either way an info "
          "message says what runs." LIVE_CHANGE_DOC,
          GST_TYPE_TUNIT_PRECISION, DEFAULT_PRECISION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_PROCESSING_SIZE,
      g_param_spec_uint ("processing-size", "Processing size",
          "Longest side, in pixels, of the picture the network sees: larger "
          "frames are scaled down (area averaging) for the network and the "
          "translation is scaled back up (bilinear) to the frame size; smaller "
          "frames are processed at their own size. Each side is at least 16. "
          "0 = always the native frame size. Trades detail for speed. "
          "Can be changed while PLAYING (from the next frame on).",
          0, G_MAXINT, DEFAULT_PROCESSING_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_STRENGTH,
      g_param_spec_double ("strength", "Strength",
          "Blend between the input frame (0) and its translation (1): "
          "output = input + strength * (translation - input). At 0 the "
          "element is in passthrough: frames go through untouched, without "
          "a copy and without running the network. "
          "Can be changed while PLAYING (controllable).",
          0.0, 1.0, DEFAULT_STRENGTH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING
          | GST_PARAM_CONTROLLABLE));

  g_object_class_install_property (gobject_class, PROP_MAX_FRAMES_IN_FLIGHT,
      g_param_spec_uint ("max-frames-in-flight", "Frames in flight",
          "Frames converted and queued to the engine before the oldest is "
          "output, so that the conversion of one frame overlaps the "
          "computation of the previous one. 0 = automatic: 2 on Vulkan, 1 "
          "on the CPU backend (which would share its cores with the "
          "conversion). Each extra frame adds one frame duration to the "
          "reported latency. Frames leave in order with their timestamps; "
          "EOS, caps changes and other serialized events drain them, a "
          "flush drops them. Can be changed while PLAYING.",
          0, MAX_FRAMES_IN_FLIGHT, DEFAULT_MAX_FRAMES_IN_FLIGHT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_STATISTICS_INTERVAL,
      g_param_spec_uint ("statistics-interval", "Statistics interval",
          "Post an element message \"tunit-statistics\" (the structure of "
          "the `statistics` property) every this many translated frames; "
          "0 = never. Can be changed while PLAYING.",
          0, G_MAXUINT, DEFAULT_STATISTICS_INTERVAL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_STATISTICS,
      g_param_spec_boxed ("statistics", "Statistics",
          "Counters since the stream started, as a \"tunit-statistics\" "
          "structure: frames (translated), dropped (late, by QoS), mean-ms "
          "and max-ms (processing time per frame: conversion in, network, "
          "conversion out), frames-in-flight, latency-ms (what the element "
          "adds to the pipeline's latency).",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
}

static void
gst_tunit_filter_class_init (GstTunitFilterClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_tunit_filter_debug, "tunitfilter", 0,
      "TUNIT image-to-image translation");

  gobject_class->set_property = gst_tunit_filter_set_property;
  gobject_class->get_property = gst_tunit_filter_get_property;
  gobject_class->finalize = gst_tunit_filter_finalize;
  install_properties (gobject_class);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "TUNIT image-to-image translation", "Filter/Effect/Video",
      "Translates every video frame with a TUNIT generator (Baek et al., "
      "ICCV 2021) to the style of a reference image or of a pseudo-domain",
      "gst-tunit developers");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_tunit_filter_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_tunit_filter_stop);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_tunit_filter_query);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_tunit_filter_sink_event);
  trans_class->before_transform =
      GST_DEBUG_FUNCPTR (gst_tunit_filter_before_transform);
  trans_class->submit_input_buffer =
      GST_DEBUG_FUNCPTR (gst_tunit_filter_submit_input_buffer);
  trans_class->generate_output =
      GST_DEBUG_FUNCPTR (gst_tunit_filter_generate_output);
  trans_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_tunit_filter_propose_allocation);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_tunit_filter_set_info);

  gst_type_mark_as_plugin_api (GST_TYPE_TUNIT_BACKEND, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_TUNIT_PRECISION, 0);
}

static void
gst_tunit_filter_init (GstTunitFilter *self)
{
  self->model_path = NULL;
  self->style_path = NULL;
  self->domain = DEFAULT_DOMAIN;
  self->backend = DEFAULT_BACKEND;
  self->device = DEFAULT_DEVICE;
  self->threads = DEFAULT_THREADS;
  self->precision = DEFAULT_PRECISION;
  self->environment_options = (TunitEngineOptions) TUNIT_ENGINE_OPTIONS_INIT;
  self->processing_size = DEFAULT_PROCESSING_SIZE;
  self->strength = DEFAULT_STRENGTH;
  self->max_in_flight = DEFAULT_MAX_FRAMES_IN_FLIGHT;
  self->statistics_interval = DEFAULT_STATISTICS_INTERVAL;
  self->style_source = GST_TUNIT_STYLE_SOURCE_NONE;
  g_queue_init (&self->in_flight);
  g_queue_init (&self->spare_slots);
  g_mutex_init (&self->stats_lock);
  self->frame_duration = GST_CLOCK_TIME_NONE;
  self->latency_depth = 1;

  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), TRUE);
}
