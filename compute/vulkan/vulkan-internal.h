/* vulkan-internal.h - pieces of the Vulkan backend, shared by its files
 * and by its unit tests (tests/vulkan).
 *
 *   vulkan-device.c    loader, instance, validation messages, device choice
 *   vulkan-memory.c    buffers, uploads, fp16 conversion, weight upload
 *   vulkan-pipelines.c embedded SPIR-V, pipeline layout, pipeline cache
 *   vulkan-program.c   one graph at one input size: the buffers of the
 *                      engine's plan, descriptor sets and a command buffer
 *                      recorded once, then run
 *   vulkan-nodes.c     the dispatches of each node kind
 *   vulkan-backend.c   the TunitBackend vtable
 *
 * Shader parameters (push constants, specialization constant ids) are
 * shaders/shader-interface.h's, shared with the GLSL.
 *
 * libvulkan is opened at run time (dlopen), so that libtunit loads and
 * falls back to the CPU on machines without a Vulkan loader; every entry
 * point is called through TunitVkFunctions. */
#ifndef TUNIT_VULKAN_INTERNAL_H
#define TUNIT_VULKAN_INTERNAL_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include "backend.h"
#include "half-float.h"
#include "shader-interface.h"
#include "shader-list.h"

G_BEGIN_DECLS

/* ------------------------------------------------------------ functions */

#define TUNIT_VK_GLOBAL_FUNCTIONS(X)        \
  X (vkCreateInstance)                      \
  X (vkEnumerateInstanceVersion)            \
  X (vkEnumerateInstanceLayerProperties)    \
  X (vkEnumerateInstanceExtensionProperties)

#define TUNIT_VK_INSTANCE_FUNCTIONS(X)          \
  X (vkDestroyInstance)                         \
  X (vkEnumeratePhysicalDevices)                \
  X (vkGetPhysicalDeviceProperties)             \
  X (vkGetPhysicalDeviceFeatures2)              \
  X (vkGetPhysicalDeviceQueueFamilyProperties)  \
  X (vkGetPhysicalDeviceMemoryProperties)       \
  X (vkCreateDevice)                            \
  X (vkGetDeviceProcAddr)

/* from VK_EXT_debug_utils: may be NULL */
#define TUNIT_VK_DEBUG_FUNCTIONS(X)    \
  X (vkCreateDebugUtilsMessengerEXT)   \
  X (vkDestroyDebugUtilsMessengerEXT)

#define TUNIT_VK_DEVICE_FUNCTIONS(X)    \
  X (vkDestroyDevice)                   \
  X (vkGetDeviceQueue)                  \
  X (vkDeviceWaitIdle)                  \
  X (vkCreateCommandPool)               \
  X (vkDestroyCommandPool)              \
  X (vkAllocateCommandBuffers)          \
  X (vkFreeCommandBuffers)              \
  X (vkBeginCommandBuffer)              \
  X (vkEndCommandBuffer)                \
  X (vkCmdBindPipeline)                 \
  X (vkCmdBindDescriptorSets)           \
  X (vkCmdPushConstants)                \
  X (vkCmdDispatch)                     \
  X (vkCmdPipelineBarrier)              \
  X (vkCmdCopyBuffer)                   \
  X (vkCmdFillBuffer)                   \
  X (vkQueueSubmit)                     \
  X (vkCreateFence)                     \
  X (vkDestroyFence)                    \
  X (vkWaitForFences)                   \
  X (vkResetFences)                     \
  X (vkCreateBuffer)                    \
  X (vkDestroyBuffer)                   \
  X (vkGetBufferMemoryRequirements)     \
  X (vkAllocateMemory)                  \
  X (vkFreeMemory)                      \
  X (vkBindBufferMemory)                \
  X (vkMapMemory)                       \
  X (vkUnmapMemory)                     \
  X (vkCreateShaderModule)              \
  X (vkDestroyShaderModule)             \
  X (vkCreateDescriptorSetLayout)       \
  X (vkDestroyDescriptorSetLayout)      \
  X (vkCreatePipelineLayout)            \
  X (vkDestroyPipelineLayout)           \
  X (vkCreatePipelineCache)             \
  X (vkDestroyPipelineCache)            \
  X (vkCreateComputePipelines)          \
  X (vkDestroyPipeline)                 \
  X (vkCreateDescriptorPool)            \
  X (vkDestroyDescriptorPool)           \
  X (vkAllocateDescriptorSets)          \
  X (vkUpdateDescriptorSets)           \
  X (vkCreateBufferView)                \
  X (vkCreateQueryPool)                 \
  X (vkDestroyQueryPool)                \
  X (vkCmdResetQueryPool)               \
  X (vkCmdWriteTimestamp)               \
  X (vkGetQueryPoolResults)             \
  X (vkDestroyBufferView)

