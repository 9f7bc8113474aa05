/* cpu-backend.c - executes network graphs on the CPU.
 *
 * Once per graph the backend decides how to run each node and prepares
 * what does not depend on the frame size:
 *   - 3x3 stride-1 convolutions of the generator run as Winograd
 *     convolutions with weights transformed once;
 *   - a nearest x2 upsampling read only by a 5x5 convolution is not
 *     materialised: the pair runs as four 3x3 phase convolutions on the
 *     low-resolution input (Winograd too) plus an exact border pass;
 *   - convolutions with few outputs or inputs (the last and first
 *     layers) run directly;
 *   - even-sized stride-2 convolutions (the downsampling) run as GEMMs
 *     on the space-to-depth rearranged input;
 *   - everything else as im2col + sgemm.
 * For each input size it prepares, once, the shapes, a buffer plan (norms
 * and residual adds run in place when their input dies with them) and the
 * buffers; a frame of the same size then runs without allocating. */
#include "backend.h"
#include "cpu-kernels.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
  EXEC_PLAIN,       /* the generic kernel of the node kind */
  EXEC_SKIP,        /* an upsampling folded into the convolution reading it */
  EXEC_WINOGRAD,    /* 3x3 stride-1 convolution */
  EXEC_UPSAMPLED,   /* 5x5 convolution of a folded upsampling */
  EXEC_DIRECT,      /* convolution with few output or input channels */
  EXEC_SPACE_TO_DEPTH, /* even-sized stride-2 convolution */
} ExecKind;

typedef struct {
  ExecKind kind;
  int source;                    /* the value the node reads (after folding) */
  /* [F(2x2,3x3), F(4x4,3x3)][transformed per run, kept]; made when first used */
  CpuWinograd *winograd[2][2];
  CpuUpsampleBorder *border;
  CpuSpaceToDepthConv *space_to_depth;
} NodeExec;

/* How a graph runs, independent of the input size. */
typedef struct {
  const TunitGraph *graph;
  NodeExec *exec;                /* [n_nodes] */
  TunitCpuIsa isa;               /* variant of the hot loops */
} GraphPrep;

/* Everything one graph needs to run at one input size. */
typedef struct {
  GraphPrep *prep;
  int height, width;
  TunitShape *shapes;            /* [n_nodes] */
  CpuWinograd **winograd;        /* [n_nodes] the variant each node uses */
  int *buffer;                   /* [n_nodes] buffer holding each value, -1 none */
  int n_buffers;
  float **buffers;
  float *scratch;                /* shared by the threads of one kernel */
  float *weight_scratch;         /* Winograd weights transformed per frame */
  float **thread_scratch;        /* [threads] */
  int threads;
} GraphRun;

typedef struct {
  TunitBackend base;
  const TunitNetwork *network;
  int threads;
  TunitCpuIsa isa;               /* chosen once, when the backend is made */
  float *adain_parameters;
  GraphPrep *generator_prep;
  GraphPrep *guide_prep;
  GraphRun *generator_run;
  GraphRun *guide_run;
} CpuBackend;

/* ------------------------------------------------------------ preparing */

static void
graph_prep_free (GraphPrep *prep)
{
  if (prep == NULL)
    return;
  for (int i = 0; i < prep->graph->n_nodes; i++) {
    for (int k = 0; k < 4; k++)
      tunit_cpu_winograd_free (prep->exec[i].winograd[k / 2][k % 2]);
    tunit_cpu_upsample_border_free (prep->exec[i].border);
    tunit_cpu_space_to_depth_conv_free (prep->exec[i].space_to_depth);
  }
  g_free (prep->exec);
  g_free (prep);
}

static int
count_readers (const TunitGraph *graph, int value)
{
  int readers = 0;
  for (int i = 0; i < graph->n_nodes; i++) {
    const TunitNode *node = &graph->nodes[i];
    readers += node->input == value;
    readers += node->op == TUNIT_OP_RESIDUAL_ADD && node->skip == value;
  }
  return readers;
}

/* TUNIT_CPU_WINOGRAD: 0 = no Winograd, no folding and no space-to-depth
 * (the reference path: im2col everywhere), 2 or 4 = that Winograd tile
 * everywhere; unset: chosen per layer. */
