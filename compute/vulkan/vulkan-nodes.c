/* vulkan-nodes.c - the dispatches of each node kind of a lowered graph.
 *
 * Convolutions run as conv2d.comp (shared-memory tiles, GPUs) or
 * conv2d_direct.comp (CPU devices such as lavapipe), see choose_conv_tile;
 * an upsampled convolution as its phases (the same shaders, on the small
 * image) and then one upsample_border.comp dispatch per border term.
 * Parameters go through shaders/shader-interface.h's structs and ids.
 * A new node kind is one more record_ function here (and its shader). */
#include "vulkan-internal.h"

/* Workgroup sizes stay within the 128 invocations every device supports,
 * except conv2d.comp's 256-thread tiles (see choose_conv_tile); the
 * reductions' size is ctx->reduction_workgroup. */
#define ELEMENTWISE_WORKGROUP TUNIT_VK_ELEMENTWISE_WORKGROUP
#define LINEAR_WORKGROUP 64
#define BORDER_WORKGROUP 64
#define MAX_GROUPS 65535            /* guaranteed maxComputeWorkGroupCount */
/* instance-norm statistics: elements per partial-statistics workgroup and
 * the most workgroups per channel (each adds a triple to merge) */
#define NORM_ELEMENTS_PER_BLOCK 8192
#define NORM_MAX_BLOCKS 64

static guint32
div_up (gsize a, gsize b)
{
  return (guint32) ((a + b - 1) / b);
}

static const TunitNode *
node_of (const TunitVkRecorder *recorder, int index)
{
  return &tunit_vk_recorder_layout (recorder)->graph->nodes[index];
}

static const TunitShape *
shape_of (const TunitVkRecorder *recorder, int index)
{
  return &tunit_vk_recorder_layout (recorder)->shapes[index];
}

static TunitVkContext *
context_of (const TunitVkRecorder *recorder)
{
  return tunit_vk_recorder_resources (recorder)->ctx;
}

static const TunitVkNodeWeights *
weights_of (const TunitVkRecorder *recorder, int index)
{
  return &tunit_vk_recorder_resources (recorder)->weights->nodes[index];
}

int
tunit_vk_node_dispatches (const TunitNode *node)
{
  switch (node->op) {
  case TUNIT_OP_NORM:
    return 2;
  case TUNIT_OP_UPSAMPLED_CONV:
    return 1 + node->phases->n_terms;
  default:
    return 1;
  }
}

static gsize
norm_blocks (const TunitShape *shape)
{
  gsize plane = (gsize) shape->height * shape->width;
  return CLAMP (plane / NORM_ELEMENTS_PER_BLOCK, 1, NORM_MAX_BLOCKS);
}

gsize
tunit_vk_node_stats_floats (const TunitNode *node, const TunitShape *shape)
{
  return node->op == TUNIT_OP_NORM ? 3 * shape->channels * norm_blocks (shape) : 0;
}

/* ------------------------------------------------------- convolutions */

static TunitVkConvTileKind
choose_conv_tile (const TunitVkContext *ctx, int out_channels, gsize pixels)
{
  if (ctx->conv_config_override >= 0)
    return ctx->conv_config_override;
  const VkPhysicalDeviceLimits *limits = &ctx->properties.limits;
  if (ctx->properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU
      || limits->maxComputeWorkGroupInvocations < 256 || limits->maxComputeWorkGroupSize[0] < 256)
    return TUNIT_VK_CONV_TILE_DIRECT;
  if (out_channels <= 4)
    return TUNIT_VK_CONV_TILE_TINY;
  if (out_channels <= 16)
    return TUNIT_VK_CONV_TILE_NARROW;
  /* 128x128 tiles reuse each loaded value twice as often, but only pay
   * off when there are enough of them to fill a GPU */
  if (out_channels >= 128 && div_up (out_channels, 128) * div_up (pixels, 128) >= 512)
    return TUNIT_VK_CONV_TILE_LARGE;
  return TUNIT_VK_CONV_TILE_MEDIUM;
}

