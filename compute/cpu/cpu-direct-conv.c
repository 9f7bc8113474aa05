/* cpu-direct-conv.c - direct convolution for layers with few output or
 * input channels (the generator's first and last 7x7 layers). */
#include "cpu-common.h"

/* At most this many output or input channels; the outputs are computed
 * in groups of this many, whose accumulators stay in registers. */
#define DIRECT_MAX_CHANNELS 4
#define DIRECT_BAND_ROWS 4
#define DIRECT_BLOCK 16

static gboolean
direct_applies (const CpuConv *conv, const CpuConvPolicy *policy)
{
  return !policy->reference_only && conv->stride == 1 && !conv->phases
         && (conv->channels <= DIRECT_MAX_CHANNELS || conv->in_channels <= DIRECT_MAX_CHANNELS);
}

static int
direct_band_width (const CpuConv *conv, const TunitShape *out)
{
  int blocks = (out->width + DIRECT_BLOCK - 1) / DIRECT_BLOCK;
  return blocks * DIRECT_BLOCK + conv->kernel - 1;
}

static void
direct_size (void *state, const CpuConv *conv, const CpuConvPolicy *policy,
             const TunitShape *in, const TunitShape *out, CpuScratchSize *need)
{
  gsize width = direct_band_width (conv, out);
  *need = (CpuScratchSize) {
    .per_thread = (gsize) conv->in_channels * (DIRECT_BAND_ROWS + conv->kernel - 1) * width
                  + (gsize) DIRECT_MAX_CHANNELS * width,
  };
}

/* acc[o][0..band_width) for one output row: sum over c, ky, kx; one
 * version per output count so that the accumulators stay in registers. */
#define DIRECT_ROW_PARAMS                                                                  \
  (const float *band, int band_rows, int band_width, int y, int in_channels, int k,        \
   const float *weight, int width, float *acc)