static int
winograd_override (void)
{
  const char *env = g_getenv ("TUNIT_CPU_WINOGRAD");
  if (env != NULL && (strcmp (env, "0") == 0 || strcmp (env, "2") == 0
                      || strcmp (env, "4") == 0))
    return atoi (env);
  return -1;
}

/* Large frames: a run whose largest value has at least this many floats
 * transforms the Winograd weights on every frame instead of keeping them
 * (the transform is then a small part of the frame, and the kept weights
 * would cost up to 4x the model's size in memory). */
#define LARGE_FRAME_VALUE ((gsize) 8 << 20)

static gboolean
keep_transformed_weights (gsize largest_value)
{
  const char *env = g_getenv ("TUNIT_CPU_KEEP_WEIGHTS");
  if (env != NULL)
    return strcmp (env, "0") != 0;
  return largest_value < LARGE_FRAME_VALUE;
}

/* F(4x4,3x3) does 4x fewer multiplications than direct convolution,
 * F(2x2,3x3) 2.25x; F(4x4) needs enough tiles to keep the GEMMs wide.  So:
 * F(4x4) on inputs of at least 24x24, F(2x2) on smaller ones.  Kept F(4x4)
 * weights take 36/9 of the model's 3x3 weights (about 400 MB for the
 * img_size-128 model at frames up to LARGE_FRAME_VALUE); at 256x256 they
 * made a frame about 10% faster than kept F(2x2) weights. */
static int
winograd_tile_for (const TunitShape *in)
{
  int forced = winograd_override ();
  if (forced > 0)
    return forced;
  return in->height >= 24 && in->width >= 24 ? 4 : 2;
}

static CpuWinograd *
winograd_variant (NodeExec *exec, const TunitNode *node, int m, gboolean keep, TunitCpuIsa isa)
{
  CpuWinograd **slot = &exec->winograd[m == 4][keep != 0];
  if (*slot == NULL)
    *slot = exec->kind == EXEC_UPSAMPLED
            ? tunit_cpu_winograd_new_upsampled (node, m, keep, isa)
            : tunit_cpu_winograd_new (node, m, keep, isa);
  return *slot;
}

/* optimize: use the fast paths (the generator); otherwise every node runs
 * its generic kernel (the guide, run once per style, and the style MLP). */
static GraphPrep *
graph_prep_new (const TunitGraph *graph, gboolean optimize, TunitCpuIsa isa)
{
  GraphPrep *prep = g_new0 (GraphPrep, 1);
  prep->graph = graph;
  prep->isa = isa;
  prep->exec = g_new0 (NodeExec, graph->n_nodes);
  gboolean winograd = optimize && winograd_override () != 0;
  for (int i = 0; i < graph->n_nodes; i++) {
    const TunitNode *node = &graph->nodes[i];
    NodeExec *exec = &prep->exec[i];
    exec->kind = EXEC_PLAIN;
    exec->source = node->input;
    if (!optimize || node->op != TUNIT_OP_CONV)
      continue;
    const TunitNode *producer = &graph->nodes[node->input];
    if (winograd && node->kernel == 5 && node->stride == 1 && node->padding == 2
        && node->pad_mode == TUNIT_PAD_REFLECT
        && producer->op == TUNIT_OP_UPSAMPLE_NEAREST2X
        && count_readers (graph, node->input) == 1
        && node->input != graph->outputs[0] && node->input != graph->outputs[1]) {
      prep->exec[node->input].kind = EXEC_SKIP;
      exec->kind = EXEC_UPSAMPLED;
      exec->source = producer->input;
      exec->border = tunit_cpu_upsample_border_new (node);
    } else if (winograd && node->kernel == 3 && node->stride == 1 && node->padding == 1) {
      exec->kind = EXEC_WINOGRAD;
    } else if (tunit_cpu_direct_conv_applies (node)) {
      exec->kind = EXEC_DIRECT;
    } else if (winograd && tunit_cpu_space_to_depth_conv_applies (node)) {
      exec->kind = EXEC_SPACE_TO_DEPTH;
      exec->space_to_depth = tunit_cpu_space_to_depth_conv_new (node);
    }
  }
  return prep;
}

/* ------------------------------------------------------- sizing a run */

static void
graph_run_free (GraphRun *run)
{
  if (run == NULL)
    return;
  for (int b = 0; b < run->n_buffers; b++)
    free (run->buffers[b]);
  g_free (run->buffers);
  free (run->scratch);
  free (run->weight_scratch);
  for (int t = 0; run->thread_scratch && t < run->threads; t++)
    free (run->thread_scratch[t]);
  g_free (run->thread_scratch);
  g_free (run->buffer);
  g_free (run->winograd);
  g_free (run->shapes);
  g_free (run);
}

