/* lowering.c - turns a described graph into the graph the backends run
 * (lowering.h): a check of the description, then three passes, each
 * making a new node list: fold BatchNorm, fuse upsampling + convolution
 * into phase nodes, mark in-place nodes. */
#include "lowering.h"
#include "phase-split.h"

#include <math.h>
#include <string.h>

/* The lowered graph keeps what the lowering made (folded weights, phase
 * splits, border terms) next to the public graph. */
typedef struct {
  TunitGraph public;
  GPtrArray *owned;
} LoweredGraph;

/* A graph while it is being lowered. */
typedef struct {
  GArray *nodes;                          /* TunitNode */
  int outputs[TUNIT_GRAPH_MAX_OUTPUTS];
  int n_outputs;
} Work;

static gpointer
own (LoweredGraph *lowered, gpointer data)
{
  g_ptr_array_add (lowered->owned, data);
  return data;
}

static TunitNode *
work_node (Work *work, int index)
{
  return &g_array_index (work->nodes, TunitNode, index);
}

static gboolean
is_output (const Work *work, int index)
{
  for (int k = 0; k < work->n_outputs; k++)
    if (work->outputs[k] == index)
      return TRUE;
  return FALSE;
}

/* readers[i]: how many inputs of later nodes name node i. */
static int *
count_readers (Work *work)
{
  int *readers = g_new0 (int, work->nodes->len);
  for (guint i = 0; i < work->nodes->len; i++) {
    const TunitNode *node = work_node (work, i);
    for (int k = 0; k < node->n_inputs; k++)
      readers[node->inputs[k]]++;
  }
  return readers;
}

/* ----------------------------------------------------------- checking */

static gboolean
check_node (const TunitGraph *graph, int i, GError **error)
{
  const TunitNode *node = &graph->nodes[i];
  const char *problem = NULL;
  if (node->op >= TUNIT_N_OPS || node->op == TUNIT_OP_UPSAMPLED_CONV)
    problem = "an op that a description cannot hold";
  else if (node->n_inputs != tunit_op_input_count (node->op))
    problem = "the wrong number of inputs";
  for (int k = 0; problem == NULL && k < node->n_inputs; k++)
    if (node->inputs[k] < 0 || node->inputs[k] >= i)
      problem = "an input that is not an earlier node";
  if (problem == NULL && node->n_inputs > 0
      && (node->op == TUNIT_OP_CONV || node->op == TUNIT_OP_LINEAR)
      && (node->weight == NULL || node->in_channels != graph->nodes[node->inputs[0]].channels))
    problem = "weights that do not match its input";
  if (problem == NULL && node->op == TUNIT_OP_CONV
      && (node->kernel < 1 || node->stride < 1 || node->padding < 0))
    problem = "an invalid kernel, stride or padding";
  if (problem == NULL && node->op == TUNIT_OP_NORM && node->adaptive
      && (node->shift_offset < 0 || node->scale_offset < 0
          || node->shift_offset > graph->n_parameters - node->channels
          || node->scale_offset > graph->n_parameters - node->channels))
    problem = "AdaIN parameters outside the graph's parameters";
  if (problem == NULL && node->op == TUNIT_OP_BATCH_NORM
      && (node->running_mean == NULL || node->running_variance == NULL))
    problem = "no running statistics";
  if (problem == NULL)
    return TRUE;
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT, "cannot lower the %s: node %d (%s) has %s",
               graph->name, i, node->name, problem);
  return FALSE;
}

static gboolean
check_description (const TunitGraph *graph, GError **error)
{
  int inputs = 0;
  for (int i = 0; i < graph->n_nodes; i++) {
    if (!check_node (graph, i, error))
      return FALSE;
    inputs += graph->nodes[i].op == TUNIT_OP_INPUT;
  }
  gboolean outputs_ok = graph->n_outputs >= 1 && graph->n_outputs <= TUNIT_GRAPH_MAX_OUTPUTS;
  for (int k = 0; outputs_ok && k < graph->n_outputs; k++)
    outputs_ok = graph->outputs[k] >= 0 && graph->outputs[k] < graph->n_nodes;
  if (graph->n_nodes < 1 || inputs != graph->n_inputs || inputs < 1 || !outputs_ok) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "cannot lower the %s: its inputs or outputs are not nodes of it", graph->name);
    return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------- pass 1: BatchNorm */

