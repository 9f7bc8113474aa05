/* gsttunitfilter.c - the tunitfilter element.
 *
 * A GstVideoFilter that translates every frame in place with the TUNIT
 * generator of libtunit.  The element stays thin: it converts pixels to the
 * engine's planar layout and back, scales for `processing-size`, blends for
 * `strength`, and turns the style properties into a style code.
 *
 * Threading: the engine is not thread-safe, so only the thread that runs
 * start()/stop() (while no data flows) and the streaming thread touch it.
 * Property setters record requests under the object lock; a change of
 * `style` or `domain` bumps a request counter, and the streaming thread
 * applies the newest request at the start of the next frame.  The network
 * is never reallocated for a style change: only the style MLP runs again.
 */
#include <math.h>
#include <string.h>

#include "gsttunitfilter.h"
#include "reference-image.h"
#include "tunit-config.h"

GST_DEBUG_CATEGORY_STATIC (gst_tunit_filter_debug);
#define GST_CAT_DEFAULT gst_tunit_filter_debug

enum {
  PROP_0,
  PROP_MODEL,
  PROP_STYLE,
  PROP_DOMAIN,
  PROP_BACKEND,
  PROP_DEVICE,
  PROP_PROCESSING_SIZE,
  PROP_STRENGTH,
};

#define DEFAULT_DOMAIN (-1)
#define DEFAULT_BACKEND TUNIT_BACKEND_AUTO
#define DEFAULT_DEVICE (-1)
#define DEFAULT_PROCESSING_SIZE 0
#define DEFAULT_STRENGTH 1.0

/* The smallest side the network accepts. */
#define MIN_SIDE 16

#define TUNIT_FORMATS "{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, ARGB, ABGR, xRGB, xBGR }"
#define TUNIT_CAPS \
  "video/x-raw, format = (string) " TUNIT_FORMATS ", " \
  "width = (int) [ 16, 2147483647 ], height = (int) [ 16, 2147483647 ], " \
  "framerate = (fraction) [ 0/1, 2147483647/1 ]"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (TUNIT_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (TUNIT_CAPS));

G_DEFINE_TYPE (GstTunitFilter, gst_tunit_filter, GST_TYPE_VIDEO_FILTER);

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

/* ------------------------------------------------------------ properties */

static gboolean
state_allows_change (GstTunitFilter *self, GParamSpec *pspec)
{
  /* Called with the object lock held. */
  if (GST_STATE (self) > GST_STATE_READY
      || GST_STATE_PENDING (self) > GST_STATE_READY) {
    GST_WARNING_OBJECT (self, "property '%s' can only be changed in the NULL "
        "or READY state; ignoring the new value", pspec->name);
    return FALSE;
  }
  return TRUE;
}

static void
gst_tunit_filter_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      if (state_allows_change (self, pspec)) {
        g_free (self->model_path);
        self->model_path = g_value_dup_string (value);
      }
      break;
    case PROP_STYLE:{
      const gchar *path = g_value_get_string (value);
      g_free (self->style_path);
      self->style_path = (path != NULL && *path != '\0') ? g_strdup (path) : NULL;
      if (self->style_path != NULL)
        self->style_source = GST_TUNIT_STYLE_SOURCE_REFERENCE;
      else if (self->domain >= 0)
        self->style_source = GST_TUNIT_STYLE_SOURCE_DOMAIN;
      else
        self->style_source = GST_TUNIT_STYLE_SOURCE_NONE;
      self->style_request++;
      GST_DEBUG_OBJECT (self, "style request %" G_GUINT64_FORMAT ": reference %s",
          self->style_request, GST_STR_NULL (self->style_path));
      break;
    }
    case PROP_DOMAIN:
      self->domain = g_value_get_int (value);
      if (self->domain >= 0)
        self->style_source = GST_TUNIT_STYLE_SOURCE_DOMAIN;
      else if (self->style_path != NULL)
        self->style_source = GST_TUNIT_STYLE_SOURCE_REFERENCE;
      else
        self->style_source = GST_TUNIT_STYLE_SOURCE_NONE;
      self->style_request++;
      GST_DEBUG_OBJECT (self, "style request %" G_GUINT64_FORMAT ": domain %d",
          self->style_request, self->domain);
      break;
    case PROP_BACKEND:
      if (state_allows_change (self, pspec))
        self->backend = g_value_get_enum (value);
      break;
    case PROP_DEVICE:
      if (state_allows_change (self, pspec))
        self->device = g_value_get_int (value);
      break;
    case PROP_PROCESSING_SIZE:
      self->processing_size = g_value_get_uint (value);
      break;
    case PROP_STRENGTH:
      self->strength = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_tunit_filter_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (object);

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
    case PROP_PROCESSING_SIZE:
      g_value_set_uint (value, self->processing_size);
      break;
    case PROP_STRENGTH:
      g_value_set_double (value, self->strength);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* ------------------------------------------------------------- the style */

