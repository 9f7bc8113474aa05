/* network.c - describes the TUNIT graphs from a model's architecture and
 * tensors, module by module as the official clovaai/tunit code has them
 * (names included).  Nothing here is tuned for a backend: that is the
 * lowering's job (lowering.c). */
#include "network.h"
#include "model-private.h"

#include <string.h>

/* The VGG11 layer list of TUNIT's guiding network: a number is a 3x3
 * convolution (+ BatchNorm + ReLU) whose width comes from the model's
 * tensors, 0 is a 2x2 max pool. */
static const int guide_layers[] = { 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0 };

#define RESIDUAL_SCALE 0.1f

typedef struct {
  const TunitModel *model;
  TunitGraph *graph;
  GArray *nodes;            /* TunitNode */
  GStringChunk *names;
  int adain_offset;         /* next free AdaIN parameter */
  GError **error;
} Builder;

static int
add_node (Builder *builder, const TunitNode *node)
{
  g_array_append_vals (builder->nodes, node, 1);
  return builder->nodes->len - 1;
}

static const TunitNode *
node_at (Builder *builder, int index)
{
  return &g_array_index (builder->nodes, TunitNode, index);
}

static const char *
intern (Builder *builder, const char *text)
{
  return g_string_chunk_insert_const (builder->names, text);
}

/* Adds a convolution reading `input`; weights from PREFIX.weight / .bias.
 * Returns the node index, or -1 with builder->error set. */
static int
add_conv (Builder *builder, int input, const char *prefix, int out_channels, int kernel,
          int stride, int padding, TunitPadMode pad_mode, TunitActivation activation)
{
  int in_channels = node_at (builder, input)->channels;
  g_autofree char *weight_name = g_strdup_printf ("%s.weight", prefix);
  g_autofree char *bias_name = g_strdup_printf ("%s.bias", prefix);
  gint64 weight_dims[4] = { out_channels, in_channels, kernel, kernel };
  gint64 bias_dims[1] = { out_channels };
  const TunitTensor *weight = tunit_model_require_tensor (builder->model, weight_name, 4,
                                                          weight_dims, builder->error);
  const TunitTensor *bias = weight ? tunit_model_require_tensor (builder->model, bias_name, 1,
                                                                 bias_dims, builder->error) : NULL;
  if (bias == NULL)
    return -1;
  TunitNode node = {
    .op = TUNIT_OP_CONV, .name = intern (builder, prefix), .inputs = { input }, .n_inputs = 1,
    .channels = out_channels, .in_channels = in_channels, .activation = activation,
    .kernel = kernel, .stride = stride, .padding = padding, .pad_mode = pad_mode,
    .weight = weight->values, .bias = bias->values,
  };
  return add_node (builder, &node);
}

static int
add_norm (Builder *builder, int input, const char *prefix, gboolean adaptive,
          TunitActivation activation)
{
  int channels = node_at (builder, input)->channels;
  TunitNode node = {
    .op = TUNIT_OP_NORM, .name = intern (builder, prefix), .inputs = { input }, .n_inputs = 1,
    .channels = channels, .in_channels = channels, .activation = activation,
    .adaptive = adaptive, .shift_offset = -1, .scale_offset = -1,
  };
  /* TUNIT's AdaIN layout: each layer's C biases (the shift), then its C
   * weights (the scale), layers in module order */
  if (adaptive) {
    node.shift_offset = builder->adain_offset;
    node.scale_offset = builder->adain_offset + channels;
    builder->adain_offset += 2 * channels;
  }
  return add_node (builder, &node);
}

static int
add_simple (Builder *builder, TunitOpKind op, int input, const char *name)
{
  int channels = node_at (builder, input)->channels;
  TunitNode node = { .op = op, .name = intern (builder, name), .inputs = { input },
                     .n_inputs = 1, .channels = channels, .in_channels = channels };
  return add_node (builder, &node);
}

