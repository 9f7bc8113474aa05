/* vulkan-program.c - one lowered graph at one input size, ready to run.
 *
 * Building a program allocates the buffers of the engine's plan (the
 * layout: which values share a buffer, and how large each is), as it is,
 * allocates and writes all descriptor sets, and records one command
 * buffer: convert the inputs, the dispatches of every node
 * (vulkan-nodes.c), convert the outputs.  Running it only copies the
 * inputs into mapped buffers, resubmits the same command buffer, waits on
 * the fence and copies the outputs back: nothing is allocated or recorded
 * per frame.  The recorder puts a barrier before a dispatch that touches
 * what an earlier one wrote (or writes what one read) since the last. */
#include "vulkan-internal.h"

#include <stdio.h>
#include <string.h>

struct _TunitVkProgram {
  TunitVkProgramResources res;
  const TunitGraphLayout *layout;
  const TunitGraph *graph;
  TunitVkBuffer *slots;        /* [layout->n_slots] */
  TunitVkBuffer *inputs;       /* [graph->n_inputs]: fp32, host-visible */
  TunitVkBuffer *outputs;      /* [graph->n_outputs]: fp32, host-visible */
  TunitVkBuffer stats;         /* instance-norm partial statistics, fp32 */
  VkDescriptorPool pool;
  GArray *views;               /* VkBufferView of the texel-buffer bindings */
  VkCommandBuffer commands;
  int n_dispatches;
  int max_dispatches;
  /* profiling (ctx->profile): a timestamp after each dispatch */
  VkQueryPool queries;
  GPtrArray *labels;           /* what each dispatch computed */
};

/* Hazard-tracking ids: the plan's slots 0 .. n_slots - 1, then these. */
static int
stats_resource (const TunitVkProgram *program)
{
  return program->layout->n_slots;
}

static int
input_resource (const TunitVkProgram *program, int k)
{
  return program->layout->n_slots + 1 + k;
}

static int
output_resource (const TunitVkProgram *program, int k)
{
  return program->layout->n_slots + 1 + program->graph->n_inputs + k;
}

struct _TunitVkRecorder {
  TunitVkProgram *program;
  const char *node_name;         /* the node being recorded, for profiles */
  int n_resources;
  guint8 *written;               /* written since the last barrier */
  guint8 *read;                  /* read since the last barrier */
};

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
               program->layout->width, program->layout->height, bytes / 1048576.0, what,
               limit / 1048576.0,
               program->res.ctx->fp16 ? "" : " or --precision fp16");
  return FALSE;
}

