/* preparer.c - tunitfilter's live changes, prepared off the streaming thread.
 *
 * A change of `style` or `domain` needs a reference image decoded (a
 * GStreamer pipeline of its own) or a centroid checked; a change of `model`
 * (or backend, device, threads, precision) needs a model loaded and an engine
 * started.  None of that may delay a frame, and none of it may stop the
 * stream when it fails: the worker here does it, posts a warning that names
 * the problem when it fails, and hands what it prepared to the streaming
 * thread, which swaps it in between two frames.
 *
 * The worker keeps its own view of where the stream is going: the model the
 * next style must fit (the one of the last engine it handed over), and a
 * candidate engine that loaded but has no usable style yet (a model change
 * whose domain is out of range for the new model).  The candidate waits for
 * the next style change; until then the stream keeps the old model and style.
 *
 * Locking: `lock` protects the request, the results, the disposals and the
 * flags.  The worker never holds it while it prepares or posts a message
 * (posting takes the element's object lock, which a setter holds when it
 * calls gst_tunit_preparer_request). */
#include "preparer.h"

#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "reference-image.h"

GST_DEBUG_CATEGORY_EXTERN (gst_tunit_filter_debug);
#define GST_CAT_DEFAULT gst_tunit_filter_debug

void
gst_tunit_settings_free (GstTunitSettings *settings)
{
  if (settings == NULL)
    return;
  g_free (settings->model_path);
  g_free (settings->style_path);
  g_free (settings);
}

void
gst_tunit_prepared_free (GstTunitPrepared *prepared)
{
  if (prepared == NULL)
    return;
  g_clear_pointer (&prepared->queue, tunit_frame_queue_free);
  g_clear_pointer (&prepared->model, tunit_model_unref);
  g_free (prepared->model_path);
  g_free (prepared->style_image);
  g_free (prepared->style_code);
  g_free (prepared->description);
  g_free (prepared);
}

void
gst_tunit_post_problem (GstElement *element, GstMessageType type,
    const GError *error, const gchar *consequence)
{
  gchar *text = g_strconcat (error->message, consequence, NULL);

  gst_element_message_full (element, type, error->domain, error->code, text,
      NULL, __FILE__, GST_FUNCTION, __LINE__);
}

/* ------------------------------------------------------- one-shot steps */

TunitModel *
gst_tunit_queue_model (TunitFrameQueue *queue)
{
  return tunit_engine_get_model (tunit_frame_queue_get_engine (queue));
}

TunitFrameQueue *
gst_tunit_open_engine (const GstTunitSettings *settings, GError **error)
{
  const gchar *path = settings->model_path;
  GError *engine_error = NULL;
  TunitModel *model;
  TunitEngine *engine;

  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "model file '%s' does not exist: set the `model` property (or the "
        "TUNIT_MODEL environment variable) to a .safetensors model file", path);
    return NULL;
  }
  /* a FIFO or device would block the loader */
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
        "cannot load model '%s': it is not a regular file", path);
    return NULL;
  }
  model = tunit_model_load (path, &engine_error);
  if (model == NULL) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
        "cannot load model '%s': %s", path, engine_error->message);
    g_error_free (engine_error);
    return NULL;
  }

  engine = tunit_engine_new (model, &settings->options, &engine_error);
  tunit_model_unref (model);    /* the engine keeps its own reference */
  if (engine != NULL)
    return tunit_frame_queue_new (engine);

  if (settings->options.backend == TUNIT_BACKEND_VULKAN
      || g_error_matches (engine_error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE)) {
    gchar *device = settings->options.device_index >= 0 ?
        g_strdup_printf ("Vulkan device %d", settings->options.device_index) :
        g_strdup ("a Vulkan device");
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
        "cannot use %s (backend=vulkan): %s; use backend=cpu, or "
        "backend=auto to fall back to the CPU", device, engine_error->message);
    g_free (device);
  } else {
    g_set_error (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT,
        "cannot start the TUNIT engine for model '%s': %s", path,
        engine_error->message);
  }
  g_error_free (engine_error);
  return NULL;
}

static float *
load_reference (const gchar *path, gint size, GError **error)
{
  /* the decoder would wait forever on a FIFO or a character device */
  if (path != NULL && g_file_test (path, G_FILE_TEST_EXISTS)
      && !g_file_test (path, G_FILE_TEST_IS_DIR)
      && !g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_READ,
        "cannot read reference image '%s': it is not a regular file", path);
    return NULL;
  }
  return gst_tunit_reference_image_load (path, size, error);
}

