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
  guint8 *data;            /* NULL while only measuring */
  VkDeviceSize end;
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

/* Room for `count` values at the next offset that can be bound (as a
 * storage or as a uniform texel buffer). */
static TunitVkTensor
reserve (WeightImage *image, gsize count)
{
  const VkPhysicalDeviceLimits *limits = &image->ctx->properties.limits;
  VkDeviceSize alignment = MAX (MAX (limits->minStorageBufferOffsetAlignment,
                                     limits->minTexelBufferOffsetAlignment), 16);
  TunitVkTensor tensor = { (image->end + alignment - 1) / alignment * alignment,
                           (VkDeviceSize) count * image->ctx->element_size };
  image->end = tensor.offset + tensor.size;
  return tensor;
}

/* A [rows][columns] matrix stored transposed, [columns][stride], so that
 * the threads of a workgroup, which span the rows (outputs), read
 * neighbouring values; rows stride - rows .. are zeros. */
static TunitVkTensor
put_transposed (WeightImage *image, const float *matrix, gsize rows, gsize columns,
                gsize stride)
{
  TunitVkTensor tensor = reserve (image, stride * columns);
  for (gsize r = 0; image->data != NULL && r < rows; r++)
    for (gsize c = 0; c < columns; c++)
      put_value (image, tensor.offset, c * stride + r, matrix[r * columns + c]);
  return tensor;
}

static TunitVkTensor
put_array (WeightImage *image, const float *values, gsize count)
{
  if (values == NULL)
    return (TunitVkTensor) { 0, 0 };
  TunitVkTensor tensor = reserve (image, count);
  for (gsize i = 0; image->data != NULL && i < count; i++)
    put_value (image, tensor.offset, i, values[i]);
  return tensor;
}

static gsize
padded_rows (gsize rows)
{
  return (rows + TUNIT_VK_WEIGHT_ROW_MULTIPLE - 1) / TUNIT_VK_WEIGHT_ROW_MULTIPLE
         * TUNIT_VK_WEIGHT_ROW_MULTIPLE;
}

/* Places (and, once image->data exists, writes) the tensors of a node. */
static void
put_node (WeightImage *image, const TunitNode *node, TunitVkNodeWeights *weights)
{
  gsize in = node->in_channels, out = node->channels;
  switch (node->op) {
  case TUNIT_OP_CONV: {
    gsize columns = in * node->kernel * node->kernel;
    weights->row_stride = padded_rows (out);
    weights->weight = put_transposed (image, node->weight, out, columns, weights->row_stride);
    break;
  }
  case TUNIT_OP_UPSAMPLED_CONV: {
    const TunitPhaseSplit *phases = node->phases;
    gsize columns = in * phases->kernel * phases->kernel;
    weights->row_stride = padded_rows (phases->rows);
    weights->weight = put_transposed (image, phases->weight, phases->rows, columns,
                                      weights->row_stride);
    if (weights->terms == NULL)
      weights->terms = g_new0 (TunitVkTensor, MAX (phases->n_terms, 1));
    /* transposed like a convolution's, four output channels per texel */
    weights->term_stride = padded_rows (out);
    for (int t = 0; t < phases->n_terms; t++)
      weights->terms[t] = put_transposed (image, phases->terms[t].weight, out,
                                          in * node->kernel, weights->term_stride);
    break;
  }
  case TUNIT_OP_LINEAR:
    weights->row_stride = out;
    weights->weight = put_transposed (image, node->weight, out, in, out);
    break;
  default:
    return;
  }
  weights->bias = put_array (image, node->bias, out);
}

gboolean
tunit_vk_weights_init (TunitVkContext *ctx, TunitVkWeights *weights, const TunitGraph *graph,
                       GError **error)
{
  *weights = (TunitVkWeights) { .n_nodes = graph->n_nodes };
  weights->nodes = g_new0 (TunitVkNodeWeights, graph->n_nodes);
  /* once to measure, once to write */
  WeightImage image = { .ctx = ctx };
  for (int i = 0; i < graph->n_nodes; i++)
    put_node (&image, &graph->nodes[i], &weights->nodes[i]);
  VkDeviceSize size = MAX (image.end, 16);
  image = (WeightImage) { .ctx = ctx, .data = g_try_malloc0 (size) };
  if (image.data == NULL) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_OUT_OF_MEMORY,
                 "out of host memory for %.1f MiB of weights", size / 1048576.0);
    tunit_vk_weights_clear (ctx, weights);
    return FALSE;
  }
  for (int i = 0; i < graph->n_nodes; i++)
    put_node (&image, &graph->nodes[i], &weights->nodes[i]);
  gboolean ok = tunit_vk_buffer_init (ctx, &weights->buffer, size, TUNIT_VK_MEMORY_DEVICE,
                                      "the weights", error)
                && tunit_vk_buffer_upload (ctx, &weights->buffer, image.data, size, error);
  g_free (image.data);
  if (!ok)
    tunit_vk_weights_clear (ctx, weights);
  return ok;
}

void
tunit_vk_weights_clear (TunitVkContext *ctx, TunitVkWeights *weights)
{
  tunit_vk_buffer_clear (ctx, &weights->buffer);
  for (int i = 0; weights->nodes != NULL && i < weights->n_nodes; i++)
    g_free (weights->nodes[i].terms);
  g_free (weights->nodes);
  *weights = (TunitVkWeights) { 0 };
}