/* Eval-mode BatchNorm after a convolution is an affine map per channel:
 * folded into the convolution's weights and bias, it costs nothing. */
static void
fold_batch_norm (LoweredGraph *lowered, TunitNode *conv, const TunitNode *norm)
{
  gsize per_channel = (gsize) conv->in_channels * conv->kernel * conv->kernel;
  float *weight = own (lowered, g_new (float, per_channel * conv->channels));
  float *bias = own (lowered, g_new (float, conv->channels));
  for (int c = 0; c < conv->channels; c++) {
    double scale = norm->weight[c] / sqrt ((double) norm->running_variance[c]
                                           + TUNIT_NORM_EPSILON);
    for (gsize k = 0; k < per_channel; k++)
      weight[c * per_channel + k] = (float) (conv->weight[c * per_channel + k] * scale);
    double conv_bias = conv->bias != NULL ? conv->bias[c] : 0.0;
    bias[c] = (float) ((conv_bias - norm->running_mean[c]) * scale + norm->bias[c]);
  }
  conv->weight = weight;
  conv->bias = bias;
  conv->activation = norm->activation;
}

static gboolean
fold_batch_norms (LoweredGraph *lowered, const TunitGraph *graph, Work *out, GError **error)
{
  Work in = { .n_outputs = graph->n_outputs };
  in.nodes = g_array_new (FALSE, FALSE, sizeof (TunitNode));
  g_array_append_vals (in.nodes, graph->nodes, graph->n_nodes);
  memcpy (in.outputs, graph->outputs, sizeof in.outputs);
  g_autofree int *readers = count_readers (&in);
  g_autofree int *value_of = g_new (int, graph->n_nodes);
  gboolean ok = TRUE;
  for (int i = 0; ok && i < graph->n_nodes; i++) {
    TunitNode node = graph->nodes[i];
    for (int k = 0; k < node.n_inputs; k++)
      node.inputs[k] = value_of[node.inputs[k]];
    if (node.op != TUNIT_OP_BATCH_NORM) {
      g_array_append_val (out->nodes, node);
      value_of[i] = out->nodes->len - 1;
      continue;
    }
    int source = graph->nodes[i].inputs[0];
    TunitNode *conv = work_node (out, node.inputs[0]);
    ok = conv->op == TUNIT_OP_CONV && readers[source] == 1 && !is_output (&in, source)
         && conv->activation == TUNIT_ACTIVATION_NONE;
    if (!ok)
      g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                   "cannot lower the %s: BatchNorm %s does not follow a convolution of its own",
                   graph->name, node.name);
    else
      fold_batch_norm (lowered, conv, &node);
    value_of[i] = node.inputs[0];
  }
  out->n_outputs = graph->n_outputs;
  for (int k = 0; ok && k < graph->n_outputs; k++)
    out->outputs[k] = value_of[graph->outputs[k]];
  g_array_unref (in.nodes);
  return ok;
}

/* ------------------------------------ pass 2: upsampling + convolution */

/* The border terms add to the convolution's sum, after the phases: so a
 * convolution with border terms must not have an activation of its own
 * (TUNIT's are followed by AdaIN); such a pair stays unfused. */
static gboolean
splits_into_phases (const TunitNode *node, int upsampling)
{
  int r = node->kernel / 2;
  gboolean has_terms = tunit_phase_border_first_line (node->pad_mode == TUNIT_PAD_REFLECT) <= r;
  return node->op == TUNIT_OP_CONV && node->inputs[0] == upsampling && node->stride == 1
         && node->kernel >= 3 && node->kernel % 2 == 1 && node->padding == r
         && (!has_terms || node->activation == TUNIT_ACTIVATION_NONE);
}

