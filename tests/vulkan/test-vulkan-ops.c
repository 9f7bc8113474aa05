/* test-vulkan-ops.c - every kernel of the Vulkan backend against a naive C
 * reference (double accumulation), on graphs built by hand: single
 * operations with awkward sizes, every convolution tile shape, and small
 * generator- and guide-like graphs.  Runs in fp32 and fp16 storage.
 *
 * With TUNIT_VULKAN_VALIDATION=1 (as meson runs it) any validation message
 * fails the test. */
#include "vulkan-internal.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------ fixture */

typedef struct {
  TunitVkContext *ctx;
  TunitVkPipelines *pipelines;
  TunitVkBuffer dummy;
} Device;

static Device *
device_open (TunitPrecision precision)
{
  g_autoptr (GError) error = NULL;
  Device *device = g_new0 (Device, 1);
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  g_assert_true (tunit_engine_options_read_environment (&options, &error));
  options.precision = precision;
  device->ctx = tunit_vk_context_new (&options, &error);
  g_assert_no_error (error);
  g_assert_true (tunit_vk_context_open_device (device->ctx, &options, &error));
  g_assert_no_error (error);
  device->pipelines = tunit_vk_pipelines_new (device->ctx, &error);
  g_assert_no_error (error);
  g_assert_true (tunit_vk_buffer_init (device->ctx, &device->dummy, 16, TUNIT_VK_MEMORY_DEVICE,
                                       "dummy", &error));
  g_test_message ("%s", device->ctx->description);
  return device;
}

static void
device_close (Device *device)
{
  g_assert_cmpuint (tunit_vk_context_validation_messages (device->ctx), ==, 0);
  tunit_vk_buffer_clear (device->ctx, &device->dummy);
  tunit_vk_pipelines_free (device->pipelines);
  tunit_vk_context_free (device->ctx);
  g_free (device);
}

/* -------------------------------------------------------------- graphs */

typedef struct {
  GArray *nodes;
  GPtrArray *owned;
  guint32 seed;
  int outputs[2];
} Builder;

static float
random_unit (Builder *b)
{
  b->seed = b->seed * 1664525u + 1013904223u;
  return (b->seed >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static float *
random_array (Builder *b, gsize count, float scale)
{
  float *values = g_new (float, count);
  for (gsize i = 0; i < count; i++)
    values[i] = random_unit (b) * scale;
  g_ptr_array_add (b->owned, values);
  return values;
}

static void
builder_init (Builder *b, guint32 seed)
{
  b->nodes = g_array_new (FALSE, TRUE, sizeof (TunitNode));
  b->owned = g_ptr_array_new_with_free_func (g_free);
  b->seed = seed;
  b->outputs[0] = b->outputs[1] = -1;
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
  TunitGraph graph = { (TunitNode *) b->nodes->data, b->nodes->len,
                       { b->outputs[0], b->outputs[1] } };
  if (graph.outputs[0] < 0)
    graph.outputs[0] = graph.n_nodes - 1;
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
    node.channels = node_at (b, node.input)->channels;
    node.in_channels = node.channels;
  }
  g_array_append_val (b->nodes, node);
  return b->nodes->len - 1;
}

static int
add_input (Builder *b, int channels)
{
  return add (b, (TunitNode) { .op = TUNIT_OP_INPUT, .input = -1, .channels = channels,
                               .skip = -1 });
}

static int
add_conv (Builder *b, int input, int out, int kernel, int stride, int pad, TunitPadMode mode,
          TunitActivation act, gboolean bias)
{
  int in = node_at (b, input)->channels;
  float scale = 1.5f / sqrtf ((float) in * kernel * kernel);
  return add (b, (TunitNode) {
    .op = TUNIT_OP_CONV, .input = input, .channels = out, .in_channels = in,
    .activation = act, .kernel = kernel, .stride = stride, .padding = pad, .pad_mode = mode,
    .weight = random_array (b, (gsize) out * in * kernel * kernel, scale),
    .bias = bias ? random_array (b, out, 0.5f) : NULL, .skip = -1 });
}

static int
add_norm (Builder *b, int input, gboolean adaptive, int adain_offset, TunitActivation act)
{
  return add (b, (TunitNode) { .op = TUNIT_OP_NORM, .input = input, .activation = act,
                               .adaptive = adaptive, .adain_offset = adain_offset,
                               .skip = -1 });
}

static int
add_simple (Builder *b, TunitOpKind op, int input)
{
  return add (b, (TunitNode) { .op = op, .input = input, .skip = -1 });
}

static int
add_residual (Builder *b, int skip, int input, float scale)
{
  return add (b, (TunitNode) { .op = TUNIT_OP_RESIDUAL_ADD, .input = input, .skip = skip,
                               .residual_scale = scale });
}

static int
add_linear (Builder *b, int input, int out, TunitActivation act)
{
  int in = node_at (b, input)->channels;
  return add (b, (TunitNode) {
    .op = TUNIT_OP_LINEAR, .input = input, .channels = out, .in_channels = in,
    .activation = act, .weight = random_array (b, (gsize) out * in, 1.0f / sqrtf (in)),
    .bias = random_array (b, out, 0.5f), .skip = -1 });
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
reference_norm (const TunitNode *n, const float *x, const TunitShape *s, const float *adain,
                float *y)
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
    if (n->adaptive) {
      beta = adain[n->adain_offset + c];
      gamma = adain[n->adain_offset + s->channels + c];
    }
    double scale = gamma / sqrt (var + TUNIT_NORM_EPSILON);
    for (gsize i = 0; i < plane; i++)
      y[c * plane + i] = (float) reference_activation ((xc[i] - mean) * scale + beta,
                                                       n->activation);
  }
}