static float *
load_centroid (TunitModel *model, const gchar *model_path, gint domain,
    GError **error)
{
  const TunitArchitecture *arch = tunit_model_get_architecture (model);
  GError *model_error = NULL;
  const float *centroid;

  if (!arch->has_centroids) {
    g_set_error (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
        "model '%s' has no pseudo-domain centroids, so `domain` cannot be "
        "used: set the `style` property to a reference image, or add "
        "centroids to the model with `tunit centroids`", model_path);
    return NULL;
  }
  if (domain >= arch->num_domains) {
    g_set_error (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
        "domain %d is out of range: model '%s' has %d pseudo-domains, valid "
        "values are 0..%d (or -1 for none)", domain, model_path,
        arch->num_domains, arch->num_domains - 1);
    return NULL;
  }
  centroid = tunit_model_get_centroid (model, domain, &model_error);
  if (centroid == NULL) {
    g_set_error (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
        "cannot use domain %d of model '%s': %s", domain, model_path,
        model_error->message);
    g_error_free (model_error);
    return NULL;
  }
  return g_memdup2 (centroid, sizeof (float) * arch->style_dim);
}

gboolean
gst_tunit_load_style (const GstTunitSettings *settings, TunitModel *model,
    const gchar *model_path, float **image, float **code, gchar **description,
    GError **error)
{
  *image = *code = NULL;
  *description = NULL;
  switch (settings->style_source) {
    case GST_TUNIT_STYLE_SOURCE_NONE:
      return TRUE;
    case GST_TUNIT_STYLE_SOURCE_REFERENCE:
      *image = load_reference (settings->style_path,
          tunit_model_get_architecture (model)->img_size, error);
      if (*image == NULL)
        return FALSE;
      *description = g_strdup_printf ("reference image '%s'",
          settings->style_path);
      return TRUE;
    case GST_TUNIT_STYLE_SOURCE_DOMAIN:
      *code = load_centroid (model, model_path, settings->domain, error);
      if (*code == NULL)
        return FALSE;
      *description = g_strdup_printf ("pseudo-domain %d", settings->domain);
      return TRUE;
  }
  g_return_val_if_reached (FALSE);
}

gboolean
gst_tunit_apply_style (TunitEngine *engine, const float *image,
    const float *code, const gchar *description, GError **error)
{
  const TunitArchitecture *arch =
      tunit_model_get_architecture (tunit_engine_get_model (engine));
  float *computed = NULL;
  GError *engine_error = NULL;
  gboolean ok;

  if (image != NULL) {
    computed = g_new (float, arch->style_dim);
    if (!tunit_engine_compute_style (engine, image, computed, NULL,
            &engine_error)) {
      g_set_error (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED,
          "cannot compute the style code of %s: %s", description,
          engine_error->message);
      g_error_free (engine_error);
      g_free (computed);
      return FALSE;
    }
    code = computed;
  }
  ok = tunit_engine_set_style (engine, code, &engine_error);
  if (!ok) {
    g_set_error (error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_FAILED,
        "cannot set the style of %s: %s", description, engine_error->message);
    g_error_free (engine_error);
  }
  g_free (computed);
  return ok;
}

typedef struct {
  const float *image, *code;
  const gchar *description;
  GError *error;
  gboolean ok;
} StyleJob;

static void
run_style_job (TunitEngine *engine, gpointer data)
{
  StyleJob *job = data;

  job->ok = gst_tunit_apply_style (engine, job->image, job->code,
      job->description, &job->error);
}

gboolean
gst_tunit_apply_style_on_queue (TunitFrameQueue *queue, const float *image,
    const float *code, const gchar *description, GError **error)
{
  StyleJob job = { image, code, description, NULL, FALSE };

  tunit_frame_queue_run (queue, run_style_job, &job);
  if (!job.ok)
    g_propagate_error (error, job.error);
  return job.ok;
}

/* ------------------------------------------------------------ the worker */

struct _GstTunitPreparer {
  GstElement *owner;
  GThread *thread;

  GMutex lock;
  GCond changed;
  GstTunitSettings *request;  /* newest request not taken by the worker */
  GQueue results;             /* GstTunitPrepared, oldest first */
  GSList *disposals;          /* TunitFrameQueue to free */
  gboolean busy;              /* the worker is preparing a request */
  gboolean cancelled;

  /* The worker's own state. */
  guint64 engine_done, style_done;  /* requests handled */
  TunitModel *model;          /* the model the next style must fit */
  gchar *model_path;
  TunitFrameQueue *candidate; /* loaded, waiting for a usable style */
  gchar *candidate_path;
};

static gboolean
is_cancelled (GstTunitPreparer *self)
{
  gboolean cancelled;

  g_mutex_lock (&self->lock);
  cancelled = self->cancelled;
  g_mutex_unlock (&self->lock);
  return cancelled;
}