/* One convolution dispatch (conv_common.glsl). */
typedef struct {
  TunitConvMode mode;
  int kernel, padding;
  int rows;                 /* GEMM rows */
  gsize pixels;             /* GEMM columns */
} ConvPass;

static gboolean
record_conv_pass (TunitVkRecorder *recorder, int index, const ConvPass *pass, GError **error)
{
  const TunitNode *node = node_of (recorder, index);
  const TunitShape *in = shape_of (recorder, node->inputs[0]);
  const TunitShape *out = shape_of (recorder, index);
  const TunitVkNodeWeights *weights = weights_of (recorder, index);
  TunitVkConvTileKind kind = choose_conv_tile (context_of (recorder), pass->rows, pass->pixels);
  const TunitVkConvTile *tile = &tunit_vk_conv_tiles[kind];
  guint32 tiles_n = div_up (pass->pixels, tile->bn);
  guint32 groups_x = MIN (tiles_n, MAX_GROUPS);
  TunitVkDispatch d = {
    .kernel = kind == TUNIT_VK_CONV_TILE_DIRECT ? TUNIT_VK_KERNEL_CONV2D_DIRECT
                                                : TUNIT_VK_KERNEL_CONV2D,
    .spec = {
      [TUNIT_SPEC_WORKGROUP] = (tile->bm / tile->tm) * (tile->bn / tile->tn),
      [TUNIT_SPEC_TILE_M] = tile->bm, [TUNIT_SPEC_TILE_N] = tile->bn,
      [TUNIT_SPEC_TILE_K] = tile->bk, [TUNIT_SPEC_THREAD_M] = tile->tm,
      [TUNIT_SPEC_THREAD_N] = tile->tn, [TUNIT_SPEC_KERNEL] = pass->kernel,
      [TUNIT_SPEC_STRIDE] = node->stride, [TUNIT_SPEC_PADDING] = pass->padding,
      [TUNIT_SPEC_PAD_REFLECT] = node->pad_mode == TUNIT_PAD_REFLECT,
      [TUNIT_SPEC_ACTIVATION] = node->activation, [TUNIT_SPEC_HAS_BIAS] = node->bias != NULL,
      [TUNIT_SPEC_CONV_MODE] = pass->mode,
    },
    .bindings = { tunit_vk_value_binding (recorder, node->inputs[0], FALSE),
                  tunit_vk_weight_binding (recorder, &weights->weight),
                  tunit_vk_weight_binding (recorder, &weights->bias),
                  tunit_vk_value_binding (recorder, index, TRUE) },
    .groups = { groups_x, div_up (pass->rows, tile->bm), div_up (tiles_n, groups_x) },
  };
  TunitConvPush push = { in->channels, in->height, in->width, out->channels, out->height,
                         out->width, (int) tiles_n, weights->row_stride };
  return tunit_vk_record_dispatch (recorder, &d, &push, sizeof push, error);
}

static gboolean
record_conv (TunitVkRecorder *recorder, int index, GError **error)
{
  const TunitNode *node = node_of (recorder, index);
  const TunitShape *out = shape_of (recorder, index);
  ConvPass plain = {
    .mode = TUNIT_CONV_MODE_PLAIN, .kernel = node->kernel, .padding = node->padding,
    .rows = node->channels, .pixels = (gsize) out->height * out->width,
  };
  return record_conv_pass (recorder, index, &plain, error);
}

