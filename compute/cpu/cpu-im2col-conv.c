/* cpu-im2col-conv.c - any convolution as im2col + OpenBLAS sgemm, in bands
 * of output rows: the reference the faster algorithms are checked
 * against, and whatever none of them takes. */
#include "cpu-common.h"

#include <cblas.h>

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

/* Phases: the products of GEMM rows y0 .. y0+rows-1 go to the interleaved
 * output, with bias and activation. */
static void
store_phase_products (const CpuConv *conv, float *products, int y0, int rows,
                      const TunitShape *gemm, float *output, const TunitShape *out,
                      const CpuContext *cpu)
{
  gsize band = (gsize) rows * gemm->width;
#pragma omp parallel for num_threads (cpu->threads) schedule (static)
  for (int q = 0; q < conv->rows; q++)
    for (int y = 0; y < rows; y++)
      conv_store_row (conv, q, y0 + y, products + q * band + (gsize) y * gemm->width,
                      gemm->width, output, out);
}

static void
im2col_run (void *state, const CpuConv *conv, const float *input, const TunitShape *in,
            float *output, const TunitShape *out, const CpuScratch *scratch,
            const CpuContext *cpu)
{
  TunitShape gemm = gemm_shape (conv, in, out);
  int rows = band_rows (conv, &gemm);
  int depth = conv->in_channels * conv->kernel * conv->kernel;
  gsize plane = (gsize) gemm.height * gemm.width;
  float *products = scratch->shared + (gsize) depth * gemm.width * rows;
  for (int y0 = 0; y0 < gemm.height; y0 += rows) {
    int n_rows = MIN (rows, gemm.height - y0);
    int band = n_rows * gemm.width;
    /* each thread fills and multiplies the columns of its share of the
     * band's rows: balanced however few the input or output channels are
     * (the first layer has 3 inputs, the default model's 16 outputs) */
#pragma omp parallel num_threads (cpu->threads)
    {
      int id = THREAD_ID (), nt = THREAD_COUNT ();
      int r0 = n_rows * id / nt, r1 = n_rows * (id + 1) / nt;
      if (r1 > r0) {
        float *columns = scratch->shared + (gsize) r0 * gemm.width;
        for (int c = 0; c < conv->in_channels; c++)
          fill_columns_channel (conv, c, input, in, &gemm, y0 + r0, r1 - r0, columns, band);
        float *result = conv->phases ? products + (gsize) r0 * gemm.width
                                     : output + (gsize) (y0 + r0) * gemm.width;
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, conv->rows,
                     (r1 - r0) * gemm.width, depth, 1.0f, conv->weight, depth, columns, band,
                     0.0f, result, conv->phases ? band : (int) plane);
      }
    }
    if (conv->phases)
      store_phase_products (conv, products, y0, n_rows, &gemm, output, out, cpu);
  }
  if (conv->phases)
    return;
#pragma omp parallel for num_threads (cpu->threads) schedule (static)
  for (int c = 0; c < conv->channels; c++)
    bias_activate_row (output + c * plane, plane, conv_row_bias (conv, c), conv->activation);
}

const CpuConvAlgorithm tunit_cpu_im2col_conv = {
  .name = "im2col",
  .applies = im2col_applies,
  .size = im2col_size,
  .run = im2col_run,
};