/* Applies the newest style request to the engine.  Streaming thread (or
 * start()) only.  Posts an element error and returns FALSE on failure. */
static gboolean
apply_style_request (GstTunitFilter *self)
{
  const TunitArchitecture *arch = tunit_model_get_architecture (self->model);
  GstTunitStyleSource source;
  guint64 request;
  gchar *path;
  gint domain;
  GError *error = NULL;
  gboolean ok = FALSE;

  GST_OBJECT_LOCK (self);
  if (self->style_request == self->style_applied) {
    GST_OBJECT_UNLOCK (self);
    return TRUE;
  }
  request = self->style_request;
  source = self->style_source;
  path = g_strdup (self->style_path);
  domain = self->domain;
  GST_OBJECT_UNLOCK (self);

  switch (source) {
    case GST_TUNIT_STYLE_SOURCE_NONE:
      /* Both unset: keep translating with the style the engine has. */
      if (self->have_style)
        GST_INFO_OBJECT (self, "style and domain unset; keeping the last style");
      ok = TRUE;
      break;

    case GST_TUNIT_STYLE_SOURCE_REFERENCE:{
      float *image = gst_tunit_reference_image_load (path, arch->img_size, &error);
      if (image == NULL) {
        GST_ELEMENT_ERROR (self, RESOURCE, READ, ("%s", error->message),
            ("style property: %s", path));
        break;
      }
      if (!tunit_engine_compute_style (self->engine, image, self->style_code,
              NULL, &error)) {
        GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
            ("cannot compute the style code of reference image '%s': %s",
                path, error->message), (NULL));
        g_free (image);
        break;
      }
      g_free (image);
      if (!tunit_engine_set_style (self->engine, self->style_code, &error)) {
        GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
            ("cannot set the style of reference image '%s': %s", path,
                error->message), (NULL));
        break;
      }
      GST_INFO_OBJECT (self, "style from reference image %s", path);
      ok = TRUE;
      break;
    }

    case GST_TUNIT_STYLE_SOURCE_DOMAIN:{
      const float *centroid;
      if (!arch->has_centroids) {
        GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
            ("model '%s' has no pseudo-domain centroids, so `domain` cannot be "
                "used: set the `style` property to a reference image, or add "
                "centroids to the model with `tunit centroids`",
                self->loaded_model_path), ("domain=%d", domain));
        break;
      }
      if (domain >= arch->num_domains) {
        GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
            ("domain %d is out of range: model '%s' has %d pseudo-domains, "
                "valid values are 0..%d (or -1 for none)", domain,
                self->loaded_model_path, arch->num_domains,
                arch->num_domains - 1), (NULL));
        break;
      }
      centroid = tunit_model_get_centroid (self->model, domain, &error);
      if (centroid == NULL) {
        GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
            ("cannot use domain %d of model '%s': %s", domain,
                self->loaded_model_path, error->message), (NULL));
        break;
      }
      if (!tunit_engine_set_style (self->engine, centroid, &error)) {
        GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
            ("cannot set the style of domain %d: %s", domain, error->message),
            (NULL));
        break;
      }
      GST_INFO_OBJECT (self, "style from pseudo-domain %d", domain);
      ok = TRUE;
      break;
    }
  }

  if (ok) {
    if (source != GST_TUNIT_STYLE_SOURCE_NONE)
      self->have_style = TRUE;
    self->style_applied = request;
  }
  g_clear_error (&error);
  g_free (path);
  return ok;
}

