/* vulkan-device.c - Vulkan loader, instance, validation messages, device
 * choice and the logical device with its compute queue. */
#include "vulkan-internal.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

static const char *const loader_names[] = { "libvulkan.so.1", "libvulkan.so" };

/* --------------------------------------------------------------- errors */

const char *
tunit_vk_result_name (VkResult result)
{
  switch (result) {
  case VK_SUCCESS: return "VK_SUCCESS";
  case VK_NOT_READY: return "VK_NOT_READY";
  case VK_TIMEOUT: return "VK_TIMEOUT";
  case VK_INCOMPLETE: return "VK_INCOMPLETE";
  case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
  case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
  case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
  case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
  case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
  case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
  case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
  case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
  case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
  case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
  case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
  case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
  case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
  case VK_ERROR_INVALID_SHADER_NV: return "VK_ERROR_INVALID_SHADER_NV";
  default: return "unknown VkResult";
  }
}

gboolean
tunit_vk_check (VkResult result, const char *what, GError **error)
{
  if (result == VK_SUCCESS)
    return TRUE;
  int code = TUNIT_ERROR_DEVICE;
  const char *hint = "";
  switch (result) {
  case VK_ERROR_OUT_OF_HOST_MEMORY:
  case VK_ERROR_OUT_OF_DEVICE_MEMORY:
  case VK_ERROR_OUT_OF_POOL_MEMORY:
  case VK_ERROR_FRAGMENTED_POOL:
    code = TUNIT_ERROR_OUT_OF_MEMORY;
    hint = " (try a smaller frame or --precision fp16)";
    break;
  case VK_ERROR_DEVICE_LOST:
    hint = " (the GPU reset or the driver crashed)";
    break;
  default:
    break;
  }
  g_set_error (error, TUNIT_ERROR, code, "Vulkan: %s failed: %s (%d)%s", what,
               tunit_vk_result_name (result), (int) result, hint);
  return FALSE;
}

/* ----------------------------------------------------------- validation */

static VKAPI_ATTR VkBool32 VKAPI_CALL
on_debug_message (VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                  VkDebugUtilsMessageTypeFlagsEXT types,
                  const VkDebugUtilsMessengerCallbackDataEXT *data, void *user_data)
{
  TunitVkContext *ctx = user_data;
  /* The loader reports its own notices (such as which layers the
   * VK_INSTANCE_LAYERS variable added) as general warnings: those are not
   * validation findings. */
  if (!(types & VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT)
      && !(severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT)) {
    g_debug ("Vulkan: %s", data->pMessage ? data->pMessage : "(no text)");
    return VK_FALSE;
  }
  const char *level = (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error"
                                                                                 : "warning";
  fprintf (stderr, TUNIT_VK_VALIDATION_PREFIX " %s: %s\n", level,
           data->pMessage ? data->pMessage : "(no text)");
  g_atomic_int_inc (&ctx->validation_messages);
  return VK_FALSE;
}

static void
fill_messenger_info (TunitVkContext *ctx, VkDebugUtilsMessengerCreateInfoEXT *info)
{
  *info = (VkDebugUtilsMessengerCreateInfoEXT) {
    .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
    .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT
                       | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
    .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT
                   | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT,
    .pfnUserCallback = on_debug_message,
    .pUserData = ctx,
  };
}

guint
tunit_vk_context_validation_messages (TunitVkContext *ctx)
{
  return (guint) g_atomic_int_get (&ctx->validation_messages);
}

gboolean
tunit_vk_context_check_validation (TunitVkContext *ctx, GError **error)
{
  guint seen = tunit_vk_context_validation_messages (ctx);
  if (seen == ctx->validation_reported)
    return TRUE;
  guint fresh = seen - ctx->validation_reported;
  ctx->validation_reported = seen;
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_DEVICE,
               "Vulkan validation reported %u message(s); see the lines starting with "
               "\"" TUNIT_VK_VALIDATION_PREFIX "\" on stderr", fresh);
  return FALSE;
}

