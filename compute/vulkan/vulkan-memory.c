/* vulkan-memory.c - device buffers, staging uploads, fp16 conversion and
 * the upload of a graph's weights. */
#include "vulkan-internal.h"

#include <string.h>

/* ------------------------------------------------------------- buffers */

static gboolean
find_memory_type (const VkPhysicalDeviceMemoryProperties *memory, guint32 allowed,
                  VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred,
                  guint32 *type)
{
  int fallback = -1;
  for (guint32 i = 0; i < memory->memoryTypeCount; i++) {
    VkMemoryPropertyFlags flags = memory->memoryTypes[i].propertyFlags;
    if (!(allowed & (1u << i)) || (flags & required) != required)
      continue;
    if ((flags & preferred) == preferred) {
      *type = i;
      return TRUE;
    }
    if (fallback < 0)
      fallback = (int) i;
  }
  *type = (guint32) fallback;
  return fallback >= 0;
}

static void
memory_flags (TunitVkMemoryKind kind, VkMemoryPropertyFlags *required,
              VkMemoryPropertyFlags *preferred)
{
  /* Host-visible memory is always coherent here: the spec guarantees such
   * a type exists, and it spares flushes and invalidations. */
  *required = 0;
  *preferred = 0;
  switch (kind) {
  case TUNIT_VK_MEMORY_DEVICE:
    *required = 0;
    *preferred = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    break;
  case TUNIT_VK_MEMORY_UPLOAD:
    *required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    *preferred = 0;
    break;
  case TUNIT_VK_MEMORY_READBACK:
    *required = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    *preferred = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    break;
  }
}

static gboolean
allocate_memory (TunitVkContext *ctx, TunitVkBuffer *buffer, TunitVkMemoryKind kind,
                 const char *what, GError **error)
{
  VkMemoryRequirements requirements;
  ctx->vk.vkGetBufferMemoryRequirements (ctx->device, buffer->buffer, &requirements);
  VkMemoryPropertyFlags required, preferred;
  memory_flags (kind, &required, &preferred);
  guint32 type;
  if (!find_memory_type (&ctx->memory, requirements.memoryTypeBits, required, preferred,
                         &type)) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_DEVICE,
                 "Vulkan: no suitable memory type for %s", what);
    return FALSE;
  }
  VkMemoryAllocateInfo allocate = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .allocationSize = requirements.size,
    .memoryTypeIndex = type,
  };
  VkResult result = ctx->vk.vkAllocateMemory (ctx->device, &allocate, NULL, &buffer->memory);
  if (result != VK_SUCCESS) {
    buffer->memory = VK_NULL_HANDLE;
    g_autofree char *call = g_strdup_printf ("allocating %.1f MiB for %s",
                                             requirements.size / (1024.0 * 1024.0), what);
    return tunit_vk_check (result, call, error);
  }
  result = ctx->vk.vkBindBufferMemory (ctx->device, buffer->buffer, buffer->memory, 0);
  if (!tunit_vk_check (result, "vkBindBufferMemory", error))
    return FALSE;
  if (kind != TUNIT_VK_MEMORY_DEVICE) {
    result = ctx->vk.vkMapMemory (ctx->device, buffer->memory, 0, VK_WHOLE_SIZE, 0,
                                  &buffer->mapped);
    if (result != VK_SUCCESS) {
      buffer->mapped = NULL;
      return tunit_vk_check (result, "vkMapMemory", error);
    }
  }
  return TRUE;
}

gboolean
tunit_vk_buffer_init (TunitVkContext *ctx, TunitVkBuffer *buffer, VkDeviceSize size,
                      TunitVkMemoryKind kind, const char *what, GError **error)
{
  *buffer = (TunitVkBuffer) { .size = MAX (size, 16) };
  VkBufferCreateInfo create = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = buffer->size,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT
             | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  VkResult result = ctx->vk.vkCreateBuffer (ctx->device, &create, NULL, &buffer->buffer);
  if (result != VK_SUCCESS) {
    buffer->buffer = VK_NULL_HANDLE;
    g_autofree char *call = g_strdup_printf ("creating a %.1f MiB buffer for %s",
                                             buffer->size / (1024.0 * 1024.0), what);
    return tunit_vk_check (result, call, error);
  }
  if (!allocate_memory (ctx, buffer, kind, what, error)) {
    tunit_vk_buffer_clear (ctx, buffer);
    return FALSE;
  }
  return TRUE;
}

void
tunit_vk_buffer_clear (TunitVkContext *ctx, TunitVkBuffer *buffer)
{
  if (buffer->mapped != NULL)
    ctx->vk.vkUnmapMemory (ctx->device, buffer->memory);
  if (buffer->buffer != VK_NULL_HANDLE)
    ctx->vk.vkDestroyBuffer (ctx->device, buffer->buffer, NULL);
  if (buffer->memory != VK_NULL_HANDLE)
    ctx->vk.vkFreeMemory (ctx->device, buffer->memory, NULL);
  *buffer = (TunitVkBuffer) { 0 };
}

