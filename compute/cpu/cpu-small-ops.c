/* cpu-small-ops.c - the cheap nodes: nearest upsampling, max and average
 * pooling, linear layers, residual adds.  A new cheap op is one more
 * function here and one more case in tunit_cpu_small_op_run. */
#include "cpu-common.h"

static void
upsample_nearest2x (const float *input, const TunitShape *in, float *output)
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

static void
max_pool2x2 (const float *input, const TunitShape *in, float *output, const TunitShape *out)
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

static void
global_average_pool (const float *input, const TunitShape *in, float *output)
{
  gsize plane = (gsize) in->height * in->width;
  for (int c = 0; c < in->channels; c++) {
    double sum = 0.0;
    for (gsize i = 0; i < plane; i++)
      sum += input[c * plane + i];
    output[c] = (float) (sum / plane);
  }
}

static void
linear (const TunitNode *node, const float *input, float *output, const CpuGemm *gemm)
{
  for (int o = 0; o < node->channels; o++)
    output[o] = node->bias ? node->bias[o] : 0.0f;
  cpu_gemv_add (gemm, node->channels, node->in_channels, node->weight, node->in_channels, input,
                output);
  for (int o = 0; o < node->channels; o++)
    output[o] = activate (output[o], node->activation);
}

typedef struct {
  const float *skip, *residual;
  float *output;
  gsize plane;
  float scale;
} ResidualCall;

static void
residual_add_channel (void *data, int c, int worker)
{
  const ResidualCall *call = data;
  for (gsize i = c * call->plane; i < (c + 1) * call->plane; i++)
    call->output[i] = call->skip[i] + call->scale * call->residual[i];
}

/* inputs[0] + scale * inputs[1]; output may be inputs[0] (in place) */
static void
residual_add (const TunitNode *node, const float *skip, const float *residual,
              const TunitShape *shape, float *output, const CpuContext *cpu)
{
  ResidualCall call = {
    .skip = skip, .residual = residual, .output = output,
    .plane = (gsize) shape->height * shape->width, .scale = node->residual_scale,
  };
  cpu_thread_pool_for (cpu->pool, cpu->threads, shape->channels, CPU_SCHEDULE_STATIC,
                       residual_add_channel, &call);
}

gboolean
tunit_cpu_small_op_implements (TunitOpKind op)
{
  switch (op) {
  case TUNIT_OP_UPSAMPLE_NEAREST2X:
  case TUNIT_OP_MAX_POOL2X2:
  case TUNIT_OP_GLOBAL_AVERAGE_POOL:
  case TUNIT_OP_LINEAR:
  case TUNIT_OP_RESIDUAL_ADD:
    return TRUE;
  default:
    return FALSE;
  }
}

void
tunit_cpu_small_op_run (const TunitNode *node, const float *const *inputs,
                        const TunitShape *const *in, float *output, const TunitShape *out,
                        const CpuContext *cpu)
{
  switch (node->op) {
  case TUNIT_OP_UPSAMPLE_NEAREST2X:
    upsample_nearest2x (inputs[0], in[0], output);
    break;
  case TUNIT_OP_MAX_POOL2X2:
    max_pool2x2 (inputs[0], in[0], output, out);
    break;
  case TUNIT_OP_GLOBAL_AVERAGE_POOL:
    global_average_pool (inputs[0], in[0], output);
    break;
  case TUNIT_OP_LINEAR:
    linear (node, inputs[0], output, &cpu->gemm);
    break;
  case TUNIT_OP_RESIDUAL_ADD:
    residual_add (node, inputs[0], inputs[1], out, output, cpu);
    break;
  default:
    g_assert_not_reached ();
  }
}
