/* vulkan-backend.c - the Vulkan TunitBackend.
 *
 * Device choice (vulkan-device.c): options->device_index when >= 0, else
 * the best device by type (discrete > integrated > virtual > CPU such as
 * lavapipe).
 * Precision: fp16 storage where the device has 16-bit storage buffers,
 * unless fp32 is asked for; bf16 falls back to fp32.
 *
 * The generator's weights are uploaded when the backend is made, the
 * guiding network's on its first use.  The generator program is kept for
 * the last frame size and rebuilt when the size changes; the guide's input
 * size never changes. */
#include "vulkan-internal.h"

#include <string.h>

typedef struct {
  TunitBackend parent;
  const TunitNetwork *network;
  TunitVkContext *ctx;
  TunitVkPipelines *pipelines;
  TunitVkBuffer dummy;
  TunitVkBuffer adain;             /* AdaIN parameters, fp32, host-visible */
  TunitVkWeights generator_weights;
  TunitVkWeights guide_weights;
  gboolean have_guide_weights;
  TunitVkProgram *generator;       /* for the last frame size */
  TunitVkProgram *guide;
} TunitVulkanBackend;

static void
vulkan_backend_free (TunitBackend *base)
{
  TunitVulkanBackend *self = (TunitVulkanBackend *) base;
  TunitVkContext *ctx = self->ctx;
  if (ctx != NULL && ctx->device != VK_NULL_HANDLE) {
    ctx->vk.vkDeviceWaitIdle (ctx->device);
    tunit_vk_program_free (self->generator);
    tunit_vk_program_free (self->guide);
    tunit_vk_weights_clear (ctx, &self->generator_weights);
    tunit_vk_weights_clear (ctx, &self->guide_weights);
    tunit_vk_buffer_clear (ctx, &self->adain);
    tunit_vk_buffer_clear (ctx, &self->dummy);
    tunit_vk_pipelines_free (self->pipelines);
  }
  tunit_vk_context_free (ctx);
  /* base->description belongs to the engine (backend.h) */
  g_free (self);
}

static TunitVkProgramResources
program_resources (TunitVulkanBackend *self, const TunitVkWeights *weights)
{
  return (TunitVkProgramResources) {
    .ctx = self->ctx,
    .pipelines = self->pipelines,
    .weights = weights,
    .adain = &self->adain,
    .dummy = &self->dummy,
  };
}

/* Every entry point ends here: a validation message (tests run with
 * TUNIT_VULKAN_VALIDATION=1) turns an apparent success into an error. */
static gboolean
finish_call (TunitVulkanBackend *self, gboolean ok, GError **error)
{
  if (!ok)
    return FALSE;
  return tunit_vk_context_check_validation (self->ctx, error);
}

static gboolean
vulkan_backend_run_guide (TunitBackend *base, const float *image, float *style, float *logits,
                          GError **error)
{
  TunitVulkanBackend *self = (TunitVulkanBackend *) base;
  const TunitNetwork *network = self->network;
  if (!self->have_guide_weights) {
    if (!tunit_vk_weights_init (self->ctx, &self->guide_weights, &network->guide, error))
      return finish_call (self, FALSE, error);
    self->have_guide_weights = TRUE;
  }
  if (self->guide == NULL) {
    TunitVkProgramResources resources = program_resources (self, &self->guide_weights);
    self->guide = tunit_vk_program_new (&resources, &network->guide, 3, network->guide_size,
                                        network->guide_size, error);
    if (self->guide == NULL)
      return finish_call (self, FALSE, error);
  }
  float *outputs[2] = { style, logits };
  return finish_call (self, tunit_vk_program_run (self->guide, image, outputs, error), error);
}

static gboolean
vulkan_backend_set_adain_parameters (TunitBackend *base, const float *parameters,
                                     GError **error)
{
  TunitVulkanBackend *self = (TunitVulkanBackend *) base;
  /* no submission is in flight between calls: every run waits on its
   * fence, so the mapped buffer can be written directly */
  memcpy (self->adain.mapped, parameters,
          self->network->adain_parameter_count * sizeof (float));
  return finish_call (self, TRUE, error);
}

static gboolean
vulkan_backend_run_generator (TunitBackend *base, const float *input, int width, int height,
                              float *output, GError **error)
{
  TunitVulkanBackend *self = (TunitVulkanBackend *) base;
  if (self->generator != NULL && !tunit_vk_program_matches (self->generator, height, width)) {
    tunit_vk_program_free (self->generator);
    self->generator = NULL;
  }
  if (self->generator == NULL) {
    TunitVkProgramResources resources = program_resources (self, &self->generator_weights);
    self->generator = tunit_vk_program_new (&resources, &self->network->generator, 3, height,
                                            width, error);
    if (self->generator == NULL)
      return finish_call (self, FALSE, error);
  }
  float *outputs[2] = { output, NULL };
  return finish_call (self, tunit_vk_program_run (self->generator, input, outputs, error),
                      error);
}

static const TunitBackendVTable vulkan_backend_vtable = {
  .free = vulkan_backend_free,
  .run_guide = vulkan_backend_run_guide,
  .set_adain_parameters = vulkan_backend_set_adain_parameters,
  .run_generator = vulkan_backend_run_generator,
};

static gboolean
create_shared_buffers (TunitVulkanBackend *self, GError **error)
{
  VkDeviceSize adain_bytes = MAX (self->network->adain_parameter_count, 1) * sizeof (float);
  if (!tunit_vk_buffer_init (self->ctx, &self->dummy, 16, TUNIT_VK_MEMORY_DEVICE,
                             "the buffer bound to unused descriptor slots", error)
      || !tunit_vk_buffer_init (self->ctx, &self->adain, adain_bytes, TUNIT_VK_MEMORY_UPLOAD,
                                "the AdaIN parameters", error))
    return FALSE;
  /* a style must be set before translating; until then AdaIN gives zeros
   * rather than whatever the allocation held */
  memset (self->adain.mapped, 0, adain_bytes);
  return TRUE;
}

TunitBackend *
tunit_vulkan_backend_new (const TunitNetwork *network, const TunitEngineOptions *options,
                          gboolean hardware_only, GError **error)
{
  TunitVulkanBackend *self = g_new0 (TunitVulkanBackend, 1);
  self->parent.vtable = &vulkan_backend_vtable;
  self->parent.name = "vulkan";
  self->network = network;
  self->ctx = tunit_vk_context_new (options, error);
  if (self->ctx != NULL)
    self->ctx->hardware_only = hardware_only;
  gboolean ok = self->ctx != NULL && tunit_vk_context_open_device (self->ctx, options, error);
  if (ok) {
    self->pipelines = tunit_vk_pipelines_new (self->ctx, error);
    ok = self->pipelines != NULL && create_shared_buffers (self, error)
         && tunit_vk_weights_init (self->ctx, &self->generator_weights, &network->generator,
                                   error);
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

guint
tunit_vulkan_backend_validation_messages (TunitBackend *backend)
{
  TunitVulkanBackend *self = (TunitVulkanBackend *) backend;
  return tunit_vk_context_validation_messages (self->ctx);
}
