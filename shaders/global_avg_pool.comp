#version 450
/* global_avg_pool.comp - mean over H x W per channel; one workgroup per
 * channel, tree reduction in shared memory, fp32. */
#include "common.glsl"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;   /* a power of two */

layout (std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params { TUNIT_TENSOR_PUSH } p;

shared float s_sum[gl_WorkGroupSize.x];

void main ()
{
  int tid = int (gl_LocalInvocationID.x), wg = int (gl_WorkGroupSize.x);
  int channel = int (gl_WorkGroupID.x);
  float sum = 0.0;
  int plane = p.height * p.width;
  for (int i = tid; i < plane; i += wg)
    sum += float (x[channel * plane + i]);
  s_sum[tid] = sum;
  barrier ();
  for (int stride = wg / 2; stride > 0; stride /= 2) {
    if (tid < stride)
      s_sum[tid] += s_sum[tid + stride];
    barrier ();
  }
  if (tid == 0)
    y[channel] = TO_STORE (s_sum[0] / float (plane));
}