static void
reference_node (const TunitNode *n, float **values, const TunitShape *shapes, int index,
                const float *adain)
{
  const TunitShape *in = n->input >= 0 ? &shapes[n->input] : NULL;
  const TunitShape *out = &shapes[index];
  const float *x = n->input >= 0 ? values[n->input] : NULL;
  float *y = values[index];
  gsize count = (gsize) out->channels * out->height * out->width;
  switch (n->op) {
  case TUNIT_OP_INPUT:
    break;
  case TUNIT_OP_CONV:
    reference_conv (n, x, in, y, out);
    break;
  case TUNIT_OP_NORM:
    reference_norm (n, x, in, adain, y);
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
      y[i] = values[n->skip][i] + n->residual_scale * x[i];
    break;
  }
}

/* Runs the graph on the CPU; returns the values of every node. */
static float **
reference_run (const TunitGraph *graph, const TunitShape *shapes, const float *input,
               const float *adain)
{
  float **values = g_new0 (float *, graph->n_nodes);
  for (int i = 0; i < graph->n_nodes; i++) {
    const TunitShape *s = &shapes[i];
    values[i] = g_new0 (float, (gsize) s->channels * s->height * s->width + 1);
    if (graph->nodes[i].op == TUNIT_OP_INPUT)
      memcpy (values[i], input, sizeof (float) * s->channels * s->height * s->width);
    else
      reference_node (&graph->nodes[i], values, shapes, i, adain);
  }
  return values;
}

/* ------------------------------------------------------------- checks */

typedef struct {
  double max_error;   /* absolute */
  double max_value;   /* largest |reference| */
} Comparison;

static Comparison
compare (const float *got, const float *want, gsize count)
{
  Comparison c = { 0, 0 };
  for (gsize i = 0; i < count; i++) {
    double e = fabs ((double) got[i] - want[i]);
    if (isnan (got[i]))
      e = INFINITY;
    c.max_error = MAX (c.max_error, e);
    c.max_value = MAX (c.max_value, fabs (want[i]));
  }
  return c;
}

typedef struct {
  int channels, height, width;
  float input_offset;       /* added to the random input (norm numerics) */
  int adain_count;
} RunSpec;

/* Runs `graph` on the device and on the reference; fails when an output
 * differs by more than tolerance * max(1, max |reference|).  Returns the
 * worst relative error seen. */
