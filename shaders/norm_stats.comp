#version 450
/* norm_stats.comp - first half of instance normalisation: per channel
 * partial statistics.
 *
 * Workgroup (b, c) covers elements [b * chunk, (b + 1) * chunk) of channel
 * c.  Each thread runs Welford's update over its strided share, then the
 * workgroup merges the threads' (count, mean, M2) triples pairwise with
 * Chan's formula.  This is far more careful than sum / sum of squares in
 * fp32, whose cancellation would cost digits on large, offset frames.
 * The triple lands in partials[(c * blocks + b) * 3 ...]; norm_apply.comp
 * merges the blocks of a channel. */
#include "common.glsl"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;   /* a power of two */

layout (std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 1) writeonly buffer Partials { float partials[]; };

layout (push_constant) uniform Params { TUNIT_NORM_STATS_PUSH } p;

shared float s_count[gl_WorkGroupSize.x];
shared float s_mean[gl_WorkGroupSize.x];
shared float s_m2[gl_WorkGroupSize.x];

void main ()
{
  int tid = int (gl_LocalInvocationID.x);
  int wg = int (gl_WorkGroupSize.x);
  int block = int (gl_WorkGroupID.x), channel = int (gl_WorkGroupID.y);
  int begin = block * p.chunk;
  int end = min (begin + p.chunk, p.plane);
  int base = channel * p.plane;

  float count = 0.0, mean = 0.0, m2 = 0.0;
  for (int i = begin + tid; i < end; i += wg) {
    float v = float (x[base + i]);
    count += 1.0;
    float delta = v - mean;
    mean += delta / count;
    m2 += delta * (v - mean);
  }
  s_count[tid] = count;
  s_mean[tid] = mean;
  s_m2[tid] = m2;
  barrier ();

  for (int stride = wg / 2; stride > 0; stride /= 2) {
    if (tid < stride) {
      float na = s_count[tid], nb = s_count[tid + stride];
      float n = na + nb;
      if (nb > 0.0) {
        float delta = s_mean[tid + stride] - s_mean[tid];
        s_mean[tid] += delta * (nb / n);
        s_m2[tid] += s_m2[tid + stride] + delta * delta * (na * nb / n);
        s_count[tid] = n;
      }
    }
    barrier ();
  }
  if (tid == 0) {
    int o = (channel * p.blocks + block) * 3;
    partials[o] = s_count[0];
    partials[o + 1] = s_mean[0];
    partials[o + 2] = s_m2[0];
  }
}
