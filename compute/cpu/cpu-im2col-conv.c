/* cpu-im2col-conv.c - any convolution as im2col + OpenBLAS sgemm, in bands
 * of output rows (the reference path, and whatever no faster one takes). */
#include "cpu-common.h"

#include <cblas.h>

/* ------------------------------------------------ generic convolution */

static int
band_rows (const TunitNode *node, const TunitShape *out)
{
  gsize row = (gsize) node->in_channels * node->kernel * node->kernel * out->width;
  gsize rows = MAX (TUNIT_CPU_COLUMN_BUDGET / MAX (row, 1), 1);
  return (int) MIN (rows, (gsize) out->height);
}

gsize
tunit_cpu_conv_scratch_size (const TunitNode *node, const TunitShape *out)
{
  return (gsize) node->in_channels * node->kernel * node->kernel * out->width
         * band_rows (node, out);
}

/* Fills rows c*k*k .. (c+1)*k*k-1 of the column matrix
 * [in_channels*k*k][...] (row stride `band`) for output rows
 * y0 .. y0+rows-1. */
static void
fill_columns_channel (const TunitNode *node, int c, const float *input, const TunitShape *in,
                      const TunitShape *out, int y0, int rows, float *columns, gsize band)
{
  int k = node->kernel, stride = node->stride, pad = node->padding;
  const float *plane = input + (gsize) c * in->height * in->width;
  for (int ky = 0; ky < k; ky++) {
    for (int kx = 0; kx < k; kx++) {
      float *row = columns + ((gsize) (c * k + ky) * k + kx) * band;
      /* output columns whose input column is inside the image */
      int off = kx - pad;
      int x_lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
      int x_hi = (in->width - 1 - off) >= 0 ? (in->width - 1 - off) / stride + 1 : 0;
      x_lo = MIN (x_lo, out->width);
      x_hi = CLAMP (x_hi, x_lo, out->width);
      for (int y = 0; y < rows; y++) {
        int iy = padded_index ((y0 + y) * stride - pad + ky, in->height, node->pad_mode);
        float *dst = row + (gsize) y * out->width;
        if (iy < 0) {
          memset (dst, 0, sizeof (float) * out->width);
          continue;
        }
        const float *src = plane + (gsize) iy * in->width;
        for (int x = 0; x < x_lo; x++) {
          int ix = padded_index (x * stride + off, in->width, node->pad_mode);
          dst[x] = ix < 0 ? 0.0f : src[ix];
        }
        if (stride == 1) {
          memcpy (dst + x_lo, src + x_lo + off, sizeof (float) * (x_hi - x_lo));
        } else {
          const float *s = src + off;
          for (int x = x_lo; x < x_hi; x++)
            dst[x] = s[x * stride];
        }
        for (int x = x_hi; x < out->width; x++) {
          int ix = padded_index (x * stride + off, in->width, node->pad_mode);
          dst[x] = ix < 0 ? 0.0f : src[ix];
        }
      }
    }
  }
}

void
tunit_cpu_conv (const TunitNode *node, const float *input, const TunitShape *in,
                float *output, const TunitShape *out, float *scratch, int threads)
{
  int rows = band_rows (node, out);
  int depth = node->in_channels * node->kernel * node->kernel;
  gsize plane = (gsize) out->height * out->width;
  for (int y0 = 0; y0 < out->height; y0 += rows) {
    int n_rows = MIN (rows, out->height - y0);
    int band = n_rows * out->width;
    /* each thread fills and multiplies the columns of its share of the
     * band's rows: balanced however few the input or output channels are
     * (the first layer has 3 inputs, the default model's 16 outputs) */
#pragma omp parallel num_threads (threads)
    {
      int id = THREAD_ID (), nt = THREAD_COUNT ();
      int r0 = n_rows * id / nt, r1 = n_rows * (id + 1) / nt;
      if (r1 > r0) {
        float *columns = scratch + (gsize) r0 * out->width;
        for (int c = 0; c < node->in_channels; c++)
          fill_columns_channel (node, c, input, in, out, y0 + r0, r1 - r0, columns, band);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, node->channels,
                     (r1 - r0) * out->width, depth, 1.0f, node->weight, depth, columns, band,
                     0.0f, output + (gsize) (y0 + r0) * out->width, (int) plane);
      }
    }
  }
#pragma omp parallel for num_threads (threads) schedule (static)
  for (int c = 0; c < node->channels; c++)
    bias_activate_row (output + c * plane, plane, node->bias ? node->bias[c] : 0.0f,
                       node->activation);
}