/* Conv2dBlock of the official code: reflect pad, conv, norm, activation. */
static int
add_conv_block (Builder *builder, int input, const char *prefix, int out_channels,
                int kernel, int stride, int padding, gboolean adaptive,
                TunitActivation activation)
{
  g_autofree char *conv_prefix = g_strdup_printf ("%s.conv", prefix);
  int conv = add_conv (builder, input, conv_prefix, out_channels, kernel, stride, padding,
                       TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_NONE);
  if (conv < 0)
    return -1;
  return add_norm (builder, conv, prefix, adaptive, activation);
}

/* ResBlock: x + 0.1 * (conv3x3 + norm + ReLU, conv3x3 + norm). */
static int
add_res_block (Builder *builder, int input, const char *prefix, gboolean adaptive)
{
  int channels = node_at (builder, input)->channels;
  g_autofree char *first = g_strdup_printf ("%s.model.0", prefix);
  g_autofree char *second = g_strdup_printf ("%s.model.1", prefix);
  int hidden = add_conv_block (builder, input, first, channels, 3, 1, 1, adaptive,
                               TUNIT_ACTIVATION_RELU);
  int residual = hidden < 0 ? -1 : add_conv_block (builder, hidden, second, channels, 3, 1, 1,
                                                   adaptive, TUNIT_ACTIVATION_NONE);
  if (residual < 0)
    return -1;
  TunitNode node = {
    .op = TUNIT_OP_RESIDUAL_ADD, .name = intern (builder, prefix),
    .inputs = { input, residual }, .n_inputs = 2, .residual_scale = RESIDUAL_SCALE,
    .channels = channels, .in_channels = channels,
  };
  return add_node (builder, &node);
}

static int
add_res_blocks (Builder *builder, int input, const char *prefix, int n_res, gboolean adaptive)
{
  int current = input;
  for (int r = 0; r < n_res && current >= 0; r++) {
    g_autofree char *block = g_strdup_printf ("%s.model.%d", prefix, r);
    current = add_res_block (builder, current, block, adaptive);
  }
  return current;
}

static int
add_input (Builder *builder, int channels)
{
  TunitNode node = { .op = TUNIT_OP_INPUT, .name = "input", .channels = channels };
  return add_node (builder, &node);
}

static int
build_generator_nodes (Builder *builder, const TunitArchitecture *architecture)
{
  int nf = architecture->nf, n_downs = architecture->n_downs;
  int x = add_input (builder, 3);
  x = add_conv_block (builder, x, "G.cnt_encoder.model.0", nf, 7, 1, 3, FALSE,
                      TUNIT_ACTIVATION_RELU);
  int channels = nf;
  for (int i = 1; i <= n_downs && x >= 0; i++, channels *= 2) {
    g_autofree char *prefix = g_strdup_printf ("G.cnt_encoder.model.%d", i);
    x = add_conv_block (builder, x, prefix, 2 * channels, 4, 2, 1, FALSE, TUNIT_ACTIVATION_RELU);
  }
  g_autofree char *encoder_res = g_strdup_printf ("G.cnt_encoder.model.%d", n_downs + 1);
  if (x >= 0)
    x = add_res_blocks (builder, x, encoder_res, architecture->n_res, FALSE);
  if (x >= 0)
    x = add_res_blocks (builder, x, "G.decoder.model.0", architecture->n_res, TRUE);
  for (int i = 0; i < n_downs && x >= 0; i++, channels /= 2) {
    g_autofree char *upsample = g_strdup_printf ("G.decoder.model.%d", 1 + 2 * i);
    g_autofree char *conv = g_strdup_printf ("G.decoder.model.%d", 2 + 2 * i);
    x = add_simple (builder, TUNIT_OP_UPSAMPLE_NEAREST2X, x, upsample);
    x = add_conv_block (builder, x, conv, channels / 2, 5, 1, 2, TRUE, TUNIT_ACTIVATION_RELU);
  }
  if (x < 0)
    return -1;
  g_autofree char *last = g_strdup_printf ("G.decoder.model.%d.conv", 2 * n_downs + 1);
  return add_conv (builder, x, last, 3, 7, 1, 3, TUNIT_PAD_REFLECT, TUNIT_ACTIVATION_TANH);
}

/* Eval-mode BatchNorm (running statistics) with the activation that
 * follows it; the lowering folds it into the convolution before it. */
