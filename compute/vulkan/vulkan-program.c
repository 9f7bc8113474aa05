/* vulkan-program.c - one graph at one input size, ready to run.
 *
 * Building a program allocates every buffer the graph needs (the shared
 * buffer plan of network.h decides which values share a buffer),
 * allocates and writes all descriptor sets, and records one command
 * buffer: convert the input, one or two dispatches per node, convert the
 * outputs.  Running it only copies the input into a mapped buffer,
 * resubmits the same command buffer, waits on the fence and copies the
 * outputs back: nothing is allocated or recorded per frame.
 *
 * A nearest x2 up-sampling whose only readers are convolutions is not
 * executed: the convolutions read its input through the up-sampling
 * (UPSAMPLE in the shaders), which saves the 4x larger intermediate image
 * and a pass over it; where the kernel allows, such a convolution is
 * split into output phases on the small image (conv_common.glsl).
 *
 * Convolutions run as conv2d.comp (shared-memory tiles, GPUs) or
 * conv2d_direct.comp (CPU devices such as lavapipe), see choose_conv_tile. */
#include "vulkan-internal.h"

#include <stdio.h>
#include <string.h>

/* Workgroup sizes stay within the 128 invocations every device supports,
 * except conv2d.comp's 256-thread tiles (see choose_conv_tile); the
 * reductions' size is ctx->reduction_workgroup. */
#define ELEMENTWISE_WORKGROUP 128
#define LINEAR_WORKGROUP 64
#define MAX_GROUPS 65535            /* guaranteed maxComputeWorkGroupCount */
/* instance-norm statistics: elements per partial-statistics workgroup and
 * the most workgroups per channel (each adds a triple to merge) */
#define NORM_ELEMENTS_PER_BLOCK 8192
#define NORM_MAX_BLOCKS 64

/* Hazard-tracking ids besides the buffer-plan slots 0 .. n_slots-1. */
enum {
  RESOURCE_INPUT,     /* + n_slots */
  RESOURCE_OUTPUT0,
  RESOURCE_OUTPUT1,
  RESOURCE_STATS,
  N_EXTRA_RESOURCES
};

struct _TunitVkProgram {
  TunitVkProgramResources res;
  const TunitGraph *graph;
  int input_channels, height, width;
  TunitShape *shapes;          /* [n_nodes] */
  gboolean *fused;             /* [n_nodes]: up-samplings read through by convs */
  TunitBufferPlan *plan;
  TunitVkBuffer *slots;        /* [plan->n_slots] */
  TunitVkBuffer input;         /* fp32, host-visible */
  TunitVkBuffer outputs[2];    /* fp32, host-visible */
  TunitVkBuffer stats;         /* instance-norm partial statistics, fp32 */
  VkDescriptorPool pool;
  GArray *views;               /* VkBufferView of the texel-buffer bindings */
  VkCommandBuffer commands;
  int n_dispatches;
  /* profiling (ctx->profile): a timestamp after each dispatch */
  VkQueryPool queries;
  GPtrArray *labels;           /* what each dispatch computed */
};

/* One binding of a dispatch. */
typedef struct {
  const TunitVkBuffer *buffer;   /* NULL: the dummy buffer */
  VkDeviceSize offset, range;
  int resource;                  /* hazard-tracking id; -1 for constant data */
  gboolean write;
} Binding;

typedef struct {
  TunitVkProgram *program;
  const char *node_name;         /* the node being recorded, for profiles */
  int n_resources;
  guint8 *written;               /* written since the last barrier */
  guint8 *read;                  /* read since the last barrier */
} Recorder;

/* ------------------------------------------------------------- helpers */

static gsize
shape_count (const TunitShape *shape)
{
  return (gsize) shape->channels * shape->height * shape->width;
}

static guint32
div_up (gsize a, gsize b)
{
  return (guint32) ((a + b - 1) / b);
}

static guint32
float_bits (float value)
{
  guint32 bits;
  memcpy (&bits, &value, sizeof bits);
  return bits;
}

/* ------------------------------------------------------------- fusion */

/* Marks the up-samplings whose every reader is a convolution's main input
 * (and that are not graph outputs): those convolutions read through them. */
static void
find_fused_upsamplings (const TunitGraph *graph, gboolean *fused)
{
  for (int i = 0; i < graph->n_nodes; i++)
    fused[i] = graph->nodes[i].op == TUNIT_OP_UPSAMPLE_NEAREST2X
               && graph->outputs[0] != i && graph->outputs[1] != i;
  for (int i = 0; i < graph->n_nodes; i++) {
    const TunitNode *node = &graph->nodes[i];
    if (node->op != TUNIT_OP_CONV && node->input >= 0)
      fused[node->input] = FALSE;
    if (node->op == TUNIT_OP_RESIDUAL_ADD && node->skip >= 0)
      fused[node->skip] = FALSE;
  }
}

/* The node a node really reads: past a fused up-sampling, its input. */
static int
source_of (const TunitVkProgram *program, int input)
{
  return program->fused[input] ? program->graph->nodes[input].input : input;
}