/* -------------------------------------------------------------- lifecycle */

static void
free_frame_buffers (GstTunitFilter *self)
{
  g_clear_pointer (&self->frame_in, g_free);
  g_clear_pointer (&self->frame_out, g_free);
  g_clear_pointer (&self->net_in, g_free);
  g_clear_pointer (&self->net_out, g_free);
  self->net_width = self->net_height = 0;
}

static void
release_engine (GstTunitFilter *self)
{
  g_clear_pointer (&self->engine, tunit_engine_free);
  g_clear_pointer (&self->model, tunit_model_unref);
  g_clear_pointer (&self->style_code, g_free);
  g_clear_pointer (&self->loaded_model_path, g_free);
  self->have_style = FALSE;
  self->style_applied = 0;
}

static gboolean
gst_tunit_filter_start (GstBaseTransform *trans)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (trans);
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  const TunitArchitecture *arch;
  GError *error = NULL;
  gchar *path;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  options.backend = self->backend;
  options.device_index = self->device;
  GST_OBJECT_UNLOCK (self);

  /* tuning and debugging switches (TUNIT_CPU_*, TUNIT_VULKAN_*): a bad
   * value is a warning, and the element runs without them */
  if (!tunit_engine_options_read_environment (&options, &error)) {
    GST_ELEMENT_WARNING (self, LIBRARY, SETTINGS,
        ("ignoring the TUNIT_* environment variables: %s", error->message),
        (NULL));
    g_clear_error (&error);
  }

  if (path == NULL || *path == '\0') {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("no model: set the `model` property (or the TUNIT_MODEL environment "
            "variable) to a .safetensors model file"), (NULL));
    g_free (path);
    return FALSE;
  }
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("model file '%s' does not exist: set the `model` property (or the "
            "TUNIT_MODEL environment variable) to a .safetensors model file",
            path), (NULL));
    g_free (path);
    return FALSE;
  }

  self->model = tunit_model_load (path, &error);
  if (self->model == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ,
        ("cannot load model '%s': %s", path, error->message), (NULL));
    g_error_free (error);
    g_free (path);
    return FALSE;
  }
  self->loaded_model_path = path;
  arch = tunit_model_get_architecture (self->model);

  self->engine = tunit_engine_new (self->model, &options, &error);
  if (self->engine == NULL) {
    if (options.backend == TUNIT_BACKEND_VULKAN
        || g_error_matches (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE)) {
      gchar *device = options.device_index >= 0 ?
          g_strdup_printf ("Vulkan device %d", options.device_index) :
          g_strdup ("a Vulkan device");
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("cannot use %s (backend=vulkan): %s; use backend=cpu, or "
              "backend=auto to fall back to the CPU", device, error->message),
          ("model %s", path));
      g_free (device);
    } else {
      GST_ELEMENT_ERROR (self, LIBRARY, INIT,
          ("cannot start the TUNIT engine for model '%s': %s", path,
              error->message), (NULL));
    }
    g_error_free (error);
    release_engine (self);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "model %s (img_size %d, style_dim %d, %d domains%s) "
      "on %s: %s", path, arch->img_size, arch->style_dim, arch->num_domains,
      arch->has_centroids ? ", centroids" : "",
      tunit_engine_get_backend_name (self->engine),
      tunit_engine_get_description (self->engine));

  self->style_code = g_new0 (float, arch->style_dim);
  self->have_style = FALSE;
  self->style_applied = 0;

  g_mutex_lock (&self->latency_lock);
  self->proc_avg = self->proc_peak = self->latency = 0;
  g_mutex_unlock (&self->latency_lock);

  /* Apply the style now, so that a bad reference image or domain fails the
   * state change instead of the first frame. */
  if (!apply_style_request (self)) {
    release_engine (self);
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_tunit_filter_stop (GstBaseTransform *trans)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (trans);

  release_engine (self);
  free_frame_buffers (self);
  return TRUE;
}