/* The phase kernels: tap (ky, kx) of output phase (py, px) adds to tap
 * (tunit_phase_tap (py, ky), tunit_phase_tap (px, kx)) of that phase. */
static float *
phase_weights (const TunitNode *node, int kernel, int rows)
{
  int k = node->kernel, r = k / 2, out = node->channels, in = node->in_channels;
  int *taps = g_new (int, 2 * k);           /* taps[phase * k + tap] */
  for (int i = 0; i < 2 * k; i++)
    taps[i] = tunit_phase_tap (i / k, i % k, r);
  float *phases = g_new0 (float, (gsize) rows * in * kernel * kernel);
  for (int phase = 0; phase < 4; phase++) {
    const int *dy = taps + (phase / 2) * k, *dx = taps + (phase % 2) * k;
    for (int o = 0; o < out; o++)
      for (int c = 0; c < in; c++) {
        const float *from = node->weight + ((gsize) o * in + c) * k * k;
        float *to = phases + (((gsize) phase * out + o) * in + c) * kernel * kernel;
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++)
            to[dy[ky] * kernel + dx[kx]] += from[ky * k + kx];
      }
  }
  g_free (taps);
  return phases;
}

/* The kernel row (TOP, BOTTOM) or column (LEFT, RIGHT) with which output
 * line d reads padded line j: [channels][in_channels][k]. */
static float *
border_weights (const TunitNode *node, TunitSide side, int line, int output_line)
{
  int k = node->kernel, r = k / 2, out = node->channels, in = node->in_channels;
  gboolean near = side == TUNIT_SIDE_TOP || side == TUNIT_SIDE_LEFT;
  gboolean rows = side == TUNIT_SIDE_TOP || side == TUNIT_SIDE_BOTTOM;
  int tap = near ? r - line - output_line : r + line + output_line;
  float *weight = g_new (float, (gsize) out * in * k);
  for (int o = 0; o < out; o++)
    for (int c = 0; c < in; c++)
      for (int s = 0; s < k; s++) {
        const float *kernel = node->weight + ((gsize) o * in + c) * k * k;
        weight[((gsize) o * in + c) * k + s] = rows ? kernel[tap * k + s] : kernel[s * k + tap];
      }
  return weight;
}

static TunitPhaseSplit *
make_phase_split (LoweredGraph *lowered, const TunitNode *node)
{
  TunitPhaseSplit *split = own (lowered, g_new0 (TunitPhaseSplit, 1));
  int r = node->kernel / 2;
  split->padding = tunit_phase_padding (r);
  split->kernel = 2 * split->padding + 1;
  split->rows = 4 * node->channels;
  split->weight = own (lowered, phase_weights (node, split->kernel, split->rows));
  int first = tunit_phase_border_first_line (node->pad_mode == TUNIT_PAD_REFLECT);
  GArray *terms = g_array_new (FALSE, FALSE, sizeof (TunitBorderTerm));
  for (int side = TUNIT_SIDE_TOP; side <= TUNIT_SIDE_RIGHT; side++)
    for (int line = first; line <= r; line++)
      for (int output_line = 0; output_line <= r - line; output_line++) {
        TunitBorderTerm term = { side, line, output_line,
                                 own (lowered, border_weights (node, side, line, output_line)) };
        g_array_append_val (terms, term);
      }
  split->n_terms = terms->len;
  split->terms = own (lowered, g_array_free (terms, FALSE));
  return split;
}

/* An upsampling is fused when every reader is a convolution that splits
 * into phases; those read the small image instead. */