/* One border term: its output line gains the difference's convolution. */
static gboolean
record_border_term (TunitVkRecorder *recorder, int index, int t, GError **error)
{
  const TunitNode *node = node_of (recorder, index);
  const TunitBorderTerm *term = &node->phases->terms[t];
  const TunitShape *in = shape_of (recorder, node->inputs[0]);
  const TunitShape *out = shape_of (recorder, index);
  gboolean rows = term->side == TUNIT_SIDE_TOP || term->side == TUNIT_SIDE_BOTTOM;
  gboolean near = term->side == TUNIT_SIDE_TOP || term->side == TUNIT_SIDE_LEFT;
  int across = rows ? out->height : out->width;
  if (term->output_line >= across)
    return TRUE;   /* a frame thinner than the kernel: the line misses it */
  TunitBorderPush push = {
    in->channels, in->height, in->width, out->channels, out->height, out->width,
    .rows = rows,
    .line = near ? -term->line : across - 1 + term->line,
    .target = near ? term->output_line : across - 1 - term->output_line,
    .pixels = rows ? out->width : out->height,
    .w_stride = weights_of (recorder, index)->term_stride,
  };
  /* the direct tile's blocking: 8 channels x 4 pixels per invocation */
  const TunitVkConvTile *tile = &tunit_vk_conv_tiles[TUNIT_VK_CONV_TILE_DIRECT];
  guint32 workgroup = context_of (recorder)->properties.deviceType
                      == VK_PHYSICAL_DEVICE_TYPE_CPU ? 16 : BORDER_WORKGROUP;
  TunitVkDispatch d = {
    .kernel = TUNIT_VK_KERNEL_UPSAMPLE_BORDER,
    .spec = { [TUNIT_SPEC_WORKGROUP] = workgroup, [TUNIT_SPEC_THREAD_M] = tile->tm,
              [TUNIT_SPEC_THREAD_N] = tile->tn, [TUNIT_SPEC_KERNEL] = node->kernel,
              [TUNIT_SPEC_PAD_REFLECT] = node->pad_mode == TUNIT_PAD_REFLECT },
    .bindings = { tunit_vk_value_binding (recorder, node->inputs[0], FALSE),
                  tunit_vk_weight_binding (recorder, &weights_of (recorder, index)->terms[t]),
                  { 0 }, tunit_vk_value_binding (recorder, index, TRUE) },
    .groups = { div_up (push.pixels, (gsize) workgroup * tile->tn),
                div_up (out->channels, tile->tm), 1 },
  };
  return tunit_vk_record_dispatch (recorder, &d, &push, sizeof push, error);
}

/* The phases on the small image, then the border terms, which add to
 * what the phases wrote (the recorder orders them). */
static gboolean
record_upsampled_conv (TunitVkRecorder *recorder, int index, GError **error)
{
  const TunitNode *node = node_of (recorder, index);
  const TunitShape *in = shape_of (recorder, node->inputs[0]);
  ConvPass phases = {
    .mode = TUNIT_CONV_MODE_PHASES, .kernel = node->phases->kernel,
    .padding = node->phases->padding, .rows = node->phases->rows,
    .pixels = (gsize) in->height * in->width,
  };
  if (!record_conv_pass (recorder, index, &phases, error))
    return FALSE;
  for (int t = 0; t < node->phases->n_terms; t++)
    if (!record_border_term (recorder, index, t, error))
      return FALSE;
  return TRUE;
}

/* ------------------------------------------------------ the other nodes */