static void
push_result (GstTunitPreparer *self, GstTunitPrepared *prepared)
{
  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->results, prepared);
  g_mutex_unlock (&self->lock);
}

/* Posts error (taken) as a warning, with what the stream does instead. */
static void
warn (GstTunitPreparer *self, GError *error, const gchar *consequence)
{
  GST_WARNING_OBJECT (self->owner, "%s%s", error->message, consequence);
  gst_tunit_post_problem (self->owner, GST_MESSAGE_WARNING, error, consequence);
  g_error_free (error);
}

static void
warn_keeping_model (GstTunitPreparer *self, GError *error)
{
  gchar *consequence = g_strdup_printf ("; the stream keeps model '%s'",
      self->model_path);
  warn (self, error, consequence);
  g_free (consequence);
}

/* An engine change: a candidate engine, or a warning. */
static void
prepare_engine (GstTunitPreparer *self, const GstTunitSettings *settings)
{
  GError *error = NULL;
  TunitFrameQueue *queue;

  g_clear_pointer (&self->candidate, tunit_frame_queue_free);
  g_clear_pointer (&self->candidate_path, g_free);
  queue = gst_tunit_open_engine (settings, &error);
  if (queue == NULL) {
    warn_keeping_model (self, error);
    return;
  }
  GST_INFO_OBJECT (self->owner, "prepared model %s on %s", settings->model_path,
      tunit_engine_get_description (tunit_frame_queue_get_engine (queue)));
  self->candidate = queue;
  self->candidate_path = g_strdup (settings->model_path);
}

/* The candidate with the style of settings becomes the next engine. */
static void
promote_candidate (GstTunitPreparer *self, const float *image,
    const float *code, const gchar *description)
{
  GstTunitPrepared *prepared;
  GError *error = NULL;

  if (!gst_tunit_apply_style_on_queue (self->candidate, image, code,
          description, &error)) {
    warn_keeping_model (self, error);
    return;
  }
  prepared = g_new0 (GstTunitPrepared, 1);
  prepared->kind = GST_TUNIT_PREPARED_ENGINE;
  prepared->queue = g_steal_pointer (&self->candidate);
  prepared->model = tunit_model_ref (gst_tunit_queue_model (prepared->queue));
  prepared->model_path = g_strdup (self->candidate_path);
  prepared->description = g_strdup (description);
  g_clear_pointer (&self->model, tunit_model_unref);
  self->model = tunit_model_ref (prepared->model);
  g_free (self->model_path);
  self->model_path = g_steal_pointer (&self->candidate_path);
  push_result (self, prepared);
}

static void
prepare_style (GstTunitPreparer *self, const GstTunitSettings *settings)
{
  TunitModel *target = self->candidate != NULL ?
      gst_tunit_queue_model (self->candidate) : self->model;
  const gchar *target_path = self->candidate != NULL ?
      self->candidate_path : self->model_path;
  float *image = NULL, *code = NULL;
  gchar *description = NULL, *consequence;
  GError *error = NULL;

  if (!gst_tunit_load_style (settings, target, target_path, &image, &code,
          &description, &error)) {
    consequence = self->candidate != NULL ?
        g_strdup_printf ("; the stream keeps model '%s' and its style until "
        "a style usable with model '%s' is set", self->model_path,
        self->candidate_path) :
        g_strdup ("; the stream keeps the previous style");
    warn (self, error, consequence);
    g_free (consequence);
    return;
  }
  if (image == NULL && code == NULL) {
    /* `style` and `domain` both unset: the stream keeps its style, which
     * belongs to the old model */
    if (self->candidate != NULL) {
      g_set_error (&error, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
          "model '%s' is ready but has no style: set `style` or `domain`",
          self->candidate_path);
      warn_keeping_model (self, error);
    }
    return;
  }

  if (is_cancelled (self))
    GST_DEBUG_OBJECT (self->owner, "stopping: %s dropped", description);
  else if (self->candidate != NULL) {
    promote_candidate (self, image, code, description);
  } else {
    /* handed over even when a newer change waits: under changes faster
     * than their preparation, dropping finished ones would show none */
    GstTunitPrepared *prepared = g_new0 (GstTunitPrepared, 1);
    prepared->kind = GST_TUNIT_PREPARED_STYLE;
    prepared->model = tunit_model_ref (self->model);
    prepared->style_image = g_steal_pointer (&image);
    prepared->style_code = g_steal_pointer (&code);
    prepared->description = g_steal_pointer (&description);
    push_result (self, prepared);
  }
  g_free (image);
  g_free (code);
  g_free (description);
}