static gboolean
has_layer (TunitVkContext *ctx, const char *name)
{
  guint32 count = 0;
  if (ctx->vk.vkEnumerateInstanceLayerProperties (&count, NULL) != VK_SUCCESS)
    return FALSE;
  g_autofree VkLayerProperties *layers = g_new0 (VkLayerProperties, MAX (count, 1));
  if (ctx->vk.vkEnumerateInstanceLayerProperties (&count, layers) != VK_SUCCESS)
    return FALSE;
  for (guint32 i = 0; i < count; i++)
    if (strcmp (layers[i].layerName, name) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
has_instance_extension (TunitVkContext *ctx, const char *layer, const char *name)
{
  guint32 count = 0;
  if (ctx->vk.vkEnumerateInstanceExtensionProperties (layer, &count, NULL) != VK_SUCCESS)
    return FALSE;
  g_autofree VkExtensionProperties *extensions = g_new0 (VkExtensionProperties, MAX (count, 1));
  if (ctx->vk.vkEnumerateInstanceExtensionProperties (layer, &count, extensions) != VK_SUCCESS)
    return FALSE;
  for (guint32 i = 0; i < count; i++)
    if (strcmp (extensions[i].extensionName, name) == 0)
      return TRUE;
  return FALSE;
}

/* -------------------------------------------------------------- loader */

static gboolean
open_loader (TunitVkContext *ctx, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (loader_names) && ctx->loader == NULL; i++)
    ctx->loader = dlopen (loader_names[i], RTLD_NOW | RTLD_LOCAL);
  if (ctx->loader == NULL) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                 "no Vulkan loader (libvulkan.so.1) on this system: install libvulkan1 "
                 "and a Vulkan driver (mesa-vulkan-drivers has a CPU one)");
    return FALSE;
  }
  ctx->vk.vkGetInstanceProcAddr =
    (PFN_vkGetInstanceProcAddr) dlsym (ctx->loader, "vkGetInstanceProcAddr");
  if (ctx->vk.vkGetInstanceProcAddr == NULL) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                 "the Vulkan loader lacks vkGetInstanceProcAddr");
    return FALSE;
  }
#define LOAD_GLOBAL(name) \
  ctx->vk.name = (PFN_##name) ctx->vk.vkGetInstanceProcAddr (VK_NULL_HANDLE, #name);
  TUNIT_VK_GLOBAL_FUNCTIONS (LOAD_GLOBAL)
#undef LOAD_GLOBAL
  guint32 version = VK_API_VERSION_1_0;
  if (ctx->vk.vkEnumerateInstanceVersion != NULL)
    ctx->vk.vkEnumerateInstanceVersion (&version);
  if (ctx->vk.vkCreateInstance == NULL || version < VK_API_VERSION_1_1) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                 "the Vulkan loader supports only Vulkan %u.%u; Vulkan 1.1 is needed",
                 VK_API_VERSION_MAJOR (version), VK_API_VERSION_MINOR (version));
    return FALSE;
  }
  return TRUE;
}

static gboolean
load_instance_functions (TunitVkContext *ctx, GError **error)
{
  const char *missing = NULL;
#define LOAD_INSTANCE(name)                                                         \
  ctx->vk.name = (PFN_##name) ctx->vk.vkGetInstanceProcAddr (ctx->instance, #name); \
  if (ctx->vk.name == NULL && missing == NULL)                                      \
    missing = #name;
  TUNIT_VK_INSTANCE_FUNCTIONS (LOAD_INSTANCE)
#undef LOAD_INSTANCE
  if (missing != NULL) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                 "the Vulkan loader lacks %s", missing);
    return FALSE;
  }
#define LOAD_DEBUG(name) \
  ctx->vk.name = (PFN_##name) ctx->vk.vkGetInstanceProcAddr (ctx->instance, #name);
  TUNIT_VK_DEBUG_FUNCTIONS (LOAD_DEBUG)
#undef LOAD_DEBUG
  return TRUE;
}

/* ------------------------------------------------------------- instance */