#define TUNIT_VK_DECLARE_FUNCTION(name) PFN_##name name;

typedef struct {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr;
  TUNIT_VK_GLOBAL_FUNCTIONS (TUNIT_VK_DECLARE_FUNCTION)
  TUNIT_VK_INSTANCE_FUNCTIONS (TUNIT_VK_DECLARE_FUNCTION)
  TUNIT_VK_DEBUG_FUNCTIONS (TUNIT_VK_DECLARE_FUNCTION)
  TUNIT_VK_DEVICE_FUNCTIONS (TUNIT_VK_DECLARE_FUNCTION)
} TunitVkFunctions;

/* -------------------------------------------------------------- context */

/* Prefix of every validation message printed on stderr. */
#define TUNIT_VK_VALIDATION_PREFIX "tunit-vulkan-validation:"

/* Longest wait for one submission before the device counts as hung. */
#define TUNIT_VK_FENCE_TIMEOUT_NS (G_GUINT64_CONSTANT (600) * 1000000000)

typedef struct {
  void *loader;                        /* dlopen handle of libvulkan */
  TunitVkFunctions vk;
  VkInstance instance;

  /* Validation (options->vulkan_validation): a debug-utils messenger counts
   * warnings and errors; the backend turns new ones into a GError. */
  VkDebugUtilsMessengerEXT messenger;
  gint validation_messages;            /* atomic */
  guint validation_reported;           /* messages already turned into errors */

  /* Set before tunit_vk_context_open_device: refuse CPU-type devices
   * (lavapipe) unless one is asked for by index; backend=auto does this
   * because the OpenBLAS backend is many times faster on a CPU. */
  gboolean hardware_only;

  /* Set by tunit_vk_context_open_device */
  VkPhysicalDevice physical;
  VkPhysicalDeviceProperties properties;
  VkPhysicalDeviceMemoryProperties memory;
  VkDevice device;
  guint32 queue_family;
  VkQueue queue;
  VkCommandPool command_pool;
  VkFence fence;
  gboolean fp16;                       /* activations and weights in fp16 */
  guint element_size;                  /* bytes per stored value: 2 or 4 */
  int conv_config_override;            /* options->vulkan_conv_tile - 1, -1 = choose */
  guint reduction_workgroup;           /* invocations of norm_stats / global_avg_pool */
  /* options->profile: time every dispatch and print the times on stderr
   * after each run (when the queue has timestamps) */
  gboolean profile;
  char *description;
} TunitVkContext;

/* Opens the loader and creates an instance (no device yet), with the
 * debugging options of `options` (NULL: none). */
TunitVkContext *tunit_vk_context_new (const TunitEngineOptions *options, GError **error);
/* Chooses a device (see tunit_vulkan_backend_new for the rules) and creates
 * the logical device, queue, command pool and fence. */
gboolean tunit_vk_context_open_device (TunitVkContext *ctx, const TunitEngineOptions *options,
                                       GError **error);
void tunit_vk_context_free (TunitVkContext *ctx);

