/* vulkan-disabled.c - used when libtunit is built without Vulkan: every
 * request for the Vulkan backend fails cleanly with TUNIT_ERROR_NO_DEVICE. */
#include "backend.h"

TunitBackend *
tunit_vulkan_backend_new (const TunitEngineOptions *options,
                          gboolean hardware_only, GError **error)
{
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
               "this libtunit was built without Vulkan support");
  return NULL;
}

char *
tunit_vulkan_describe_devices (GError **error)
{
  g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_NO_DEVICE,
               "this libtunit was built without Vulkan support");
  return NULL;
}