static gboolean
create_instance (TunitVkContext *ctx, gboolean validation, GError **error)
{
  const char *layers[1];
  const char *extensions[1];
  guint32 n_layers = 0, n_extensions = 0;
  VkDebugUtilsMessengerCreateInfoEXT messenger_info;

  if (validation) {
    /* The tests ask for validation; without the layer the request would
     * be silently meaningless, so it is an error. */
    if (!has_layer (ctx, VALIDATION_LAYER)
        || !has_instance_extension (ctx, NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
      g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                   "validation asked for but " VALIDATION_LAYER " or "
                   VK_EXT_DEBUG_UTILS_EXTENSION_NAME " is missing "
                   "(install vulkan-validationlayers)");
      return FALSE;
    }
    layers[n_layers++] = VALIDATION_LAYER;
    extensions[n_extensions++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    fill_messenger_info (ctx, &messenger_info);
  }

  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "libtunit",
    .pEngineName = "libtunit",
    .apiVersion = VK_API_VERSION_1_1,
  };
  VkInstanceCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    /* chained so that messages from vkCreateInstance itself are caught */
    .pNext = validation ? &messenger_info : NULL,
    .pApplicationInfo = &app,
    .enabledLayerCount = n_layers,
    .ppEnabledLayerNames = layers,
    .enabledExtensionCount = n_extensions,
    .ppEnabledExtensionNames = extensions,
  };
  VkResult result = ctx->vk.vkCreateInstance (&info, NULL, &ctx->instance);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                 "no Vulkan 1.1 driver found (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER)");
    return FALSE;
  }
  if (result != VK_SUCCESS) {
    ctx->instance = VK_NULL_HANDLE;
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                 "cannot create a Vulkan instance: %s", tunit_vk_result_name (result));
    return FALSE;
  }
  if (!load_instance_functions (ctx, error))
    return FALSE;
  if (validation) {
    if (ctx->vk.vkCreateDebugUtilsMessengerEXT == NULL) {
      g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                   "vkCreateDebugUtilsMessengerEXT is missing");
      return FALSE;
    }
    result = ctx->vk.vkCreateDebugUtilsMessengerEXT (ctx->instance, &messenger_info, NULL,
                                                     &ctx->messenger);
    if (!tunit_vk_check (result, "vkCreateDebugUtilsMessengerEXT", error))
      return FALSE;
  }
  return TRUE;
}

TunitVkContext *
tunit_vk_context_new (const TunitEngineOptions *options, GError **error)
{
  TunitEngineOptions defaults = TUNIT_ENGINE_OPTIONS_INIT;
  if (options == NULL)
    options = &defaults;
  TunitVkContext *ctx = g_new0 (TunitVkContext, 1);
  ctx->conv_config_override = options->vulkan_conv_tile > 0
                              ? MIN (options->vulkan_conv_tile - 1, TUNIT_VK_N_CONV_TILES - 1)
                              : -1;
  ctx->profile = options->profile;
  if (!open_loader (ctx, error) || !create_instance (ctx, options->vulkan_validation, error)) {
    tunit_vk_context_free (ctx);
    return NULL;
  }
  return ctx;
}

void
tunit_vk_context_free (TunitVkContext *ctx)
{
  if (ctx == NULL)
    return;
  if (ctx->device != VK_NULL_HANDLE) {
    ctx->vk.vkDeviceWaitIdle (ctx->device);
    if (ctx->fence != VK_NULL_HANDLE)
      ctx->vk.vkDestroyFence (ctx->device, ctx->fence, NULL);
    if (ctx->command_pool != VK_NULL_HANDLE)
      ctx->vk.vkDestroyCommandPool (ctx->device, ctx->command_pool, NULL);
    ctx->vk.vkDestroyDevice (ctx->device, NULL);
  }
  if (ctx->messenger != VK_NULL_HANDLE)
    ctx->vk.vkDestroyDebugUtilsMessengerEXT (ctx->instance, ctx->messenger, NULL);
  if (ctx->instance != VK_NULL_HANDLE)
    ctx->vk.vkDestroyInstance (ctx->instance, NULL);
  if (ctx->loader != NULL)
    dlclose (ctx->loader);
  g_free (ctx->description);
  g_free (ctx);
}

/* -------------------------------------------------------------- devices */

typedef struct {
  VkPhysicalDevice handle;
  VkPhysicalDeviceProperties properties;
  gboolean has_compute;
  guint32 compute_family;
  guint32 timestamp_bits;
  gboolean fp16_storage;
  VkDeviceSize device_memory;   /* largest device-local heap */
} DeviceInfo;

static const char *
device_type_name (VkPhysicalDeviceType type)
{
  switch (type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
  default: return "other";
  }
}

/* Preference when choosing: discrete > integrated > virtual > CPU. */
static int
device_type_rank (VkPhysicalDeviceType type)
{
  switch (type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
  default: return 0;
  }
}

