/* graph.c - what is known of every op (graph.h's TUNIT_OPS list): its name,
 * its inputs, the shape of its output, whether it may overwrite its first
 * input; and the shape inference and FLOP count of whole graphs. */
#include "graph.h"

typedef enum {
  SHAPE_INPUT,          /* [channels, height, width] of the graph's input */
  SHAPE_SAME,           /* as inputs[0] */
  SHAPE_CONV,           /* convolution of inputs[0] */
  SHAPE_UPSAMPLE,       /* [C, 2H, 2W] */
  SHAPE_UPSAMPLE_CONV,  /* convolution of inputs[0] upsampled */
  SHAPE_POOL,           /* [C, H / 2, W / 2] */
  SHAPE_VECTOR,         /* [channels, 1, 1] */
} ShapeRule;

typedef struct {
  const char *name;
  int inputs;
  ShapeRule shape;
  gboolean in_place;
} OpInfo;

#define TUNIT_OP_INFO(kind, name, inputs, shape, in_place) \
  [TUNIT_OP_##kind] = { name, inputs, SHAPE_##shape, in_place },
static const OpInfo ops[TUNIT_N_OPS] = { TUNIT_OPS (TUNIT_OP_INFO) };
#undef TUNIT_OP_INFO

const char *
tunit_op_name (TunitOpKind op)
{
  return op < TUNIT_N_OPS ? ops[op].name : "unknown op";
}

int
tunit_op_input_count (TunitOpKind op)
{
  return op < TUNIT_N_OPS ? ops[op].inputs : 0;
}

gboolean
tunit_op_may_run_in_place (TunitOpKind op)
{
  return op < TUNIT_N_OPS && ops[op].in_place;
}

int
tunit_graph_input_node (const TunitGraph *graph, int k)
{
  for (int i = 0; i < graph->n_nodes; i++)
    if (graph->nodes[i].op == TUNIT_OP_INPUT && k-- == 0)
      return i;
  return -1;
}

static gboolean
too_small (const TunitNode *node, const TunitShape *in, GError **error)
{
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT, "frame too small: layer %s gets %dx%d",
               node->name, in->width, in->height);
  return FALSE;
}

/* The convolution of an input of side `side` along one axis. */
static gboolean
conv_side (const TunitNode *node, int side, int *out)
{
  int min_side = node->pad_mode == TUNIT_PAD_REFLECT ? node->padding + 1 : 1;
  if (side < min_side || side + 2 * node->padding < node->kernel || node->stride < 1)
    return FALSE;
  *out = (side + 2 * node->padding - node->kernel) / node->stride + 1;
  return TRUE;
}

static gboolean
node_shape (const TunitNode *node, const TunitShape *in, TunitShape *out, GError **error)
{
  int factor = 1;
  switch (ops[node->op].shape) {
  case SHAPE_INPUT:
    g_assert_not_reached ();
  case SHAPE_SAME:
    *out = *in;
    return TRUE;
  case SHAPE_UPSAMPLE:
    *out = (TunitShape) { in->channels, in->height * 2, in->width * 2 };
    return TRUE;
  case SHAPE_POOL:
    if (in->height < 2 || in->width < 2)
      return too_small (node, in, error);
    *out = (TunitShape) { in->channels, in->height / 2, in->width / 2 };
    return TRUE;
  case SHAPE_VECTOR:
    *out = (TunitShape) { node->channels, 1, 1 };
    return TRUE;
  case SHAPE_UPSAMPLE_CONV:
    factor = 2;
    /* fall through */
  case SHAPE_CONV:
    out->channels = node->channels;
    if (!conv_side (node, factor * in->height, &out->height)
        || !conv_side (node, factor * in->width, &out->width))
      return too_small (node, &(TunitShape) { in->channels, factor * in->height,
                                              factor * in->width }, error);
    return TRUE;
  }
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT, "layer %s: unknown op %d",
               node->name, (int) node->op);
  return FALSE;
}

gboolean
tunit_graph_infer_shapes (const TunitGraph *graph, int input_channels, int height, int width,
                          TunitShape *shapes, GError **error)
{
  for (int i = 0; i < graph->n_nodes; i++) {
    const TunitNode *node = &graph->nodes[i];
    if (node->op >= TUNIT_N_OPS) {
      g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT, "layer %s: unknown op %d",
                   node->name, (int) node->op);
      return FALSE;
    }
    if (node->op == TUNIT_OP_INPUT) {
      if (i == tunit_graph_input_node (graph, 0) && node->channels != input_channels) {
        g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                     "the %s takes %d input channels, not %d", graph->name, node->channels,
                     input_channels);
        return FALSE;
      }
      shapes[i] = (TunitShape) { node->channels, height, width };
      continue;
    }
    if (!node_shape (node, &shapes[node->inputs[0]], &shapes[i], error))
      return FALSE;
  }
  return TRUE;
}

double
tunit_graph_flops (const TunitGraph *graph, const TunitShape *shapes)
{
  double flops = 0;
  for (int i = 0; i < graph->n_nodes; i++) {
    const TunitNode *node = &graph->nodes[i];
    const TunitShape *out = &shapes[i];
    if (node->op == TUNIT_OP_CONV || node->op == TUNIT_OP_UPSAMPLED_CONV)
      flops += 2.0 * out->channels * out->height * out->width * node->in_channels
               * node->kernel * node->kernel;
    else if (node->op == TUNIT_OP_LINEAR)
      flops += 2.0 * node->channels * node->in_channels;
  }
  return flops;
}