/* The buffer plan of the graph as executed: convolutions after a fused
 * up-sampling read its input directly (which keeps that value alive until
 * they ran) and the up-sampling itself holds no data. */
static TunitBufferPlan *
plan_buffers (TunitVkProgram *program)
{
  const TunitGraph *graph = program->graph;
  int n = graph->n_nodes;
  g_autofree TunitNode *nodes = g_new (TunitNode, n);
  g_autofree TunitShape *shapes = g_new (TunitShape, n);
  memcpy (nodes, graph->nodes, n * sizeof (TunitNode));
  memcpy (shapes, program->shapes, n * sizeof (TunitShape));
  for (int i = 0; i < n; i++) {
    if (program->fused[i])
      shapes[i] = (TunitShape) { 0, 0, 0 };
    else if (nodes[i].input >= 0)
      nodes[i].input = source_of (program, nodes[i].input);
  }
  TunitGraph executed = { .nodes = nodes, .n_nodes = n,
                          .outputs = { graph->outputs[0], graph->outputs[1] } };
  return tunit_buffer_plan_new (&executed, shapes);
}

/* ------------------------------------------------------------- buffers */

static gboolean
check_binding_size (TunitVkProgram *program, const char *what, VkDeviceSize bytes,
                    GError **error)
{
  VkDeviceSize limit = program->res.ctx->properties.limits.maxStorageBufferRange;
  if (bytes <= limit)
    return TRUE;
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_OUT_OF_MEMORY,
               "a %dx%d frame needs %.0f MiB for %s, more than this Vulkan device binds at "
               "once (maxStorageBufferRange %.0f MiB); use a smaller frame%s",
               program->width, program->height, bytes / 1048576.0, what, limit / 1048576.0,
               program->res.ctx->fp16 ? "" : " or --precision fp16");
  return FALSE;
}

static gsize
norm_blocks (const TunitShape *shape)
{
  gsize plane = (gsize) shape->height * shape->width;
  return CLAMP (plane / NORM_ELEMENTS_PER_BLOCK, 1, NORM_MAX_BLOCKS);
}