static int
add_batch_norm (Builder *builder, int input, const char *prefix, TunitActivation activation)
{
  int channels = node_at (builder, input)->channels;
  gint64 dims[1] = { channels };
  const char *parts[4] = { "weight", "bias", "running_mean", "running_var" };
  const float *values[4];
  for (int i = 0; i < 4; i++) {
    g_autofree char *name = g_strdup_printf ("%s.%s", prefix, parts[i]);
    const TunitTensor *tensor = tunit_model_require_tensor (builder->model, name, 1, dims,
                                                            builder->error);
    if (tensor == NULL)
      return -1;
    values[i] = tensor->values;
  }
  TunitNode node = {
    .op = TUNIT_OP_BATCH_NORM, .name = intern (builder, prefix), .inputs = { input },
    .n_inputs = 1, .channels = channels, .in_channels = channels, .activation = activation,
    .weight = values[0], .bias = values[1], .running_mean = values[2],
    .running_variance = values[3],
  };
  return add_node (builder, &node);
}

static int
add_linear (Builder *builder, int input, const char *prefix, int out_features,
            TunitActivation activation)
{
  int in_features = node_at (builder, input)->channels;
  g_autofree char *weight_name = g_strdup_printf ("%s.weight", prefix);
  g_autofree char *bias_name = g_strdup_printf ("%s.bias", prefix);
  gint64 weight_dims[2] = { out_features, in_features };
  gint64 bias_dims[1] = { out_features };
  const TunitTensor *weight = tunit_model_require_tensor (builder->model, weight_name, 2,
                                                          weight_dims, builder->error);
  if (weight == NULL)
    return -1;
  /* out_features -1 means "whatever the tensor says" */
  bias_dims[0] = weight->dims[0];
  const TunitTensor *bias = tunit_model_require_tensor (builder->model, bias_name, 1,
                                                        bias_dims, builder->error);
  if (bias == NULL)
    return -1;
  TunitNode node = {
    .op = TUNIT_OP_LINEAR, .name = intern (builder, prefix), .inputs = { input },
    .n_inputs = 1, .channels = (int) weight->dims[0], .in_channels = in_features,
    .activation = activation, .weight = weight->values, .bias = bias->values,
  };
  return add_node (builder, &node);
}

static gboolean
build_guide_nodes (Builder *builder, const TunitArchitecture *architecture)
{
  int x = add_input (builder, 3);
  int module = 0;
  for (guint i = 0; i < G_N_ELEMENTS (guide_layers) && x >= 0; i++) {
    g_autofree char *prefix = g_strdup_printf ("E.features.%d", module);
    if (guide_layers[i] == 0) {
      x = add_simple (builder, TUNIT_OP_MAX_POOL2X2, x, prefix);
      module += 1;
      continue;
    }
    /* the width of each VGG layer is read from the model */
    g_autofree char *weight_name = g_strdup_printf ("%s.weight", prefix);
    gint64 any[4] = { -1, node_at (builder, x)->channels, 3, 3 };
    const TunitTensor *weight = tunit_model_require_tensor (builder->model, weight_name, 4, any,
                                                            builder->error);
    if (weight == NULL)
      return FALSE;
    if (weight->dims[0] < 1 || weight->dims[0] > 65536) {
      g_set_error (builder->error, TUNIT_ERROR, TUNIT_ERROR_FORMAT,
                   "model tensor '%s' has an invalid width", weight_name);
      return FALSE;
    }
    x = add_conv (builder, x, prefix, (int) weight->dims[0], 3, 1, 1, TUNIT_PAD_ZERO,
                  TUNIT_ACTIVATION_NONE);
    g_autofree char *norm_prefix = g_strdup_printf ("E.features.%d", module + 1);
    if (x < 0 || (x = add_batch_norm (builder, x, norm_prefix, TUNIT_ACTIVATION_RELU)) < 0)
      return FALSE;
    module += 3;
  }
  if (x < 0)
    return FALSE;
  int pooled = add_simple (builder, TUNIT_OP_GLOBAL_AVERAGE_POOL, x, "E.pool");
  int style = add_linear (builder, pooled, "E.cont", architecture->style_dim,
                          TUNIT_ACTIVATION_NONE);
  int logits = style < 0 ? -1 : add_linear (builder, pooled, "E.disc",
                                            architecture->num_domains, TUNIT_ACTIVATION_NONE);
  builder->graph->outputs[0] = style;
  builder->graph->outputs[1] = logits;
  builder->graph->n_outputs = 2;
  return logits >= 0;
}

