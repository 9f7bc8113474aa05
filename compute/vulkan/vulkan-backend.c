/* vulkan-backend.c - the Vulkan TunitBackend: runs lowered graphs.
 *
 * Device choice (vulkan-device.c): options->device_index when >= 0, else
 * the best device by type (discrete > integrated > virtual > CPU such as
 * lavapipe).  Precision: fp16 storage where the device has 16-bit storage
 * buffers, unless fp32 is asked for; bf16 falls back to fp32.
 *
 * A graph's weights are uploaded when it is made; its program (buffers
 * and recorded commands, vulkan-program.c) is made for the layout of each
 * input size and kept until the next; its parameters live in a mapped
 * buffer of their own. */
#include "vulkan-internal.h"

#include <string.h>

typedef struct {
  TunitBackend parent;
  TunitVkContext *ctx;
  TunitVkPipelines *pipelines;
  TunitVkBuffer dummy;
} TunitVulkanBackend;

typedef struct {
  TunitBackendGraph base;
  TunitVkWeights weights;
  TunitVkBuffer parameters;        /* fp32, host-visible; empty without parameters */
  TunitVkProgram *program;         /* for the prepared size */
} VulkanGraph;

static TunitVulkanBackend *
backend_of (VulkanGraph *graph)
{
  return (TunitVulkanBackend *) graph->base.backend;
}

/* Every entry point ends here: a validation message (tests run with
 * validation on) turns an apparent success into an error. */
static gboolean
finish_call (TunitVulkanBackend *self, gboolean ok, GError **error)
{
  if (!ok)
    return FALSE;
  return tunit_vk_context_check_validation (self->ctx, error);
}

/* ------------------------------------------------------------- graphs */

static void
vulkan_graph_free (TunitBackendGraph *base)
{
  VulkanGraph *graph = (VulkanGraph *) base;
  TunitVkContext *ctx = backend_of (graph)->ctx;
  ctx->vk.vkDeviceWaitIdle (ctx->device);
  tunit_vk_program_free (graph->program);
  tunit_vk_weights_clear (ctx, &graph->weights);
  tunit_vk_buffer_clear (ctx, &graph->parameters);
  g_free (graph);
}

static TunitBackendGraph *
vulkan_graph_new (TunitBackend *backend, const TunitGraph *lowered, TunitGraphUse use,
                  GError **error)
{
  TunitVulkanBackend *self = (TunitVulkanBackend *) backend;
  VulkanGraph *graph = g_new0 (VulkanGraph, 1);
  graph->base = (TunitBackendGraph) { backend, lowered };
  gboolean ok = tunit_vk_weights_init (self->ctx, &graph->weights, lowered, error);
  if (ok && lowered->n_parameters > 0) {
    VkDeviceSize bytes = lowered->n_parameters * sizeof (float);
    ok = tunit_vk_buffer_init (self->ctx, &graph->parameters, bytes, TUNIT_VK_MEMORY_UPLOAD,
                               "the parameters", error);
    /* until they are set, AdaIN gives zeros rather than whatever the
     * allocation held */
    if (ok)
      memset (graph->parameters.mapped, 0, bytes);
  }
  if (!finish_call (self, ok, error)) {
    vulkan_graph_free (&graph->base);
    return NULL;
  }
  return &graph->base;
}

static gboolean
vulkan_graph_prepare (TunitBackendGraph *base, const TunitGraphLayout *layout, GError **error)
{
  VulkanGraph *graph = (VulkanGraph *) base;
  TunitVulkanBackend *self = backend_of (graph);
  g_clear_pointer (&graph->program, tunit_vk_program_free);
  TunitVkProgramResources resources = {
    .ctx = self->ctx,
    .pipelines = self->pipelines,
    .weights = &graph->weights,
    .parameters = base->graph->n_parameters > 0 ? &graph->parameters : NULL,
    .dummy = &self->dummy,
  };
  graph->program = tunit_vk_program_new (&resources, layout, error);
  return finish_call (self, graph->program != NULL, error);
}

static gboolean
vulkan_graph_set_parameters (TunitBackendGraph *base, const float *parameters, GError **error)
{
  VulkanGraph *graph = (VulkanGraph *) base;
  /* no submission is in flight between calls: every run waits on its
   * fence, so the mapped buffer can be written directly */
  if (base->graph->n_parameters > 0)
    memcpy (graph->parameters.mapped, parameters, base->graph->n_parameters * sizeof (float));
  return finish_call (backend_of (graph), TRUE, error);
}

static gboolean
vulkan_graph_run (TunitBackendGraph *base, const float *const *inputs, float *const *outputs,
                  GError **error)
{
  VulkanGraph *graph = (VulkanGraph *) base;
  g_return_val_if_fail (graph->program != NULL, FALSE);
  return finish_call (backend_of (graph),
                      tunit_vk_program_run (graph->program, inputs, outputs, error), error);
}

/* ------------------------------------------------------------ backend */

static void
vulkan_backend_free (TunitBackend *base)
{
  TunitVulkanBackend *self = (TunitVulkanBackend *) base;
  TunitVkContext *ctx = self->ctx;
  if (ctx != NULL && ctx->device != VK_NULL_HANDLE) {
    ctx->vk.vkDeviceWaitIdle (ctx->device);
    tunit_vk_buffer_clear (ctx, &self->dummy);
    tunit_vk_pipelines_free (self->pipelines);
  }
  tunit_vk_context_free (ctx);
  /* base->description belongs to the engine (backend.h) */
  g_free (self);
}

static const TunitBackendVTable vulkan_backend_vtable = {
  .free = vulkan_backend_free,
  .graph_new = vulkan_graph_new,
  .graph_free = vulkan_graph_free,
  .graph_prepare = vulkan_graph_prepare,
  .graph_set_parameters = vulkan_graph_set_parameters,
  .graph_run = vulkan_graph_run,
};

TunitBackend *
tunit_vulkan_backend_new (const TunitEngineOptions *options, gboolean hardware_only,
                          GError **error)
{
  TunitVulkanBackend *self = g_new0 (TunitVulkanBackend, 1);
  self->parent.vtable = &vulkan_backend_vtable;
  self->parent.name = "vulkan";
  self->ctx = tunit_vk_context_new (options, error);
  if (self->ctx != NULL)
    self->ctx->hardware_only = hardware_only;
  gboolean ok = self->ctx != NULL && tunit_vk_context_open_device (self->ctx, options, error);
  if (ok) {
    self->pipelines = tunit_vk_pipelines_new (self->ctx, error);
    ok = self->pipelines != NULL
         && tunit_vk_buffer_init (self->ctx, &self->dummy, 16, TUNIT_VK_MEMORY_DEVICE,
                                  "the buffer bound to unused descriptor slots", error);
  }
  if (self->ctx != NULL)
    ok = finish_call (self, ok, error);
  if (!ok) {
    vulkan_backend_free (&self->parent);
    return NULL;
  }
  self->parent.description = g_strdup (self->ctx->description);
  return &self->parent;
}

TunitVkContext *
tunit_vulkan_backend_get_context (TunitBackend *backend)
{
  return ((TunitVulkanBackend *) backend)->ctx;
}

guint
tunit_vulkan_backend_validation_messages (TunitBackend *backend)
{
  return tunit_vk_context_validation_messages (tunit_vulkan_backend_get_context (backend));
}