static double
check_graph (Device *device, Builder *b, const RunSpec *spec, double tolerance, const char *label)
{
  g_autoptr (GError) error = NULL;
  TunitGraph graph = builder_graph (b);
  TunitVkContext *ctx = device->ctx;
  gsize input_count = (gsize) spec->channels * spec->height * spec->width;
  g_autofree float *input = g_new (float, input_count);
  for (gsize i = 0; i < input_count; i++)
    input[i] = random_unit (b) + spec->input_offset;
  g_autofree float *adain = g_new (float, MAX (spec->adain_count, 1));
  for (int i = 0; i < spec->adain_count; i++)
    adain[i] = random_unit (b) + (i % 2 ? 1.0f : 0.0f);

  TunitVkWeights weights;
  TunitVkBuffer adain_buffer;
  g_assert_true (tunit_vk_weights_init (ctx, &weights, &graph, &error));
  g_assert_true (tunit_vk_buffer_init (ctx, &adain_buffer, MAX (spec->adain_count, 1) * 4,
                                       TUNIT_VK_MEMORY_UPLOAD, "adain", &error));
  memcpy (adain_buffer.mapped, adain, MAX (spec->adain_count, 1) * 4);
  TunitVkProgramResources resources = { ctx, device->pipelines, &weights, &adain_buffer,
                                        &device->dummy };
  TunitVkProgram *program = tunit_vk_program_new (&resources, &graph, spec->channels,
                                                  spec->height, spec->width, &error);
  g_assert_no_error (error);
  g_assert_nonnull (program);

  g_autofree TunitShape *shapes = g_new (TunitShape, graph.n_nodes);
  g_assert_true (tunit_graph_infer_shapes (&graph, spec->channels, spec->height, spec->width,
                                           shapes, &error));
  float **want = reference_run (&graph, shapes, input, adain);
  double worst = 0;
  /* twice: the second run reuses the recorded command buffer */
  for (int run = 0; run < 2; run++) {
    float *got[2] = { NULL, NULL };
    for (int k = 0; k < 2; k++)
      if (graph.outputs[k] >= 0)
        got[k] = g_new0 (float, tunit_vk_program_output_size (program, k) + 1);
    g_assert_true (tunit_vk_program_run (program, input, got, &error));
    g_assert_no_error (error);
    for (int k = 0; k < 2; k++) {
      if (got[k] == NULL)
        continue;
      Comparison c = compare (got[k], want[graph.outputs[k]],
                              tunit_vk_program_output_size (program, k));
      double relative = c.max_error / MAX (1.0, c.max_value);
      worst = MAX (worst, relative);
      if (run == 0)
        g_test_message ("%s [%s] output %d: max error %.3g (max |value| %.3g, %d dispatches)",
                        label, ctx->fp16 ? "fp16" : "fp32", k, c.max_error, c.max_value,
                        tunit_vk_program_dispatch_count (program));
      if (!(relative <= tolerance))
        g_error ("%s [%s]: output %d differs by %.3g (tolerance %.3g x max(1, %.3g))", label,
                 ctx->fp16 ? "fp16" : "fp32", k, c.max_error, tolerance, c.max_value);
      g_free (got[k]);
    }
  }
  for (int i = 0; i < graph.n_nodes; i++)
    g_free (want[i]);
  g_free (want);
  tunit_vk_program_free (program);
  tunit_vk_buffer_clear (ctx, &adain_buffer);
  tunit_vk_weights_clear (ctx, &weights);
  g_assert_true (tunit_vk_context_check_validation (ctx, &error));
  return worst;
}

static double
tolerance_of (Device *device)
{
  return device->ctx->fp16 ? 1e-2 : 2e-5;
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
  { 12, 6, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_RELU, TRUE, TRUE, 6, 5 },
  { 8, 3, 7, 1, 3, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_TANH, TRUE, FALSE, 10, 12 },
  { 3, 20, 3, 1, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_RELU, TRUE, FALSE, 8, 9 },
  { 5, 70, 3, 2, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, FALSE, FALSE, 7, 9 },
  { 130, 136, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, FALSE, 5, 6 },
  { 4, 4, 1, 1, 0, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, TRUE, FALSE, 3, 3 },
  /* up-sampling convolutions: the phase split at several kernel sizes,
   * zero padding, a frame that is all border, a wider one */
  { 6, 8, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_RELU, TRUE, TRUE, 7, 4 },
  { 5, 4, 7, 1, 3, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, TRUE, 5, 6 },
  { 6, 5, 5, 1, 2, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_NONE, FALSE, TRUE, 4, 7 },
  { 8, 12, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE, TRUE, 2, 2 },
  { 40, 36, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_RELU, TRUE, TRUE, 9, 13 },
};

