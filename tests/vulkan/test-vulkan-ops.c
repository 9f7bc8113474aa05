/* test-vulkan-ops.c - the op-test table (tests/ops) on the Vulkan backend,
 * in fp32 and fp16 storage: the convolutions with every tile shape (with
 * the lowering's phase split and without), the norms with both reduction
 * widths, the graphs; and the device plumbing (half conversion, device
 * choice, validation).
 *
 * With TUNIT_VULKAN_VALIDATION=1 (as meson runs it) any validation message
 * fails the test. */
#include "op-cases.h"
#include "vulkan-internal.h"

#include <math.h>
#include <string.h>

static TunitBackend *
open_backend (TunitPrecision precision)
{
  g_autoptr (GError) error = NULL;
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  g_assert_true (tunit_engine_options_read_environment (&options, &error));
  options.precision = precision;
  TunitBackend *backend = tunit_vulkan_backend_new (&options, FALSE, &error);
  g_assert_no_error (error);
  g_test_message ("%s", backend->description);
  return backend;
}

static void
close_backend (TunitBackend *backend)
{
  g_assert_cmpuint (tunit_vulkan_backend_validation_messages (backend), ==, 0);
  tunit_backend_free (backend);
}

/* ------------------------------------------------------------- tests */

static void
test_half_conversion (void)
{
  /* every finite half survives half -> float -> half */
  for (guint32 h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00)
      continue;
    g_assert_cmphex (tunit_float_to_half (tunit_half_to_float (h)), ==, h);
  }
  g_assert_cmphex (tunit_float_to_half (1.0f), ==, 0x3c00);
  g_assert_cmphex (tunit_float_to_half (65520.0f), ==, 0x7c00);
  g_assert_cmphex (tunit_float_to_half (1.0f + 1.0f / 2048), ==, 0x3c00);  /* tie: even */
  g_assert_cmphex (tunit_float_to_half (1.0f + 3.0f / 2048), ==, 0x3c02);  /* tie: even */
  g_assert_cmphex (tunit_float_to_half (-2.0e-8f), ==, 0x8000);
}

static void
test_precision (gconstpointer data)
{
  TunitPrecision precision = GPOINTER_TO_INT (data);
  TunitBackend *backend = open_backend (precision);
  TunitVkContext *ctx = tunit_vulkan_backend_get_context (backend);
  if (precision == TUNIT_PRECISION_FP16 && !ctx->fp16) {
    close_backend (backend);
    g_test_skip ("the device has no 16-bit storage");
    return;
  }
  /* fp16 storage cannot hold 50 + x to better than 0.03: normalising
   * amplifies that, so the offset norms only hold to fp32 precision */
  OpTableRun run = {
    .backend = backend, .tolerance = ctx->fp16 ? 1e-2 : 2e-5,
    .offset_norm_tolerance = ctx->fp16 ? 0.1 : 2e-5, .fuse_upsample_conv = TRUE,
    .use = TUNIT_GRAPH_PER_FRAME,
  };
  for (int tile = 0; tile < TUNIT_VK_N_CONV_TILES; tile++) {
    g_autofree char *label = g_strdup_printf ("%s, tile %d", ctx->fp16 ? "fp16" : "fp32", tile);
    run.label = label;
    ctx->conv_config_override = tile;
    op_table_run_convolutions (&run);
  }
  ctx->conv_config_override = -1;
  run.label = ctx->fp16 ? "fp16, unfused" : "fp32, unfused";
  run.fuse_upsample_conv = FALSE;
  op_table_run_convolutions (&run);
  run.fuse_upsample_conv = TRUE;
  run.label = ctx->fp16 ? "fp16" : "fp32";
  op_table_run_norms (&run);
  /* the reductions again with the other device class's workgroup size */
  guint reduction_workgroup = ctx->reduction_workgroup;
  ctx->reduction_workgroup = reduction_workgroup == 16 ? 128 : 16;
  run.label = ctx->fp16 ? "fp16, other reduction width" : "fp32, other reduction width";
  op_table_run_norms (&run);
  op_table_run_graphs (&run);
  ctx->reduction_workgroup = reduction_workgroup;
  run.label = ctx->fp16 ? "fp16" : "fp32";
  op_table_run_graphs (&run);
  close_backend (backend);
}