static void
query_device (TunitVkContext *ctx, VkPhysicalDevice handle, DeviceInfo *info)
{
  *info = (DeviceInfo) { .handle = handle };
  ctx->vk.vkGetPhysicalDeviceProperties (handle, &info->properties);

  guint32 n_families = 0;
  ctx->vk.vkGetPhysicalDeviceQueueFamilyProperties (handle, &n_families, NULL);
  g_autofree VkQueueFamilyProperties *families = g_new0 (VkQueueFamilyProperties,
                                                         MAX (n_families, 1));
  ctx->vk.vkGetPhysicalDeviceQueueFamilyProperties (handle, &n_families, families);
  for (guint32 i = 0; i < n_families && !info->has_compute; i++) {
    if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && families[i].queueCount > 0) {
      info->has_compute = TRUE;
      info->compute_family = i;
      info->timestamp_bits = families[i].timestampValidBits;
    }
  }

  if (info->properties.apiVersion >= VK_API_VERSION_1_1) {
    VkPhysicalDevice16BitStorageFeatures storage = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
    };
    VkPhysicalDeviceFeatures2 features = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &storage,
    };
    ctx->vk.vkGetPhysicalDeviceFeatures2 (handle, &features);
    info->fp16_storage = storage.storageBuffer16BitAccess;
  }

  VkPhysicalDeviceMemoryProperties memory;
  ctx->vk.vkGetPhysicalDeviceMemoryProperties (handle, &memory);
  for (guint32 i = 0; i < memory.memoryHeapCount; i++)
    if (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      info->device_memory = MAX (info->device_memory, memory.memoryHeaps[i].size);
}

static gboolean
device_usable (const DeviceInfo *info)
{
  return info->has_compute && info->properties.apiVersion >= VK_API_VERSION_1_1;
}

static DeviceInfo *
list_devices (TunitVkContext *ctx, guint32 *count, GError **error)
{
  *count = 0;
  VkResult result = ctx->vk.vkEnumeratePhysicalDevices (ctx->instance, count, NULL);
  if (!tunit_vk_check (result, "vkEnumeratePhysicalDevices", error))
    return NULL;
  if (*count == 0) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                 "no Vulkan device found (install a Vulkan driver; mesa-vulkan-drivers "
                 "has a CPU one)");
    return NULL;
  }
  g_autofree VkPhysicalDevice *handles = g_new0 (VkPhysicalDevice, *count);
  result = ctx->vk.vkEnumeratePhysicalDevices (ctx->instance, count, handles);
  if (result != VK_SUCCESS && result != VK_INCOMPLETE) {
    tunit_vk_check (result, "vkEnumeratePhysicalDevices", error);
    return NULL;
  }
  DeviceInfo *infos = g_new0 (DeviceInfo, *count);
  for (guint32 i = 0; i < *count; i++)
    query_device (ctx, handles[i], &infos[i]);
  return infos;
}

/* The best usable device by type, or -1. */
static int
preferred_device (const DeviceInfo *infos, guint32 count)
{
  int best = -1;
  for (guint32 i = 0; i < count; i++) {
    if (!device_usable (&infos[i]))
      continue;
    if (best < 0 || device_type_rank (infos[i].properties.deviceType)
                      > device_type_rank (infos[best].properties.deviceType))
      best = (int) i;
  }
  return best;
}

/* options->device_index, -1 = choose. */
static int
requested_device (const TunitEngineOptions *options)
{
  return options != NULL ? options->device_index : -1;
}

static int
choose_device (const DeviceInfo *infos, guint32 count, const TunitEngineOptions *options,
               GError **error)
{
  int index = requested_device (options);
  if (index >= (int) count) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                 "Vulkan device %d does not exist: there %s %u device%s (0..%u)", index,
                 count == 1 ? "is" : "are", count, count == 1 ? "" : "s", count - 1);
    return -1;
  }
  if (index >= 0 && !device_usable (&infos[index])) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                 "Vulkan device %d (%s) cannot be used: it needs Vulkan 1.1 and a compute "
                 "queue", index, infos[index].properties.deviceName);
    return -1;
  }
  if (index < 0)
    index = preferred_device (infos, count);
  if (index < 0)
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                 "no Vulkan device has Vulkan 1.1 and a compute queue");
  return index;
}

static gboolean
choose_fp16 (const DeviceInfo *info, const TunitEngineOptions *options, const char **why)
{
  TunitPrecision precision = options != NULL ? options->precision : TUNIT_PRECISION_DEFAULT;
  *why = "";
  if (precision == TUNIT_PRECISION_FP32)
    return FALSE;
  if (precision == TUNIT_PRECISION_BF16) {
    *why = " (bf16 is not available on Vulkan)";
    return FALSE;
  }
  if (!info->fp16_storage) {
    *why = " (the device lacks 16-bit storage)";
    return FALSE;
  }
  return TRUE;
}