static gboolean
allocate_slots (TunitVkProgram *program, GError **error)
{
  TunitVkContext *ctx = program->res.ctx;
  const TunitGraph *graph = program->graph;
  for (int i = 0; i < graph->n_nodes; i++) {
    if (program->fused[i])
      continue;
    g_autofree char *what = g_strdup_printf ("the output of %s", graph->nodes[i].name);
    if (!check_binding_size (program, what, shape_count (&program->shapes[i]) * ctx->element_size,
                             error))
      return FALSE;
  }
  program->slots = g_new0 (TunitVkBuffer, program->plan->n_slots);
  for (int s = 0; s < program->plan->n_slots; s++) {
    VkDeviceSize bytes = program->plan->slot_size[s] * ctx->element_size;
    if (!tunit_vk_buffer_init (ctx, &program->slots[s], bytes, TUNIT_VK_MEMORY_DEVICE,
                               "intermediate values", error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
allocate_io (TunitVkProgram *program, GError **error)
{
  TunitVkContext *ctx = program->res.ctx;
  const TunitGraph *graph = program->graph;
  gsize stats_floats = 3;
  for (int i = 0; i < graph->n_nodes; i++)
    if (graph->nodes[i].op == TUNIT_OP_NORM)
      stats_floats = MAX (stats_floats,
                          3 * program->shapes[i].channels * norm_blocks (&program->shapes[i]));
  VkDeviceSize input_bytes = (VkDeviceSize) program->input_channels * program->height
                             * program->width * sizeof (float);
  if (!check_binding_size (program, "the input frame", input_bytes, error)
      || !tunit_vk_buffer_init (ctx, &program->input, input_bytes, TUNIT_VK_MEMORY_UPLOAD,
                                "the input frame", error)
      || !tunit_vk_buffer_init (ctx, &program->stats, stats_floats * sizeof (float),
                                TUNIT_VK_MEMORY_DEVICE, "normalization statistics", error))
    return FALSE;
  for (int k = 0; k < 2; k++) {
    if (graph->outputs[k] < 0)
      continue;
    VkDeviceSize bytes = shape_count (&program->shapes[graph->outputs[k]]) * sizeof (float);
    if (!check_binding_size (program, "the output frame", bytes, error)
        || !tunit_vk_buffer_init (ctx, &program->outputs[k], bytes, TUNIT_VK_MEMORY_READBACK,
                                  "the output frame", error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
create_pool_and_commands (TunitVkProgram *program, GError **error)
{
  TunitVkContext *ctx = program->res.ctx;
  /* at most two dispatches per node, plus the input and output copies */
  guint32 max_sets = 2 * program->graph->n_nodes + 3;
  VkDescriptorPoolSize sizes[2] = {
    { VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, max_sets * TUNIT_VK_BINDINGS },
    { VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, max_sets * TUNIT_VK_BINDINGS },
  };
  VkDescriptorPoolCreateInfo pool_info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
    .maxSets = max_sets,
    .poolSizeCount = G_N_ELEMENTS (sizes),
    .pPoolSizes = sizes,
  };
  VkResult result = ctx->vk.vkCreateDescriptorPool (ctx->device, &pool_info, NULL,
                                                    &program->pool);
  if (result != VK_SUCCESS) {
    program->pool = VK_NULL_HANDLE;
    return tunit_vk_check (result, "vkCreateDescriptorPool", error);
  }
  if (ctx->profile) {
    VkQueryPoolCreateInfo query_info = {
      .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
      .queryType = VK_QUERY_TYPE_TIMESTAMP,
      .queryCount = max_sets + 1,
    };
    result = ctx->vk.vkCreateQueryPool (ctx->device, &query_info, NULL, &program->queries);
    if (result != VK_SUCCESS) {
      program->queries = VK_NULL_HANDLE;
      return tunit_vk_check (result, "vkCreateQueryPool", error);
    }
    program->labels = g_ptr_array_new_with_free_func (g_free);
  }
  VkCommandBufferAllocateInfo allocate = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = ctx->command_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  result = ctx->vk.vkAllocateCommandBuffers (ctx->device, &allocate, &program->commands);
  if (result != VK_SUCCESS) {
    program->commands = VK_NULL_HANDLE;
    return tunit_vk_check (result, "vkAllocateCommandBuffers", error);
  }
  return TRUE;
}

/* ------------------------------------------------------------ recording */

static void
memory_barrier (TunitVkContext *ctx, VkCommandBuffer commands, VkPipelineStageFlags src_stage,
                VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
                VkAccessFlags dst_access)
{
  VkMemoryBarrier barrier = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
    .srcAccessMask = src_access,
    .dstAccessMask = dst_access,
  };
  ctx->vk.vkCmdPipelineBarrier (commands, src_stage, dst_stage, 0, 1, &barrier, 0, NULL, 0,
                                NULL);
}

/* A barrier is needed when a dispatch reads or writes what an earlier one
 * wrote, or writes what an earlier one read, since the last barrier. */
static void
order_after_earlier_dispatches (Recorder *recorder, const Binding *bindings)
{
  gboolean needed = FALSE;
  for (int b = 0; b < TUNIT_VK_BINDINGS; b++) {
    int r = bindings[b].resource;
    if (bindings[b].buffer == NULL || r < 0)
      continue;
    if (recorder->written[r] || (bindings[b].write && recorder->read[r]))
      needed = TRUE;
  }
  if (needed) {
    TunitVkProgram *program = recorder->program;
    memory_barrier (program->res.ctx, program->commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    memset (recorder->written, 0, recorder->n_resources);
    memset (recorder->read, 0, recorder->n_resources);
  }
  for (int b = 0; b < TUNIT_VK_BINDINGS; b++) {
    int r = bindings[b].resource;
    if (bindings[b].buffer == NULL || r < 0)
      continue;
    if (bindings[b].write)
      recorder->written[r] = TRUE;
    else
      recorder->read[r] = TRUE;
  }
}

/* A texel-buffer view of a binding, owned by the program. */
static gboolean
create_view (TunitVkProgram *program, TunitVkKernel kernel, int index, const Binding *binding,
             VkBufferView *view, GError **error)
{
  TunitVkContext *ctx = program->res.ctx;
  VkFormat format = tunit_vk_kernel_texel_format (kernel, index, ctx->fp16);
  gboolean rgba = format == VK_FORMAT_R16G16B16A16_SFLOAT
                  || format == VK_FORMAT_R32G32B32A32_SFLOAT;
  VkDeviceSize texels = binding->range / (ctx->element_size * (rgba ? 4 : 1));
  if (texels > ctx->properties.limits.maxTexelBufferElements) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_OUT_OF_MEMORY,
                 "a %dx%d frame needs a texel buffer of %" G_GUINT64_FORMAT " elements, more "
                 "than this Vulkan device allows (%u); use a smaller frame", program->width,
                 program->height, (guint64) texels,
                 ctx->properties.limits.maxTexelBufferElements);
    return FALSE;
  }
  VkBufferViewCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
    .buffer = binding->buffer->buffer,
    .format = format,
    .offset = binding->offset,
    .range = binding->range,
  };
  VkResult result = ctx->vk.vkCreateBufferView (ctx->device, &info, NULL, view);
  if (!tunit_vk_check (result, "vkCreateBufferView", error))
    return FALSE;
  g_array_append_val (program->views, *view);
  return TRUE;
}

static gboolean
write_descriptor_set (TunitVkProgram *program, TunitVkKernel kernel, const Binding *bindings,
                      VkDescriptorSet *set, GError **error)
{
  TunitVkContext *ctx = program->res.ctx;
  VkDescriptorSetLayout layout = tunit_vk_pipelines_get_set_layout (program->res.pipelines,
                                                                    kernel);
  VkDescriptorSetAllocateInfo allocate = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
    .descriptorPool = program->pool,
    .descriptorSetCount = 1,
    .pSetLayouts = &layout,
  };
  VkResult result = ctx->vk.vkAllocateDescriptorSets (ctx->device, &allocate, set);
  if (!tunit_vk_check (result, "vkAllocateDescriptorSets", error))
    return FALSE;
  VkDescriptorBufferInfo infos[TUNIT_VK_BINDINGS];
  VkBufferView views[TUNIT_VK_BINDINGS];
  VkWriteDescriptorSet writes[TUNIT_VK_BINDINGS];
  for (int b = 0; b < TUNIT_VK_BINDINGS; b++) {
    const Binding *binding = &bindings[b];
    VkDescriptorType type = tunit_vk_kernel_binding_type (kernel, b);
    writes[b] = (VkWriteDescriptorSet) {
      .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
      .dstSet = *set,
      .dstBinding = b,
      .descriptorCount = 1,
      .descriptorType = type,
      .pBufferInfo = &infos[b],
    };
    if (type == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER) {
      /* texel-buffer bindings are always real buffers */
      if (binding->buffer == NULL || !create_view (program, kernel, b, binding, &views[b], error))
        return FALSE;
      writes[b].pBufferInfo = NULL;
      writes[b].pTexelBufferView = &views[b];
      continue;
    }
    if (binding->buffer != NULL)
      infos[b] = (VkDescriptorBufferInfo) { binding->buffer->buffer, binding->offset,
                                            binding->range };
    else
      infos[b] = (VkDescriptorBufferInfo) { program->res.dummy->buffer, 0, VK_WHOLE_SIZE };
  }
  ctx->vk.vkUpdateDescriptorSets (ctx->device, TUNIT_VK_BINDINGS, writes, 0, NULL);
  return TRUE;
}

typedef struct {
  TunitVkKernel kernel;
  guint32 spec[TUNIT_VK_MAX_SPEC];
  int n_spec;
  Binding bindings[TUNIT_VK_BINDINGS];
  guint32 push[TUNIT_VK_PUSH_SIZE / 4];
  guint32 groups[3];
} Dispatch;

static gboolean
record_dispatch (Recorder *recorder, const Dispatch *dispatch, GError **error)
{
  TunitVkProgram *program = recorder->program;
  TunitVkContext *ctx = program->res.ctx;
  VkPipeline pipeline = tunit_vk_pipelines_get (program->res.pipelines, dispatch->kernel,
                                                dispatch->spec, dispatch->n_spec, error);
  VkDescriptorSet set;
  if (pipeline == VK_NULL_HANDLE
      || !write_descriptor_set (program, dispatch->kernel, dispatch->bindings, &set, error))
    return FALSE;
  order_after_earlier_dispatches (recorder, dispatch->bindings);
  VkPipelineLayout layout = tunit_vk_pipelines_get_layout (program->res.pipelines,
                                                           dispatch->kernel);
  VkCommandBuffer commands = program->commands;
  ctx->vk.vkCmdBindPipeline (commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  ctx->vk.vkCmdBindDescriptorSets (commands, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1,
                                   &set, 0, NULL);
  ctx->vk.vkCmdPushConstants (commands, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                              TUNIT_VK_PUSH_SIZE, dispatch->push);
  ctx->vk.vkCmdDispatch (commands, dispatch->groups[0], dispatch->groups[1],
                         dispatch->groups[2]);
  program->n_dispatches++;
  if (program->queries != VK_NULL_HANDLE) {
    g_ptr_array_add (program->labels, g_strdup_printf ("%s %s (%ux%ux%u groups)",
                                                       tunit_vk_kernel_name (dispatch->kernel),
                                                       recorder->node_name,
                                                       dispatch->groups[0], dispatch->groups[1],
                                                       dispatch->groups[2]));
    ctx->vk.vkCmdWriteTimestamp (commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                 program->queries, program->n_dispatches);
  }
  return TRUE;
}

/* Binding of the value of node `index` (its buffer-plan slot). */
static Binding
value_binding (const TunitVkProgram *program, int index, gboolean write)
{
  int slot = program->plan->slot[index];
  VkDeviceSize bytes = shape_count (&program->shapes[index]) * program->res.ctx->element_size;
  return (Binding) { &program->slots[slot], 0, MAX (bytes, 4), slot, write };
}

static Binding
weight_binding (const TunitVkProgram *program, int index, gboolean bias)
{
  const TunitVkWeights *weights = program->res.weights;
  gint64 offset = bias ? weights->bias_offset[index] : weights->weight_offset[index];
  if (offset < 0)
    return (Binding) { NULL, 0, 0, -1, FALSE };
  VkDeviceSize size = bias ? weights->bias_size[index] : weights->weight_size[index];
  return (Binding) { &weights->buffer, offset, size, -1, FALSE };
}

static Binding
extra_binding (const TunitVkProgram *program, const TunitVkBuffer *buffer, int resource,
               gboolean write)
{
  return (Binding) { buffer, 0, buffer->size, program->plan->n_slots + resource, write };
}

/* Workgroups for a grid-stride loop over `count` elements. */
static guint32
stride_groups (gsize count, guint32 workgroup)
{
  return CLAMP (div_up (count, workgroup), 1, MAX_GROUPS);
}

static gboolean
record_convert (Recorder *recorder, TunitVkKernel kernel, Binding from, Binding to,
                gsize count, GError **error)
{
  Dispatch d = { .kernel = kernel, .spec = { ELEMENTWISE_WORKGROUP }, .n_spec = 1,
                 .bindings = { from, { 0 }, { 0 }, to },
                 .push = { (guint32) count },
                 .groups = { stride_groups (count, ELEMENTWISE_WORKGROUP), 1, 1 } };
  return record_dispatch (recorder, &d, error);
}

static TunitVkConvTileKind
choose_conv_tile (const TunitVkProgram *program, int out_channels, gsize pixels)
{
  const TunitVkContext *ctx = program->res.ctx;
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

/* How one convolution dispatch runs (conv_common.glsl). */
typedef struct {
  int mode;                 /* MODE_PLAIN, MODE_PHASES or MODE_BORDER */
  int kernel, padding;
  gboolean upsample;
  Binding weights;
  int weight_stride;        /* values per K row */
  int rows;                 /* GEMM rows */
  gsize pixels;             /* GEMM columns */
} ConvPass;

enum { MODE_PLAIN, MODE_PHASES, MODE_BORDER };

static gboolean
record_conv_pass (Recorder *recorder, int index, int source, const ConvPass *pass,
                  GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitNode *node = &program->graph->nodes[index];
  const TunitShape *in = &program->shapes[source];
  const TunitShape *out = &program->shapes[index];
  TunitVkConvTileKind kind = choose_conv_tile (program, pass->rows, pass->pixels);
  const TunitVkConvTile *tile = &tunit_vk_conv_tiles[kind];
  guint32 tiles_n = div_up (pass->pixels, tile->bn);
  guint32 groups_x = MIN (tiles_n, MAX_GROUPS);
  Dispatch d = {
    .kernel = kind == TUNIT_VK_CONV_TILE_DIRECT ? TUNIT_VK_KERNEL_CONV2D_DIRECT
                                                : TUNIT_VK_KERNEL_CONV2D,
    /* conv2d_direct.comp reads constants 0, 4, 5 and 6-13 of the same list */
    .spec = { (tile->bm / tile->tm) * (tile->bn / tile->tn), tile->bm, tile->bn, tile->bk,
              tile->tm, tile->tn, pass->kernel, node->stride, pass->padding,
              node->pad_mode == TUNIT_PAD_REFLECT, pass->upsample, node->activation,
              node->bias != NULL, pass->mode },
    .n_spec = 14,
    .bindings = { value_binding (program, source, FALSE), pass->weights,
                  weight_binding (program, index, TRUE), value_binding (program, index, TRUE) },
    .push = { in->channels, in->height, in->width, out->channels, out->height, out->width,
              tiles_n, pass->weight_stride },
    .groups = { groups_x, div_up (pass->rows, tile->bm), div_up (tiles_n, groups_x) },
  };
  return record_dispatch (recorder, &d, error);
}

/* The up-sampling convolution as four phase convolutions of the small
 * image, then the border pixels the plain way (which overwrite the
 * phases' approximations there; the recorder orders the two). */
static gboolean
record_phase_split_conv (Recorder *recorder, int index, int source, GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitVkWeights *weights = program->res.weights;
  const TunitNode *node = &program->graph->nodes[index];
  const TunitShape *in = &program->shapes[source];
  const TunitShape *out = &program->shapes[index];
  int r = node->padding;
  gsize inner = (gsize) MAX (out->height - 2 * r, 0) * MAX (out->width - 2 * r, 0);
  ConvPass phases = {
    .mode = MODE_PHASES,
    .kernel = 2 * tunit_vk_phase_padding (node->kernel) + 1,
    .padding = tunit_vk_phase_padding (node->kernel),
    .weights = { &weights->buffer, weights->phase_offset[index], weights->phase_size[index],
                 -1, FALSE },
    .weight_stride = 4 * node->channels,
    .rows = 4 * node->channels,
    .pixels = (gsize) in->height * in->width,
  };
  ConvPass border = {
    .mode = MODE_BORDER, .kernel = node->kernel, .padding = r, .upsample = TRUE,
    .weights = weight_binding (program, index, FALSE),
    .weight_stride = weights->row_stride[index],
    .rows = node->channels,
    .pixels = (gsize) out->height * out->width - inner,
  };
  return record_conv_pass (recorder, index, source, &phases, error)
         && record_conv_pass (recorder, index, source, &border, error);
}

static gboolean
record_conv (Recorder *recorder, int index, GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitNode *node = &program->graph->nodes[index];
  int source = source_of (program, node->input);
  gboolean upsample = source != node->input;
  const TunitShape *out = &program->shapes[index];
  if (program->res.weights->weight_offset[index] < 0) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT, "layer %s has no weights",
                 node->name);
    return FALSE;
  }
  if (upsample && program->res.ctx->phase_split
      && program->res.weights->phase_offset[index] >= 0)
    return record_phase_split_conv (recorder, index, source, error);
  ConvPass plain = {
    .mode = MODE_PLAIN, .kernel = node->kernel, .padding = node->padding,
    .upsample = upsample, .weights = weight_binding (program, index, FALSE),
    .weight_stride = program->res.weights->row_stride[index],
    .rows = node->channels, .pixels = (gsize) out->height * out->width,
  };
  return record_conv_pass (recorder, index, source, &plain, error);
}

static gboolean
record_norm (Recorder *recorder, int index, GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitNode *node = &program->graph->nodes[index];
  const TunitShape *shape = &program->shapes[index];
  gsize plane = (gsize) shape->height * shape->width;
  guint32 blocks = norm_blocks (shape);
  guint32 chunk = div_up (plane, blocks);
  Binding adain = { NULL, 0, 0, -1, FALSE };
  if (node->adaptive) {
    const TunitVkBuffer *parameters = program->res.adain;
    VkDeviceSize end = ((VkDeviceSize) node->adain_offset + 2 * node->channels) * sizeof (float);
    if (parameters == NULL || node->adain_offset < 0 || end > parameters->size) {
      g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                   "layer %s reads AdaIN parameters that do not exist", node->name);
      return FALSE;
    }
    adain = (Binding) { parameters, 0, parameters->size, -1, FALSE };
  }
  Binding input = value_binding (program, node->input, FALSE);
  Dispatch stats = {
    .kernel = TUNIT_VK_KERNEL_NORM_STATS,
    .spec = { program->res.ctx->reduction_workgroup }, .n_spec = 1,
    .bindings = { input, extra_binding (program, &program->stats, RESOURCE_STATS, TRUE) },
    .push = { plane, blocks, chunk },
    .groups = { blocks, shape->channels, 1 },
  };
  Dispatch apply = {
    .kernel = TUNIT_VK_KERNEL_NORM_APPLY,
    .spec = { ELEMENTWISE_WORKGROUP, node->activation, node->adaptive != FALSE }, .n_spec = 3,
    .bindings = { input, extra_binding (program, &program->stats, RESOURCE_STATS, FALSE), adain,
                  value_binding (program, index, TRUE) },
    .push = { plane, blocks, shape->channels, MAX (node->adain_offset, 0),
              float_bits (TUNIT_NORM_EPSILON) },
    /* four elements per thread: enough work per workgroup to amortise
     * the merge of the partial statistics */
    .groups = { CLAMP (div_up (plane, 4 * ELEMENTWISE_WORKGROUP), 1, 1024), shape->channels, 1 },
  };
  return record_dispatch (recorder, &stats, error) && record_dispatch (recorder, &apply, error);
}

static gboolean
record_residual_add (Recorder *recorder, int index, GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitNode *node = &program->graph->nodes[index];
  gsize count = shape_count (&program->shapes[index]);
  Dispatch d = {
    .kernel = TUNIT_VK_KERNEL_RESIDUAL_ADD,
    .spec = { ELEMENTWISE_WORKGROUP }, .n_spec = 1,
    .bindings = { value_binding (program, node->skip, FALSE),
                  value_binding (program, node->input, FALSE), { 0 },
                  value_binding (program, index, TRUE) },
    .push = { count, float_bits (node->residual_scale) },
    .groups = { stride_groups (count, ELEMENTWISE_WORKGROUP), 1, 1 },
  };
  return record_dispatch (recorder, &d, error);
}

/* Up-sampling and max pooling: [C,H,W] in, grid-stride over the output. */
static gboolean
record_resample (Recorder *recorder, int index, TunitVkKernel kernel, GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitNode *node = &program->graph->nodes[index];
  const TunitShape *in = &program->shapes[node->input];
  gsize count = shape_count (&program->shapes[index]);
  Dispatch d = {
    .kernel = kernel,
    .spec = { ELEMENTWISE_WORKGROUP }, .n_spec = 1,
    .bindings = { value_binding (program, node->input, FALSE), { 0 }, { 0 },
                  value_binding (program, index, TRUE) },
    .push = { in->channels, in->height, in->width },
    .groups = { stride_groups (count, ELEMENTWISE_WORKGROUP), 1, 1 },
  };
  return record_dispatch (recorder, &d, error);
}

static gboolean
record_global_average_pool (Recorder *recorder, int index, GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitNode *node = &program->graph->nodes[index];
  const TunitShape *in = &program->shapes[node->input];
  Dispatch d = {
    .kernel = TUNIT_VK_KERNEL_GLOBAL_AVG_POOL,
    .spec = { program->res.ctx->reduction_workgroup }, .n_spec = 1,
    .bindings = { value_binding (program, node->input, FALSE), { 0 }, { 0 },
                  value_binding (program, index, TRUE) },
    .push = { in->height * in->width },
    .groups = { in->channels, 1, 1 },
  };
  return record_dispatch (recorder, &d, error);
}

static gboolean
record_linear (Recorder *recorder, int index, GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitNode *node = &program->graph->nodes[index];
  if (shape_count (&program->shapes[node->input]) != (gsize) node->in_channels
      || program->res.weights->weight_offset[index] < 0) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "layer %s: input size or weights do not match", node->name);
    return FALSE;
  }
  Dispatch d = {
    .kernel = TUNIT_VK_KERNEL_LINEAR,
    .spec = { LINEAR_WORKGROUP, node->activation, node->bias != NULL }, .n_spec = 3,
    .bindings = { value_binding (program, node->input, FALSE),
                  weight_binding (program, index, FALSE), weight_binding (program, index, TRUE),
                  value_binding (program, index, TRUE) },
    .push = { node->in_channels, node->channels },
    .groups = { div_up (node->channels, LINEAR_WORKGROUP), 1, 1 },
  };
  return record_dispatch (recorder, &d, error);
}