static gsize
value_size (const GraphRun *run, int node)
{
  const TunitShape *shape = &run->shapes[node];
  return (gsize) shape->channels * shape->height * shape->width;
}

static float *
value_of (GraphRun *run, int node)
{
  return run->buffers[run->buffer[node]];
}

static gboolean
runs_in_place (const TunitNode *node)
{
  return node->op == TUNIT_OP_NORM || node->op == TUNIT_OP_RESIDUAL_ADD;
}

/* Assigns buffers: a value dies after its last reader; its buffer then
 * serves the next value that fits best.  Norms and residual adds take over
 * their input's buffer when that input dies with them. */
static gsize *
plan_buffers (GraphRun *run)
{
  const TunitGraph *graph = run->prep->graph;
  const NodeExec *exec = run->prep->exec;
  int n = graph->n_nodes;
  g_autofree int *last_use = g_new (int, n);
  for (int i = 0; i < n; i++)
    last_use[i] = i;
  for (int i = 0; i < n; i++) {
    if (exec[i].kind == EXEC_SKIP)
      continue;
    if (exec[i].source >= 0)
      last_use[exec[i].source] = i;
    if (graph->nodes[i].op == TUNIT_OP_RESIDUAL_ADD && graph->nodes[i].skip >= 0)
      last_use[graph->nodes[i].skip] = i;
  }
  for (int k = 0; k < 2; k++)
    if (graph->outputs[k] >= 0)
      last_use[graph->outputs[k]] = n;

  GArray *sizes = g_array_new (FALSE, TRUE, sizeof (gsize));
  g_autofree gboolean *busy = g_new0 (gboolean, n + 1);
  run->buffer = g_new (int, n);
  for (int i = 0; i < n; i++) {
    run->buffer[i] = -1;
    if (exec[i].kind == EXEC_SKIP)
      continue;
    int source = exec[i].source;
    gsize size = value_size (run, i);
    if (runs_in_place (&graph->nodes[i]) && source >= 0 && last_use[source] == i) {
      run->buffer[i] = run->buffer[source];
      gsize *have = &g_array_index (sizes, gsize, run->buffer[i]);
      *have = MAX (*have, size);
    } else {
      run->buffer[i] = tunit_buffer_slot_take (sizes, busy, size);
    }
    /* release the values whose last reader is node i */
    int reads[2] = { source, graph->nodes[i].op == TUNIT_OP_RESIDUAL_ADD
                             ? graph->nodes[i].skip : -1 };
    for (int r = 0; r < 2; r++)
      if (reads[r] >= 0 && last_use[reads[r]] == i && run->buffer[reads[r]] != run->buffer[i])
        busy[run->buffer[reads[r]]] = FALSE;
    if (last_use[i] == i)
      busy[run->buffer[i]] = FALSE;
  }
  run->n_buffers = sizes->len;
  return (gsize *) g_array_free (sizes, FALSE);
}