static gboolean
gst_tunit_filter_set_info (GstVideoFilter *filter, GstCaps *incaps,
    GstVideoInfo *in_info, GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (filter);
  const GstVideoFormatInfo *finfo = in_info->finfo;
  gint width = GST_VIDEO_INFO_WIDTH (in_info);
  gint height = GST_VIDEO_INFO_HEIGHT (in_info);
  gsize n = (gsize) 3 * width * height;

  if (GST_VIDEO_INFO_FORMAT (in_info) != GST_VIDEO_INFO_FORMAT (out_info)
      || width != GST_VIDEO_INFO_WIDTH (out_info)
      || height != GST_VIDEO_INFO_HEIGHT (out_info)) {
    GST_ERROR_OBJECT (self, "input and output caps differ");
    return FALSE;
  }

  self->info = *in_info;
  self->layout.width = width;
  self->layout.height = height;
  self->layout.stride = GST_VIDEO_INFO_PLANE_STRIDE (in_info, 0);
  self->layout.channels = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, GST_VIDEO_COMP_R);
  self->layout.red_offset = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, GST_VIDEO_COMP_R);
  self->layout.green_offset = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, GST_VIDEO_COMP_G);
  self->layout.blue_offset = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, GST_VIDEO_COMP_B);

  free_frame_buffers (self);
  self->frame_in = g_try_new (float, n);
  self->frame_out = g_try_new (float, n);
  if (self->frame_in == NULL || self->frame_out == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
        ("out of memory for %dx%d frames", width, height), (NULL));
    free_frame_buffers (self);
    return FALSE;
  }
  GST_DEBUG_OBJECT (self, "%s %dx%d, %d bytes per pixel, R/G/B at %d/%d/%d",
      GST_VIDEO_INFO_NAME (in_info), width, height, self->layout.channels,
      self->layout.red_offset, self->layout.green_offset,
      self->layout.blue_offset);
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

static void
record_processing_time (GstTunitFilter *self, GstClockTime duration)
{
  gboolean changed = FALSE;

  g_mutex_lock (&self->latency_lock);
  if (self->proc_avg == 0) {
    self->proc_avg = self->proc_peak = duration;
  } else {
    self->proc_avg = (self->proc_avg * 7 + duration) / 8;
    /* a maximum that slowly decays towards the average */
    if (duration >= self->proc_peak)
      self->proc_peak = duration;
    else
      self->proc_peak -= (self->proc_peak - MAX (self->proc_avg, duration)) / 16;
  }
  if (self->latency == 0 || self->proc_peak > self->latency + self->latency / 4
      || self->proc_peak < self->latency / 2) {
    self->latency = self->proc_peak;
    changed = TRUE;
  }
  g_mutex_unlock (&self->latency_lock);

  if (changed) {
    GST_DEBUG_OBJECT (self, "processing latency now %" GST_TIME_FORMAT,
        GST_TIME_ARGS (self->proc_peak));
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
  }
}