static gboolean
record_norm (TunitVkRecorder *recorder, int index, GError **error)
{
  const TunitNode *node = node_of (recorder, index);
  const TunitShape *shape = shape_of (recorder, index);
  TunitVkContext *ctx = context_of (recorder);
  gsize plane = (gsize) shape->height * shape->width;
  guint32 blocks = norm_blocks (shape);
  guint32 chunk = div_up (plane, blocks);
  TunitVkBinding parameters = { NULL, 0, 0, -1, FALSE };
  if (node->adaptive) {
    const TunitVkBuffer *buffer = tunit_vk_recorder_resources (recorder)->parameters;
    VkDeviceSize end = ((VkDeviceSize) MAX (node->shift_offset, node->scale_offset)
                        + node->channels) * sizeof (float);
    if (buffer == NULL || node->shift_offset < 0 || node->scale_offset < 0
        || end > buffer->size) {
      g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                   "layer %s reads AdaIN parameters that do not exist", node->name);
      return FALSE;
    }
    parameters = (TunitVkBinding) { buffer, 0, buffer->size, -1, FALSE };
  }
  /* in place or not: the plan says (the input's buffer may be the output's) */
  TunitVkBinding input = tunit_vk_value_binding (recorder, node->inputs[0], FALSE);
  TunitVkDispatch stats = {
    .kernel = TUNIT_VK_KERNEL_NORM_STATS,
    .spec = { [TUNIT_SPEC_WORKGROUP] = ctx->reduction_workgroup },
    .bindings = { input, tunit_vk_stats_binding (recorder, TRUE) },
    .groups = { blocks, shape->channels, 1 },
  };
  TunitNormStatsPush stats_push = { (int) plane, (int) blocks, (int) chunk };
  TunitVkDispatch apply = {
    .kernel = TUNIT_VK_KERNEL_NORM_APPLY,
    .spec = { [TUNIT_SPEC_WORKGROUP] = ELEMENTWISE_WORKGROUP,
              [TUNIT_SPEC_ACTIVATION] = node->activation,
              [TUNIT_SPEC_ADAPTIVE] = node->adaptive != FALSE },
    .bindings = { input, tunit_vk_stats_binding (recorder, FALSE), parameters,
                  tunit_vk_value_binding (recorder, index, TRUE) },
    /* four elements per thread: enough work per workgroup to amortise
     * the merge of the partial statistics */
    .groups = { CLAMP (div_up (plane, 4 * ELEMENTWISE_WORKGROUP), 1, 1024), shape->channels, 1 },
  };
  TunitNormApplyPush apply_push = {
    (int) plane, (int) blocks, shape->channels, MAX (node->shift_offset, 0),
    MAX (node->scale_offset, 0), TUNIT_NORM_EPSILON,
  };
  return tunit_vk_record_dispatch (recorder, &stats, &stats_push, sizeof stats_push, error)
         && tunit_vk_record_dispatch (recorder, &apply, &apply_push, sizeof apply_push, error);
}

static gboolean
record_residual_add (TunitVkRecorder *recorder, int index, GError **error)
{
  const TunitNode *node = node_of (recorder, index);
  gsize count = tunit_shape_count (shape_of (recorder, index));
  TunitVkDispatch d = {
    .kernel = TUNIT_VK_KERNEL_RESIDUAL_ADD,
    .spec = { [TUNIT_SPEC_WORKGROUP] = ELEMENTWISE_WORKGROUP },
    .bindings = { tunit_vk_value_binding (recorder, node->inputs[0], FALSE),
                  tunit_vk_value_binding (recorder, node->inputs[1], FALSE), { 0 },
                  tunit_vk_value_binding (recorder, index, TRUE) },
    .groups = { tunit_vk_stride_groups (count, ELEMENTWISE_WORKGROUP), 1, 1 },
  };
  TunitTensorPush push = { .count = (int) count, .scale = node->residual_scale };
  return tunit_vk_record_dispatch (recorder, &d, &push, sizeof push, error);
}

/* Up-sampling and max pooling: [C,H,W] in, grid-stride over the output. */
static gboolean
record_resample (TunitVkRecorder *recorder, int index, TunitVkKernel kernel, GError **error)
{
  const TunitNode *node = node_of (recorder, index);
  const TunitShape *in = shape_of (recorder, node->inputs[0]);
  gsize count = tunit_shape_count (shape_of (recorder, index));
  TunitVkDispatch d = {
    .kernel = kernel,
    .spec = { [TUNIT_SPEC_WORKGROUP] = ELEMENTWISE_WORKGROUP },
    .bindings = { tunit_vk_value_binding (recorder, node->inputs[0], FALSE), { 0 }, { 0 },
                  tunit_vk_value_binding (recorder, index, TRUE) },
    .groups = { tunit_vk_stride_groups (count, ELEMENTWISE_WORKGROUP), 1, 1 },
  };
  TunitTensorPush push = { .channels = in->channels, .height = in->height, .width = in->width,
                           .count = (int) tunit_shape_count (in) };
  return tunit_vk_record_dispatch (recorder, &d, &push, sizeof push, error);
}

