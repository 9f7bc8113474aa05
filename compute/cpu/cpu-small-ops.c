/* cpu-small-ops.c - the cheap passes: nearest upsampling, max and average
 * pooling, linear layers, residual adds. */
#include "cpu-common.h"

#include <cblas.h>

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
                        const TunitShape *shape, float *output, int threads)
{
  gsize plane = (gsize) shape->height * shape->width;
  float scale = node->residual_scale;
#pragma omp parallel for num_threads (threads) schedule (static)
  for (int c = 0; c < shape->channels; c++)
    for (gsize i = c * plane; i < (c + 1) * plane; i++)
      output[i] = skip[i] + scale * residual[i];
}
