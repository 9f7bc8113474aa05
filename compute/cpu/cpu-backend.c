/* cpu-backend.c - runs lowered graphs on the CPU (backend.h).
 *
 * Once per graph the backend gives every convolution (a CONV node, or the
 * phases of an UPSAMPLED_CONV node) the first algorithm of `algorithms`
 * that applies: Winograd for 3x3 stride-1 layers, direct convolution for
 * layers with few channels, space-to-depth GEMMs for even-sized stride-2
 * layers, im2col + sgemm for the rest; only im2col with the reference
 * kernels and for graphs that run once per style, where precomputation
 * does not pay.  The algorithm prepares what does not depend on the size
 * (repacked weights).  For each input size the backend allocates the
 * buffers of the engine's plan, as they are, and the scratch the kernels
 * ask for; a frame of that size then runs without allocating. */
#include "backend.h"
#include "cpu-kernels.h"
#include "tunit-config.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* In the order they are tried: a new one (reduced precision, say) goes
 * where it should win. */
static const CpuConvAlgorithm *const algorithms[] = {
  &tunit_cpu_bf16_conv,
  &tunit_cpu_winograd_conv,
  &tunit_cpu_direct_conv,
  &tunit_cpu_space_to_depth_conv,
  &tunit_cpu_im2col_conv,
};

typedef struct {
  TunitBackend base;
  CpuContext cpu;
  TunitEngineOptions options;
  gboolean bf16;                       /* convolutions of per-frame graphs in bf16 */
} CpuBackend;

/* How one node runs. */
typedef struct {
  CpuConv conv;                        /* CONV, UPSAMPLED_CONV */
  const CpuConvAlgorithm *algorithm;   /* NULL for the other nodes */
  void *state;                         /* the algorithm's */
} CpuNode;

typedef struct {
  TunitBackendGraph base;
  TunitGraphUse use;
  CpuNode *nodes;                      /* [n_nodes] */
  int *input_index;                    /* [n_nodes]: the graph input of an INPUT node */
  float *parameters;                   /* [n_parameters] */
  /* the prepared size */
  const TunitGraphLayout *layout;
  float **buffers;                     /* [n_buffers] */
  int n_buffers;
  CpuScratch scratch;
} CpuGraph;

static CpuBackend *
backend_of (CpuGraph *graph)
{
  return (CpuBackend *) graph->base.backend;
}

/* ------------------------------------------------------------ preparing */

static void
conv_of_node (const TunitNode *node, CpuConv *conv)
{
  *conv = (CpuConv) {
    .name = node->name, .in_channels = node->in_channels, .channels = node->channels,
    .rows = node->channels, .kernel = node->kernel, .stride = node->stride,
    .padding = node->padding,
    .pad = node->pad_mode == TUNIT_PAD_ZERO ? CPU_PAD_ZERO : CPU_PAD_REFLECT,
    .weight = node->weight, .bias = node->bias, .activation = node->activation,
  };
  if (node->op == TUNIT_OP_UPSAMPLED_CONV) {
    const TunitPhaseSplit *phases = node->phases;
    conv->rows = phases->rows;
    conv->kernel = phases->kernel;
    conv->padding = phases->padding;
    conv->pad = CPU_PAD_REPLICATE;
    conv->phases = TRUE;
    conv->weight = phases->weight;
  }
}

static CpuConvPolicy
conv_policy (CpuGraph *graph, gsize largest_value)
{
  const TunitEngineOptions *options = &backend_of (graph)->options;
  return (CpuConvPolicy) {
    .reference_only = options->reference_kernels || graph->use == TUNIT_GRAPH_PER_STYLE,
    .winograd_tile = options->winograd_tile,
    .keep_weights = options->keep_winograd_weights,
    .largest_value = largest_value,
    .bf16 = backend_of (graph)->bf16,
  };
}