/* Validation messages counted so far (0 unless validation is on). */
guint tunit_vk_context_validation_messages (TunitVkContext *ctx);
/* Fails when validation reported messages since the last call. */
gboolean tunit_vk_context_check_validation (TunitVkContext *ctx, GError **error);

/* Sets a GError for a failed Vulkan call; TRUE when result is VK_SUCCESS. */
gboolean tunit_vk_check (VkResult result, const char *what, GError **error);
const char *tunit_vk_result_name (VkResult result);

/* One-shot command buffers, for uploads. */
VkCommandBuffer tunit_vk_begin_one_shot (TunitVkContext *ctx, GError **error);
gboolean tunit_vk_end_one_shot (TunitVkContext *ctx, VkCommandBuffer commands, GError **error);
/* Submits and waits on the context's fence. */
gboolean tunit_vk_submit_and_wait (TunitVkContext *ctx, VkCommandBuffer commands,
                                   GError **error);

/* --------------------------------------------------------------- memory */

typedef enum {
  TUNIT_VK_MEMORY_DEVICE,     /* device-local, for activations and weights */
  TUNIT_VK_MEMORY_UPLOAD,     /* host-visible, coherent, written by the host */
  TUNIT_VK_MEMORY_READBACK,   /* host-visible, coherent, preferably cached */
} TunitVkMemoryKind;

typedef struct {
  VkBuffer buffer;
  VkDeviceMemory memory;
  VkDeviceSize size;
  void *mapped;               /* host-visible kinds only */
} TunitVkBuffer;

gboolean tunit_vk_buffer_init (TunitVkContext *ctx, TunitVkBuffer *buffer, VkDeviceSize size,
                               TunitVkMemoryKind kind, const char *what, GError **error);
void tunit_vk_buffer_clear (TunitVkContext *ctx, TunitVkBuffer *buffer);
/* Copies host data into a device buffer through a staging buffer. */
gboolean tunit_vk_buffer_upload (TunitVkContext *ctx, TunitVkBuffer *buffer,
                                 const void *data, VkDeviceSize size, GError **error);


/* The weights of one lowered graph in one device buffer, each tensor
 * aligned for binding at an offset, in the layouts the shaders read:
 * convolution and linear weights transposed to [K][out] (the phase
 * weights of an upsampled convolution likewise, 4 x channels wide, and
 * its border terms' [in * k][out]).  Storage
 * precision.  Convolution rows are padded to a multiple of
 * TUNIT_VK_WEIGHT_ROW_MULTIPLE outputs (zeros) so that conv2d_direct.comp
 * can fetch four output channels at once. */
#define TUNIT_VK_WEIGHT_ROW_MULTIPLE 4

typedef struct {
  VkDeviceSize offset, size;   /* bytes; size 0 where there is none */
} TunitVkTensor;

typedef struct {
  TunitVkTensor weight, bias;
  int row_stride;              /* values per K row of the transposed weights */
  TunitVkTensor *terms;        /* UPSAMPLED_CONV: [phases->n_terms], else NULL */
  int term_stride;             /* values per K row of the terms' weights */
} TunitVkNodeWeights;

typedef struct {
  TunitVkBuffer buffer;
  TunitVkNodeWeights *nodes;   /* [n_nodes] */
  int n_nodes;
} TunitVkWeights;

gboolean tunit_vk_weights_init (TunitVkContext *ctx, TunitVkWeights *weights,
                                const TunitGraph *graph, GError **error);
void tunit_vk_weights_clear (TunitVkContext *ctx, TunitVkWeights *weights);

/* ------------------------------------------------------------ pipelines */

/* One kernel per shader of shaders/meson.build: TUNIT_VK_KERNEL_CONV2D... */
#define X(stem, STEM) TUNIT_VK_KERNEL_##STEM,
typedef enum { TUNIT_VK_SHADER_LIST TUNIT_VK_N_KERNELS } TunitVkKernel;
#undef X