static void
run_conv_cases (Device *device)
{
  for (guint i = 0; i < G_N_ELEMENTS (conv_cases); i++) {
    const ConvCase *c = &conv_cases[i];
    /* up-sampling convolutions run with and without the phase split */
    for (int variant = 0; variant < TUNIT_VK_N_CONV_TILES * (c->upsample ? 2 : 1); variant++) {
      int tile = variant % TUNIT_VK_N_CONV_TILES;
      device->ctx->phase_split = variant < TUNIT_VK_N_CONV_TILES;
      Builder b;
      builder_init (&b, 1000 + i);
      int x = add_input (&b, c->in_channels);
      if (c->upsample)
        x = add_simple (&b, TUNIT_OP_UPSAMPLE_NEAREST2X, x);
      add_conv (&b, x, c->out_channels, c->kernel, c->stride, c->pad, c->mode, c->act, c->bias);
      device->ctx->conv_config_override = tile;
      g_autofree char *label = g_strdup_printf ("conv %d->%d k%d s%d%s%s %dx%d tile %d",
                                                c->in_channels, c->out_channels, c->kernel,
                                                c->stride,
                                                c->mode == TUNIT_PAD_ZERO ? " zero" : " reflect",
                                                !c->upsample ? ""
                                                : device->ctx->phase_split ? " up2 phases"
                                                                           : " up2 fused",
                                                c->width, c->height, tile);
      RunSpec spec = { c->in_channels, c->height, c->width, 0, 0 };
      check_graph (device, &b, &spec, tolerance_of (device), label);
      builder_clear (&b);
    }
  }
  device->ctx->conv_config_override = -1;
  device->ctx->phase_split = TRUE;
}

static void
run_norm_cases (Device *device)
{
  /* 150x150: several partial-statistics blocks; offset 50: the mean is
   * large against the spread, where naive sums lose digits */
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
    int x = add_input (&b, cases[i].channels);
    add_norm (&b, x, cases[i].adaptive, cases[i].adaptive ? 3 : -1, cases[i].act);
    g_autofree char *label = g_strdup_printf ("norm%s %dx%dx%d offset %g",
                                              cases[i].adaptive ? " adain" : "",
                                              cases[i].channels, cases[i].width,
                                              cases[i].height, cases[i].offset);
    RunSpec spec = { cases[i].channels, cases[i].height, cases[i].width, cases[i].offset,
                     3 + 2 * cases[i].channels };
    /* fp16 storage cannot hold 50 + x to better than 0.03: normalising
     * amplifies that, so the offset cases only hold to fp32 precision */
    double tolerance = tolerance_of (device);
    if (device->ctx->fp16 && cases[i].offset != 0.0f)
      tolerance = 0.1;
    check_graph (device, &b, &spec, tolerance, label);
    builder_clear (&b);
  }
}

static void
run_small_ops (Device *device)
{
  Builder b;
  /* residual add, unfused up-sampling (read by a norm), max pool on odd sizes */
  builder_init (&b, 3000);
  int x = add_input (&b, 5);
  int c = add_conv (&b, x, 5, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_RELU, TRUE);
  int r = add_residual (&b, x, c, 0.1f);
  int u = add_simple (&b, TUNIT_OP_UPSAMPLE_NEAREST2X, r);
  int n = add_norm (&b, u, FALSE, -1, TUNIT_ACTIVATION_NONE);
  add_simple (&b, TUNIT_OP_MAX_POOL2X2, n);
  RunSpec spec = { 5, 7, 9, 0, 0 };
  check_graph (device, &b, &spec, tolerance_of (device), "residual+upsample+maxpool");
  builder_clear (&b);

  /* up-sampling as a graph output is not fused */
  builder_init (&b, 3001);
  x = add_input (&b, 2);
  add_simple (&b, TUNIT_OP_UPSAMPLE_NEAREST2X, x);
  RunSpec spec2 = { 2, 3, 4, 0, 0 };
  check_graph (device, &b, &spec2, tolerance_of (device), "upsample output");
  builder_clear (&b);
}

/* A guide-like graph: zero-padded convs with fused ReLU, pooling, two
 * linear heads as the two outputs. */
