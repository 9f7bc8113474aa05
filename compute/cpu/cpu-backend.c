/* cpu-backend.c - executes network graphs on the CPU.
 *
 * For each graph and input size the backend prepares, once, the shapes, a
 * buffer plan and the buffers; a frame of the same size then runs without
 * allocating. */
#include "backend.h"
#include "cpu-kernels.h"

#include <cblas.h>
#include <string.h>

/* Everything one graph needs to run at one input size. */
typedef struct {
  const TunitGraph *graph;
  int height, width;
  TunitShape *shapes;
  TunitBufferPlan *plan;
  float **slots;          /* [plan->n_slots] */
  float *scratch;         /* convolution column buffer */
} GraphRun;

typedef struct {
  TunitBackend base;
  const TunitNetwork *network;
  float *adain_parameters;
  GraphRun *generator_run;
  GraphRun *guide_run;
} CpuBackend;

static void
graph_run_free (GraphRun *run)
{
  if (run == NULL)
    return;
  for (int s = 0; run->plan && s < run->plan->n_slots; s++)
    g_free (run->slots[s]);
  g_free (run->slots);
  g_free (run->scratch);
  tunit_buffer_plan_free (run->plan);
  g_free (run->shapes);
  g_free (run);
}

static GraphRun *
graph_run_new (const TunitGraph *graph, int input_channels, int height, int width,
               GError **error)
{
  GraphRun *run = g_new0 (GraphRun, 1);
  run->graph = graph;
  run->height = height;
  run->width = width;
  run->shapes = g_new (TunitShape, graph->n_nodes);
  if (!tunit_graph_infer_shapes (graph, input_channels, height, width, run->shapes, error)) {
    graph_run_free (run);
    return NULL;
  }
  run->plan = tunit_buffer_plan_new (graph, run->shapes);
  run->slots = g_new0 (float *, run->plan->n_slots);
  gsize scratch = 1;
  for (int i = 0; i < graph->n_nodes; i++)
    if (graph->nodes[i].op == TUNIT_OP_CONV)
      scratch = MAX (scratch, tunit_cpu_conv_scratch_size (&graph->nodes[i], &run->shapes[i]));
  run->scratch = g_try_new (float, scratch);
  gboolean ok = run->scratch != NULL;
  for (int s = 0; ok && s < run->plan->n_slots; s++)
    ok = (run->slots[s] = g_try_new (float, MAX (run->plan->slot_size[s], 1))) != NULL;
  if (!ok) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_OUT_OF_MEMORY,
                 "out of memory allocating buffers for a %dx%d frame", width, height);
    graph_run_free (run);
    return NULL;
  }
  return run;
}

static float *
value_of (GraphRun *run, int node)
{
  return run->slots[run->plan->slot[node]];
}

static void
run_node (GraphRun *run, int i, const float *input, const float *adain_parameters)
{
  const TunitNode *node = &run->graph->nodes[i];
  float *out = value_of (run, i);
  const float *in = node->input >= 0 ? value_of (run, node->input) : NULL;
  const TunitShape *in_shape = node->input >= 0 ? &run->shapes[node->input] : NULL;
  switch (node->op) {
  case TUNIT_OP_INPUT:
    memcpy (out, input, sizeof (float) * run->shapes[i].channels * run->shapes[i].height
            * run->shapes[i].width);
    break;
  case TUNIT_OP_CONV:
    tunit_cpu_conv (node, in, in_shape, out, &run->shapes[i], run->scratch);
    break;
  case TUNIT_OP_NORM:
    tunit_cpu_norm (node, in, in_shape, out, adain_parameters);
    break;
  case TUNIT_OP_UPSAMPLE_NEAREST2X:
    tunit_cpu_upsample_nearest2x (in, in_shape, out);
    break;
  case TUNIT_OP_MAX_POOL2X2:
    tunit_cpu_max_pool2x2 (in, in_shape, out, &run->shapes[i]);
    break;
  case TUNIT_OP_GLOBAL_AVERAGE_POOL:
    tunit_cpu_global_average_pool (in, in_shape, out);
    break;
  case TUNIT_OP_LINEAR:
    tunit_cpu_linear (node, in, out);
    break;
  case TUNIT_OP_RESIDUAL_ADD:
    tunit_cpu_residual_add (node, value_of (run, node->skip), in, in_shape, out);
    break;
  }
}

