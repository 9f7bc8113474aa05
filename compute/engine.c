/* engine.c - what every backend shares: backend choice, the style MLP,
 * and fitting frames of any size to the generator (pad, run, crop). */
#include "backend.h"

#include <string.h>

struct _TunitEngine {
  TunitModel *model;
  const TunitNetwork *network;
  TunitBackend *backend;
  float *adain_parameters;
  gboolean has_style;
  /* padded copies of the current frame size, kept between frames */
  int padded_width, padded_height;
  float *padded_input, *padded_output;
};

static TunitBackend *
create_backend (const TunitNetwork *network, const TunitEngineOptions *options, GError **error)
{
  switch (options->backend) {
  case TUNIT_BACKEND_CPU:
    return tunit_cpu_backend_new (network, options, error);
  case TUNIT_BACKEND_VULKAN:
    return tunit_vulkan_backend_new (network, options, FALSE, error);
  case TUNIT_BACKEND_AUTO:
  default: {
    g_autoptr (GError) vulkan_error = NULL;
    /* a software Vulkan device is far slower than the CPU backend */
    TunitBackend *backend = tunit_vulkan_backend_new (network, options, TRUE, &vulkan_error);
    if (backend != NULL)
      return backend;
    if (!g_error_matches (vulkan_error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE)) {
      g_propagate_error (error, g_steal_pointer (&vulkan_error));
      return NULL;
    }
    g_debug ("no Vulkan device (%s); using the CPU backend", vulkan_error->message);
    return tunit_cpu_backend_new (network, options, error);
  }
  }
}

TunitEngine *
tunit_engine_new (TunitModel *model, const TunitEngineOptions *options, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  TunitEngineOptions defaults = TUNIT_ENGINE_OPTIONS_INIT;
  if (options == NULL)
    options = &defaults;
  const TunitNetwork *network = tunit_model_get_network (model);
  TunitBackend *backend = create_backend (network, options, error);
  if (backend == NULL)
    return NULL;
  TunitEngine *engine = g_new0 (TunitEngine, 1);
  engine->model = tunit_model_ref (model);
  engine->network = network;
  engine->backend = backend;
  engine->adain_parameters = g_new0 (float, MAX (network->adain_parameter_count, 1));
  return engine;
}

void
tunit_engine_free (TunitEngine *engine)
{
  if (engine == NULL)
    return;
  char *description = engine->backend->description;
  engine->backend->vtable->free (engine->backend);
  g_free (description);
  g_free (engine->adain_parameters);
  g_free (engine->padded_input);
  g_free (engine->padded_output);
  tunit_model_unref (engine->model);
  g_free (engine);
}

TunitModel *
tunit_engine_get_model (TunitEngine *engine)
{
  return engine->model;
}

const char *
tunit_engine_get_backend_name (TunitEngine *engine)
{
  return engine->backend->name;
}

const char *
tunit_engine_get_description (TunitEngine *engine)
{
  return engine->backend->description;
}

gboolean
tunit_engine_compute_style (TunitEngine *engine, const float *image, float *style_out,
                            float *logits_out, GError **error)
{
  return engine->backend->vtable->run_guide (engine->backend, image, style_out, logits_out,
                                             error);
}

gboolean
tunit_engine_set_style (TunitEngine *engine, const float *style, GError **error)
{
  if (!tunit_cpu_run_vector_graph (&engine->network->style_mlp, style,
                                   engine->adain_parameters, error))
    return FALSE;
  if (!engine->backend->vtable->set_adain_parameters (engine->backend,
                                                      engine->adain_parameters, error))
    return FALSE;
  engine->has_style = TRUE;
  return TRUE;
}

/* Mirror index that keeps folding, so that even a pad wider than the
 * image (a tiny frame padded up to the network's minimum) stays inside. */
static int
mirror (int position, int n)
{
  if (n == 1)
    return 0;
  int period = 2 * (n - 1);
  position %= period;
  if (position < 0)
    position += period;
  return position < n ? position : period - position;
}

static void
pad_planar (const float *src, int width, int height, float *dst, int padded_width,
            int padded_height)
{
  for (int c = 0; c < 3; c++) {
    for (int y = 0; y < padded_height; y++) {
      const float *row = src + ((gsize) c * height + mirror (y, height)) * width;
      float *out = dst + ((gsize) c * padded_height + y) * padded_width;
      memcpy (out, row, sizeof (float) * width);
      for (int x = width; x < padded_width; x++)
        out[x] = row[mirror (x, width)];
    }
  }
}

static void
crop_planar (const float *src, int padded_width, int padded_height, float *dst, int width,
             int height)
{
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < height; y++)
      memcpy (dst + ((gsize) c * height + y) * width,
              src + ((gsize) c * padded_height + y) * padded_width, sizeof (float) * width);
}

/* The generator needs sides that are multiples of 2^n_downs, and at least
 * two of them so that the bottleneck can be reflection-padded. */
static int
padded_side (int side, int multiple)
{
  int padded = (side + multiple - 1) / multiple * multiple;
  return MAX (padded, 2 * multiple);
}

static gboolean
ensure_padded_buffers (TunitEngine *engine, int padded_width, int padded_height, GError **error)
{
  if (engine->padded_width == padded_width && engine->padded_height == padded_height)
    return TRUE;
  g_clear_pointer (&engine->padded_input, g_free);
  g_clear_pointer (&engine->padded_output, g_free);
  gsize count = (gsize) 3 * padded_width * padded_height;
  engine->padded_input = g_try_new (float, count);
  engine->padded_output = g_try_new (float, count);
  if (engine->padded_input == NULL || engine->padded_output == NULL) {
    engine->padded_width = engine->padded_height = 0;
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_OUT_OF_MEMORY,
                 "out of memory for a %dx%d frame", padded_width, padded_height);
    return FALSE;
  }
  engine->padded_width = padded_width;
  engine->padded_height = padded_height;
  return TRUE;
}

gboolean
tunit_engine_translate (TunitEngine *engine, const float *input, int width, int height,
                        float *output, GError **error)
{
  if (!engine->has_style) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "no style set: give a reference image or a pseudo-domain");
    return FALSE;
  }
  if (width < 16 || height < 16 || width > 16384 || height > 16384) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "frame size %dx%d is outside 16x16 .. 16384x16384", width, height);
    return FALSE;
  }
  int multiple = engine->network->size_multiple;
  int padded_width = padded_side (width, multiple);
  int padded_height = padded_side (height, multiple);
  const TunitBackendVTable *vtable = engine->backend->vtable;
  if (padded_width == width && padded_height == height)
    return vtable->run_generator (engine->backend, input, width, height, output, error);
  if (!ensure_padded_buffers (engine, padded_width, padded_height, error))
    return FALSE;
  pad_planar (input, width, height, engine->padded_input, padded_width, padded_height);
  if (!vtable->run_generator (engine->backend, engine->padded_input, padded_width,
                              padded_height, engine->padded_output, error))
    return FALSE;
  crop_planar (engine->padded_output, padded_width, padded_height, output, width, height);
  return TRUE;
}