static void
run_guide_graph (Device *device)
{
  Builder b;
  builder_init (&b, 4000);
  int x = add_input (&b, 3);
  x = add_conv (&b, x, 16, 3, 1, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_RELU, TRUE);
  x = add_simple (&b, TUNIT_OP_MAX_POOL2X2, x);
  x = add_conv (&b, x, 32, 3, 1, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_RELU, TRUE);
  x = add_simple (&b, TUNIT_OP_MAX_POOL2X2, x);
  x = add_conv (&b, x, 64, 3, 1, 1, TUNIT_PAD_ZERO, TUNIT_ACTIVATION_RELU, TRUE);
  int pooled = add_simple (&b, TUNIT_OP_GLOBAL_AVERAGE_POOL, x);
  b.outputs[0] = add_linear (&b, pooled, 8, TUNIT_ACTIVATION_NONE);
  b.outputs[1] = add_linear (&b, pooled, 5, TUNIT_ACTIVATION_NONE);
  add_linear (&b, b.outputs[0], 3, TUNIT_ACTIVATION_RELU);   /* dead: not an output */
  RunSpec spec = { 3, 32, 32, 0, 0 };
  check_graph (device, &b, &spec, tolerance_of (device), "guide-like graph");
  builder_clear (&b);
}

/* A generator-like graph in TUNIT's shape (nf 8, one down-sampling, one
 * residual block per side, AdaIN decoder, tanh). */