static void
graph_run_execute (GraphRun *run, const float *input, const float *adain_parameters)
{
  for (int i = 0; i < run->graph->n_nodes; i++)
    run_node (run, i, input, adain_parameters);
}

static gsize
value_size (GraphRun *run, int node)
{
  const TunitShape *shape = &run->shapes[node];
  return (gsize) shape->channels * shape->height * shape->width;
}

gboolean
tunit_cpu_run_vector_graph (const TunitGraph *graph, const float *input, float *output,
                            GError **error)
{
  GraphRun *run = graph_run_new (graph, graph->nodes[0].channels, 1, 1, error);
  if (run == NULL)
    return FALSE;
  graph_run_execute (run, input, NULL);
  memcpy (output, value_of (run, graph->outputs[0]),
          sizeof (float) * value_size (run, graph->outputs[0]));
  graph_run_free (run);
  return TRUE;
}

/* ---------------------------------------------------------- the vtable */

static void
cpu_free (TunitBackend *backend)
{
  CpuBackend *self = (CpuBackend *) backend;
  graph_run_free (self->generator_run);
  graph_run_free (self->guide_run);
  g_free (self->adain_parameters);
  g_free (self);
}

/* Keeps the prepared run while the size stays; rebuilds it otherwise. */
static GraphRun *
prepare (GraphRun **run, const TunitGraph *graph, int height, int width, GError **error)
{
  if (*run != NULL && (*run)->height == height && (*run)->width == width)
    return *run;
  g_clear_pointer (run, graph_run_free);
  *run = graph_run_new (graph, 3, height, width, error);
  return *run;
}

static gboolean
cpu_run_guide (TunitBackend *backend, const float *image, float *style, float *logits,
               GError **error)
{
  CpuBackend *self = (CpuBackend *) backend;
  const TunitGraph *guide = &self->network->guide;
  int size = self->network->guide_size;
  GraphRun *run = prepare (&self->guide_run, guide, size, size, error);
  if (run == NULL)
    return FALSE;
  graph_run_execute (run, image, NULL);
  memcpy (style, value_of (run, guide->outputs[0]),
          sizeof (float) * value_size (run, guide->outputs[0]));
  if (logits != NULL)
    memcpy (logits, value_of (run, guide->outputs[1]),
            sizeof (float) * value_size (run, guide->outputs[1]));
  return TRUE;
}

static gboolean
cpu_set_adain_parameters (TunitBackend *backend, const float *parameters, GError **error)
{
  CpuBackend *self = (CpuBackend *) backend;
  memcpy (self->adain_parameters, parameters,
          sizeof (float) * self->network->adain_parameter_count);
  return TRUE;
}

static gboolean
cpu_run_generator (TunitBackend *backend, const float *input, int width, int height,
                   float *output, GError **error)
{
  CpuBackend *self = (CpuBackend *) backend;
  const TunitGraph *generator = &self->network->generator;
  GraphRun *run = prepare (&self->generator_run, generator, height, width, error);
  if (run == NULL)
    return FALSE;
  graph_run_execute (run, input, self->adain_parameters);
  memcpy (output, value_of (run, generator->outputs[0]),
          sizeof (float) * value_size (run, generator->outputs[0]));
  return TRUE;
}

static const TunitBackendVTable cpu_vtable = {
  .free = cpu_free,
  .run_guide = cpu_run_guide,
  .set_adain_parameters = cpu_set_adain_parameters,
  .run_generator = cpu_run_generator,
};

TunitBackend *
tunit_cpu_backend_new (const TunitNetwork *network, const TunitEngineOptions *options,
                       GError **error)
{
  if (options->threads > 0)
    openblas_set_num_threads (options->threads);
  CpuBackend *self = g_new0 (CpuBackend, 1);
  self->base.vtable = &cpu_vtable;
  self->base.name = "cpu";
  self->base.description = g_strdup_printf ("CPU (OpenBLAS, %d threads), fp32",
                                            openblas_get_num_threads ());
  self->network = network;
  self->adain_parameters = g_new0 (float, MAX (network->adain_parameter_count, 1));
  return &self->base;
}