gboolean
tunit_vk_buffer_upload (TunitVkContext *ctx, TunitVkBuffer *buffer, const void *data,
                        VkDeviceSize size, GError **error)
{
  TunitVkBuffer staging;
  if (!tunit_vk_buffer_init (ctx, &staging, size, TUNIT_VK_MEMORY_UPLOAD, "a staging buffer",
                             error))
    return FALSE;
  memcpy (staging.mapped, data, size);
  VkCommandBuffer commands = tunit_vk_begin_one_shot (ctx, error);
  gboolean ok = commands != VK_NULL_HANDLE;
  if (ok) {
    VkBufferCopy region = { .size = size };
    ctx->vk.vkCmdCopyBuffer (commands, staging.buffer, buffer->buffer, 1, &region);
    ok = tunit_vk_end_one_shot (ctx, commands, error);
  }
  tunit_vk_buffer_clear (ctx, &staging);
  return ok;
}

/* ------------------------------------------------------------- weights */

typedef struct {
  TunitVkContext *ctx;
  guint8 *data;
  VkDeviceSize size;
} WeightImage;

static void
put_value (WeightImage *image, VkDeviceSize offset, gsize index, float value)
{
  if (image->ctx->fp16) {
    guint16 half = tunit_float_to_half (value);
    memcpy (image->data + offset + index * 2, &half, 2);
  } else {
    memcpy (image->data + offset + index * 4, &value, 4);
  }
}

/* Reserves room for `count` values at the next aligned offset. */
static VkDeviceSize
reserve (TunitVkContext *ctx, VkDeviceSize *end, gsize count, VkDeviceSize *size)
{
  /* weights are bound as storage or as uniform texel buffers */
  const VkPhysicalDeviceLimits *limits = &ctx->properties.limits;
  VkDeviceSize alignment = MAX (MAX (limits->minStorageBufferOffsetAlignment,
                                     limits->minTexelBufferOffsetAlignment), 16);
  VkDeviceSize offset = (*end + alignment - 1) / alignment * alignment;
  *size = (VkDeviceSize) count * ctx->element_size;
  *end = offset + *size;
  return offset;
}

/* Rows and columns of a node's weight matrix as torch stores it:
 * [out][in * k * k] for convolutions, [out][in] for linear layers. */
static gboolean
weight_matrix (const TunitNode *node, gsize *rows, gsize *columns)
{
  if (node->op == TUNIT_OP_CONV) {
    *rows = node->channels;
    *columns = (gsize) node->in_channels * node->kernel * node->kernel;
    return TRUE;
  }
  if (node->op == TUNIT_OP_LINEAR) {
    *rows = node->channels;
    *columns = node->in_channels;
    return TRUE;
  }
  return FALSE;
}

gboolean
tunit_vk_conv_has_phase_split (const TunitGraph *graph, int index)
{
  const TunitNode *node = &graph->nodes[index];
  return node->op == TUNIT_OP_CONV && node->input >= 0
         && graph->nodes[node->input].op == TUNIT_OP_UPSAMPLE_NEAREST2X
         && node->stride == 1 && node->kernel % 2 == 1 && node->kernel >= 3
         && node->padding == node->kernel / 2 && node->weight != NULL;
}

int
tunit_vk_phase_padding (int kernel)
{
  return (kernel / 2 + 1) / 2;
}

/* floor (a / 2) for any sign */
static int
floor_half (int a)
{
  return a >= 0 ? a / 2 : -((1 - a) / 2);
}

/* Sums, for each output phase (py, px) of the up-sampled convolution, the
 * taps that read the same pixel of the small image: tap ky of phase py
 * reads row y + floor ((py - r + ky) / 2).  Result [ci][PK][PK][4 * out]
 * with row m = (2 * py + px) * out + co. */
static float *
phase_weights (const TunitNode *node)
{
  int k = node->kernel, r = k / 2, pad = tunit_vk_phase_padding (k), pk = 2 * pad + 1;
  int out = node->channels, in = node->in_channels, rows = 4 * out;
  float *phases = g_new0 (float, (gsize) in * pk * pk * rows);
  for (int co = 0; co < out; co++)
    for (int ci = 0; ci < in; ci++)
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
          float value = node->weight[(((gsize) co * in + ci) * k + ky) * k + kx];
          for (int py = 0; py < 2; py++)
            for (int px = 0; px < 2; px++) {
              int dy = floor_half (py - r + ky) + pad, dx = floor_half (px - r + kx) + pad;
              gsize column = ((gsize) ci * pk + dy) * pk + dx;
              phases[column * rows + (2 * py + px) * out + co] += value;
            }
        }
  return phases;
}

