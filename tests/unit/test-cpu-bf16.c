/* test-cpu-bf16.c - the CPU backend's bf16 convolutions (cpu-bf16-conv.c)
 * against a scalar emulation of the same arithmetic: inputs and weights
 * rounded to bf16 (nearest, ties to even), products summed in fp32.
 *
 *   test-cpu-bf16 native     oneDNN's bf16 kernels (AMX or AVX512-BF16);
 *                            SKIP on CPUs that have neither
 *   test-cpu-bf16 portable   whatever this CPU runs when oneDNN makes no bf16
 *                            convolution (meson runs it with
 *                            ONEDNN_MAX_CPU_ISA=AVX2, as on AVX2 machines)
 *
 * Each also runs the op-test table on a bf16 backend, with a tolerance
 * for bf16 (the lowering's phases and border terms around bf16 kernels). */
#include "cpu-kernels.h"
#include "op-cases.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *mode;

/* bf16 rounding written differently from the library's bit trick: keep 8
 * significant bits of the binary fraction, rint() rounding half to even. */
static float
emulate_bf16 (float value)
{
  if (value == 0.0f || !isfinite (value))
    return value;
  int exponent;
  double fraction = frexp (value, &exponent);   /* [0.5, 1) */
  return (float) ldexp (rint (ldexp (fraction, 8)), exponent - 8);
}

typedef struct {
  const char *name;
  int in_channels, channels, kernel, stride, padding;
  CpuPad pad;
  gboolean phases;          /* rows = 4 x channels, output twice the size */
  int width, height;        /* input */
  TunitActivation activation;
} Bf16Case;

static const Bf16Case cases[] = {
  { "7x7 reflect, 3 inputs", 3, 16, 7, 1, 3, CPU_PAD_REFLECT, FALSE, 37, 29, TUNIT_ACTIVATION_RELU },
  { "4x4 stride 2", 16, 32, 4, 2, 1, CPU_PAD_REFLECT, FALSE, 32, 24, TUNIT_ACTIVATION_RELU },
  { "3x3 residual", 32, 32, 3, 1, 1, CPU_PAD_REFLECT, FALSE, 20, 17, TUNIT_ACTIVATION_NONE },
  { "3x3 phases", 32, 16, 3, 1, 1, CPU_PAD_REPLICATE, TRUE, 16, 12, TUNIT_ACTIVATION_RELU },
  { "7x7 zero pad, tanh", 16, 3, 7, 1, 3, CPU_PAD_ZERO, FALSE, 19, 23, TUNIT_ACTIVATION_TANH },
};

static int
reference_index (int position, int n, CpuPad pad)
{
  if (position >= 0 && position < n)
    return position;
  if (pad == CPU_PAD_ZERO)
    return -1;
  if (pad == CPU_PAD_REPLICATE)
    return position < 0 ? 0 : n - 1;
  return position < 0 ? -position : 2 * (n - 1) - position;
}

/* The convolution, with `round` applied to inputs and weights and fp32
 * sums; also sum |products| per output (the scale of its rounding error). */
static void
reference_conv (const Bf16Case *c, const CpuConv *conv, const float *input, float (*round) (float),
                int out_width, int out_height, float *output, float *magnitude)
{
  int rows = conv->rows, gemm_width = c->phases ? c->width : out_width;
  int gemm_height = c->phases ? c->height : out_height;
  for (int q = 0; q < rows; q++)
    for (int y = 0; y < gemm_height; y++)
      for (int x = 0; x < gemm_width; x++) {
        float sum = 0.0f, size = 0.0f;
        for (int i = 0; i < c->in_channels; i++)
          for (int ky = 0; ky < c->kernel; ky++)
            for (int kx = 0; kx < c->kernel; kx++) {
              int iy = reference_index (y * c->stride - c->padding + ky, c->height, c->pad);
              int ix = reference_index (x * c->stride - c->padding + kx, c->width, c->pad);
              float v = iy < 0 || ix < 0
                          ? 0.0f : round (input[((gsize) i * c->height + iy) * c->width + ix]);
              float w = round (conv->weight[(((gsize) q * c->in_channels + i) * c->kernel + ky)
                                            * c->kernel + kx]);
              sum += v * w;
              size += fabsf (v * w);
            }
        int channel = q % c->channels, phase = q / c->channels;
        int oy = c->phases ? 2 * y + phase / 2 : y, ox = c->phases ? 2 * x + phase % 2 : x;
        gsize at = ((gsize) channel * out_height + oy) * out_width + ox;
        float value = sum + conv->bias[channel];
        output[at] = c->activation == TUNIT_ACTIVATION_RELU ? MAX (value, 0.0f)
                     : c->activation == TUNIT_ACTIVATION_TANH ? tanhf (value) : value;
        magnitude[at] = size + fabsf (conv->bias[channel]);
      }
}