static void
fuse_upsamplings (LoweredGraph *lowered, Work *in, Work *out)
{
  int n = in->nodes->len;
  g_autofree gboolean *fused = g_new0 (gboolean, n);
  for (int i = 0; i < n; i++)
    fused[i] = work_node (in, i)->op == TUNIT_OP_UPSAMPLE_NEAREST2X && !is_output (in, i);
  g_autofree int *readers = count_readers (in);
  for (int i = 0; i < n; i++) {
    const TunitNode *node = work_node (in, i);
    for (int k = 0; k < node->n_inputs; k++)
      if (fused[node->inputs[k]] && !splits_into_phases (node, node->inputs[k]))
        fused[node->inputs[k]] = FALSE;
  }
  g_autofree int *value_of = g_new (int, n);
  for (int i = 0; i < n; i++) {
    TunitNode node = *work_node (in, i);
    if (fused[i] && readers[i] > 0) {
      value_of[i] = value_of[node.inputs[0]];   /* its readers read its input */
      continue;
    }
    gboolean reads_fused = node.n_inputs > 0 && fused[node.inputs[0]];
    for (int k = 0; k < node.n_inputs; k++)
      node.inputs[k] = value_of[node.inputs[k]];
    if (reads_fused) {
      node.op = TUNIT_OP_UPSAMPLED_CONV;
      node.phases = make_phase_split (lowered, &node);
    }
    g_array_append_val (out->nodes, node);
    value_of[i] = out->nodes->len - 1;
  }
  out->n_outputs = in->n_outputs;
  for (int k = 0; k < in->n_outputs; k++)
    out->outputs[k] = value_of[in->outputs[k]];
}

/* ---------------------------------------------------- pass 3: in place */

static void
mark_in_place (Work *work)
{
  int n = work->nodes->len;
  g_autofree int *last_reader = g_new (int, n);
  for (int i = 0; i < n; i++)
    last_reader[i] = -1;
  for (int i = 0; i < n; i++) {
    const TunitNode *node = work_node (work, i);
    for (int k = 0; k < node->n_inputs; k++)
      last_reader[node->inputs[k]] = i;
  }
  for (int i = 0; i < n; i++) {
    TunitNode *node = work_node (work, i);
    node->in_place = tunit_op_may_run_in_place (node->op) && node->n_inputs > 0
                     && last_reader[node->inputs[0]] == i && !is_output (work, node->inputs[0]);
  }
}

/* --------------------------------------------------------------- public */

TunitGraph *
tunit_graph_lower (const TunitGraph *description, const TunitLoweringOptions *options,
                   GError **error)
{
  if (!check_description (description, error))
    return NULL;
  LoweredGraph *lowered = g_new0 (LoweredGraph, 1);
  lowered->owned = g_ptr_array_new_with_free_func (g_free);
  Work folded = { .nodes = g_array_new (FALSE, FALSE, sizeof (TunitNode)) };
  Work fused = { .nodes = g_array_new (FALSE, FALSE, sizeof (TunitNode)) };
  gboolean ok = fold_batch_norms (lowered, description, &folded, error);
  if (ok && options->fuse_upsample_conv) {
    fuse_upsamplings (lowered, &folded, &fused);
  } else {
    g_array_append_vals (fused.nodes, folded.nodes->data, folded.nodes->len);
    fused.n_outputs = folded.n_outputs;
    memcpy (fused.outputs, folded.outputs, sizeof fused.outputs);
  }
  g_array_unref (folded.nodes);
  mark_in_place (&fused);
  TunitGraph *graph = &lowered->public;
  *graph = *description;
  graph->n_nodes = fused.nodes->len;
  graph->nodes = (TunitNode *) g_array_free (fused.nodes, FALSE);
  graph->n_outputs = fused.n_outputs;
  memcpy (graph->outputs, fused.outputs, sizeof graph->outputs);
  graph->lowered = TRUE;
  if (!ok) {
    tunit_lowered_graph_free (graph);
    return NULL;
  }
  return graph;
}

void
tunit_lowered_graph_free (TunitGraph *graph)
{
  if (graph == NULL)
    return;
  LoweredGraph *lowered = (LoweredGraph *) graph;
  g_free (graph->nodes);
  g_ptr_array_unref (lowered->owned);
  g_free (lowered);
}