static GraphRun *
graph_run_new (GraphPrep *prep, int input_channels, int height, int width, int threads,
               GError **error)
{
  const TunitGraph *graph = prep->graph;
  GraphRun *run = g_new0 (GraphRun, 1);
  run->prep = prep;
  run->height = height;
  run->width = width;
  run->threads = MAX (threads, 1);
  run->shapes = g_new (TunitShape, graph->n_nodes);
  if (!tunit_graph_infer_shapes (graph, input_channels, height, width, run->shapes, error)) {
    graph_run_free (run);
    return NULL;
  }
  g_autofree gsize *buffer_size = plan_buffers (run);
  run->winograd = g_new0 (CpuWinograd *, graph->n_nodes);
  gsize largest = 0;
  for (int i = 0; i < graph->n_nodes; i++)
    if (prep->exec[i].kind != EXEC_SKIP)
      largest = MAX (largest, value_size (run, i));
  gboolean keep = keep_transformed_weights (largest);
  gsize scratch = 1, thread_scratch = 1, weight_scratch = 1;
  for (int i = 0; i < graph->n_nodes; i++) {
    NodeExec *exec = &prep->exec[i];
    const TunitNode *node = &graph->nodes[i];
    const TunitShape *in = exec->source >= 0 ? &run->shapes[exec->source] : NULL;
    if (exec->kind == EXEC_WINOGRAD || exec->kind == EXEC_UPSAMPLED)
      run->winograd[i] = winograd_variant (exec, node, winograd_tile_for (in), keep,
                                           prep->isa);
    switch (exec->kind) {
    case EXEC_PLAIN:
      if (node->op == TUNIT_OP_CONV)
        scratch = MAX (scratch, tunit_cpu_conv_scratch_size (node, &run->shapes[i]));
      break;
    case EXEC_WINOGRAD:
    case EXEC_UPSAMPLED:
      scratch = MAX (scratch, tunit_cpu_winograd_scratch_size (run->winograd[i], in));
      weight_scratch = MAX (weight_scratch,
                            tunit_cpu_winograd_weight_scratch_size (run->winograd[i]));
      thread_scratch = MAX (thread_scratch,
                            tunit_cpu_winograd_thread_scratch (run->winograd[i], in));
      if (exec->border)
        thread_scratch = MAX (thread_scratch,
                              tunit_cpu_upsample_border_thread_scratch (exec->border, in));
      break;
    case EXEC_DIRECT:
      thread_scratch = MAX (thread_scratch,
                            tunit_cpu_direct_conv_thread_scratch (node, &run->shapes[i]));
      break;
    case EXEC_SPACE_TO_DEPTH:
      scratch = MAX (scratch, tunit_cpu_space_to_depth_conv_scratch_size (exec->space_to_depth,
                                                                          &run->shapes[i]));
      break;
    case EXEC_SKIP:
      break;
    }
  }
  run->buffers = g_new0 (float *, MAX (run->n_buffers, 1));
  run->thread_scratch = g_new0 (float *, run->threads);
  gboolean ok = (run->scratch = malloc (sizeof (float) * scratch)) != NULL
                && (run->weight_scratch = malloc (sizeof (float) * weight_scratch)) != NULL;
  for (int t = 0; ok && t < run->threads; t++)
    ok = (run->thread_scratch[t] = malloc (sizeof (float) * thread_scratch)) != NULL;
  for (int b = 0; ok && b < run->n_buffers; b++)
    ok = (run->buffers[b] = malloc (sizeof (float) * MAX (buffer_size[b], 1))) != NULL;
  if (!ok) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_OUT_OF_MEMORY,
                 "out of memory allocating buffers for a %dx%d frame", width, height);
    graph_run_free (run);
    return NULL;
  }
  return run;
}

/* ------------------------------------------------------------ running */

static void
run_node (GraphRun *run, int i, const float *input, const float *adain_parameters)
{
  const NodeExec *exec = &run->prep->exec[i];
  if (exec->kind == EXEC_SKIP)
    return;
  const TunitNode *node = &run->prep->graph->nodes[i];
  float *out = value_of (run, i);
  const float *in = exec->source >= 0 ? value_of (run, exec->source) : NULL;
  const TunitShape *in_shape = exec->source >= 0 ? &run->shapes[exec->source] : NULL;
  int threads = run->threads;
  switch (exec->kind) {
  case EXEC_WINOGRAD:
    tunit_cpu_winograd_run (run->winograd[i], in, in_shape, out, run->scratch,
                            run->thread_scratch, run->weight_scratch, threads);
    return;
  case EXEC_UPSAMPLED:
    tunit_cpu_winograd_run (run->winograd[i], in, in_shape, out, run->scratch,
                            run->thread_scratch, run->weight_scratch, threads);
    tunit_cpu_upsample_border_run (exec->border, in, in_shape, out, run->thread_scratch,
                                   threads);
    return;
  case EXEC_DIRECT:
    tunit_cpu_direct_conv (node, in, in_shape, out, &run->shapes[i], run->thread_scratch,
                           threads, run->prep->isa);
    return;
  case EXEC_SPACE_TO_DEPTH:
    tunit_cpu_space_to_depth_conv_run (exec->space_to_depth, in, in_shape, out,
                                       &run->shapes[i], run->scratch, threads);
    return;
  default:
    break;
  }
  switch (node->op) {
  case TUNIT_OP_INPUT:
    memcpy (out, input, sizeof (float) * value_size (run, i));
    break;
  case TUNIT_OP_CONV:
    tunit_cpu_conv (node, in, in_shape, out, &run->shapes[i], run->scratch, threads);
    break;
  case TUNIT_OP_NORM:
    tunit_cpu_norm (node, in, in_shape, out, adain_parameters, threads, run->prep->isa);
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
    tunit_cpu_residual_add (node, value_of (run, node->skip), in, in_shape, out, threads);
    break;
  }
}