static gboolean
prepare_node (CpuGraph *graph, int i, GError **error)
{
  const TunitNode *node = &graph->base.graph->nodes[i];
  CpuNode *exec = &graph->nodes[i];
  switch (node->op) {
  case TUNIT_OP_INPUT:
  case TUNIT_OP_NORM:
    return TRUE;
  case TUNIT_OP_CONV:
  case TUNIT_OP_UPSAMPLED_CONV: {
    conv_of_node (node, &exec->conv);
    CpuConvPolicy policy = conv_policy (graph, 0);
    /* the last, im2col, takes any convolution */
    for (guint a = 0; exec->algorithm == NULL && a < G_N_ELEMENTS (algorithms); a++)
      if (algorithms[a]->applies (&exec->conv, &policy))
        exec->algorithm = algorithms[a];
    if (exec->algorithm->prepare != NULL)
      exec->state = exec->algorithm->prepare (&exec->conv, &backend_of (graph)->cpu);
    return TRUE;
  }
  default:
    if (tunit_cpu_small_op_implements (node->op))
      return TRUE;
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "the CPU backend cannot run layer %s (%s)", node->name,
                 tunit_op_name (node->op));
    return FALSE;
  }
}

/* --------------------------------------------------------------- sizing */

static void
clear_size (CpuGraph *graph)
{
  for (int b = 0; b < graph->n_buffers; b++)
    free (graph->buffers[b]);
  graph->n_buffers = 0;
  g_clear_pointer (&graph->buffers, g_free);
  g_clear_pointer (&graph->scratch.shared, free);
  g_clear_pointer (&graph->scratch.weights, free);
  for (int t = 0; graph->scratch.per_thread && t < backend_of (graph)->cpu.threads; t++)
    free (graph->scratch.per_thread[t]);
  g_clear_pointer (&graph->scratch.per_thread, g_free);
  graph->layout = NULL;
}

/* The scratch every node needs at the layout's size. */
static CpuScratchSize
scratch_needed (CpuGraph *graph, const TunitGraphLayout *layout)
{
  const TunitGraph *lowered = graph->base.graph;
  gsize largest = 0;
  for (int i = 0; i < lowered->n_nodes; i++)
    largest = MAX (largest, tunit_shape_count (&layout->shapes[i]));
  CpuConvPolicy policy = conv_policy (graph, largest);
  CpuScratchSize total = { 1, 1, 1 };
  for (int i = 0; i < lowered->n_nodes; i++) {
    const TunitNode *node = &lowered->nodes[i];
    CpuNode *exec = &graph->nodes[i];
    if (exec->algorithm == NULL)
      continue;
    const TunitShape *in = &layout->shapes[node->inputs[0]];
    CpuScratchSize need = { 0 };
    exec->algorithm->size (exec->state, &exec->conv, &policy, in, &layout->shapes[i], &need);
    cpu_scratch_size_grow (&total, &need);
    if (node->op == TUNIT_OP_UPSAMPLED_CONV) {
      CpuScratchSize border = { .per_thread = tunit_cpu_upsample_border_scratch (node, in) };
      cpu_scratch_size_grow (&total, &border);
    }
  }
  return total;
}

static gboolean
cpu_graph_prepare (TunitBackendGraph *base, const TunitGraphLayout *layout, GError **error)
{
  CpuGraph *graph = (CpuGraph *) base;
  int threads = backend_of (graph)->cpu.threads;
  clear_size (graph);
  graph->layout = layout;
  CpuScratchSize size = scratch_needed (graph, layout);
  graph->buffers = g_new0 (float *, MAX (layout->n_slots, 1));
  graph->n_buffers = layout->n_slots;
  graph->scratch.per_thread = g_new0 (float *, threads);
  void *shared = NULL;
  /* 64-byte aligned for oneDNN's bf16 convolutions */
  if (posix_memalign (&shared, 64, sizeof (float) * size.shared) != 0)
    shared = NULL;
  gboolean ok = (graph->scratch.shared = shared) != NULL
                && (graph->scratch.weights = malloc (sizeof (float) * size.weights)) != NULL;
  for (int t = 0; ok && t < threads; t++)
    ok = (graph->scratch.per_thread[t] = malloc (sizeof (float) * size.per_thread)) != NULL;
  for (int b = 0; ok && b < layout->n_slots; b++)
    ok = (graph->buffers[b] = malloc (sizeof (float) * MAX (layout->slot_size[b], 1))) != NULL;
  if (!ok) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_OUT_OF_MEMORY,
                 "out of memory allocating the buffers of the %s for %dx%d",
                 base->graph->name, layout->width, layout->height);
    clear_size (graph);
    return FALSE;
  }
  return TRUE;
}

/* -------------------------------------------------------------- running */