static GstFlowReturn
gst_tunit_filter_transform_frame_ip (GstVideoFilter *filter, GstVideoFrame *frame)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (filter);
  TunitPixelLayout layout = self->layout;
  gint width = layout.width, height = layout.height;
  gint net_width, net_height;
  guint processing_size;
  gdouble strength;
  guint8 *pixels;
  GError *error = NULL;
  gint64 t0;

  if (self->engine == NULL || self->frame_in == NULL) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("not negotiated"), (NULL));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!apply_style_request (self))
    return GST_FLOW_ERROR;
  if (!self->have_style) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
        ("no style to translate to: set the `style` property to a reference "
            "image or `domain` to a pseudo-domain index"), (NULL));
    return GST_FLOW_ERROR;
  }

  GST_OBJECT_LOCK (self);
  strength = self->strength;
  processing_size = self->processing_size;
  GST_OBJECT_UNLOCK (self);

  if (strength <= 0.0)
    return GST_FLOW_OK;         /* the input, untouched */

  t0 = g_get_monotonic_time ();
  pixels = GST_VIDEO_FRAME_PLANE_DATA (frame, 0);
  layout.stride = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
  tunit_pixels_to_planar (pixels, &layout, self->frame_in);

  network_size (width, height, processing_size, &net_width, &net_height);
  if (net_width != width || net_height != height) {
    if (net_width != self->net_width || net_height != self->net_height) {
      gsize n = (gsize) 3 * net_width * net_height;
      g_free (self->net_in);
      g_free (self->net_out);
      self->net_in = g_new (float, n);
      self->net_out = g_new (float, n);
      self->net_width = net_width;
      self->net_height = net_height;
      GST_DEBUG_OBJECT (self, "network sees %dx%d", net_width, net_height);
    }
    tunit_planar_resize (self->frame_in, width, height, self->net_in,
        net_width, net_height);
    if (!tunit_engine_translate (self->engine, self->net_in, net_width,
            net_height, self->net_out, &error))
      goto translate_failed;
    tunit_planar_resize (self->net_out, net_width, net_height, self->frame_out,
        width, height);
  } else {
    if (!tunit_engine_translate (self->engine, self->frame_in, width, height,
            self->frame_out, &error))
      goto translate_failed;
  }

  if (strength < 1.0) {
    gsize i, n = (gsize) 3 * width * height;
    float s = (float) strength;
    for (i = 0; i < n; i++)
      self->frame_out[i] = self->frame_in[i]
          + s * (self->frame_out[i] - self->frame_in[i]);
  }

  tunit_planar_to_pixels (self->frame_out, &layout, pixels);
  record_processing_time (self,
      (GstClockTime) (g_get_monotonic_time () - t0) * GST_USECOND);
  return GST_FLOW_OK;

translate_failed:
  GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
      ("translating a %dx%d frame failed: %s", net_width, net_height,
          error->message), (NULL));
  g_error_free (error);
  return GST_FLOW_ERROR;
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