static gboolean
create_device (TunitVkContext *ctx, const DeviceInfo *info, GError **error)
{
  float priority = 1.0f;
  VkDeviceQueueCreateInfo queue = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = info->compute_family,
    .queueCount = 1,
    .pQueuePriorities = &priority,
  };
  VkPhysicalDevice16BitStorageFeatures storage = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
    .storageBuffer16BitAccess = ctx->fp16,
  };
  VkPhysicalDeviceFeatures2 features = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &storage,
  };
  VkDeviceCreateInfo create = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .pNext = &features,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &queue,
  };
  VkResult result = ctx->vk.vkCreateDevice (info->handle, &create, NULL, &ctx->device);
  if (result != VK_SUCCESS) {
    ctx->device = VK_NULL_HANDLE;
    return tunit_vk_check (result, "vkCreateDevice", error);
  }

  const char *missing = NULL;
#define LOAD_DEVICE(name)                                                               \
  ctx->vk.name = (PFN_##name) ctx->vk.vkGetDeviceProcAddr (ctx->device, #name);         \
  if (ctx->vk.name == NULL && missing == NULL)                                          \
    missing = #name;
  TUNIT_VK_DEVICE_FUNCTIONS (LOAD_DEVICE)
#undef LOAD_DEVICE
  if (missing != NULL) {
    /* without vkDestroyDevice the device cannot be freed either: leak it
     * rather than call through NULL (a broken driver) */
    if (ctx->vk.vkDestroyDevice == NULL)
      ctx->device = VK_NULL_HANDLE;
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_DEVICE, "the Vulkan driver lacks %s",
                 missing);
    return FALSE;
  }
  ctx->vk.vkGetDeviceQueue (ctx->device, info->compute_family, 0, &ctx->queue);
  return TRUE;
}

static gboolean
create_pool_and_fence (TunitVkContext *ctx, GError **error)
{
  VkCommandPoolCreateInfo pool = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = ctx->queue_family,
  };
  VkResult result = ctx->vk.vkCreateCommandPool (ctx->device, &pool, NULL, &ctx->command_pool);
  if (result != VK_SUCCESS) {
    ctx->command_pool = VK_NULL_HANDLE;
    return tunit_vk_check (result, "vkCreateCommandPool", error);
  }
  VkFenceCreateInfo fence = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  result = ctx->vk.vkCreateFence (ctx->device, &fence, NULL, &ctx->fence);
  if (result != VK_SUCCESS) {
    ctx->fence = VK_NULL_HANDLE;
    return tunit_vk_check (result, "vkCreateFence", error);
  }
  return TRUE;
}

gboolean
tunit_vk_context_open_device (TunitVkContext *ctx, const TunitEngineOptions *options,
                              GError **error)
{
  guint32 count;
  g_autofree DeviceInfo *infos = list_devices (ctx, &count, error);
  if (infos == NULL)
    return FALSE;
  int requested = requested_device (options);
  int index = choose_device (infos, count, options, error);
  if (index < 0)
    return FALSE;
  const DeviceInfo *info = &infos[index];
  if (ctx->hardware_only && requested < 0
      && info->properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
                 "the only Vulkan device is a CPU implementation (%s); the CPU backend "
                 "is faster there (ask for backend vulkan to use it anyway)",
                 info->properties.deviceName);
    return FALSE;
  }
  const char *why;
  ctx->physical = info->handle;
  ctx->properties = info->properties;
  ctx->vk.vkGetPhysicalDeviceMemoryProperties (ctx->physical, &ctx->memory);
  ctx->queue_family = info->compute_family;
  ctx->profile = ctx->profile && info->timestamp_bits > 0;
  /* reductions (a power of two): wide on GPUs; on CPU devices, where a
   * workgroup is a loop on one core and every barrier a context switch,
   * a narrow tree is much cheaper */
  ctx->reduction_workgroup =
    info->properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? 16 : 128;
  ctx->fp16 = choose_fp16 (info, options, &why);
  ctx->element_size = ctx->fp16 ? 2 : 4;
  ctx->description = g_strdup_printf ("Vulkan device %d: %s (%s), %s storage%s", index,
                                      info->properties.deviceName,
                                      device_type_name (info->properties.deviceType),
                                      ctx->fp16 ? "fp16" : "fp32", why);
  return create_device (ctx, info, error) && create_pool_and_fence (ctx, error);
}