static void
run_generator_graph (Device *device)
{
  Builder b;
  builder_init (&b, 5000);
  int offset = 0;
  int x = add_input (&b, 3);
  x = add_conv (&b, x, 8, 7, 1, 3, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
  x = add_norm (&b, x, FALSE, -1, TUNIT_ACTIVATION_RELU);
  x = add_conv (&b, x, 16, 4, 2, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
  x = add_norm (&b, x, FALSE, -1, TUNIT_ACTIVATION_RELU);
  for (int side = 0; side < 2; side++) {
    gboolean adaptive = side == 1;
    int h = add_conv (&b, x, 16, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
    h = add_norm (&b, h, adaptive, adaptive ? offset : -1, TUNIT_ACTIVATION_RELU);
    offset += adaptive ? 32 : 0;
    h = add_conv (&b, h, 16, 3, 1, 1, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
    h = add_norm (&b, h, adaptive, adaptive ? offset : -1, TUNIT_ACTIVATION_NONE);
    offset += adaptive ? 32 : 0;
    x = add_residual (&b, x, h, 0.1f);
  }
  x = add_simple (&b, TUNIT_OP_UPSAMPLE_NEAREST2X, x);
  x = add_conv (&b, x, 8, 5, 1, 2, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE, TRUE);
  x = add_norm (&b, x, TRUE, offset, TUNIT_ACTIVATION_RELU);
  offset += 16;
  add_conv (&b, x, 3, 7, 1, 3, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_TANH, TRUE);
  RunSpec spec = { 3, 24, 20, 0, offset };
  check_graph (device, &b, &spec, tolerance_of (device), "generator-like graph");
  /* and at a second size with the same graph */
  RunSpec spec2 = { 3, 16, 36, 0, offset };
  check_graph (device, &b, &spec2, tolerance_of (device), "generator-like graph, 36x16");
  builder_clear (&b);
}

/* ------------------------------------------------------------- tests */

static void
test_half_conversion (void)
{
  /* every finite half survives half -> float -> half */
  for (guint32 h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00)
      continue;
    g_assert_cmphex (tunit_float_to_half (tunit_half_to_float (h)), ==, h);
  }
  g_assert_cmphex (tunit_float_to_half (1.0f), ==, 0x3c00);
  g_assert_cmphex (tunit_float_to_half (65520.0f), ==, 0x7c00);
  g_assert_cmphex (tunit_float_to_half (1.0f + 1.0f / 2048), ==, 0x3c00);  /* tie: even */
  g_assert_cmphex (tunit_float_to_half (1.0f + 3.0f / 2048), ==, 0x3c02);  /* tie: even */
  g_assert_cmphex (tunit_float_to_half (-2.0e-8f), ==, 0x8000);
}

static void
test_precision (gconstpointer data)
{
  TunitPrecision precision = GPOINTER_TO_INT (data);
  Device *device = device_open (precision);
  if (precision == TUNIT_PRECISION_FP16 && !device->ctx->fp16) {
    device_close (device);
    g_test_skip ("the device has no 16-bit storage");
    return;
  }
  run_conv_cases (device);
  run_norm_cases (device);
  /* the reductions again with the other device class's workgroup size */
  guint reduction_workgroup = device->ctx->reduction_workgroup;
  device->ctx->reduction_workgroup = reduction_workgroup == 16 ? 128 : 16;
  run_norm_cases (device);
  run_guide_graph (device);
  device->ctx->reduction_workgroup = reduction_workgroup;
  run_small_ops (device);
  run_guide_graph (device);
  run_generator_graph (device);
  device_close (device);
}

static void
test_bad_device_index (void)
{
  g_autoptr (GError) error = NULL;
  TunitVkContext *ctx = tunit_vk_context_new (NULL, &error);
  g_assert_no_error (error);
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  options.device_index = 999;
  g_assert_false (tunit_vk_context_open_device (ctx, &options, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  tunit_vk_context_free (ctx);

  /* TUNIT_VULKAN_DEVICE, read at the edges, applies when the options
   * leave the choice open; a bad one is an error there */
  g_setenv ("TUNIT_VULKAN_DEVICE", "999", TRUE);
  options = (TunitEngineOptions) TUNIT_ENGINE_OPTIONS_INIT;
  g_assert_true (tunit_engine_options_read_environment (&options, &error));
  g_assert_cmpint (options.device_index, ==, 999);
  ctx = tunit_vk_context_new (&options, &error);
  g_assert_no_error (error);
  g_assert_false (tunit_vk_context_open_device (ctx, &options, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_test_message ("TUNIT_VULKAN_DEVICE=999: %s", error->message);
  g_clear_error (&error);
  tunit_vk_context_free (ctx);
  g_setenv ("TUNIT_VULKAN_DEVICE", "not-a-number", TRUE);
  options = (TunitEngineOptions) TUNIT_ENGINE_OPTIONS_INIT;
  g_assert_false (tunit_engine_options_read_environment (&options, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_assert_cmpint (options.device_index, ==, -1);
  g_test_message ("TUNIT_VULKAN_DEVICE=not-a-number: %s", error->message);
  g_clear_error (&error);
  g_setenv ("TUNIT_VULKAN_DEVICE", "0", TRUE);
  g_assert_true (tunit_engine_options_read_environment (&options, &error));
  ctx = tunit_vk_context_new (&options, &error);
  g_assert_true (tunit_vk_context_open_device (ctx, &options, &error));
  g_assert_no_error (error);
  tunit_vk_context_free (ctx);
  g_unsetenv ("TUNIT_VULKAN_DEVICE");
}

static void
test_describe_devices (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = tunit_vulkan_describe_devices (&error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "0: "));
  g_assert_nonnull (strstr (text, "fp16 storage"));
  g_test_message ("%s", text);
}

/* The validation plumbing itself: an invalid call (a buffer of size 0)
 * must be counted and turned into an error. */
static void
test_validation_is_caught (void)
{
  if (g_strcmp0 (g_getenv ("TUNIT_VULKAN_VALIDATION"), "1") != 0) {
    g_test_skip ("TUNIT_VULKAN_VALIDATION is not 1");
    return;
  }
  g_autoptr (GError) error = NULL;
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  options.vulkan_validation = TRUE;
  TunitVkContext *ctx = tunit_vk_context_new (&options, &error);
  g_assert_no_error (error);
  g_assert_true (tunit_vk_context_open_device (ctx, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tunit_vk_context_check_validation (ctx, &error));
  g_test_message ("the validation error printed next is intended");
  VkBufferCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = 0,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
  };
  VkBuffer buffer = VK_NULL_HANDLE;
  VkResult result = ctx->vk.vkCreateBuffer (ctx->device, &info, NULL, &buffer);
  if (result == VK_SUCCESS && buffer != VK_NULL_HANDLE)
    ctx->vk.vkDestroyBuffer (ctx->device, buffer, NULL);
  g_assert_cmpuint (tunit_vk_context_validation_messages (ctx), >, 0);
  g_assert_false (tunit_vk_context_check_validation (ctx, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_DEVICE);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  /* reported once: the next check passes again */
  g_assert_true (tunit_vk_context_check_validation (ctx, &error));
  tunit_vk_context_free (ctx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/half-conversion", test_half_conversion);
  g_test_add_func ("/vulkan/describe-devices", test_describe_devices);
  g_test_add_func ("/vulkan/bad-device-index", test_bad_device_index);
  g_test_add_func ("/vulkan/validation-is-caught", test_validation_is_caught);
  g_test_add_data_func ("/vulkan/ops/fp32", GINT_TO_POINTER (TUNIT_PRECISION_FP32),
                        test_precision);
  g_test_add_data_func ("/vulkan/ops/fp16", GINT_TO_POINTER (TUNIT_PRECISION_FP16),
                        test_precision);
  return g_test_run ();
}