static float
keep (float value)
{
  return value;
}

static CpuContext
make_context (void)
{
  CpuContext cpu = { .isa = tunit_cpu_isa_detect () };
  cpu.pool = cpu_thread_pool_new (tunit_cpu_threads_init (0), tunit_cpu_worker_thread_start,
                                  NULL, NULL);
  g_assert_nonnull (cpu.pool);
  cpu.threads = cpu_thread_pool_threads (cpu.pool);
  CpuGemmProvider provider;
  g_assert_true (tunit_cpu_gemm_choose (TUNIT_CPU_GEMM_AUTO, &provider, NULL));
  cpu.gemm = (CpuGemm) { .provider = provider };
  return cpu;
}

static void
test_case (gconstpointer data)
{
  const Bf16Case *c = data;
  GRand *rand = g_rand_new_with_seed (15);
  int rows = c->phases ? 4 * c->channels : c->channels;
  gsize n_weight = (gsize) rows * c->in_channels * c->kernel * c->kernel;
  gsize n_input = (gsize) c->in_channels * c->height * c->width;
  float *weight = g_new (float, n_weight), *bias = g_new (float, c->channels);
  float *input = g_new (float, n_input);
  for (gsize i = 0; i < n_weight; i++)
    weight[i] = (float) g_rand_double_range (rand, -0.3, 0.3);
  for (int i = 0; i < c->channels; i++)
    bias[i] = (float) g_rand_double_range (rand, -0.2, 0.2);
  for (gsize i = 0; i < n_input; i++)
    input[i] = (float) g_rand_double_range (rand, -1.5, 1.5);
  CpuConv conv = {
    .name = c->name, .in_channels = c->in_channels, .channels = c->channels, .rows = rows,
    .kernel = c->kernel, .stride = c->stride, .padding = c->padding, .pad = c->pad,
    .phases = c->phases, .weight = weight, .bias = bias, .activation = c->activation,
  };
  TunitShape in = { c->in_channels, c->height, c->width }, out;
  if (c->phases)
    out = (TunitShape) { c->channels, 2 * c->height, 2 * c->width };
  else
    out = (TunitShape) { c->channels, (c->height + 2 * c->padding - c->kernel) / c->stride + 1,
                         (c->width + 2 * c->padding - c->kernel) / c->stride + 1 };
  CpuContext cpu = make_context ();
  CpuConvPolicy policy = { .bf16 = TRUE };
  const CpuConvAlgorithm *algorithm = &tunit_cpu_bf16_conv;
  g_assert_true (algorithm->applies (&conv, &policy));
  void *state = algorithm->prepare (&conv, &cpu);
  CpuScratchSize need = { 0 };
  algorithm->size (state, &conv, &policy, &in, &out, &need);
  CpuScratch scratch = { .per_thread = g_new0 (float *, cpu.threads) };
  g_assert_cmpint (posix_memalign ((void **) &scratch.shared, 64,
                                   sizeof (float) * MAX (need.shared, 1)), ==, 0);
  scratch.weights = g_new (float, MAX (need.weights, 1));
  for (int t = 0; t < cpu.threads; t++)
    scratch.per_thread[t] = g_new (float, MAX (need.per_thread, 1));
  gsize n_out = tunit_shape_count (&out);
  float *got = g_new (float, n_out), *emulated = g_new (float, n_out);
  float *exact = g_new (float, n_out), *magnitude = g_new (float, n_out);
  algorithm->run (state, &conv, input, &in, got, &out, &scratch, &cpu);
  reference_conv (c, &conv, input, emulate_bf16, out.width, out.height, emulated, magnitude);
  reference_conv (c, &conv, input, keep, out.width, out.height, exact, magnitude);
  /* fp32 sums of the same exact products, in another order: a few fp32
   * roundings of the running sum */
  double worst = 0.0, from_fp32 = 0.0;
  for (gsize i = 0; i < n_out; i++) {
    worst = MAX (worst, fabs (got[i] - emulated[i]) / (magnitude[i] + 1e-3));
    from_fp32 = MAX (from_fp32, fabs (got[i] - exact[i]) / (magnitude[i] + 1e-3));
  }
  g_test_message ("%s (%s): max |bf16 - emulation| %.2e, max |bf16 - fp32| %.2e, "
                  "relative to sum |products|", c->name, mode, worst, from_fp32);
  g_assert_cmpfloat (worst, <, 2e-6);
  /* and it did round: fp32 inputs would be ~1e-3 away from the emulation */
  g_assert_cmpfloat (from_fp32, >, 2e-4);
  algorithm->free (state);
  for (int t = 0; t < cpu.threads; t++)
    g_free (scratch.per_thread[t]);
  g_free (scratch.per_thread);
  g_free (scratch.weights);
  free (scratch.shared);
  cpu_thread_pool_free (cpu.pool);
  g_free (got), g_free (emulated), g_free (exact), g_free (magnitude);
  g_free (weight), g_free (bias), g_free (input);
  g_rand_free (rand);
}