#define DIRECT_ROW_ARGS (band, band_rows, band_width, y, in_channels, k, weight, width, acc)
#define DIRECT_ROW(NOUT)                                                                   \
  ALWAYS_INLINE void                                                                       \
  direct_row_##NOUT##_body DIRECT_ROW_PARAMS                                               \
  {                                                                                        \
    gsize plane = (gsize) in_channels * k * k;                                             \
    for (int x0 = 0; x0 < width; x0 += DIRECT_BLOCK) {                                     \
      v8sf a0[NOUT], a1[NOUT];                                                             \
      for (int o = 0; o < NOUT; o++)                                                       \
        a0[o] = a1[o] = (v8sf) { 0 };                                                      \
      for (int c = 0; c < in_channels; c++) {                                              \
        for (int ky = 0; ky < k; ky++) {                                                   \
          const float *src = band + ((gsize) c * band_rows + y + ky) * band_width + x0;    \
          const float *w = weight + (c * k + ky) * k;                                      \
          for (int kx = 0; kx < k; kx++) {                                                 \
            v8sf v0 = load8 (src + kx), v1 = load8 (src + kx + 8);                         \
            for (int o = 0; o < NOUT; o++) {                                               \
              float wv = w[o * plane + kx];                                                \
              a0[o] += wv * v0;                                                            \
              a1[o] += wv * v1;                                                            \
            }                                                                              \
          }                                                                                \
        }                                                                                  \
      }                                                                                    \
      for (int o = 0; o < NOUT; o++) {                                                     \
        store8 (acc + o * band_width + x0, a0[o]);                                         \
        store8 (acc + o * band_width + x0 + 8, a1[o]);                                     \
      }                                                                                    \
    }                                                                                      \
  }                                                                                        \
  VOID_VARIANTS (direct_row_##NOUT, DIRECT_ROW_PARAMS, DIRECT_ROW_ARGS)
DIRECT_ROW (1)
DIRECT_ROW (2)
DIRECT_ROW (3)
DIRECT_ROW (4)

static void
direct_row (const float *band, int band_rows, int band_width, int y, int in_channels,
            int k, const float *weight, int n_out, int width, float *acc, TunitCpuIsa isa)
{
  switch (n_out) {
  case 1: direct_row_1_variants[isa] DIRECT_ROW_ARGS; break;
  case 2: direct_row_2_variants[isa] DIRECT_ROW_ARGS; break;
  case 3: direct_row_3_variants[isa] DIRECT_ROW_ARGS; break;
  default: direct_row_4_variants[isa] DIRECT_ROW_ARGS; break;
  }
}

/* One convolution, as the bands see it. */
typedef struct {
  const CpuConv *node;
  const float *input;
  const TunitShape *in;
  float *output;
  const TunitShape *out;
  const CpuScratch *scratch;
  TunitCpuIsa isa;
  int band_width;
} DirectCall;

/* Output rows b * DIRECT_BAND_ROWS ..., on worker `worker`. */
static void
direct_band (void *data, int b, int worker)
{
  const DirectCall *call = data;
  const CpuConv *node = call->node;
  const float *input = call->input;
  const TunitShape *in = call->in, *out = call->out;
  float *output = call->output;
  int k = node->kernel, pad = node->padding;
  int band_width = call->band_width;
  gsize out_plane = (gsize) out->height * out->width;
  float *band = call->scratch->per_thread[worker];
  int y0 = b * DIRECT_BAND_ROWS, rows = MIN (DIRECT_BAND_ROWS, out->height - y0);
  int band_rows = rows + k - 1;
  float *acc = band + (gsize) node->in_channels * band_rows * band_width;
  /* the padded input rows of this band */
  for (int c = 0; c < node->in_channels; c++) {
    const float *plane = input + (gsize) c * in->height * in->width;
    for (int r = 0; r < band_rows; r++) {
      float *dst = band + ((gsize) c * band_rows + r) * band_width;
      int iy = padded_index (y0 + r - pad, in->height, node->pad);
      if (iy < 0) {
        memset (dst, 0, sizeof (float) * band_width);
        continue;
      }
      const float *src = plane + (gsize) iy * in->width;
      for (int x = 0; x < band_width; x++) {
        int ix = x - pad;
        if (ix >= 0 && ix < in->width)
          dst[x] = src[ix];
        else if (ix >= in->width + pad)
          dst[x] = 0.0f;
        else {
          ix = padded_index (ix, in->width, node->pad);
          dst[x] = ix < 0 ? 0.0f : src[ix];
        }
      }
    }
  }
  /* the outputs in groups of up to four, whose accumulators fit in registers */
  for (int y = 0; y < rows; y++) {
    for (int o0 = 0; o0 < node->channels; o0 += DIRECT_MAX_CHANNELS) {
      int group = MIN (DIRECT_MAX_CHANNELS, node->channels - o0);
      direct_row (band, band_rows, band_width, y, node->in_channels, k,
                  node->weight + (gsize) o0 * node->in_channels * k * k, group,
                  out->width, acc, call->isa);
      for (int o = o0; o < o0 + group; o++) {
        float *dst = output + o * out_plane + (gsize) (y0 + y) * out->width;
        float bias = conv_row_bias (node, o);
        const float *a = acc + (o - o0) * band_width;
        for (int x = 0; x < out->width; x++)
          dst[x] = activate (a[x] + bias, node->activation);
      }
    }
  }
}

static void
direct_run (void *state, const CpuConv *node, const float *input, const TunitShape *in,
            float *output, const TunitShape *out, const CpuScratch *scratch,
            const CpuContext *cpu)
{
  DirectCall call = {
    .node = node, .input = input, .in = in, .output = output, .out = out,
    .scratch = scratch, .isa = cpu->isa, .band_width = direct_band_width (node, out),
  };
  int n_bands = (out->height + DIRECT_BAND_ROWS - 1) / DIRECT_BAND_ROWS;
  cpu_thread_pool_for (cpu->pool, cpu->threads, n_bands, CPU_SCHEDULE_DYNAMIC, direct_band,
                       &call);
}

const CpuConvAlgorithm tunit_cpu_direct_conv = {
  .name = "direct",
  .applies = direct_applies,
  .size = direct_size,
  .run = direct_run,
};