static void
prepare (GstTunitPreparer *self, const GstTunitSettings *settings)
{
  gboolean style_wanted = settings->style_request != self->style_done;

  if (settings->engine_request != self->engine_done) {
    self->engine_done = settings->engine_request;
    prepare_engine (self, settings);
    /* a new engine needs a style, even the one the stream has */
    style_wanted = style_wanted || self->candidate != NULL;
  }
  if (!style_wanted || is_cancelled (self))
    return;
  self->style_done = settings->style_request;
  prepare_style (self, settings);
}

static void
free_disposals (GSList *disposals)
{
  g_slist_free_full (disposals, (GDestroyNotify) tunit_frame_queue_free);
}

/* Preparation is background work: where the cores are shared with the
 * engine (the CPU backend, lavapipe), frames come first.  Linux lets one
 * thread be niced; elsewhere the worker keeps the normal priority. */
static void
lower_priority (void)
{
#ifdef __linux__
  if (setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 5) != 0)
    GST_DEBUG ("cannot lower the priority of the preparation thread");
#endif
}

static gpointer
worker_main (gpointer data)
{
  GstTunitPreparer *self = data;
  GstTunitSettings *settings;
  GSList *disposals;

  lower_priority ();
  g_mutex_lock (&self->lock);
  while (!self->cancelled) {
    if (self->disposals != NULL) {
      disposals = g_steal_pointer (&self->disposals);
      g_mutex_unlock (&self->lock);
      free_disposals (disposals);
      g_mutex_lock (&self->lock);
      continue;
    }
    if (self->request == NULL) {
      g_cond_wait (&self->changed, &self->lock);
      continue;
    }
    settings = g_steal_pointer (&self->request);
    self->busy = TRUE;
    g_mutex_unlock (&self->lock);

    prepare (self, settings);
    gst_tunit_settings_free (settings);

    g_mutex_lock (&self->lock);
    self->busy = FALSE;
    g_cond_broadcast (&self->changed);
  }
  g_mutex_unlock (&self->lock);
  return NULL;
}

GstTunitPreparer *
gst_tunit_preparer_new (GstElement *owner, TunitModel *model,
    const gchar *model_path, const GstTunitSettings *applied)
{
  GstTunitPreparer *self = g_new0 (GstTunitPreparer, 1);

  self->owner = owner;
  g_mutex_init (&self->lock);
  g_cond_init (&self->changed);
  g_queue_init (&self->results);
  self->engine_done = applied->engine_request;
  self->style_done = applied->style_request;
  self->model = tunit_model_ref (model);
  self->model_path = g_strdup (model_path);
  self->thread = g_thread_new ("tunit-prepare", worker_main, self);
  return self;
}

void
gst_tunit_preparer_free (GstTunitPreparer *self)
{
  if (self == NULL)
    return;
  g_mutex_lock (&self->lock);
  self->cancelled = TRUE;
  g_cond_broadcast (&self->changed);
  g_mutex_unlock (&self->lock);
  g_thread_join (self->thread);

  free_disposals (self->disposals);
  gst_tunit_settings_free (self->request);
  g_queue_clear_full (&self->results, (GDestroyNotify) gst_tunit_prepared_free);
  g_clear_pointer (&self->candidate, tunit_frame_queue_free);
  g_free (self->candidate_path);
  g_clear_pointer (&self->model, tunit_model_unref);
  g_free (self->model_path);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->changed);
  g_free (self);
}

void
gst_tunit_preparer_request (GstTunitPreparer *self, GstTunitSettings *settings)
{
  g_mutex_lock (&self->lock);
  gst_tunit_settings_free (self->request);
  self->request = settings;
  g_cond_broadcast (&self->changed);
  g_mutex_unlock (&self->lock);
}

GstTunitPrepared *
gst_tunit_preparer_pop (GstTunitPreparer *self)
{
  GstTunitPrepared *prepared;

  g_mutex_lock (&self->lock);
  prepared = g_queue_pop_head (&self->results);
  g_mutex_unlock (&self->lock);
  return prepared;
}

void
gst_tunit_preparer_wait_idle (GstTunitPreparer *self)
{
  g_mutex_lock (&self->lock);
  while (!self->cancelled && (self->busy || self->request != NULL))
    g_cond_wait (&self->changed, &self->lock);
  g_mutex_unlock (&self->lock);
}

void
gst_tunit_preparer_dispose_queue (GstTunitPreparer *self, TunitFrameQueue *queue)
{
  g_mutex_lock (&self->lock);
  self->disposals = g_slist_prepend (self->disposals, queue);
  g_cond_broadcast (&self->changed);
  g_mutex_unlock (&self->lock);
}