static gboolean
record_node (Recorder *recorder, int index, GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitNode *node = &program->graph->nodes[index];
  recorder->node_name = node->name;
  switch (node->op) {
  case TUNIT_OP_INPUT:
    return record_convert (recorder, TUNIT_VK_KERNEL_CONVERT_IN,
                           extra_binding (program, &program->input, RESOURCE_INPUT, FALSE),
                           value_binding (program, index, TRUE),
                           shape_count (&program->shapes[index]), error);
  case TUNIT_OP_CONV:
    return record_conv (recorder, index, error);
  case TUNIT_OP_NORM:
    return record_norm (recorder, index, error);
  case TUNIT_OP_UPSAMPLE_NEAREST2X:
    return program->fused[index]
           || record_resample (recorder, index, TUNIT_VK_KERNEL_UPSAMPLE, error);
  case TUNIT_OP_MAX_POOL2X2:
    return record_resample (recorder, index, TUNIT_VK_KERNEL_MAX_POOL, error);
  case TUNIT_OP_GLOBAL_AVERAGE_POOL:
    return record_global_average_pool (recorder, index, error);
  case TUNIT_OP_LINEAR:
    return record_linear (recorder, index, error);
  case TUNIT_OP_RESIDUAL_ADD:
    return record_residual_add (recorder, index, error);
  }
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT, "layer %s: unknown operation %d",
               node->name, (int) node->op);
  return FALSE;
}

