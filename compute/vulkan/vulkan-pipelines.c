/* vulkan-pipelines.c - the embedded SPIR-V (one kernel per shader of
 * shaders/meson.build), the pipeline layouts, and compute pipelines made
 * on demand per set of specialization constants. */
#include "vulkan-internal.h"

#include <string.h>

/* STEM_f32[] and STEM_f16[] of every shader, written by shaders/meson.build */
#include "shader-code.h"

typedef struct {
  const char *name;
  const guint32 *code[2];   /* fp32, fp16 storage */
  gsize size[2];            /* bytes */
} ShaderCode;

#define X(stem, STEM) \
  [TUNIT_VK_KERNEL_##STEM] = { #stem, { stem##_f32, stem##_f16 }, \
                              { sizeof stem##_f32, sizeof stem##_f16 } },
static const ShaderCode shaders[TUNIT_VK_N_KERNELS] = { TUNIT_VK_SHADER_LIST };
#undef X

/* Tile shapes of conv2d.comp (BM, BN, BK, TM, TN).  The workgroup has
 * (BM / TM) * (BN / TN) threads; BK * BM and BK * BN need not divide by it
 * (the shader guards partial loads), but TM must divide BM and TN BN.
 * DIRECT (conv2d_direct.comp) was tuned on lavapipe: 8 channels x 4 pixels
 * per invocation, small workgroups so that small layers still split. */
const TunitVkConvTile tunit_vk_conv_tiles[TUNIT_VK_N_CONV_TILES] = {
  [TUNIT_VK_CONV_TILE_TINY] = { 4, 128, 8, 4, 2 },       /* 64 threads */
  [TUNIT_VK_CONV_TILE_NARROW] = { 16, 128, 16, 2, 4 },   /* 256 threads */
  [TUNIT_VK_CONV_TILE_MEDIUM] = { 64, 64, 16, 4, 4 },    /* 256 threads */
  [TUNIT_VK_CONV_TILE_LARGE] = { 128, 128, 8, 8, 8 },    /* 256 threads */
  [TUNIT_VK_CONV_TILE_DIRECT] = { 8, 64, 0, 8, 4 },      /* 16 threads */
};

/* The binding signatures: which bindings are uniform texel buffers. */
typedef enum {
  SIGNATURE_STORAGE,          /* four storage buffers */
  SIGNATURE_TEXEL_INPUTS,     /* bindings 0 and 1 uniform texel buffers */
  N_SIGNATURES
} Signature;

static Signature
kernel_signature (TunitVkKernel kernel)
{
  return kernel == TUNIT_VK_KERNEL_CONV2D_DIRECT || kernel == TUNIT_VK_KERNEL_UPSAMPLE_BORDER
         ? SIGNATURE_TEXEL_INPUTS : SIGNATURE_STORAGE;
}

VkDescriptorType
tunit_vk_kernel_binding_type (TunitVkKernel kernel, int binding)
{
  if (kernel_signature (kernel) == SIGNATURE_TEXEL_INPUTS && binding < 2)
    return VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
  return VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

const char *
tunit_vk_kernel_name (TunitVkKernel kernel)
{
  return shaders[kernel].name;
}

VkFormat
tunit_vk_kernel_texel_format (TunitVkKernel kernel, int binding, gboolean fp16)
{
  /* conv2d_direct.comp fetches four output channels of weights at once */
  if (kernel_signature (kernel) == SIGNATURE_TEXEL_INPUTS && binding == 1)
    return fp16 ? VK_FORMAT_R16G16B16A16_SFLOAT : VK_FORMAT_R32G32B32A32_SFLOAT;
  return fp16 ? VK_FORMAT_R16_SFLOAT : VK_FORMAT_R32_SFLOAT;
}

struct _TunitVkPipelines {
  TunitVkContext *ctx;
  VkDescriptorSetLayout set_layouts[N_SIGNATURES];
  VkPipelineLayout layouts[N_SIGNATURES];
  VkPipelineCache cache;
  VkShaderModule modules[TUNIT_VK_N_KERNELS];
  GHashTable *pipelines;    /* GBytes (kernel, spec...) -> VkPipeline */
};

typedef struct {
  TunitVkContext *ctx;
  VkPipeline pipeline;
} PipelineEntry;

static void
pipeline_entry_free (gpointer data)
{
  PipelineEntry *entry = data;
  entry->ctx->vk.vkDestroyPipeline (entry->ctx->device, entry->pipeline, NULL);
  g_free (entry);
}

static gboolean
create_signature_layouts (TunitVkPipelines *pipelines, Signature signature, GError **error)
{
  TunitVkContext *ctx = pipelines->ctx;
  /* any kernel of the signature gives its binding types */
  TunitVkKernel example = signature == SIGNATURE_TEXEL_INPUTS ? TUNIT_VK_KERNEL_CONV2D_DIRECT
                                                              : TUNIT_VK_KERNEL_CONV2D;
  VkDescriptorSetLayoutBinding bindings[TUNIT_VK_BINDINGS];
  for (int i = 0; i < TUNIT_VK_BINDINGS; i++)
    bindings[i] = (VkDescriptorSetLayoutBinding) {
      .binding = i,
      .descriptorType = tunit_vk_kernel_binding_type (example, i),
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo set_info = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
    .bindingCount = TUNIT_VK_BINDINGS,
    .pBindings = bindings,
  };
  VkResult result = ctx->vk.vkCreateDescriptorSetLayout (ctx->device, &set_info, NULL,
                                                         &pipelines->set_layouts[signature]);
  if (result != VK_SUCCESS) {
    pipelines->set_layouts[signature] = VK_NULL_HANDLE;
    return tunit_vk_check (result, "vkCreateDescriptorSetLayout", error);
  }
  VkPushConstantRange push = {
    .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = TUNIT_VK_PUSH_SIZE,
  };
  VkPipelineLayoutCreateInfo layout_info = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
    .setLayoutCount = 1,
    .pSetLayouts = &pipelines->set_layouts[signature],
    .pushConstantRangeCount = 1,
    .pPushConstantRanges = &push,
  };
  result = ctx->vk.vkCreatePipelineLayout (ctx->device, &layout_info, NULL,
                                           &pipelines->layouts[signature]);
  if (result != VK_SUCCESS) {
    pipelines->layouts[signature] = VK_NULL_HANDLE;
    return tunit_vk_check (result, "vkCreatePipelineLayout", error);
  }
  return TRUE;
}

static gboolean
create_layouts (TunitVkPipelines *pipelines, GError **error)
{
  TunitVkContext *ctx = pipelines->ctx;
  for (int signature = 0; signature < N_SIGNATURES; signature++)
    if (!create_signature_layouts (pipelines, signature, error))
      return FALSE;
  VkPipelineCacheCreateInfo cache_info = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
  };
  VkResult result = ctx->vk.vkCreatePipelineCache (ctx->device, &cache_info, NULL,
                                                   &pipelines->cache);
  if (result != VK_SUCCESS) {
    pipelines->cache = VK_NULL_HANDLE;
    return tunit_vk_check (result, "vkCreatePipelineCache", error);
  }
  return TRUE;
}

TunitVkPipelines *
tunit_vk_pipelines_new (TunitVkContext *ctx, GError **error)
{
  TunitVkPipelines *pipelines = g_new0 (TunitVkPipelines, 1);
  pipelines->ctx = ctx;
  pipelines->pipelines = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                (GDestroyNotify) g_bytes_unref,
                                                pipeline_entry_free);
  if (!create_layouts (pipelines, error)) {
    tunit_vk_pipelines_free (pipelines);
    return NULL;
  }
  return pipelines;
}

