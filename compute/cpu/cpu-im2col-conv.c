/* cpu-im2col-conv.c - any convolution as im2col + sgemm, in bands
 * of output rows: the reference the faster algorithms are checked
 * against, and whatever none of them takes. */
#include "cpu-common.h"

/* The GEMM's pixels: the output's, or the small image's for phases. */
static TunitShape
gemm_shape (const CpuConv *conv, const TunitShape *in, const TunitShape *out)
{
  if (conv->phases)
    return (TunitShape) { conv->rows, in->height, in->width };
  return *out;
}

/* Floats of scratch per GEMM row of pixels: the columns, and the products
 * that phases scatter into the output afterwards. */
static gsize
row_floats (const CpuConv *conv, const TunitShape *gemm)
{
  gsize depth = (gsize) conv->in_channels * conv->kernel * conv->kernel;
  return (depth + (conv->phases ? conv->rows : 0)) * gemm->width;
}

static int
band_rows (const CpuConv *conv, const TunitShape *gemm)
{
  gsize rows = MAX (TUNIT_CPU_COLUMN_BUDGET / MAX (row_floats (conv, gemm), 1), 1);
  return (int) MIN (rows, (gsize) gemm->height);
}

static gboolean
im2col_applies (const CpuConv *conv, const CpuConvPolicy *policy)
{
  return TRUE;
}

static void
im2col_size (void *state, const CpuConv *conv, const CpuConvPolicy *policy,
             const TunitShape *in, const TunitShape *out, CpuScratchSize *need)
{
  TunitShape gemm = gemm_shape (conv, in, out);
  *need = (CpuScratchSize) { .shared = row_floats (conv, &gemm) * band_rows (conv, &gemm) };
}

/* Fills rows c*k*k .. (c+1)*k*k-1 of the column matrix
 * [in_channels*k*k][...] (row stride `band`) for GEMM rows
 * y0 .. y0+rows-1. */
static void
fill_columns_channel (const CpuConv *conv, int c, const float *input, const TunitShape *in,
                      const TunitShape *gemm, int y0, int rows, float *columns, gsize band)
{
  int k = conv->kernel, stride = conv->stride, pad = conv->padding;
  const float *plane = input + (gsize) c * in->height * in->width;
  for (int ky = 0; ky < k; ky++) {
    for (int kx = 0; kx < k; kx++) {
      float *row = columns + ((gsize) (c * k + ky) * k + kx) * band;
      /* columns whose input column is inside the image */
      int off = kx - pad;
      int x_lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
      int x_hi = (in->width - 1 - off) >= 0 ? (in->width - 1 - off) / stride + 1 : 0;
      x_lo = MIN (x_lo, gemm->width);
      x_hi = CLAMP (x_hi, x_lo, gemm->width);
      for (int y = 0; y < rows; y++) {
        int iy = padded_index ((y0 + y) * stride - pad + ky, in->height, conv->pad);
        float *dst = row + (gsize) y * gemm->width;
        if (iy < 0) {
          memset (dst, 0, sizeof (float) * gemm->width);
          continue;
        }
        const float *src = plane + (gsize) iy * in->width;
        for (int x = 0; x < x_lo; x++)
          dst[x] = padded_value (src, x * stride + off, in->width, conv->pad);
        if (stride == 1) {
          memcpy (dst + x_lo, src + x_lo + off, sizeof (float) * (x_hi - x_lo));
        } else {
          const float *s = src + off;
          for (int x = x_lo; x < x_hi; x++)
            dst[x] = s[x * stride];
        }
        for (int x = x_hi; x < gemm->width; x++)
          dst[x] = padded_value (src, x * stride + off, in->width, conv->pad);
      }
    }
  }
}

/* One convolution, as its workers see it. */
typedef struct {
  const CpuConv *conv;
  const CpuContext *cpu;
  const float *input;
  const TunitShape *in;
  float *output;
  const TunitShape *out;
  TunitShape gemm;
  int depth;
  float *columns;            /* the band's columns, [depth][band] */
  float *products;           /* phases: the band's products, [rows][band] */
  /* the band in flight */
  int y0, n_rows;
} Im2colCall;

/* Phases: the products of GEMM row q for the band's rows go to the
 * interleaved output, with bias and activation. */
static void
store_phase_products (void *data, int q, int worker)
{
  const Im2colCall *call = data;
  gsize band = (gsize) call->n_rows * call->gemm.width;
  for (int y = 0; y < call->n_rows; y++)
    conv_store_row (call->conv, q, call->y0 + y,
                    call->products + q * band + (gsize) y * call->gemm.width,
                    call->gemm.width, call->output, call->out);
}

/* Each worker fills and multiplies the columns of its share of the
 * band's rows: balanced however few the input or output channels are
 * (the first layer has 3 inputs, the default model's 16 outputs). */
static void
multiply_band_share (void *data, int index, int count)
{
  const Im2colCall *call = data;
  const CpuConv *conv = call->conv;
  int n_rows = call->n_rows, width = call->gemm.width;
  int r0 = n_rows * index / count, r1 = n_rows * (index + 1) / count;
  if (r1 <= r0)
    return;
  int band = n_rows * width;
  float *columns = call->columns + (gsize) r0 * width;
  for (int c = 0; c < conv->in_channels; c++)
    fill_columns_channel (conv, c, call->input, call->in, &call->gemm, call->y0 + r0, r1 - r0,
                          columns, band);
  gsize plane = (gsize) call->gemm.height * width;
  float *result = conv->phases ? call->products + (gsize) r0 * width
                               : call->output + (gsize) (call->y0 + r0) * width;
  cpu_gemm (&call->cpu->gemm, conv->rows, (r1 - r0) * width, call->depth, conv->weight,
            call->depth, columns, band, 0.0f, result, conv->phases ? band : (int) plane);
}

static void
bias_activate_channel (void *data, int c, int worker)
{
  const Im2colCall *call = data;
  gsize plane = (gsize) call->gemm.height * call->gemm.width;
  bias_activate_row (call->output + c * plane, plane, conv_row_bias (call->conv, c),
                     call->conv->activation);
}

static void
im2col_run (void *state, const CpuConv *conv, const float *input, const TunitShape *in,
            float *output, const TunitShape *out, const CpuScratch *scratch,
            const CpuContext *cpu)
{
  Im2colCall call = {
    .conv = conv, .cpu = cpu, .input = input, .in = in, .output = output, .out = out,
    .gemm = gemm_shape (conv, in, out),
    .depth = conv->in_channels * conv->kernel * conv->kernel,
    .columns = scratch->shared,
  };
  int rows = band_rows (conv, &call.gemm);
  call.products = scratch->shared + (gsize) call.depth * call.gemm.width * rows;
  for (call.y0 = 0; call.y0 < call.gemm.height; call.y0 += rows) {
    call.n_rows = MIN (rows, call.gemm.height - call.y0);
    cpu_thread_pool_run (cpu->pool, cpu->threads, multiply_band_share, &call);
    if (conv->phases)
      cpu_thread_pool_for (cpu->pool, cpu->threads, conv->rows, CPU_SCHEDULE_STATIC,
                           store_phase_products, &call);
  }
  if (!conv->phases)
    cpu_thread_pool_for (cpu->pool, cpu->threads, conv->channels, CPU_SCHEDULE_STATIC,
                         bias_activate_channel, &call);
}

const CpuConvAlgorithm tunit_cpu_im2col_conv = {
  .name = "im2col",
  .applies = im2col_applies,
  .size = im2col_size,
  .run = im2col_run,
};