static gboolean
record_nodes (Recorder *recorder, GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitGraph *graph = program->graph;
  for (int i = 0; i < graph->n_nodes; i++)
    if (!record_node (recorder, i, error))
      return FALSE;
  for (int k = 0; k < 2; k++) {
    int output = graph->outputs[k];
    if (output < 0)
      continue;
    recorder->node_name = "output";
    if (!record_convert (recorder, TUNIT_VK_KERNEL_CONVERT_OUT,
                         value_binding (program, output, FALSE),
                         extra_binding (program, &program->outputs[k], RESOURCE_OUTPUT0 + k,
                                        TRUE),
                         shape_count (&program->shapes[output]), error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
record_commands (TunitVkProgram *program, GError **error)
{
  TunitVkContext *ctx = program->res.ctx;
  Recorder recorder = { .program = program, .n_resources = program->plan->n_slots
                                                           + N_EXTRA_RESOURCES };
  recorder.written = g_new0 (guint8, recorder.n_resources);
  recorder.read = g_new0 (guint8, recorder.n_resources);
  VkCommandBufferBeginInfo begin = { .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO };
  VkResult result = ctx->vk.vkBeginCommandBuffer (program->commands, &begin);
  gboolean ok = tunit_vk_check (result, "vkBeginCommandBuffer", error);
  if (ok) {
    /* the previous run of this command buffer used the same buffers */
    memory_barrier (ctx, program->commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
                    VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    if (program->queries != VK_NULL_HANDLE) {
      guint32 count = 2 * program->graph->n_nodes + 4;
      ctx->vk.vkCmdResetQueryPool (program->commands, program->queries, 0, count);
      ctx->vk.vkCmdWriteTimestamp (program->commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                   program->queries, 0);
    }
    ok = record_nodes (&recorder, error);
    /* make the outputs visible to the host once the fence signals */
    memory_barrier (ctx, program->commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                    VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                    VK_ACCESS_HOST_READ_BIT);
    result = ctx->vk.vkEndCommandBuffer (program->commands);
    ok = ok && tunit_vk_check (result, "vkEndCommandBuffer", error);
  }
  g_free (recorder.written);
  g_free (recorder.read);
  return ok;
}

/* --------------------------------------------------------------- public */

TunitVkProgram *
tunit_vk_program_new (const TunitVkProgramResources *resources, const TunitGraph *graph,
                      int input_channels, int height, int width, GError **error)
{
  TunitVkProgram *program = g_new0 (TunitVkProgram, 1);
  program->res = *resources;
  program->graph = graph;
  program->input_channels = input_channels;
  program->height = height;
  program->width = width;
  program->shapes = g_new0 (TunitShape, graph->n_nodes);
  program->fused = g_new0 (gboolean, graph->n_nodes);
  program->views = g_array_new (FALSE, FALSE, sizeof (VkBufferView));
  gboolean ok = tunit_graph_infer_shapes (graph, input_channels, height, width, program->shapes,
                                          error);
  if (ok) {
    find_fused_upsamplings (graph, program->fused);
    program->plan = plan_buffers (program);
    ok = allocate_slots (program, error) && allocate_io (program, error)
         && create_pool_and_commands (program, error) && record_commands (program, error);
  }
  if (!ok) {
    tunit_vk_program_free (program);
    return NULL;
  }
  return program;
}

void
tunit_vk_program_free (TunitVkProgram *program)
{
  if (program == NULL)
    return;
  TunitVkContext *ctx = program->res.ctx;
  if (program->commands != VK_NULL_HANDLE)
    ctx->vk.vkFreeCommandBuffers (ctx->device, ctx->command_pool, 1, &program->commands);
  if (program->pool != VK_NULL_HANDLE)
    ctx->vk.vkDestroyDescriptorPool (ctx->device, program->pool, NULL);
  if (program->queries != VK_NULL_HANDLE)
    ctx->vk.vkDestroyQueryPool (ctx->device, program->queries, NULL);
  if (program->labels != NULL)
    g_ptr_array_unref (program->labels);
  for (guint i = 0; i < program->views->len; i++)
    ctx->vk.vkDestroyBufferView (ctx->device, g_array_index (program->views, VkBufferView, i),
                                 NULL);
  g_array_unref (program->views);
  if (program->slots != NULL)
    for (int s = 0; s < program->plan->n_slots; s++)
      tunit_vk_buffer_clear (ctx, &program->slots[s]);
  g_free (program->slots);
  tunit_vk_buffer_clear (ctx, &program->input);
  tunit_vk_buffer_clear (ctx, &program->outputs[0]);
  tunit_vk_buffer_clear (ctx, &program->outputs[1]);
  tunit_vk_buffer_clear (ctx, &program->stats);
  tunit_buffer_plan_free (program->plan);
  g_free (program->shapes);
  g_free (program->fused);
  g_free (program);
}

gboolean
tunit_vk_program_matches (const TunitVkProgram *program, int height, int width)
{
  return program->height == height && program->width == width;
}

gsize
tunit_vk_program_output_size (const TunitVkProgram *program, int k)
{
  int output = program->graph->outputs[k];
  return output >= 0 ? shape_count (&program->shapes[output]) : 0;
}

int
tunit_vk_program_dispatch_count (const TunitVkProgram *program)
{
  return program->n_dispatches;
}

/* TUNIT_VULKAN_PROFILE=1: the time of every dispatch of the last run. */
static void
print_profile (TunitVkProgram *program)
{
  TunitVkContext *ctx = program->res.ctx;
  int n = program->n_dispatches + 1;
  g_autofree guint64 *stamps = g_new0 (guint64, n);
  VkResult result = ctx->vk.vkGetQueryPoolResults (ctx->device, program->queries, 0, n,
                                                   n * sizeof (guint64), stamps,
                                                   sizeof (guint64),
                                                   VK_QUERY_RESULT_64_BIT
                                                   | VK_QUERY_RESULT_WAIT_BIT);
  if (result != VK_SUCCESS)
    return;
  double period_ms = ctx->properties.limits.timestampPeriod / 1e6;
  fprintf (stderr, "tunit-vulkan-profile: %dx%d, %d dispatches, %.3f ms\n", program->width,
           program->height, program->n_dispatches, (stamps[n - 1] - stamps[0]) * period_ms);
  for (int i = 1; i < n; i++)
    fprintf (stderr, "tunit-vulkan-profile: %9.3f ms  %s\n",
             (stamps[i] - stamps[i - 1]) * period_ms,
             (const char *) g_ptr_array_index (program->labels, i - 1));
}

gboolean
tunit_vk_program_run (TunitVkProgram *program, const float *input, float *outputs[2],
                      GError **error)
{
  gsize input_count = (gsize) program->input_channels * program->height * program->width;
  memcpy (program->input.mapped, input, input_count * sizeof (float));
  if (!tunit_vk_submit_and_wait (program->res.ctx, program->commands, error))
    return FALSE;
  if (program->queries != VK_NULL_HANDLE)
    print_profile (program);
  for (int k = 0; k < 2; k++)
    if (outputs[k] != NULL && program->outputs[k].mapped != NULL)
      memcpy (outputs[k], program->outputs[k].mapped,
              tunit_vk_program_output_size (program, k) * sizeof (float));
  return TRUE;
}