static gboolean
record_global_average_pool (TunitVkRecorder *recorder, int index, GError **error)
{
  const TunitNode *node = node_of (recorder, index);
  const TunitShape *in = shape_of (recorder, node->inputs[0]);
  TunitVkDispatch d = {
    .kernel = TUNIT_VK_KERNEL_GLOBAL_AVG_POOL,
    .spec = { [TUNIT_SPEC_WORKGROUP] = context_of (recorder)->reduction_workgroup },
    .bindings = { tunit_vk_value_binding (recorder, node->inputs[0], FALSE), { 0 }, { 0 },
                  tunit_vk_value_binding (recorder, index, TRUE) },
    .groups = { in->channels, 1, 1 },
  };
  TunitTensorPush push = { .channels = in->channels, .height = in->height, .width = in->width,
                           .count = (int) tunit_shape_count (in) };
  return tunit_vk_record_dispatch (recorder, &d, &push, sizeof push, error);
}

static gboolean
record_linear (TunitVkRecorder *recorder, int index, GError **error)
{
  const TunitNode *node = node_of (recorder, index);
  const TunitVkNodeWeights *weights = weights_of (recorder, index);
  if (tunit_shape_count (shape_of (recorder, node->inputs[0])) != (gsize) node->in_channels) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "layer %s: its input's size does not match its weights", node->name);
    return FALSE;
  }
  TunitVkDispatch d = {
    .kernel = TUNIT_VK_KERNEL_LINEAR,
    .spec = { [TUNIT_SPEC_WORKGROUP] = LINEAR_WORKGROUP,
              [TUNIT_SPEC_ACTIVATION] = node->activation,
              [TUNIT_SPEC_HAS_BIAS] = node->bias != NULL },
    .bindings = { tunit_vk_value_binding (recorder, node->inputs[0], FALSE),
                  tunit_vk_weight_binding (recorder, &weights->weight),
                  tunit_vk_weight_binding (recorder, &weights->bias),
                  tunit_vk_value_binding (recorder, index, TRUE) },
    .groups = { div_up (node->channels, LINEAR_WORKGROUP), 1, 1 },
  };
  TunitLinearPush push = { node->in_channels, node->channels };
  return tunit_vk_record_dispatch (recorder, &d, &push, sizeof push, error);
}

gboolean
tunit_vk_record_node (TunitVkRecorder *recorder, int index, GError **error)
{
  const TunitNode *node = node_of (recorder, index);
  switch (node->op) {
  case TUNIT_OP_CONV:
    return record_conv (recorder, index, error);
  case TUNIT_OP_UPSAMPLED_CONV:
    return record_upsampled_conv (recorder, index, error);
  case TUNIT_OP_NORM:
    return record_norm (recorder, index, error);
  case TUNIT_OP_UPSAMPLE_NEAREST2X:
    return record_resample (recorder, index, TUNIT_VK_KERNEL_UPSAMPLE, error);
  case TUNIT_OP_MAX_POOL2X2:
    return record_resample (recorder, index, TUNIT_VK_KERNEL_MAX_POOL, error);
  case TUNIT_OP_GLOBAL_AVERAGE_POOL:
    return record_global_average_pool (recorder, index, error);
  case TUNIT_OP_LINEAR:
    return record_linear (recorder, index, error);
  case TUNIT_OP_RESIDUAL_ADD:
    return record_residual_add (recorder, index, error);
  default:
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "the Vulkan backend cannot run layer %s (%s)", node->name,
                 tunit_op_name (node->op));
    return FALSE;
  }
}