static float *
value_of (CpuGraph *graph, int node)
{
  return graph->buffers[graph->layout->slot[node]];
}

static void
run_node (CpuGraph *graph, int i, const float *const *inputs)
{
  const TunitNode *node = &graph->base.graph->nodes[i];
  const CpuNode *exec = &graph->nodes[i];
  const TunitGraphLayout *layout = graph->layout;
  const CpuContext *cpu = &backend_of (graph)->cpu;
  float *out = value_of (graph, i);
  const float *in[TUNIT_NODE_MAX_INPUTS];
  const TunitShape *in_shape[TUNIT_NODE_MAX_INPUTS];
  for (int k = 0; k < node->n_inputs; k++) {
    in[k] = value_of (graph, node->inputs[k]);
    in_shape[k] = &layout->shapes[node->inputs[k]];
  }
  switch (node->op) {
  case TUNIT_OP_INPUT:
    memcpy (out, inputs[graph->input_index[i]],
            sizeof (float) * tunit_shape_count (&layout->shapes[i]));
    break;
  case TUNIT_OP_CONV:
    exec->algorithm->run (exec->state, &exec->conv, in[0], in_shape[0], out, &layout->shapes[i],
                          &graph->scratch, cpu);
    break;
  case TUNIT_OP_UPSAMPLED_CONV:
    exec->algorithm->run (exec->state, &exec->conv, in[0], in_shape[0], out, &layout->shapes[i],
                          &graph->scratch, cpu);
    tunit_cpu_upsample_border_run (node, in[0], in_shape[0], out, &layout->shapes[i],
                                   graph->scratch.per_thread, cpu);
    break;
  case TUNIT_OP_NORM:
    tunit_cpu_norm (node, in[0], in_shape[0], out, graph->parameters, cpu);
    break;
  default:
    tunit_cpu_small_op_run (node, in, in_shape, out, &layout->shapes[i], cpu);
    break;
  }
}

static void
print_node_time (CpuGraph *graph, int i, gint64 start)
{
  const TunitNode *node = &graph->base.graph->nodes[i];
  const TunitShape *shape = &graph->layout->shapes[i];
  const CpuConvAlgorithm *algorithm = graph->nodes[i].algorithm;
  g_printerr ("%-32s %-21s %-14s %4dx%-4d x%-4d %8.2f ms\n", node->name,
              tunit_op_name (node->op), algorithm ? algorithm->name : "", shape->width,
              shape->height, shape->channels, (g_get_monotonic_time () - start) / 1000.0);
}

static gboolean
cpu_graph_run (TunitBackendGraph *base, const float *const *inputs, float *const *outputs,
               GError **error)
{
  CpuGraph *graph = (CpuGraph *) base;
  const TunitGraph *lowered = base->graph;
  g_return_val_if_fail (graph->layout != NULL, FALSE);
  gboolean profile = backend_of (graph)->options.profile;
  for (int i = 0; i < lowered->n_nodes; i++) {
    gint64 start = profile ? g_get_monotonic_time () : 0;
    run_node (graph, i, inputs);
    if (profile)
      print_node_time (graph, i, start);
  }
  for (int k = 0; k < lowered->n_outputs; k++)
    if (outputs[k] != NULL)
      memcpy (outputs[k], value_of (graph, lowered->outputs[k]),
              sizeof (float) * tunit_shape_count (&graph->layout->shapes[lowered->outputs[k]]));
  return TRUE;
}

static gboolean
cpu_graph_set_parameters (TunitBackendGraph *base, const float *parameters, GError **error)
{
  CpuGraph *graph = (CpuGraph *) base;
  memcpy (graph->parameters, parameters, sizeof (float) * base->graph->n_parameters);
  return TRUE;
}

/* ----------------------------------------------------------- the graph */

static void
cpu_graph_free (TunitBackendGraph *base)
{
  CpuGraph *graph = (CpuGraph *) base;
  clear_size (graph);
  for (int i = 0; i < base->graph->n_nodes; i++)
    if (graph->nodes[i].state != NULL)
      graph->nodes[i].algorithm->free (graph->nodes[i].state);
  g_free (graph->nodes);
  g_free (graph->input_index);
  g_free (graph->parameters);
  g_free (graph);
}