/* Every kernel uses one descriptor set of TUNIT_VK_BINDINGS buffers
 * (unused ones bound to a dummy buffer) and up to TUNIT_VK_PUSH_SIZE bytes
 * of push constants.  Most bind storage buffers only; conv2d_direct.comp
 * reads its input and weights through uniform texel buffers (see there),
 * so there are two descriptor-set and pipeline layouts. */
#define TUNIT_VK_BINDINGS 4
#define TUNIT_VK_PUSH_SIZE 64   /* within the 128 bytes every device has */

/* The push-constant structs of shader-interface.h fit the layout's range,
 * and hold 4-byte members only, laid out as GLSL's std430 does. */
#define TUNIT_VK_CHECK_PUSH(type) \
  G_STATIC_ASSERT (sizeof (type) <= TUNIT_VK_PUSH_SIZE && sizeof (type) % 4 == 0)
TUNIT_VK_CHECK_PUSH (TunitConvPush);
TUNIT_VK_CHECK_PUSH (TunitBorderPush);
TUNIT_VK_CHECK_PUSH (TunitNormStatsPush);
TUNIT_VK_CHECK_PUSH (TunitNormApplyPush);
TUNIT_VK_CHECK_PUSH (TunitTensorPush);
TUNIT_VK_CHECK_PUSH (TunitLinearPush);
G_STATIC_ASSERT (TUNIT_SHADER_ACTIVATION_RELU == (int) TUNIT_ACTIVATION_RELU
                 && TUNIT_SHADER_ACTIVATION_TANH == (int) TUNIT_ACTIVATION_TANH
                 && TUNIT_SHADER_ACTIVATION_NONE == (int) TUNIT_ACTIVATION_NONE);

typedef struct _TunitVkPipelines TunitVkPipelines;

TunitVkPipelines *tunit_vk_pipelines_new (TunitVkContext *ctx, GError **error);
void tunit_vk_pipelines_free (TunitVkPipelines *pipelines);
VkDescriptorSetLayout tunit_vk_pipelines_get_set_layout (TunitVkPipelines *pipelines,
                                                         TunitVkKernel kernel);
VkPipelineLayout tunit_vk_pipelines_get_layout (TunitVkPipelines *pipelines,
                                                TunitVkKernel kernel);
/* Name of a kernel's shader, for messages. */
const char *tunit_vk_kernel_name (TunitVkKernel kernel);
/* Descriptor type of each binding of a kernel, and for texel-buffer
 * bindings the view format. */
VkDescriptorType tunit_vk_kernel_binding_type (TunitVkKernel kernel, int binding);
VkFormat tunit_vk_kernel_texel_format (TunitVkKernel kernel, int binding, gboolean fp16);
/* The pipeline of `kernel` with the specialization constants spec[id]
 * (every id of shader-interface.h; a shader uses those it declares),
 * created on first use. */
VkPipeline tunit_vk_pipelines_get (TunitVkPipelines *pipelines, TunitVkKernel kernel,
                                   const guint32 spec[TUNIT_SPEC_COUNT], GError **error);

/* Tile shapes of conv2d.comp; see vulkan-nodes.c for the choice.  The
 * DIRECT kind is conv2d_direct.comp, for CPU devices: TM = BM output
 * channels and TN pixels per invocation, BN / TN invocations. */
typedef struct {
  int bm, bn, bk, tm, tn;
} TunitVkConvTile;

typedef enum {
  TUNIT_VK_CONV_TILE_TINY,     /* <= 4 output channels */
  TUNIT_VK_CONV_TILE_NARROW,   /* <= 16 output channels */
  TUNIT_VK_CONV_TILE_MEDIUM,
  TUNIT_VK_CONV_TILE_LARGE,    /* wide layers on large frames */
  TUNIT_VK_CONV_TILE_DIRECT,   /* conv2d_direct.comp, CPU devices */
  TUNIT_VK_N_CONV_TILES
} TunitVkConvTileKind;

extern const TunitVkConvTile tunit_vk_conv_tiles[TUNIT_VK_N_CONV_TILES];