static gboolean
gst_tunit_filter_query (GstBaseTransform *trans, GstPadDirection direction,
    GstQuery *query)
{
  GstTunitFilter *self = GST_TUNIT_FILTER (trans);
  gboolean live;
  GstClockTime min, max, latency;

  if (direction != GST_PAD_SRC || GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return GST_BASE_TRANSFORM_CLASS (gst_tunit_filter_parent_class)->query
        (trans, direction, query);

  if (!GST_BASE_TRANSFORM_CLASS (gst_tunit_filter_parent_class)->query
      (trans, direction, query))
    return FALSE;

  gst_query_parse_latency (query, &live, &min, &max);
  g_mutex_lock (&self->latency_lock);
  latency = self->latency;
  g_mutex_unlock (&self->latency_lock);
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

  release_engine (self);
  free_frame_buffers (self);
  g_free (self->model_path);
  g_free (self->style_path);
  g_mutex_clear (&self->latency_lock);
  G_OBJECT_CLASS (gst_tunit_filter_parent_class)->finalize (object);
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

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of the TUNIT model file (.safetensors, made by tunit-convert). "
          "Default: the TUNIT_MODEL environment variable if set, else the "
          "installed default model. Can only be set in the NULL or READY state.",
          TUNIT_DEFAULT_MODEL_PATH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_STYLE,
      g_param_spec_string ("style", "Style reference image",
          "Path of a reference image (PNG, JPEG or anything GStreamer decodes; "
          "the first frame of a video) whose style the frames are translated "
          "to. It is resized to the model's img_size and run through the "
          "guiding network once per change. When both `style` and `domain` "
          "are set, the one set last wins. Empty or NULL unsets it. "
          "Can be changed while PLAYING: the next frame uses the new style.",
          NULL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_DOMAIN,
      g_param_spec_int ("domain", "Pseudo-domain",
          "Index of the pseudo-domain whose centroid style code (stored in "
          "the model, see `tunit centroids`) the frames are translated to, "
          "0..K-1 for a model of K pseudo-domains; -1 = unset. When both "
          "`style` and `domain` are set, the one set last wins. "
          "Can be changed while PLAYING: the next frame uses the new style.",
          -1, G_MAXINT, DEFAULT_DOMAIN,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_BACKEND,
      g_param_spec_enum ("backend", "Backend",
          "Compute backend: auto (Vulkan on a GPU when one exists, else CPU; a CPU-only Vulkan driver such as lavapipe is skipped), "
          "vulkan (error if no Vulkan device is usable) or cpu (OpenBLAS). "
          "Can only be set in the NULL or READY state.",
          GST_TYPE_TUNIT_BACKEND, DEFAULT_BACKEND,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_int ("device", "Vulkan device",
          "Index of the Vulkan device to run on (as listed by "
          "`tunit devices`); -1 = choose automatically (the TUNIT_VULKAN_DEVICE "
          "environment variable, else the best device). "
          "Can only be set in the NULL or READY state.",
          -1, G_MAXINT, DEFAULT_DEVICE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class, PROP_PROCESSING_SIZE,
      g_param_spec_uint ("processing-size", "Processing size",
          "Longest side, in pixels, of the picture the network sees: larger "
          "frames are scaled down (area averaging) for the network and the "
          "translation is scaled back up (bilinear) to the frame size; smaller "
          "frames are processed at their own size. Each side is at least 16. "
          "0 = always the native frame size. Trades detail for speed. "
          "Can be changed while PLAYING.",
          0, G_MAXINT, DEFAULT_PROCESSING_SIZE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_STRENGTH,
      g_param_spec_double ("strength", "Strength",
          "Blend between the input frame (0) and its translation (1): "
          "output = input + strength * (translation - input). At 0 the frame "
          "passes unchanged without running the network. "
          "Can be changed while PLAYING (controllable).",
          0.0, 1.0, DEFAULT_STRENGTH,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING
          | GST_PARAM_CONTROLLABLE));

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
  trans_class->before_transform =
      GST_DEBUG_FUNCPTR (gst_tunit_filter_before_transform);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_tunit_filter_set_info);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_tunit_filter_transform_frame_ip);

  gst_type_mark_as_plugin_api (GST_TYPE_TUNIT_BACKEND, 0);
}

static void
gst_tunit_filter_init (GstTunitFilter *self)
{
  const gchar *env_model = g_getenv ("TUNIT_MODEL");

  self->model_path = g_strdup (env_model != NULL && *env_model != '\0' ?
      env_model : TUNIT_DEFAULT_MODEL_PATH);
  self->style_path = NULL;
  self->domain = DEFAULT_DOMAIN;
  self->backend = DEFAULT_BACKEND;
  self->device = DEFAULT_DEVICE;
  self->processing_size = DEFAULT_PROCESSING_SIZE;
  self->strength = DEFAULT_STRENGTH;
  self->style_source = GST_TUNIT_STYLE_SOURCE_NONE;
  self->style_request = 0;
  self->style_applied = 0;
  g_mutex_init (&self->latency_lock);

  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), TRUE);
}