static void
graph_run_execute (GraphRun *run, const float *input, const float *adain_parameters)
{
  static int profile = -1;
  if (profile < 0)
    profile = g_getenv ("TUNIT_CPU_PROFILE") != NULL;
  for (int i = 0; i < run->prep->graph->n_nodes; i++) {
    gint64 start = profile ? g_get_monotonic_time () : 0;
    run_node (run, i, input, adain_parameters);
    if (profile && run->prep->exec[i].kind != EXEC_SKIP)
      g_printerr ("%-32s kind %d %4dx%-4d x%-4d %8.2f ms\n", run->prep->graph->nodes[i].name,
                  run->prep->exec[i].kind, run->shapes[i].width, run->shapes[i].height,
                  run->shapes[i].channels, (g_get_monotonic_time () - start) / 1000.0);
  }
}

gboolean
tunit_cpu_run_vector_graph (const TunitGraph *graph, const float *input, float *output,
                            GError **error)
{
  GraphPrep *prep = graph_prep_new (graph, FALSE, tunit_cpu_isa_detect ());
  GraphRun *run = graph_run_new (prep, graph->nodes[0].channels, 1, 1, 1, error);
  if (run == NULL) {
    graph_prep_free (prep);
    return FALSE;
  }
  graph_run_execute (run, input, NULL);
  memcpy (output, value_of (run, graph->outputs[0]),
          sizeof (float) * value_size (run, graph->outputs[0]));
  graph_run_free (run);
  graph_prep_free (prep);
  return TRUE;
}

/* ---------------------------------------------------------- the vtable */

static void
cpu_free (TunitBackend *backend)
{
  CpuBackend *self = (CpuBackend *) backend;
  graph_run_free (self->generator_run);
  graph_run_free (self->guide_run);
  graph_prep_free (self->generator_prep);
  graph_prep_free (self->guide_prep);
  g_free (self->adain_parameters);
  g_free (self);
}

/* Keeps the prepared run while the size stays; rebuilds it otherwise. */
static GraphRun *
prepare (CpuBackend *self, GraphRun **run, GraphPrep **prep, const TunitGraph *graph,
         gboolean optimize, int height, int width, GError **error)
{
  if (*run != NULL && (*run)->height == height && (*run)->width == width)
    return *run;
  g_clear_pointer (run, graph_run_free);
  if (*prep == NULL)
    *prep = graph_prep_new (graph, optimize, self->isa);
  *run = graph_run_new (*prep, 3, height, width, self->threads, error);
  return *run;
}

static gboolean
cpu_run_guide (TunitBackend *backend, const float *image, float *style, float *logits,
               GError **error)
{
  CpuBackend *self = (CpuBackend *) backend;
  const TunitGraph *guide = &self->network->guide;
  int size = self->network->guide_size;
  GraphRun *run = prepare (self, &self->guide_run, &self->guide_prep, guide, FALSE, size, size,
                           error);
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
  GraphRun *run = prepare (self, &self->generator_run, &self->generator_prep, generator, TRUE,
                           height, width, error);
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
  CpuBackend *self = g_new0 (CpuBackend, 1);
  self->base.vtable = &cpu_vtable;
  self->base.name = "cpu";
  self->threads = tunit_cpu_threads_init (options->threads);
  self->isa = tunit_cpu_isa_detect ();
#ifdef _OPENMP
  int threads = self->threads;
#else
  int threads = openblas_get_num_threads ();
#endif
  /* reduced precision is not implemented on the CPU: it runs fp32 */
  gboolean reduced = options->precision == TUNIT_PRECISION_FP16
                     || options->precision == TUNIT_PRECISION_BF16;
  self->base.description = g_strdup_printf ("CPU (OpenBLAS, %d threads, %s loops), fp32%s",
                                            threads, tunit_cpu_isa_name (self->isa),
                                            reduced ? " (reduced precision not available "
                                                      "on the CPU backend)" : "");
  self->network = network;
  self->adain_parameters = g_new0 (float, MAX (network->adain_parameter_count, 1));
  return &self->base;
}