/* ------------------------------------------------------------ one-shots */

VkCommandBuffer
tunit_vk_begin_one_shot (TunitVkContext *ctx, GError **error)
{
  VkCommandBufferAllocateInfo allocate = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = ctx->command_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  VkCommandBuffer commands = VK_NULL_HANDLE;
  VkResult result = ctx->vk.vkAllocateCommandBuffers (ctx->device, &allocate, &commands);
  if (!tunit_vk_check (result, "vkAllocateCommandBuffers", error))
    return VK_NULL_HANDLE;
  VkCommandBufferBeginInfo begin = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
    .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  result = ctx->vk.vkBeginCommandBuffer (commands, &begin);
  if (!tunit_vk_check (result, "vkBeginCommandBuffer", error)) {
    ctx->vk.vkFreeCommandBuffers (ctx->device, ctx->command_pool, 1, &commands);
    return VK_NULL_HANDLE;
  }
  return commands;
}

gboolean
tunit_vk_end_one_shot (TunitVkContext *ctx, VkCommandBuffer commands, GError **error)
{
  VkResult result = ctx->vk.vkEndCommandBuffer (commands);
  gboolean ok = tunit_vk_check (result, "vkEndCommandBuffer", error)
                && tunit_vk_submit_and_wait (ctx, commands, error);
  ctx->vk.vkFreeCommandBuffers (ctx->device, ctx->command_pool, 1, &commands);
  return ok;
}

gboolean
tunit_vk_submit_and_wait (TunitVkContext *ctx, VkCommandBuffer commands, GError **error)
{
  VkResult result = ctx->vk.vkResetFences (ctx->device, 1, &ctx->fence);
  if (!tunit_vk_check (result, "vkResetFences", error))
    return FALSE;
  VkSubmitInfo submit = {
    .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
    .commandBufferCount = 1,
    .pCommandBuffers = &commands,
  };
  result = ctx->vk.vkQueueSubmit (ctx->queue, 1, &submit, ctx->fence);
  if (!tunit_vk_check (result, "vkQueueSubmit", error))
    return FALSE;
  result = ctx->vk.vkWaitForFences (ctx->device, 1, &ctx->fence, VK_TRUE,
                                    TUNIT_VK_FENCE_TIMEOUT_NS);
  if (result == VK_TIMEOUT) {
    g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_DEVICE,
                 "Vulkan: the device did not finish within %d s; it may be hung",
                 (int) (TUNIT_VK_FENCE_TIMEOUT_NS / 1000000000));
    return FALSE;
  }
  return tunit_vk_check (result, "vkWaitForFences", error);
}

/* ------------------------------------------------------- public listing */

static void
describe_device (GString *text, int index, const DeviceInfo *info, gboolean preferred)
{
  const VkPhysicalDeviceProperties *p = &info->properties;
  g_string_append_printf (text, "%d: %s (%s), Vulkan %u.%u.%u, compute: %s, "
                          "fp16 storage: %s, memory: %.1f GiB%s\n",
                          index, p->deviceName, device_type_name (p->deviceType),
                          VK_API_VERSION_MAJOR (p->apiVersion),
                          VK_API_VERSION_MINOR (p->apiVersion),
                          VK_API_VERSION_PATCH (p->apiVersion),
                          device_usable (info) ? "yes" : "no",
                          info->fp16_storage ? "yes" : "no",
                          info->device_memory / (1024.0 * 1024.0 * 1024.0),
                          preferred ? " (default)" : "");
}

char *
tunit_vulkan_describe_devices (GError **error)
{
  TunitVkContext *ctx = tunit_vk_context_new (NULL, error);
  if (ctx == NULL)
    return NULL;
  guint32 count;
  g_autofree DeviceInfo *infos = list_devices (ctx, &count, error);
  if (infos == NULL) {
    tunit_vk_context_free (ctx);
    return NULL;
  }
  int preferred = preferred_device (infos, count);
  GString *text = g_string_new (NULL);
  for (guint32 i = 0; i < count; i++)
    describe_device (text, (int) i, &infos[i], (int) i == preferred);
  gboolean clean = tunit_vk_context_check_validation (ctx, error);
  tunit_vk_context_free (ctx);
  if (!clean) {
    g_string_free (text, TRUE);
    return NULL;
  }
  return g_string_free (text, FALSE);
}