static void
plan_weights (TunitVkContext *ctx, TunitVkWeights *weights, const TunitGraph *graph,
              VkDeviceSize *total)
{
  *total = 0;
  for (int i = 0; i < graph->n_nodes; i++) {
    const TunitNode *node = &graph->nodes[i];
    gsize rows, columns;
    weights->weight_offset[i] = weights->bias_offset[i] = weights->phase_offset[i] = -1;
    if (!weight_matrix (node, &rows, &columns) || node->weight == NULL)
      continue;
    gsize stride = node->op == TUNIT_OP_CONV
                   ? (rows + TUNIT_VK_WEIGHT_ROW_MULTIPLE - 1) / TUNIT_VK_WEIGHT_ROW_MULTIPLE
                     * TUNIT_VK_WEIGHT_ROW_MULTIPLE
                   : rows;
    weights->row_stride[i] = (int) stride;
    weights->weight_offset[i] = reserve (ctx, total, stride * columns,
                                         &weights->weight_size[i]);
    if (node->bias != NULL)
      weights->bias_offset[i] = reserve (ctx, total, rows, &weights->bias_size[i]);
    if (tunit_vk_conv_has_phase_split (graph, i)) {
      int pk = 2 * tunit_vk_phase_padding (node->kernel) + 1;
      /* 4 * out rows: already a multiple of TUNIT_VK_WEIGHT_ROW_MULTIPLE */
      weights->phase_offset[i] = reserve (ctx, total, (gsize) 4 * rows * node->in_channels
                                                      * pk * pk, &weights->phase_size[i]);
    }
  }
}

/* Writes every node's weights transposed to [in...][out], so that the
 * threads of a workgroup, which span output channels, read contiguously. */
static void
fill_weights (WeightImage *image, const TunitVkWeights *weights, const TunitGraph *graph)
{
  for (int i = 0; i < graph->n_nodes; i++) {
    const TunitNode *node = &graph->nodes[i];
    gsize rows, columns;
    if (weights->weight_offset[i] < 0 || !weight_matrix (node, &rows, &columns))
      continue;
    for (gsize r = 0; r < rows; r++)
      for (gsize c = 0; c < columns; c++)
        put_value (image, weights->weight_offset[i], c * weights->row_stride[i] + r,
                   node->weight[r * columns + c]);
    if (weights->bias_offset[i] >= 0)
      for (gsize r = 0; r < rows; r++)
        put_value (image, weights->bias_offset[i], r, node->bias[r]);
    if (weights->phase_offset[i] >= 0) {
      g_autofree float *phases = phase_weights (node);
      gsize count = weights->phase_size[i] / image->ctx->element_size;
      for (gsize j = 0; j < count; j++)
        put_value (image, weights->phase_offset[i], j, phases[j]);
    }
  }
}

gboolean
tunit_vk_weights_init (TunitVkContext *ctx, TunitVkWeights *weights, const TunitGraph *graph,
                       GError **error)
{
  *weights = (TunitVkWeights) { 0 };
  weights->weight_offset = g_new (gint64, graph->n_nodes);
  weights->bias_offset = g_new (gint64, graph->n_nodes);
  weights->weight_size = g_new0 (VkDeviceSize, graph->n_nodes);
  weights->bias_size = g_new0 (VkDeviceSize, graph->n_nodes);
  weights->row_stride = g_new0 (int, graph->n_nodes);
  weights->phase_offset = g_new (gint64, graph->n_nodes);
  weights->phase_size = g_new0 (VkDeviceSize, graph->n_nodes);
  WeightImage image = { .ctx = ctx };
  plan_weights (ctx, weights, graph, &image.size);
  image.size = MAX (image.size, 16);
  image.data = g_try_malloc0 (image.size);
  if (image.data == NULL) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_OUT_OF_MEMORY,
                 "out of host memory for %.1f MiB of weights", image.size / 1048576.0);
    tunit_vk_weights_clear (ctx, weights);
    return FALSE;
  }
  fill_weights (&image, weights, graph);
  gboolean ok = tunit_vk_buffer_init (ctx, &weights->buffer, image.size,
                                      TUNIT_VK_MEMORY_DEVICE, "the weights", error)
                && tunit_vk_buffer_upload (ctx, &weights->buffer, image.data, image.size,
                                           error);
  g_free (image.data);
  if (!ok)
    tunit_vk_weights_clear (ctx, weights);
  return ok;
}

void
tunit_vk_weights_clear (TunitVkContext *ctx, TunitVkWeights *weights)
{
  tunit_vk_buffer_clear (ctx, &weights->buffer);
  g_free (weights->weight_offset);
  g_free (weights->bias_offset);
  g_free (weights->weight_size);
  g_free (weights->bias_size);
  g_free (weights->row_stride);
  g_free (weights->phase_offset);
  g_free (weights->phase_size);
  *weights = (TunitVkWeights) { 0 };
}