/* -------------------------------------------------------------- program */

typedef struct _TunitVkProgram TunitVkProgram;

/* Everything a program binds that outlives it. */
typedef struct {
  TunitVkContext *ctx;
  TunitVkPipelines *pipelines;
  const TunitVkWeights *weights;
  const TunitVkBuffer *parameters; /* the graph's parameters, fp32; NULL if it has none */
  const TunitVkBuffer *dummy;      /* bound to unused bindings */
} TunitVkProgramResources;

/* Allocates the buffers of `layout` (the engine's plan, as it is) and
 * records the command buffer that runs its graph. */
TunitVkProgram *tunit_vk_program_new (const TunitVkProgramResources *resources,
                                      const TunitGraphLayout *layout, GError **error);
void tunit_vk_program_free (TunitVkProgram *program);
/* Uploads the inputs, runs the graph, waits and copies the outputs that
 * are not NULL. */
gboolean tunit_vk_program_run (TunitVkProgram *program, const float *const *inputs,
                               float *const *outputs, GError **error);
/* Dispatches recorded, for tests and messages. */
int tunit_vk_program_dispatch_count (const TunitVkProgram *program);

/* ------------------------------------------------------------ recording */

/* What vulkan-nodes.c sees of the program being recorded. */
typedef struct _TunitVkRecorder TunitVkRecorder;

/* One binding of a dispatch. */
typedef struct {
  const TunitVkBuffer *buffer;   /* NULL: the dummy buffer */
  VkDeviceSize offset, range;
  int resource;                  /* hazard-tracking id; -1 for constant data */
  gboolean write;
} TunitVkBinding;

typedef struct {
  TunitVkKernel kernel;
  guint32 spec[TUNIT_SPEC_COUNT];
  TunitVkBinding bindings[TUNIT_VK_BINDINGS];
  guint32 groups[3];
} TunitVkDispatch;

const TunitVkProgramResources *tunit_vk_recorder_resources (const TunitVkRecorder *recorder);
const TunitGraphLayout *tunit_vk_recorder_layout (const TunitVkRecorder *recorder);
/* The value of node `index` (its slot of the plan). */
TunitVkBinding tunit_vk_value_binding (const TunitVkRecorder *recorder, int index,
                                       gboolean write);
/* A tensor of the weights buffer; an unbound binding where size is 0. */
TunitVkBinding tunit_vk_weight_binding (const TunitVkRecorder *recorder,
                                        const TunitVkTensor *tensor);
/* The instance-norm statistics scratch. */
TunitVkBinding tunit_vk_stats_binding (const TunitVkRecorder *recorder, gboolean write);
/* Records a dispatch with `push` (push_size bytes) as its push constants;
 * orders it after the earlier ones it depends on. */
gboolean tunit_vk_record_dispatch (TunitVkRecorder *recorder, const TunitVkDispatch *dispatch,
                                   const void *push, gsize push_size, GError **error);

/* vulkan-nodes.c: the dispatches of node `index`; how many it records at
 * most; the floats of norm statistics it needs at its shape. */
gboolean tunit_vk_record_node (TunitVkRecorder *recorder, int index, GError **error);
int tunit_vk_node_dispatches (const TunitNode *node);
gsize tunit_vk_node_stats_floats (const TunitNode *node, const TunitShape *shape);
/* Workgroups for a grid-stride loop over `count` elements. */
guint32 tunit_vk_stride_groups (gsize count, guint32 workgroup);
#define TUNIT_VK_ELEMENTWISE_WORKGROUP 128

/* -------------------------------------------------------------- backend */

/* The context of a backend made by tunit_vulkan_backend_new (for tests),
 * and the validation messages it saw. */
TunitVkContext *tunit_vulkan_backend_get_context (TunitBackend *backend);
guint tunit_vulkan_backend_validation_messages (TunitBackend *backend);

G_END_DECLS

#endif /* TUNIT_VULKAN_INTERNAL_H */