static gboolean
allocate_slots (TunitVkProgram *program, GError **error)
{
  TunitVkContext *ctx = program->res.ctx;
  const TunitGraphLayout *layout = program->layout;
  for (int i = 0; i < program->graph->n_nodes; i++) {
    g_autofree char *what = g_strdup_printf ("the output of %s", program->graph->nodes[i].name);
    if (!check_binding_size (program, what,
                             tunit_shape_count (&layout->shapes[i]) * ctx->element_size, error))
      return FALSE;
  }
  program->slots = g_new0 (TunitVkBuffer, layout->n_slots);
  for (int s = 0; s < layout->n_slots; s++) {
    VkDeviceSize bytes = layout->slot_size[s] * ctx->element_size;
    if (!tunit_vk_buffer_init (ctx, &program->slots[s], bytes, TUNIT_VK_MEMORY_DEVICE,
                               "intermediate values", error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
allocate_transfer (TunitVkProgram *program, TunitVkBuffer *buffer, int node,
                   TunitVkMemoryKind kind, const char *what, GError **error)
{
  VkDeviceSize bytes = tunit_shape_count (&program->layout->shapes[node]) * sizeof (float);
  return check_binding_size (program, what, bytes, error)
         && tunit_vk_buffer_init (program->res.ctx, buffer, bytes, kind, what, error);
}

static gboolean
allocate_io (TunitVkProgram *program, GError **error)
{
  const TunitGraph *graph = program->graph;
  gsize stats_floats = 3;
  for (int i = 0; i < graph->n_nodes; i++)
    stats_floats = MAX (stats_floats, tunit_vk_node_stats_floats (&graph->nodes[i],
                                                                  &program->layout->shapes[i]));
  program->inputs = g_new0 (TunitVkBuffer, graph->n_inputs);
  program->outputs = g_new0 (TunitVkBuffer, graph->n_outputs);
  if (!tunit_vk_buffer_init (program->res.ctx, &program->stats, stats_floats * sizeof (float),
                             TUNIT_VK_MEMORY_DEVICE, "normalization statistics", error))
    return FALSE;
  for (int k = 0; k < graph->n_inputs; k++)
    if (!allocate_transfer (program, &program->inputs[k], tunit_graph_input_node (graph, k),
                            TUNIT_VK_MEMORY_UPLOAD, "an input", error))
      return FALSE;
  for (int k = 0; k < graph->n_outputs; k++)
    if (!allocate_transfer (program, &program->outputs[k], graph->outputs[k],
                            TUNIT_VK_MEMORY_READBACK, "an output", error))
      return FALSE;
  return TRUE;
}

static gboolean
create_pool_and_commands (TunitVkProgram *program, GError **error)
{
  TunitVkContext *ctx = program->res.ctx;
  const TunitGraph *graph = program->graph;
  /* the nodes' dispatches, plus the input and output copies */
  int dispatches = graph->n_inputs + graph->n_outputs;
  for (int i = 0; i < graph->n_nodes; i++)
    dispatches += tunit_vk_node_dispatches (&graph->nodes[i]);
  program->max_dispatches = dispatches;
  guint32 max_sets = dispatches;
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
order_after_earlier_dispatches (TunitVkRecorder *recorder, const TunitVkBinding *bindings)
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
create_view (TunitVkProgram *program, TunitVkKernel kernel, int index, const TunitVkBinding *binding,
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
                 "than this Vulkan device allows (%u); use a smaller frame",
                 program->layout->width, program->layout->height, (guint64) texels,
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
write_descriptor_set (TunitVkProgram *program, TunitVkKernel kernel, const TunitVkBinding *bindings,
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
    const TunitVkBinding *binding = &bindings[b];
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

gboolean
tunit_vk_record_dispatch (TunitVkRecorder *recorder, const TunitVkDispatch *dispatch,
                          const void *push, gsize push_size, GError **error)
{
  TunitVkProgram *program = recorder->program;
  TunitVkContext *ctx = program->res.ctx;
  g_return_val_if_fail (push_size <= TUNIT_VK_PUSH_SIZE, FALSE);
  g_return_val_if_fail (program->n_dispatches < program->max_dispatches, FALSE);
  VkPipeline pipeline = tunit_vk_pipelines_get (program->res.pipelines, dispatch->kernel,
                                                dispatch->spec, error);
  VkDescriptorSet set;
  if (pipeline == VK_NULL_HANDLE
      || !write_descriptor_set (program, dispatch->kernel, dispatch->bindings, &set, error))
    return FALSE;
  order_after_earlier_dispatches (recorder, dispatch->bindings);
  VkPipelineLayout layout = tunit_vk_pipelines_get_layout (program->res.pipelines,
                                                           dispatch->kernel);
  VkCommandBuffer commands = program->commands;
  guint8 push_block[TUNIT_VK_PUSH_SIZE] = { 0 };
  memcpy (push_block, push, push_size);
  ctx->vk.vkCmdBindPipeline (commands, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline);
  ctx->vk.vkCmdBindDescriptorSets (commands, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1,
                                   &set, 0, NULL);
  ctx->vk.vkCmdPushConstants (commands, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                              TUNIT_VK_PUSH_SIZE, push_block);
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

const TunitVkProgramResources *
tunit_vk_recorder_resources (const TunitVkRecorder *recorder)
{
  return &recorder->program->res;
}

const TunitGraphLayout *
tunit_vk_recorder_layout (const TunitVkRecorder *recorder)
{
  return recorder->program->layout;
}

TunitVkBinding
tunit_vk_value_binding (const TunitVkRecorder *recorder, int index, gboolean write)
{
  const TunitVkProgram *program = recorder->program;
  int slot = program->layout->slot[index];
  VkDeviceSize bytes = tunit_shape_count (&program->layout->shapes[index])
                       * program->res.ctx->element_size;
  return (TunitVkBinding) { &program->slots[slot], 0, MAX (bytes, 4), slot, write };
}

TunitVkBinding
tunit_vk_weight_binding (const TunitVkRecorder *recorder, const TunitVkTensor *tensor)
{
  if (tensor->size == 0)
    return (TunitVkBinding) { NULL, 0, 0, -1, FALSE };
  return (TunitVkBinding) { &recorder->program->res.weights->buffer, tensor->offset,
                            tensor->size, -1, FALSE };
}

static TunitVkBinding
transfer_binding (const TunitVkProgram *program, const TunitVkBuffer *buffer, int resource,
                  gboolean write)
{
  return (TunitVkBinding) { buffer, 0, buffer->size, resource, write };
}

TunitVkBinding
tunit_vk_stats_binding (const TunitVkRecorder *recorder, gboolean write)
{
  const TunitVkProgram *program = recorder->program;
  return transfer_binding (program, &program->stats, stats_resource (program), write);
}

guint32
tunit_vk_stride_groups (gsize count, guint32 workgroup)
{
  /* within the 65535 workgroups every device dispatches */
  return (guint32) CLAMP ((count + workgroup - 1) / workgroup, 1, 65535);
}

static gboolean
record_convert (TunitVkRecorder *recorder, TunitVkKernel kernel, TunitVkBinding from,
                TunitVkBinding to, gsize count, GError **error)
{
  TunitVkDispatch d = {
    .kernel = kernel,
    .spec = { [TUNIT_SPEC_WORKGROUP] = TUNIT_VK_ELEMENTWISE_WORKGROUP },
    .bindings = { from, { 0 }, { 0 }, to },
    .groups = { tunit_vk_stride_groups (count, TUNIT_VK_ELEMENTWISE_WORKGROUP), 1, 1 },
  };
  TunitTensorPush push = { .count = (int) count };
  return tunit_vk_record_dispatch (recorder, &d, &push, sizeof push, error);
}

/* Inputs in, every node, outputs out. */
static gboolean
record_nodes (TunitVkRecorder *recorder, GError **error)
{
  TunitVkProgram *program = recorder->program;
  const TunitGraph *graph = program->graph;
  const TunitShape *shapes = program->layout->shapes;
  for (int i = 0, k = 0; i < graph->n_nodes; i++) {
    recorder->node_name = graph->nodes[i].name;
    gboolean ok;
    if (graph->nodes[i].op == TUNIT_OP_INPUT) {
      ok = record_convert (recorder, TUNIT_VK_KERNEL_CONVERT_IN,
                           transfer_binding (program, &program->inputs[k],
                                             input_resource (program, k), FALSE),
                           tunit_vk_value_binding (recorder, i, TRUE),
                           tunit_shape_count (&shapes[i]), error);
      k++;
    } else {
      ok = tunit_vk_record_node (recorder, i, error);
    }
    if (!ok)
      return FALSE;
  }
  for (int k = 0; k < graph->n_outputs; k++) {
    int output = graph->outputs[k];
    recorder->node_name = "output";
    if (!record_convert (recorder, TUNIT_VK_KERNEL_CONVERT_OUT,
                         tunit_vk_value_binding (recorder, output, FALSE),
                         transfer_binding (program, &program->outputs[k],
                                           output_resource (program, k), TRUE),
                         tunit_shape_count (&shapes[output]), error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
record_commands (TunitVkProgram *program, GError **error)
{
  TunitVkContext *ctx = program->res.ctx;
  TunitVkRecorder recorder = {
    .program = program,
    .n_resources = output_resource (program, program->graph->n_outputs),
  };
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
      guint32 count = program->max_dispatches + 1;
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
tunit_vk_program_new (const TunitVkProgramResources *resources, const TunitGraphLayout *layout,
                      GError **error)
{
  TunitVkProgram *program = g_new0 (TunitVkProgram, 1);
  program->res = *resources;
  program->layout = layout;
  program->graph = layout->graph;
  program->views = g_array_new (FALSE, FALSE, sizeof (VkBufferView));
  gboolean ok = allocate_slots (program, error) && allocate_io (program, error)
                && create_pool_and_commands (program, error) && record_commands (program, error);
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
  for (int s = 0; program->slots != NULL && s < program->layout->n_slots; s++)
    tunit_vk_buffer_clear (ctx, &program->slots[s]);
  for (int k = 0; program->inputs != NULL && k < program->graph->n_inputs; k++)
    tunit_vk_buffer_clear (ctx, &program->inputs[k]);
  for (int k = 0; program->outputs != NULL && k < program->graph->n_outputs; k++)
    tunit_vk_buffer_clear (ctx, &program->outputs[k]);
  g_free (program->slots);
  g_free (program->inputs);
  g_free (program->outputs);
  tunit_vk_buffer_clear (ctx, &program->stats);
  g_free (program);
}

int
tunit_vk_program_dispatch_count (const TunitVkProgram *program)
{
  return program->n_dispatches;
}

/* options->profile: the time of every dispatch of the last run. */
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
  fprintf (stderr, "tunit-vulkan-profile: %s %dx%d, %d dispatches, %.3f ms\n",
           program->graph->name, program->layout->width, program->layout->height,
           program->n_dispatches, (stamps[n - 1] - stamps[0]) * period_ms);
  for (int i = 1; i < n; i++)
    fprintf (stderr, "tunit-vulkan-profile: %9.3f ms  %s\n",
             (stamps[i] - stamps[i - 1]) * period_ms,
             (const char *) g_ptr_array_index (program->labels, i - 1));
}

gboolean
tunit_vk_program_run (TunitVkProgram *program, const float *const *inputs,
                      float *const *outputs, GError **error)
{
  const TunitGraph *graph = program->graph;
  const TunitShape *shapes = program->layout->shapes;
  for (int k = 0; k < graph->n_inputs; k++)
    memcpy (program->inputs[k].mapped, inputs[k],
            tunit_shape_count (&shapes[tunit_graph_input_node (graph, k)]) * sizeof (float));
  if (!tunit_vk_submit_and_wait (program->res.ctx, program->commands, error))
    return FALSE;
  if (program->queries != VK_NULL_HANDLE)
    print_profile (program);
  for (int k = 0; k < graph->n_outputs; k++)
    if (outputs[k] != NULL)
      memcpy (outputs[k], program->outputs[k].mapped,
              tunit_shape_count (&shapes[graph->outputs[k]]) * sizeof (float));
  return TRUE;
}