static void
test_bad_device_index (void)
{
  g_autoptr (GError) error = NULL;
  TunitVkContext *ctx = tunit_vk_context_new (NULL, &error);
  g_assert_no_error (error);
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  options.device_index = 999;
  g_assert_false (tunit_vk_context_open_device (ctx, &options, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  tunit_vk_context_free (ctx);

  /* TUNIT_VULKAN_DEVICE, read at the edges, applies when the options
   * leave the choice open; a bad one is an error there */
  g_setenv ("TUNIT_VULKAN_DEVICE", "999", TRUE);
  options = (TunitEngineOptions) TUNIT_ENGINE_OPTIONS_INIT;
  g_assert_true (tunit_engine_options_read_environment (&options, &error));
  g_assert_cmpint (options.device_index, ==, 999);
  ctx = tunit_vk_context_new (&options, &error);
  g_assert_no_error (error);
  g_assert_false (tunit_vk_context_open_device (ctx, &options, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_test_message ("TUNIT_VULKAN_DEVICE=999: %s", error->message);
  g_clear_error (&error);
  tunit_vk_context_free (ctx);
  g_setenv ("TUNIT_VULKAN_DEVICE", "not-a-number", TRUE);
  options = (TunitEngineOptions) TUNIT_ENGINE_OPTIONS_INIT;
  g_assert_false (tunit_engine_options_read_environment (&options, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_assert_cmpint (options.device_index, ==, -1);
  g_test_message ("TUNIT_VULKAN_DEVICE=not-a-number: %s", error->message);
  g_clear_error (&error);
  g_setenv ("TUNIT_VULKAN_DEVICE", "0", TRUE);
  g_assert_true (tunit_engine_options_read_environment (&options, &error));
  ctx = tunit_vk_context_new (&options, &error);
  g_assert_true (tunit_vk_context_open_device (ctx, &options, &error));
  g_assert_no_error (error);
  tunit_vk_context_free (ctx);
  g_unsetenv ("TUNIT_VULKAN_DEVICE");
}

static void
test_describe_devices (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = tunit_vulkan_describe_devices (&error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "0: "));
  g_assert_nonnull (strstr (text, "fp16 storage"));
  g_test_message ("%s", text);
}

/* The validation plumbing itself: an invalid call (a buffer of size 0)
 * must be counted and turned into an error. */
static void
test_validation_is_caught (void)
{
  if (g_strcmp0 (g_getenv ("TUNIT_VULKAN_VALIDATION"), "1") != 0) {
    g_test_skip ("TUNIT_VULKAN_VALIDATION is not 1");
    return;
  }
  g_autoptr (GError) error = NULL;
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  options.vulkan_validation = TRUE;
  TunitVkContext *ctx = tunit_vk_context_new (&options, &error);
  g_assert_no_error (error);
  g_assert_true (tunit_vk_context_open_device (ctx, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (tunit_vk_context_check_validation (ctx, &error));
  g_test_message ("the validation error printed next is intended");
  VkBufferCreateInfo info = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = 0,
    .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
  };
  VkBuffer buffer = VK_NULL_HANDLE;
  VkResult result = ctx->vk.vkCreateBuffer (ctx->device, &info, NULL, &buffer);
  if (result == VK_SUCCESS && buffer != VK_NULL_HANDLE)
    ctx->vk.vkDestroyBuffer (ctx->device, buffer, NULL);
  g_assert_cmpuint (tunit_vk_context_validation_messages (ctx), >, 0);
  g_assert_false (tunit_vk_context_check_validation (ctx, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_DEVICE);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  /* reported once: the next check passes again */
  g_assert_true (tunit_vk_context_check_validation (ctx, &error));
  tunit_vk_context_free (ctx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/vulkan/half-conversion", test_half_conversion);
  g_test_add_func ("/vulkan/describe-devices", test_describe_devices);
  g_test_add_func ("/vulkan/bad-device-index", test_bad_device_index);
  g_test_add_func ("/vulkan/validation-is-caught", test_validation_is_caught);
  g_test_add_data_func ("/vulkan/ops/fp32", GINT_TO_POINTER (TUNIT_PRECISION_FP32),
                        test_precision);
  g_test_add_data_func ("/vulkan/ops/fp16", GINT_TO_POINTER (TUNIT_PRECISION_FP16),
                        test_precision);
  return g_test_run ();
}