void
tunit_vk_pipelines_free (TunitVkPipelines *pipelines)
{
  if (pipelines == NULL)
    return;
  TunitVkContext *ctx = pipelines->ctx;
  g_hash_table_unref (pipelines->pipelines);
  for (int i = 0; i < TUNIT_VK_N_KERNELS; i++)
    if (pipelines->modules[i] != VK_NULL_HANDLE)
      ctx->vk.vkDestroyShaderModule (ctx->device, pipelines->modules[i], NULL);
  if (pipelines->cache != VK_NULL_HANDLE)
    ctx->vk.vkDestroyPipelineCache (ctx->device, pipelines->cache, NULL);
  for (int signature = 0; signature < N_SIGNATURES; signature++) {
    if (pipelines->layouts[signature] != VK_NULL_HANDLE)
      ctx->vk.vkDestroyPipelineLayout (ctx->device, pipelines->layouts[signature], NULL);
    if (pipelines->set_layouts[signature] != VK_NULL_HANDLE)
      ctx->vk.vkDestroyDescriptorSetLayout (ctx->device, pipelines->set_layouts[signature],
                                            NULL);
  }
  g_free (pipelines);
}

VkDescriptorSetLayout
tunit_vk_pipelines_get_set_layout (TunitVkPipelines *pipelines, TunitVkKernel kernel)
{
  return pipelines->set_layouts[kernel_signature (kernel)];
}

