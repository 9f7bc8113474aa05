/* cpu-instance-norm.c - instance normalisation and AdaIN with the current
 * frame's statistics, in place or not. */
#include "cpu-common.h"

/* sum of x[i] and of (x[i] - mean)^2, in float blocks summed in double */
ALWAYS_INLINE double
plane_sum_body (const float *x, gsize n, float mean)
{
  double total = 0.0;
  gsize i = 0;
  while (i + 8 <= n) {
    v8sf acc = { 0 };
    gsize end = MIN (n & ~(gsize) 7, i + 1024);
    for (; i < end; i += 8)
      acc += load8 (x + i) - mean;
    total += (double) acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
  }
  for (; i < n; i++)
    total += x[i] - mean;
  return total;
}
DOUBLE_VARIANTS (plane_sum, (const float *x, gsize n, float mean), (x, n, mean))

ALWAYS_INLINE double
plane_squares_body (const float *x, gsize n, float mean)
{
  double total = 0.0;
  gsize i = 0;
  while (i + 8 <= n) {
    v8sf acc = { 0 };
    gsize end = MIN (n & ~(gsize) 7, i + 1024);
    for (; i < end; i += 8) {
      v8sf d = load8 (x + i) - mean;
      acc += d * d;
    }
    total += (double) acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
  }
  for (; i < n; i++) {
    double d = x[i] - mean;
    total += d * d;
  }
  return total;
}
DOUBLE_VARIANTS (plane_squares, (const float *x, gsize n, float mean), (x, n, mean))

#define PLANE_AFFINE_PARAMS \
  (const float *src, float *dst, gsize n, float scale, float shift, gboolean relu)
ALWAYS_INLINE void
plane_affine_body PLANE_AFFINE_PARAMS
{
  if (relu)
    for (gsize i = 0; i < n; i++) {
      float v = src[i] * scale + shift;
      dst[i] = v > 0.0f ? v : 0.0f;
    }
  else
    for (gsize i = 0; i < n; i++)
      dst[i] = src[i] * scale + shift;
}
VOID_VARIANTS (plane_affine, PLANE_AFFINE_PARAMS, (src, dst, n, scale, shift, relu))

typedef struct {
  const TunitNode *node;
  const float *input;
  float *output;
  const float *parameters;
  gsize plane;
  TunitCpuIsa isa;
} NormCall;

static void
norm_channel (void *data, int c, int worker)
{
  const NormCall *call = data;
  const TunitNode *node = call->node;
  gsize plane = call->plane;
  TunitCpuIsa isa = call->isa;
  const float *src = call->input + c * plane;
  float *dst = call->output + c * plane;
  /* the mean, refined once, then the biased variance around it */
  double mean = plane_sum_variants[isa] (src, plane, 0.0f) / plane;
  mean += plane_sum_variants[isa] (src, plane, (float) mean) / plane;
  double squares = plane_squares_variants[isa] (src, plane, (float) mean);
  double inv_std = 1.0 / sqrt (squares / plane + TUNIT_NORM_EPSILON);
  double scale = inv_std, shift = -mean * inv_std;
  if (node->adaptive) {
    double bias = call->parameters[node->shift_offset + c];
    double weight = call->parameters[node->scale_offset + c];
    scale *= weight;
    shift = shift * weight + bias;
  }
  if (node->activation == TUNIT_ACTIVATION_TANH) {
    for (gsize i = 0; i < plane; i++)
      dst[i] = tanhf (src[i] * (float) scale + (float) shift);
  } else {
    plane_affine_variants[isa] (src, dst, plane, (float) scale, (float) shift,
                                node->activation == TUNIT_ACTIVATION_RELU);
  }
}

void
tunit_cpu_norm (const TunitNode *node, const float *input, const TunitShape *shape,
                float *output, const float *parameters, const CpuContext *cpu)
{
  NormCall call = {
    .node = node, .input = input, .output = output, .parameters = parameters,
    .plane = (gsize) shape->height * shape->width, .isa = cpu->isa,
  };
  cpu_thread_pool_for (cpu->pool, cpu->threads, shape->channels, CPU_SCHEDULE_STATIC,
                       norm_channel, &call);
}