/* The op-test table on a bf16 backend: bf16's ~3 significant digits. */
static void
test_op_table (void)
{
  g_autoptr (GError) error = NULL;
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  options.precision = TUNIT_PRECISION_BF16;
  options.force_bf16 = TRUE;
  TunitBackend *backend = tunit_cpu_backend_new (&options, &error);
  g_assert_no_error (error);
  g_test_message ("%s", backend->description);
  g_assert_nonnull (strstr (backend->description, "bf16 convolutions"));
  OpTableRun run = {
    .backend = backend, .label = "bf16", .tolerance = 3e-2, .offset_norm_tolerance = 3e-2,
    .fuse_upsample_conv = TRUE, .use = TUNIT_GRAPH_PER_FRAME,
  };
  op_table_run (&run);
  tunit_backend_free (backend);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  mode = argc > 1 ? argv[1] : "native";
  g_autofree char *kernel = tunit_cpu_bf16_conv_describe ();
  gboolean onednn = g_str_has_prefix (kernel, "oneDNN");
  const char *native = tunit_cpu_native_bf16 ();
  g_print ("# CPU bf16: %s; bf16 convolutions by %s\n", native ? native : "none", kernel);
  if (strcmp (mode, "native") == 0 && native == NULL) {
    g_print ("1..0 # SKIP this CPU has neither AMX-BF16 nor AVX512-BF16\n");
    return 0;
  }
  if (strcmp (mode, "native") == 0)
    g_assert_true (onednn);                 /* a CPU with bf16: oneDNN's kernels run */
  else if (strcmp (mode, "portable") == 0)
    g_assert_false (onednn);                /* ONEDNN_MAX_CPU_ISA=AVX2: ours */
  else
    g_error ("usage: test-cpu-bf16 native|portable");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *path = g_strdup_printf ("/cpu/bf16/%s/%s", mode, cases[i].name);
    g_test_add_data_func (path, &cases[i], test_case);
  }
  g_autofree char *table = g_strdup_printf ("/cpu/bf16/%s/op-table", mode);
  g_test_add_func (table, test_op_table);
  return g_test_run ();
}
