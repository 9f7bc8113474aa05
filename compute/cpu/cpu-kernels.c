/* cpu-kernels.c - CPU kernels: convolution as banded im2col + OpenBLAS
 * sgemm, and the cheap element-wise and reduction passes. */
#include "cpu-kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static inline float
activate (float value, TunitActivation activation)
{
  switch (activation) {
  case TUNIT_ACTIVATION_RELU:
    return value > 0.0f ? value : 0.0f;
  case TUNIT_ACTIVATION_TANH:
    return tanhf (value);
  case TUNIT_ACTIVATION_NONE:
  default:
    return value;
  }
}

/* Index into a row of length n for a position that may lie in the
 * padding: reflection (edge not repeated) or -1 for zero padding. */
static inline int
padded_index (int position, int n, TunitPadMode mode)
{
  if (position >= 0 && position < n)
    return position;
  if (mode == TUNIT_PAD_ZERO)
    return -1;
  return position < 0 ? -position : 2 * (n - 1) - position;
}

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

/* Fills the column matrix [in_channels*k*k][rows*width] for output rows
 * y0 .. y0+rows-1. */
static void
fill_columns (const TunitNode *node, const float *input, const TunitShape *in,
              const TunitShape *out, int y0, int rows, float *columns)
{
  int k = node->kernel, stride = node->stride, pad = node->padding;
  gsize band = (gsize) rows * out->width;
  for (int c = 0; c < node->in_channels; c++) {
    const float *plane = input + (gsize) c * in->height * in->width;
    for (int ky = 0; ky < k; ky++) {
      for (int kx = 0; kx < k; kx++) {
        float *row = columns + ((gsize) (c * k + ky) * k + kx) * band;
        for (int y = 0; y < rows; y++) {
          int iy = padded_index ((y0 + y) * stride - pad + ky, in->height, node->pad_mode);
          float *dst = row + (gsize) y * out->width;
          if (iy < 0) {
            memset (dst, 0, sizeof (float) * out->width);
            continue;
          }
          const float *src = plane + (gsize) iy * in->width;
          for (int x = 0; x < out->width; x++) {
            int ix = padded_index (x * stride - pad + kx, in->width, node->pad_mode);
            dst[x] = ix < 0 ? 0.0f : src[ix];
          }
        }
      }
    }
  }
}

void
tunit_cpu_conv (const TunitNode *node, const float *input, const TunitShape *in,
                float *output, const TunitShape *out, float *scratch)
{
  int rows = band_rows (node, out);
  int depth = node->in_channels * node->kernel * node->kernel;
  gsize plane = (gsize) out->height * out->width;
  for (int y0 = 0; y0 < out->height; y0 += rows) {
    int n_rows = MIN (rows, out->height - y0);
    int band = n_rows * out->width;
    fill_columns (node, input, in, out, y0, n_rows, scratch);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, node->channels, band, depth,
                 1.0f, node->weight, depth, scratch, band, 0.0f,
                 output + (gsize) y0 * out->width, (int) plane);
  }
  for (int c = 0; c < node->channels; c++) {
    float *dst = output + c * plane;
    float bias = node->bias ? node->bias[c] : 0.0f;
    for (gsize i = 0; i < plane; i++)
      dst[i] = activate (dst[i] + bias, node->activation);
  }
}

void
tunit_cpu_norm (const TunitNode *node, const float *input, const TunitShape *shape,
                float *output, const float *adain_parameters)
{
  gsize plane = (gsize) shape->height * shape->width;
  for (int c = 0; c < shape->channels; c++) {
    const float *src = input + c * plane;
    float *dst = output + c * plane;
    /* two passes in double: the mean first, then the biased variance */
    double sum = 0.0;
    for (gsize i = 0; i < plane; i++)
      sum += src[i];
    double mean = sum / plane;
    double squares = 0.0;
    for (gsize i = 0; i < plane; i++) {
      double d = src[i] - mean;
      squares += d * d;
    }
    double inv_std = 1.0 / sqrt (squares / plane + TUNIT_NORM_EPSILON);
    double scale = inv_std, shift = -mean * inv_std;
    if (node->adaptive) {
      double bias = adain_parameters[node->adain_offset + c];
      double weight = adain_parameters[node->adain_offset + shape->channels + c];
      scale *= weight;
      shift = shift * weight + bias;
    }
    float fscale = (float) scale, fshift = (float) shift;
    for (gsize i = 0; i < plane; i++)
      dst[i] = activate (src[i] * fscale + fshift, node->activation);
  }
}

void
tunit_cpu_upsample_nearest2x (const float *input, const TunitShape *in, float *output)
{
  int out_width = in->width * 2;
  for (int c = 0; c < in->channels; c++) {
    for (int y = 0; y < in->height; y++) {
      const float *src = input + ((gsize) c * in->height + y) * in->width;
      float *dst = output + ((gsize) c * in->height * 2 + 2 * y) * out_width;
      for (int x = 0; x < in->width; x++)
        dst[2 * x] = dst[2 * x + 1] = src[x];
      memcpy (dst + out_width, dst, sizeof (float) * out_width);
    }
  }
}

void
tunit_cpu_max_pool2x2 (const float *input, const TunitShape *in, float *output,
                       const TunitShape *out)
{
  for (int c = 0; c < out->channels; c++) {
    const float *plane = input + (gsize) c * in->height * in->width;
    for (int y = 0; y < out->height; y++) {
      const float *top = plane + (gsize) (2 * y) * in->width;
      const float *bottom = top + in->width;
      float *dst = output + ((gsize) c * out->height + y) * out->width;
      for (int x = 0; x < out->width; x++)
        dst[x] = MAX (MAX (top[2 * x], top[2 * x + 1]), MAX (bottom[2 * x], bottom[2 * x + 1]));
    }
  }
}

void
tunit_cpu_global_average_pool (const float *input, const TunitShape *in, float *output)
{
  gsize plane = (gsize) in->height * in->width;
  for (int c = 0; c < in->channels; c++) {
    double sum = 0.0;
    for (gsize i = 0; i < plane; i++)
      sum += input[c * plane + i];
    output[c] = (float) (sum / plane);
  }
}

void
tunit_cpu_linear (const TunitNode *node, const float *input, float *output)
{
  for (int o = 0; o < node->channels; o++)
    output[o] = node->bias ? node->bias[o] : 0.0f;
  cblas_sgemv (CblasRowMajor, CblasNoTrans, node->channels, node->in_channels, 1.0f,
               node->weight, node->in_channels, input, 1, 1.0f, output, 1);
  for (int o = 0; o < node->channels; o++)
    output[o] = activate (output[o], node->activation);
}

void
tunit_cpu_residual_add (const TunitNode *node, const float *skip, const float *residual,
                        const TunitShape *shape, float *output)
{
  gsize count = (gsize) shape->channels * shape->height * shape->width;
  for (gsize i = 0; i < count; i++)
    output[i] = skip[i] + node->residual_scale * residual[i];
}
