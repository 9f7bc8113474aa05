/* op-cases.c - the op-test table of every backend (op-cases.h): graphs
 * built by hand, a naive reference, and the check that lowers a graph,
 * runs it on a backend and compares. */
#include "op-cases.h"

#include <math.h>
#include <string.h>

/* -------------------------------------------------------------- graphs */

typedef struct {
  GArray *nodes;
  GPtrArray *owned;
  guint32 seed;
  int outputs[TUNIT_GRAPH_MAX_OUTPUTS];
  int n_outputs;
  int n_parameters;
} Builder;

static float
random_unit (Builder *b)
{
  b->seed = b->seed * 1664525u + 1013904223u;
  return (b->seed >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static float *
random_array (Builder *b, gsize count, float scale, float offset)
{
  float *values = g_new (float, count);
  for (gsize i = 0; i < count; i++)
    values[i] = random_unit (b) * scale + offset;
  g_ptr_array_add (b->owned, values);
  return values;
}

static void
builder_init (Builder *b, guint32 seed)
{
  *b = (Builder) { .seed = seed };
  b->nodes = g_array_new (FALSE, TRUE, sizeof (TunitNode));
  b->owned = g_ptr_array_new_with_free_func (g_free);
}

static void
builder_clear (Builder *b)
{
  g_array_unref (b->nodes);
  g_ptr_array_unref (b->owned);
}

static TunitGraph
builder_graph (Builder *b)
{
  TunitGraph graph = { .name = "test graph", .nodes = (TunitNode *) b->nodes->data,
                       .n_nodes = b->nodes->len, .n_outputs = b->n_outputs,
                       .n_parameters = b->n_parameters };
  memcpy (graph.outputs, b->outputs, sizeof graph.outputs);
  if (graph.n_outputs == 0) {
    graph.outputs[0] = graph.n_nodes - 1;
    graph.n_outputs = 1;
  }
  for (int i = 0; i < graph.n_nodes; i++)
    graph.n_inputs += graph.nodes[i].op == TUNIT_OP_INPUT;
  return graph;
}

static const TunitNode *
node_at (Builder *b, int index)
{
  return &g_array_index (b->nodes, TunitNode, index);
}

static int
add (Builder *b, TunitNode node)
{
  if (node.name == NULL)
    node.name = "test-node";
  if (node.op != TUNIT_OP_INPUT && node.op != TUNIT_OP_LINEAR && node.op != TUNIT_OP_CONV) {
    node.channels = node_at (b, node.inputs[0])->channels;
    node.in_channels = node.channels;
  }
  g_array_append_val (b->nodes, node);
  return b->nodes->len - 1;
}

static int
add_input (Builder *b, int channels)
{
  return add (b, (TunitNode) { .op = TUNIT_OP_INPUT, .channels = channels });
}

static int
add_conv (Builder *b, int input, int out, int kernel, int stride, int pad, TunitPadMode mode,
          TunitActivation act, gboolean bias)
{
  int in = node_at (b, input)->channels;
  float scale = 1.5f / sqrtf ((float) in * kernel * kernel);
  return add (b, (TunitNode) {
    .op = TUNIT_OP_CONV, .inputs = { input }, .n_inputs = 1, .channels = out,
    .in_channels = in, .activation = act, .kernel = kernel, .stride = stride, .padding = pad,
    .pad_mode = mode, .weight = random_array (b, (gsize) out * in * kernel * kernel, scale, 0),
    .bias = bias ? random_array (b, out, 0.5f, 0) : NULL });
}

static int
add_batch_norm (Builder *b, int input, TunitActivation act)
{
  int channels = node_at (b, input)->channels;
  return add (b, (TunitNode) {
    .op = TUNIT_OP_BATCH_NORM, .inputs = { input }, .n_inputs = 1, .activation = act,
    .weight = random_array (b, channels, 0.5f, 1.0f), .bias = random_array (b, channels, 0.3f, 0),
    .running_mean = random_array (b, channels, 0.2f, 0),
    .running_variance = random_array (b, channels, 0.4f, 0.8f) });
}

/* An adaptive norm takes the next 2 x channels parameters: shift, then scale. */
static int
add_norm (Builder *b, int input, gboolean adaptive, TunitActivation act)
{
  int channels = node_at (b, input)->channels;
  TunitNode node = { .op = TUNIT_OP_NORM, .inputs = { input }, .n_inputs = 1,
                     .activation = act, .adaptive = adaptive, .shift_offset = -1,
                     .scale_offset = -1 };
  if (adaptive) {
    node.shift_offset = b->n_parameters;
    node.scale_offset = b->n_parameters + channels;
    b->n_parameters += 2 * channels;
  }
  return add (b, node);
}

static int
add_simple (Builder *b, TunitOpKind op, int input)
{
  return add (b, (TunitNode) { .op = op, .inputs = { input }, .n_inputs = 1 });
}

static int
add_residual (Builder *b, int skip, int input, float scale)
{
  return add (b, (TunitNode) { .op = TUNIT_OP_RESIDUAL_ADD, .inputs = { skip, input },
                               .n_inputs = 2, .residual_scale = scale });
}

static int
add_linear (Builder *b, int input, int out, TunitActivation act)
{
  int in = node_at (b, input)->channels;
  return add (b, (TunitNode) {
    .op = TUNIT_OP_LINEAR, .inputs = { input }, .n_inputs = 1, .channels = out,
    .in_channels = in, .activation = act,
    .weight = random_array (b, (gsize) out * in, 1.0f / sqrtf (in), 0),
    .bias = random_array (b, out, 0.5f, 0) });
}

/* ----------------------------------------------------------- reference */

static int
reflect_or_clip (int u, int n, TunitPadMode mode)
{
  if (mode == TUNIT_PAD_ZERO)
    return (u < 0 || u >= n) ? -1 : u;
  u = u < 0 ? -u : u;
  return u >= n ? 2 * n - 2 - u : u;
}

static double
reference_activation (double x, TunitActivation act)
{
  if (act == TUNIT_ACTIVATION_RELU)
    return x > 0 ? x : 0;
  if (act == TUNIT_ACTIVATION_TANH)
    return tanh (x);
  return x;
}

static void
reference_conv (const TunitNode *n, const float *x, const TunitShape *in, float *y,
                const TunitShape *out)
{
  int k = n->kernel;
  for (int co = 0; co < out->channels; co++)
    for (int oy = 0; oy < out->height; oy++)
      for (int ox = 0; ox < out->width; ox++) {
        double sum = n->bias ? n->bias[co] : 0.0;
        for (int ci = 0; ci < in->channels; ci++)
          for (int ky = 0; ky < k; ky++) {
            int iy = reflect_or_clip (oy * n->stride - n->padding + ky, in->height, n->pad_mode);
            for (int kx = 0; kx < k && iy >= 0; kx++) {
              int ix = reflect_or_clip (ox * n->stride - n->padding + kx, in->width,
                                        n->pad_mode);
              if (ix >= 0)
                sum += (double) n->weight[((co * in->channels + ci) * k + ky) * k + kx]
                       * x[(ci * in->height + iy) * in->width + ix];
            }
          }
        y[(co * out->height + oy) * out->width + ox] =
          (float) reference_activation (sum, n->activation);
      }
}

static void
reference_norm (const TunitNode *n, const float *x, const TunitShape *s,
                const float *parameters, float *y)
{
  gsize plane = (gsize) s->height * s->width;
  for (int c = 0; c < s->channels; c++) {
    const float *xc = x + c * plane;
    double mean = 0, var = 0;
    for (gsize i = 0; i < plane; i++)
      mean += xc[i];
    mean /= plane;
    for (gsize i = 0; i < plane; i++)
      var += (xc[i] - mean) * (xc[i] - mean);
    var /= plane;
    double gamma = 1, beta = 0;
    if (n->op == TUNIT_OP_BATCH_NORM) {
      mean = n->running_mean[c];
      var = n->running_variance[c];
      gamma = n->weight[c];
      beta = n->bias[c];
    } else if (n->adaptive) {
      beta = parameters[n->shift_offset + c];
      gamma = parameters[n->scale_offset + c];
    }
    double scale = gamma / sqrt (var + TUNIT_NORM_EPSILON);
    for (gsize i = 0; i < plane; i++)
      y[c * plane + i] = (float) reference_activation ((xc[i] - mean) * scale + beta,
                                                       n->activation);
  }
}

static void
reference_node (const TunitNode *n, float **values, const TunitShape *shapes, int index,
                const float *parameters)
{
  const TunitShape *in = n->n_inputs > 0 ? &shapes[n->inputs[0]] : NULL;
  const TunitShape *out = &shapes[index];
  const float *x = n->n_inputs > 0 ? values[n->inputs[0]] : NULL;
  float *y = values[index];
  gsize count = tunit_shape_count (out);
  switch (n->op) {
  case TUNIT_OP_CONV:
    reference_conv (n, x, in, y, out);
    break;
  case TUNIT_OP_NORM:
  case TUNIT_OP_BATCH_NORM:
    reference_norm (n, x, in, parameters, y);
    break;
  case TUNIT_OP_UPSAMPLE_NEAREST2X:
    for (gsize i = 0; i < count; i++) {
      int c = i / (out->height * out->width), r = i % (out->height * out->width);
      int oy = r / out->width, ox = r % out->width;
      y[i] = x[(c * in->height + oy / 2) * in->width + ox / 2];
    }
    break;
  case TUNIT_OP_MAX_POOL2X2:
    for (gsize i = 0; i < count; i++) {
      int c = i / (out->height * out->width), r = i % (out->height * out->width);
      int oy = r / out->width, ox = r % out->width;
      const float *p = x + (c * in->height + 2 * oy) * in->width + 2 * ox;
      y[i] = MAX (MAX (p[0], p[1]), MAX (p[in->width], p[in->width + 1]));
    }
    break;
  case TUNIT_OP_GLOBAL_AVERAGE_POOL:
    for (int c = 0; c < in->channels; c++) {
      double sum = 0;
      for (int i = 0; i < in->height * in->width; i++)
        sum += x[c * in->height * in->width + i];
      y[c] = (float) (sum / (in->height * in->width));
    }
    break;
  case TUNIT_OP_LINEAR:
    for (int o = 0; o < n->channels; o++) {
      double sum = n->bias ? n->bias[o] : 0;
      for (int i = 0; i < n->in_channels; i++)
        sum += (double) n->weight[o * n->in_channels + i] * x[i];
      y[o] = (float) reference_activation (sum, n->activation);
    }
    break;
  case TUNIT_OP_RESIDUAL_ADD:
    for (gsize i = 0; i < count; i++)
      y[i] = x[i] + n->residual_scale * values[n->inputs[1]][i];
    break;
  default:
    g_error ("the reference has no %s", tunit_op_name (n->op));
  }
}

/* Runs the described graph; returns the values of every node. */
static float **
reference_run (const TunitGraph *graph, const TunitShape *shapes, const float *input,
               const float *parameters)
{
  float **values = g_new0 (float *, graph->n_nodes);
  for (int i = 0; i < graph->n_nodes; i++) {
    gsize count = tunit_shape_count (&shapes[i]);
    values[i] = g_new0 (float, count + 1);
    if (graph->nodes[i].op == TUNIT_OP_INPUT)
      memcpy (values[i], input, sizeof (float) * count);
    else
      reference_node (&graph->nodes[i], values, shapes, i, parameters);
  }
  return values;
}

/* ------------------------------------------------------------- checks */

typedef struct {
  int channels, height, width;
  float input_offset;       /* added to the random input (norm numerics) */
} RunSpec;

static double
max_error (const float *got, const float *want, gsize count, double *largest)
{
  double worst = 0;
  *largest = 0;
  for (gsize i = 0; i < count; i++) {
    double e = isnan (got[i]) ? INFINITY : fabs ((double) got[i] - want[i]);
    worst = MAX (worst, e);
    *largest = MAX (*largest, fabs (want[i]));
  }
  return worst;
}

int
op_graph_count (const TunitGraph *graph, TunitOpKind op)
{
  int n = 0;
  for (int i = 0; i < graph->n_nodes; i++)
    n += graph->nodes[i].op == op;
  return n;
}

/* Lowers the graph, runs it on the backend (twice: the second run reuses
 * what the first prepared) and compares every output with the reference:
 * fails beyond tolerance x max (1, max |reference|). */
static void
check_graph (const OpTableRun *run, Builder *b, const RunSpec *spec, double tolerance,
             const char *label)
{
  g_autoptr (GError) error = NULL;
  TunitGraph graph = builder_graph (b);
  gsize input_count = (gsize) spec->channels * spec->height * spec->width;
  g_autofree float *input = g_new (float, input_count);
  for (gsize i = 0; i < input_count; i++)
    input[i] = random_unit (b) + spec->input_offset;
  g_autofree float *parameters = g_new (float, MAX (graph.n_parameters, 1));
  for (int i = 0; i < graph.n_parameters; i++)
    parameters[i] = random_unit (b) + (i % 2 ? 1.0f : 0.0f);

  TunitLoweringOptions lowering = { .fuse_upsample_conv = run->fuse_upsample_conv };
  TunitGraph *lowered = tunit_graph_lower (&graph, &lowering, &error);
  g_assert_no_error (error);
  TunitGraphLayout *layout = tunit_graph_layout_new (lowered, spec->height, spec->width, &error);
  g_assert_no_error (error);
  TunitBackendGraph *prepared = tunit_backend_graph_new (run->backend, lowered, run->use, &error);
  g_assert_no_error (error);
  g_assert_true (tunit_backend_graph_prepare (prepared, layout, &error));
  g_assert_no_error (error);
  if (graph.n_parameters > 0)
    g_assert_true (tunit_backend_graph_set_parameters (prepared, parameters, &error));

  g_autofree TunitShape *shapes = g_new (TunitShape, graph.n_nodes);
  g_assert_true (tunit_graph_infer_shapes (&graph, spec->channels, spec->height, spec->width,
                                           shapes, &error));
  float **want = reference_run (&graph, shapes, input, parameters);
  const float *inputs[1] = { input };
  for (int pass = 0; pass < 2; pass++) {
    float *got[TUNIT_GRAPH_MAX_OUTPUTS] = { NULL };
    for (int k = 0; k < graph.n_outputs; k++)
      got[k] = g_new0 (float, tunit_shape_count (&shapes[graph.outputs[k]]) + 1);
    g_assert_true (tunit_backend_graph_run (prepared, inputs, got, &error));
    g_assert_no_error (error);
    for (int k = 0; k < graph.n_outputs; k++) {
      double largest;
      double e = max_error (got[k], want[graph.outputs[k]],
                            tunit_shape_count (&shapes[graph.outputs[k]]), &largest);
      if (pass == 0)
        g_test_message ("%s [%s] output %d: max error %.3g (max |value| %.3g; %d nodes lowered, "
                        "%d upsampled convolutions)", label, run->label, k, e, largest,
                        lowered->n_nodes, op_graph_count (lowered, TUNIT_OP_UPSAMPLED_CONV));
      if (!(e / MAX (1.0, largest) <= tolerance))
        g_error ("%s [%s]: output %d differs by %.3g (tolerance %.3g x max (1, %.3g))", label,
                 run->label, k, e, tolerance, largest);
      g_free (got[k]);
    }
  }
  for (int i = 0; i < graph.n_nodes; i++)
    g_free (want[i]);
  g_free (want);
  tunit_backend_graph_free (prepared);
  tunit_graph_layout_free (layout);
  tunit_lowered_graph_free (lowered);
}

/* ---------------------------------------------------------------- cases */

typedef struct {
  int in_channels, out_channels, kernel, stride, pad;
  TunitPadMode mode;
  TunitActivation act;
  gboolean bias, upsample;
  int height, width;
} ConvCase;

static const ConvCase conv_cases[] = {
  { 3, 8, 7, 1, 3, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, FALSE, 13, 11 },
  { 8, 16, 4, 2, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_RELU, TRUE, FALSE, 12, 10 },
  { 16, 16, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, FALSE, 9, 7 },
  { 8, 3, 7, 1, 3, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_TANH, TRUE, FALSE, 10, 12 },
  { 3, 20, 3, 1, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_RELU, TRUE, FALSE, 8, 9 },
  { 5, 70, 3, 2, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, FALSE, FALSE, 7, 9 },
  { 130, 136, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, FALSE, 5, 6 },
  { 4, 4, 1, 1, 0, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, TRUE, FALSE, 3, 3 },
  { 24, 8, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_RELU, TRUE, FALSE, 30, 26 },
  /* after an upsampling: phase splits at several kernel sizes (5x5 and
   * 7x7 with border terms, 3x3 without), zero padding, frames that are all
   * border (where near and far border lines meet), wider ones; with an
   * activation and border terms the lowering leaves the pair unfused */
  { 12, 6, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, TRUE, 6, 5 },
  { 12, 6, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_RELU, TRUE, TRUE, 6, 5 },
  { 6, 8, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_RELU, TRUE, TRUE, 7, 4 },
  { 5, 4, 7, 1, 3, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, TRUE, 5, 6 },
  { 6, 5, 5, 1, 2, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, FALSE, TRUE, 4, 7 },
  { 4, 5, 3, 1, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, TRUE, TRUE, 5, 3 },
  { 8, 12, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, TRUE, 2, 2 },
  { 3, 4, 5, 1, 2, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, TRUE, TRUE, 1, 3 },
  { 40, 36, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, TRUE, 9, 13 },
  { 32, 16, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, TRUE, 14, 30 },
};

void
op_table_run_convolutions (const OpTableRun *run)
{
  for (guint i = 0; i < G_N_ELEMENTS (conv_cases); i++) {
    const ConvCase *c = &conv_cases[i];
    Builder b;
    builder_init (&b, 1000 + i);
    int x = add_input (&b, c->in_channels);
    if (c->upsample)
      x = add_simple (&b, TUNIT_OP_UPSAMPLE_NEAREST2X, x);
    add_conv (&b, x, c->out_channels, c->kernel, c->stride, c->pad, c->mode, c->act, c->bias);
    g_autofree char *label = g_strdup_printf ("conv %d->%d k%d s%d%s%s %dx%d", c->in_channels,
                                              c->out_channels, c->kernel, c->stride,
                                              c->mode == TUNIT_PAD_ZERO ? " zero" : " reflect",
                                              c->upsample ? " after up2" : "", c->width,
                                              c->height);
    RunSpec spec = { c->in_channels, c->height, c->width, 0 };
    check_graph (run, &b, &spec, run->tolerance, label);
    builder_clear (&b);
  }
}

void
op_table_run_norms (const OpTableRun *run)
{
  /* 150x150: several partial-statistics blocks on GPUs; offset 50: the
   * mean is large against the spread, where naive sums lose digits */
  const struct { int channels, height, width; float offset; gboolean adaptive; int act; }
  cases[] = {
    { 3, 5, 7, 0.0f, FALSE, TUNIT_ACTIVATION_RELU },
    { 4, 150, 150, 50.0f, FALSE, TUNIT_ACTIVATION_NONE },
    { 6, 33, 17, 0.0f, TRUE, TUNIT_ACTIVATION_RELU },
    { 2, 200, 90, 3.0f, TRUE, TUNIT_ACTIVATION_NONE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    Builder b;
    builder_init (&b, 2000 + i);
    b.n_parameters = 3;   /* the norm's parameters start at an offset */
    int x = add_input (&b, cases[i].channels);
    add_norm (&b, x, cases[i].adaptive, cases[i].act);
    g_autofree char *label = g_strdup_printf ("norm%s %dx%dx%d offset %g",
                                              cases[i].adaptive ? " adain" : "",
                                              cases[i].channels, cases[i].width,
                                              cases[i].height, cases[i].offset);
    RunSpec spec = { cases[i].channels, cases[i].height, cases[i].width, cases[i].offset };
    check_graph (run, &b, &spec, cases[i].offset != 0.0f ? run->offset_norm_tolerance
                                                         : run->tolerance, label);
    builder_clear (&b);
  }
}

static void
run_small_ops (const OpTableRun *run)
{
  Builder b;
  /* residual add (in place), unfused up-sampling (read by a norm), max
   * pool on odd sizes */
  builder_init (&b, 3000);
  int x = add_input (&b, 5);
  int c = add_conv (&b, x, 5, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_RELU, TRUE);
  int r = add_residual (&b, x, c, 0.1f);
  int u = add_simple (&b, TUNIT_OP_UPSAMPLE_NEAREST2X, r);
  int n = add_norm (&b, u, FALSE, TUNIT_ACTIVATION_NONE);
  add_simple (&b, TUNIT_OP_MAX_POOL2X2, n);
  RunSpec spec = { 5, 7, 9, 0 };
  check_graph (run, &b, &spec, run->tolerance, "residual+upsample+maxpool");
  builder_clear (&b);

  /* an up-sampling that is a graph output is not fused; one read by two
   * convolutions is, into both */
  builder_init (&b, 3001);
  x = add_input (&b, 2);
  u = add_simple (&b, TUNIT_OP_UPSAMPLE_NEAREST2X, x);
  b.outputs[0] = u;
  b.outputs[1] = add_conv (&b, u, 3, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
  b.n_outputs = 2;
  RunSpec spec2 = { 2, 3, 4, 0 };
  check_graph (run, &b, &spec2, run->tolerance, "upsample output");
  builder_clear (&b);

  builder_init (&b, 3002);
  x = add_input (&b, 4);
  u = add_simple (&b, TUNIT_OP_UPSAMPLE_NEAREST2X, x);
  int left = add_conv (&b, u, 3, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
  int right = add_conv (&b, u, 3, 3, 1, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, FALSE);
  add_residual (&b, left, right, 0.5f);
  RunSpec spec3 = { 4, 6, 5, 0 };
  check_graph (run, &b, &spec3, run->tolerance, "upsample read by two convolutions");
  builder_clear (&b);
}

/* A guide-like graph: zero-padded convs each with an eval-mode BatchNorm
 * and ReLU after it (folded by the lowering), pooling, two linear heads
 * as the two outputs. */
static void
run_guide_graph (const OpTableRun *run)
{
  Builder b;
  builder_init (&b, 4000);
  int x = add_input (&b, 3);
  x = add_conv (&b, x, 16, 3, 1, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, TRUE);
  x = add_batch_norm (&b, x, TUNIT_ACTIVATION_RELU);
  x = add_simple (&b, TUNIT_OP_MAX_POOL2X2, x);
  x = add_conv (&b, x, 32, 3, 1, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, TRUE);
  x = add_batch_norm (&b, x, TUNIT_ACTIVATION_RELU);
  x = add_simple (&b, TUNIT_OP_MAX_POOL2X2, x);
  x = add_conv (&b, x, 64, 3, 1, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, TRUE);
  x = add_batch_norm (&b, x, TUNIT_ACTIVATION_RELU);
  int pooled = add_simple (&b, TUNIT_OP_GLOBAL_AVERAGE_POOL, x);
  b.outputs[0] = add_linear (&b, pooled, 8, TUNIT_ACTIVATION_NONE);
  b.outputs[1] = add_linear (&b, pooled, 5, TUNIT_ACTIVATION_NONE);
  b.n_outputs = 2;
  add_linear (&b, b.outputs[0], 3, TUNIT_ACTIVATION_RELU);   /* dead: not an output */
  RunSpec spec = { 3, 32, 32, 0 };
  check_graph (run, &b, &spec, run->tolerance, "guide-like graph");
  builder_clear (&b);
}

/* A generator-like graph in TUNIT's shape (nf 8, one down-sampling, one
 * residual block per side, AdaIN decoder, upsampling + 5x5, tanh), at two
 * sizes. */
static void
run_generator_graph (const OpTableRun *run)
{
  Builder b;
  builder_init (&b, 5000);
  int x = add_input (&b, 3);
  x = add_conv (&b, x, 8, 7, 1, 3, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
  x = add_norm (&b, x, FALSE, TUNIT_ACTIVATION_RELU);
  x = add_conv (&b, x, 16, 4, 2, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
  x = add_norm (&b, x, FALSE, TUNIT_ACTIVATION_RELU);
  for (int side = 0; side < 2; side++) {
    gboolean adaptive = side == 1;
    int h = add_conv (&b, x, 16, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
    h = add_norm (&b, h, adaptive, TUNIT_ACTIVATION_RELU);
    h = add_conv (&b, h, 16, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
    h = add_norm (&b, h, adaptive, TUNIT_ACTIVATION_NONE);
    x = add_residual (&b, x, h, 0.1f);
  }
  x = add_simple (&b, TUNIT_OP_UPSAMPLE_NEAREST2X, x);
  x = add_conv (&b, x, 8, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
  x = add_norm (&b, x, TRUE, TUNIT_ACTIVATION_RELU);
  add_conv (&b, x, 3, 7, 1, 3, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_TANH, TRUE);
  RunSpec spec = { 3, 24, 20, 0 };
  check_graph (run, &b, &spec, run->tolerance, "generator-like graph");
  RunSpec spec2 = { 3, 16, 36, 0 };
  check_graph (run, &b, &spec2, run->tolerance, "generator-like graph, 36x16");
  builder_clear (&b);
}

/* A style-MLP-like graph: linear layers on a vector. */
static void
run_mlp_graph (const OpTableRun *run)
{
  Builder b;
  builder_init (&b, 6000);
  int x = add_input (&b, 12);
  x = add_linear (&b, x, 40, TUNIT_ACTIVATION_RELU);
  x = add_linear (&b, x, 40, TUNIT_ACTIVATION_RELU);
  add_linear (&b, x, 70, TUNIT_ACTIVATION_NONE);
  RunSpec spec = { 12, 1, 1, 0 };
  check_graph (run, &b, &spec, run->tolerance, "MLP-like graph");
  builder_clear (&b);
}

void
op_table_run_graphs (const OpTableRun *run)
{
  run_small_ops (run);
  run_guide_graph (run);
  run_generator_graph (run);
  run_mlp_graph (run);
}

void
op_table_run (const OpTableRun *run)
{
  op_table_run_convolutions (run);
  op_table_run_norms (run);
  op_table_run_graphs (run);
}