static TunitBackendGraph *
cpu_graph_new (TunitBackend *backend, const TunitGraph *lowered, TunitGraphUse use,
               GError **error)
{
  CpuGraph *graph = g_new0 (CpuGraph, 1);
  graph->base = (TunitBackendGraph) { backend, lowered };
  graph->use = use;
  graph->nodes = g_new0 (CpuNode, lowered->n_nodes);
  graph->input_index = g_new0 (int, lowered->n_nodes);
  graph->parameters = g_new0 (float, MAX (lowered->n_parameters, 1));
  for (int i = 0, k = 0; i < lowered->n_nodes; i++)
    if (lowered->nodes[i].op == TUNIT_OP_INPUT)
      graph->input_index[i] = k++;
  for (int i = 0; i < lowered->n_nodes; i++) {
    if (!prepare_node (graph, i, error)) {
      cpu_graph_free (&graph->base);
      return NULL;
    }
  }
  return &graph->base;
}

/* ---------------------------------------------------------- the backend */

static void
cpu_free (TunitBackend *backend)
{
  CpuBackend *self = (CpuBackend *) backend;
  cpu_thread_pool_free (self->cpu.pool);
  g_free (self);
}

static const TunitBackendVTable cpu_vtable = {
  .free = cpu_free,
  .graph_new = cpu_graph_new,
  .graph_free = cpu_graph_free,
  .graph_prepare = cpu_graph_prepare,
  .graph_set_parameters = cpu_graph_set_parameters,
  .graph_run = cpu_graph_run,
};

/* Decides self->bf16 and says what runs.  bf16 where it is asked for and
 * the CPU has bf16 products (or force_bf16); otherwise fp32, said once. */
static char *
describe_precision (CpuBackend *self, const TunitEngineOptions *options)
{
  const char *native = tunit_cpu_native_bf16 ();
  if (options->precision == TUNIT_PRECISION_FP16)
    return g_strdup ("fp32 (fp16 is not available on the CPU backend)");
  if (options->precision == TUNIT_PRECISION_BF16) {
    if (!TUNIT_HAVE_ONEDNN) {
      g_message ("precision bf16: libtunit was built without oneDNN; the CPU backend runs fp32");
      return g_strdup ("fp32 (bf16 needs oneDNN, which this build lacks)");
    }
    if (native == NULL && !options->force_bf16) {
      g_message ("precision bf16: this CPU has neither AMX-BF16 nor AVX512-BF16; "
                 "the CPU backend runs fp32");
      return g_strdup ("fp32 (bf16 asked for; this CPU has no bf16 instructions)");
    }
    self->bf16 = TRUE;
    g_autofree char *kernel = tunit_cpu_bf16_conv_describe ();
    return g_strdup_printf ("bf16 convolutions (%s; cpu %s%s), fp32 accumulation and "
                            "normalisation", kernel, native != NULL ? native : "without bf16",
                            native != NULL ? "" : ", forced");
  }
  return g_strdup ("fp32");
}

TunitBackend *
tunit_cpu_backend_new (const TunitEngineOptions *options, GError **error)
{
  CpuGemmProvider provider;
  if (!tunit_cpu_gemm_choose (options->cpu_gemm, &provider, error))
    return NULL;
  CpuBackend *self = g_new0 (CpuBackend, 1);
  self->base.vtable = &cpu_vtable;
  self->base.name = "cpu";
  self->options = *options;
  self->cpu.pool = cpu_thread_pool_new (tunit_cpu_threads_init (options->threads),
                                        tunit_cpu_worker_thread_start, NULL, error);
  if (self->cpu.pool == NULL) {
    g_free (self);
    return NULL;
  }
  int threads = self->cpu.threads = cpu_thread_pool_threads (self->cpu.pool);
  self->cpu.isa = options->portable_loops ? TUNIT_CPU_ISA_GENERIC : tunit_cpu_isa_detect ();
  self->cpu.gemm = (CpuGemm) { .provider = provider };
  g_autofree char *gemm = tunit_cpu_gemm_describe (provider);
  g_autofree char *precision = describe_precision (self, options);
  self->base.description = g_strdup_printf ("CPU (gemm %s, %d threads, %s loops), %s", gemm,
                                            threads, tunit_cpu_isa_name (self->cpu.isa),
                                            precision);
  return &self->base;
}