VkPipelineLayout
tunit_vk_pipelines_get_layout (TunitVkPipelines *pipelines, TunitVkKernel kernel)
{
  return pipelines->layouts[kernel_signature (kernel)];
}

static VkShaderModule
get_module (TunitVkPipelines *pipelines, TunitVkKernel kernel, GError **error)
{
  TunitVkContext *ctx = pipelines->ctx;
  if (pipelines->modules[kernel] != VK_NULL_HANDLE)
    return pipelines->modules[kernel];
  int variant = ctx->fp16 ? 1 : 0;
  VkShaderModuleCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
    .codeSize = shaders[kernel].size[variant],
    .pCode = shaders[kernel].code[variant],
  };
  VkShaderModule module = VK_NULL_HANDLE;
  VkResult result = ctx->vk.vkCreateShaderModule (ctx->device, &info, NULL, &module);
  if (result != VK_SUCCESS) {
    g_autofree char *what = g_strdup_printf ("creating shader module %s", shaders[kernel].name);
    tunit_vk_check (result, what, error);
    return VK_NULL_HANDLE;
  }
  pipelines->modules[kernel] = module;
  return module;
}

static VkPipeline
create_pipeline (TunitVkPipelines *pipelines, TunitVkKernel kernel, VkShaderModule module,
                 const guint32 spec[TUNIT_SPEC_COUNT], GError **error)
{
  TunitVkContext *ctx = pipelines->ctx;
  /* every id; the shader takes the ones it declares */
  VkSpecializationMapEntry entries[TUNIT_SPEC_COUNT];
  for (int i = 0; i < TUNIT_SPEC_COUNT; i++)
    entries[i] = (VkSpecializationMapEntry) {
      .constantID = i, .offset = i * sizeof (guint32), .size = sizeof (guint32),
    };
  VkSpecializationInfo specialization = {
    .mapEntryCount = TUNIT_SPEC_COUNT,
    .pMapEntries = entries,
    .dataSize = TUNIT_SPEC_COUNT * sizeof (guint32),
    .pData = spec,
  };
  VkComputePipelineCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
    .stage = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
      .module = module,
      .pName = "main",
      .pSpecializationInfo = &specialization,
    },
    .layout = tunit_vk_pipelines_get_layout (pipelines, kernel),
  };
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkResult result = ctx->vk.vkCreateComputePipelines (ctx->device, pipelines->cache, 1, &info,
                                                      NULL, &pipeline);
  if (result != VK_SUCCESS) {
    g_autofree char *what = g_strdup_printf ("creating the %s pipeline", shaders[kernel].name);
    tunit_vk_check (result, what, error);
    return VK_NULL_HANDLE;
  }
  return pipeline;
}

VkPipeline
tunit_vk_pipelines_get (TunitVkPipelines *pipelines, TunitVkKernel kernel,
                        const guint32 spec[TUNIT_SPEC_COUNT], GError **error)
{
  guint32 key_words[1 + TUNIT_SPEC_COUNT];
  key_words[0] = kernel;
  memcpy (key_words + 1, spec, TUNIT_SPEC_COUNT * sizeof (guint32));
  GBytes *key = g_bytes_new (key_words, sizeof key_words);
  PipelineEntry *entry = g_hash_table_lookup (pipelines->pipelines, key);
  if (entry != NULL) {
    g_bytes_unref (key);
    return entry->pipeline;
  }
  VkShaderModule module = get_module (pipelines, kernel, error);
  VkPipeline pipeline = module != VK_NULL_HANDLE
                        ? create_pipeline (pipelines, kernel, module, spec, error)
                        : VK_NULL_HANDLE;
  if (pipeline == VK_NULL_HANDLE) {
    g_bytes_unref (key);
    return VK_NULL_HANDLE;
  }
  entry = g_new (PipelineEntry, 1);
  *entry = (PipelineEntry) { pipelines->ctx, pipeline };
  g_hash_table_insert (pipelines->pipelines, key, entry);
  return pipeline;
}
