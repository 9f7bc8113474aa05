/* engine.c - what every backend shares: which backend runs which graph,
 * lowering the network's graphs, their layouts per input size, the style
 * parameters, and fitting frames of any size to the generator (pad, run,
 * crop). */
#include "backend.h"
#include "network.h"

#include <string.h>

/* One of the network's graphs, lowered, on the backend that runs it, with
 * the layout of the last input size it ran at. */
typedef struct {
  TunitGraph *lowered;
  TunitBackendGraph *prepared;
  TunitGraphLayout *layout;
} EngineGraph;

struct _TunitEngine {
  TunitModel *model;
  const TunitNetwork *network;
  TunitBackend *backend;          /* the one the options chose */
  TunitBackend *cpu;              /* the CPU backend when that is another one, or NULL */
  EngineGraph generator, guide, style_mlp;
  float *adain_parameters;
  gboolean has_style;
  /* padded copies of the current frame size, kept between frames */
  int padded_width, padded_height;
  float *padded_input, *padded_output;
};

static TunitBackend *
create_backend (const TunitEngineOptions *options, GError **error)
{
  switch (options->backend) {
  case TUNIT_BACKEND_CPU:
    return tunit_cpu_backend_new (options, error);
  case TUNIT_BACKEND_VULKAN:
    return tunit_vulkan_backend_new (options, FALSE, error);
  case TUNIT_BACKEND_AUTO:
  default: {
    g_autoptr (GError) vulkan_error = NULL;
    /* a software Vulkan device is far slower than the CPU backend */
    TunitBackend *backend = tunit_vulkan_backend_new (options, TRUE, &vulkan_error);
    if (backend != NULL)
      return backend;
    if (!g_error_matches (vulkan_error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE)) {
      g_propagate_error (error, g_steal_pointer (&vulkan_error));
      return NULL;
    }
    g_debug ("no Vulkan device (%s); using the CPU backend", vulkan_error->message);
    return tunit_cpu_backend_new (options, error);
  }
  }
}

static gboolean
engine_graph_init (EngineGraph *graph, const TunitGraph *description, TunitBackend *backend,
                   TunitGraphUse use, const TunitEngineOptions *options, GError **error)
{
  TunitLoweringOptions lowering = {
    .fuse_upsample_conv = !options->reference_kernels && !options->unfused_upsample,
  };
  graph->lowered = tunit_graph_lower (description, &lowering, error);
  if (graph->lowered == NULL)
    return FALSE;
  graph->prepared = tunit_backend_graph_new (backend, graph->lowered, use, error);
  return graph->prepared != NULL;
}

static void
engine_graph_clear (EngineGraph *graph)
{
  g_clear_pointer (&graph->prepared, tunit_backend_graph_free);
  g_clear_pointer (&graph->layout, tunit_graph_layout_free);
  g_clear_pointer (&graph->lowered, tunit_lowered_graph_free);
}

/* Runs the graph on inputs of height x width; prepares it first when the
 * size changed. */
static gboolean
engine_graph_run (EngineGraph *graph, int height, int width, const float *const *inputs,
                  float *const *outputs, GError **error)
{
  if (!tunit_graph_layout_matches (graph->layout, height, width)) {
    TunitGraphLayout *layout = tunit_graph_layout_new (graph->lowered, height, width, error);
    gboolean ok = layout != NULL && tunit_backend_graph_prepare (graph->prepared, layout, error);
    /* the backend let go of the previous layout, or of both on failure */
    g_clear_pointer (&graph->layout, tunit_graph_layout_free);
    if (!ok) {
      tunit_graph_layout_free (layout);
      return FALSE;
    }
    graph->layout = layout;
  }
  return tunit_backend_graph_run (graph->prepared, inputs, outputs, error);
}

/* Where each graph runs: the generator and the guiding network on the
 * backend the options chose; the style MLP, a few matrix-vector products
 * once per style whose result the host hands on to the generator, on the
 * CPU. */
static gboolean
place_graphs (TunitEngine *engine, const TunitEngineOptions *options, GError **error)
{
  const TunitNetwork *network = engine->network;
  TunitBackend *mlp_backend = engine->backend;
  if (strcmp (engine->backend->name, "cpu") != 0) {
    engine->cpu = tunit_cpu_backend_new (options, error);
    if (engine->cpu == NULL)
      return FALSE;
    mlp_backend = engine->cpu;
  }
  return engine_graph_init (&engine->generator, &network->generator, engine->backend,
                            TUNIT_GRAPH_PER_FRAME, options, error)
         && engine_graph_init (&engine->guide, &network->guide, engine->backend,
                               TUNIT_GRAPH_PER_STYLE, options, error)
         && engine_graph_init (&engine->style_mlp, &network->style_mlp, mlp_backend,
                               TUNIT_GRAPH_PER_STYLE, options, error);
}

TunitEngine *
tunit_engine_new (TunitModel *model, const TunitEngineOptions *options, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  TunitEngineOptions defaults = TUNIT_ENGINE_OPTIONS_INIT;
  if (options == NULL)
    options = &defaults;
  TunitBackend *backend = create_backend (options, error);
  if (backend == NULL)
    return NULL;
  TunitEngine *engine = g_new0 (TunitEngine, 1);
  engine->model = tunit_model_ref (model);
  engine->network = tunit_model_get_network (model);
  engine->backend = backend;
  engine->adain_parameters = g_new0 (float, MAX (engine->network->adain_parameter_count, 1));
  if (!place_graphs (engine, options, error)) {
    tunit_engine_free (engine);
    return NULL;
  }
  return engine;
}

void
tunit_engine_free (TunitEngine *engine)
{
  if (engine == NULL)
    return;
  engine_graph_clear (&engine->generator);
  engine_graph_clear (&engine->guide);
  engine_graph_clear (&engine->style_mlp);
  tunit_backend_free (engine->cpu);
  tunit_backend_free (engine->backend);
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
  int size = engine->network->guide_size;
  const float *inputs[1] = { image };
  float *outputs[2] = { style_out, logits_out };
  return engine_graph_run (&engine->guide, size, size, inputs, outputs, error);
}

gboolean
tunit_engine_set_style (TunitEngine *engine, const float *style, GError **error)
{
  const float *inputs[1] = { style };
  float *outputs[1] = { engine->adain_parameters };
  if (!engine_graph_run (&engine->style_mlp, 1, 1, inputs, outputs, error)
      || !tunit_backend_graph_set_parameters (engine->generator.prepared,
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
  if (padded_width == width && padded_height == height)
    return engine_graph_run (&engine->generator, height, width, &input, &output, error);
  if (!ensure_padded_buffers (engine, padded_width, padded_height, error))
    return FALSE;
  pad_planar (input, width, height, engine->padded_input, padded_width, padded_height);
  const float *inputs[1] = { engine->padded_input };
  float *outputs[1] = { engine->padded_output };
  if (!engine_graph_run (&engine->generator, padded_height, padded_width, inputs, outputs,
                         error))
    return FALSE;
  crop_planar (engine->padded_output, padded_width, padded_height, output, width, height);
  return TRUE;
}