static gboolean
build_style_mlp_nodes (Builder *builder, const TunitArchitecture *architecture,
                       int adain_parameter_count)
{
  int x = add_input (builder, architecture->style_dim);
  for (int j = 0; j < architecture->mlp_layers && x >= 0; j++) {
    gboolean last = j == architecture->mlp_layers - 1;
    g_autofree char *prefix = g_strdup_printf ("G.mlp.model.%d.fc", j);
    x = add_linear (builder, x, prefix, last ? adain_parameter_count : architecture->mlp_dim,
                    last ? TUNIT_ACTIVATION_NONE : TUNIT_ACTIVATION_RELU);
  }
  builder->graph->outputs[0] = x;
  builder->graph->n_outputs = 1;
  return x >= 0;
}

static void
finish_graph (Builder *builder)
{
  builder->graph->n_nodes = builder->nodes->len;
  builder->graph->nodes = (TunitNode *) g_array_free (builder->nodes, FALSE);
  builder->nodes = NULL;
}

typedef enum { GRAPH_GENERATOR, GRAPH_GUIDE, GRAPH_STYLE_MLP } GraphKind;

static gboolean
build_graph (TunitNetwork *network, TunitGraph *graph, const TunitModel *model,
             GStringChunk *names, GraphKind which, GError **error)
{
  const TunitArchitecture *architecture = tunit_model_get_architecture (model);
  Builder builder = { .model = model, .graph = graph,
                      .nodes = g_array_new (FALSE, TRUE, sizeof (TunitNode)),
                      .names = names, .error = error };
  gboolean ok;
  if (which == GRAPH_GENERATOR) {
    graph->name = "generator";
    graph->outputs[0] = build_generator_nodes (&builder, architecture);
    graph->n_outputs = 1;
    ok = graph->outputs[0] >= 0;
    network->adain_parameter_count = graph->n_parameters = builder.adain_offset;
  } else if (which == GRAPH_GUIDE) {
    graph->name = "guiding network";
    ok = build_guide_nodes (&builder, architecture);
  } else {
    graph->name = "style MLP";
    ok = build_style_mlp_nodes (&builder, architecture, network->adain_parameter_count);
  }
  graph->n_inputs = 1;
  finish_graph (&builder);
  return ok;
}

/* The network keeps the node names it made next to the public graphs, in
 * a private wrapper. */
typedef struct {
  TunitNetwork public;
  GStringChunk *names;
} NetworkWithNames;

TunitNetwork *
tunit_network_build (const TunitModel *model, GError **error)
{
  const TunitArchitecture *architecture = tunit_model_get_architecture (model);
  NetworkWithNames *full = g_new0 (NetworkWithNames, 1);
  full->names = g_string_chunk_new (1024);
  TunitNetwork *network = &full->public;
  network->size_multiple = 1 << architecture->n_downs;
  network->guide_size = architecture->img_size;
  if (!build_graph (network, &network->generator, model, full->names, GRAPH_GENERATOR, error)
      || !build_graph (network, &network->guide, model, full->names, GRAPH_GUIDE, error)
      || !build_graph (network, &network->style_mlp, model, full->names, GRAPH_STYLE_MLP,
                       error)) {
    tunit_network_free (network);
    return NULL;
  }
  return network;
}

void
tunit_network_free (TunitNetwork *network)
{
  if (network == NULL)
    return;
  NetworkWithNames *full = (NetworkWithNames *) network;
  g_free (network->generator.nodes);
  g_free (network->guide.nodes);
  g_free (network->style_mlp.nodes);
  g_string_chunk_free (full->names);
  g_free (full);
}
