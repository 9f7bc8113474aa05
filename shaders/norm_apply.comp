#version 450
/* norm_apply.comp - second half of instance normalisation.
 *
 * Workgroup row c merges the partial statistics of channel c (a few
 * dozen triples, see norm_stats.comp), then normalises its share of the
 * channel:  y = act((x - mean) / sqrt(var + eps) * gamma + beta), with
 * the biased variance.  Plain instance norm has gamma = 1, beta = 0;
 * AdaIN reads beta (the shift) at parameters[shift_offset + c] and gamma
 * (the scale) at parameters[scale_offset + c]. */
#include "common.glsl"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;
layout (constant_id = TUNIT_SPEC_ACTIVATION) const int ACT = 0;
layout (constant_id = TUNIT_SPEC_ADAPTIVE) const int ADAPTIVE = 0;

layout (std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 1) readonly buffer Partials { float partials[]; };
layout (std430, binding = 2) readonly buffer Parameters { float parameters[]; };
layout (std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params { TUNIT_NORM_APPLY_PUSH } p;

shared float s_mean, s_scale, s_shift;

void main ()
{
  int channel = int (gl_WorkGroupID.y);
  if (gl_LocalInvocationID.x == 0) {
    float count = 0.0, mean = 0.0, m2 = 0.0;
    for (int b = 0; b < p.blocks; b++) {
      int o = (channel * p.blocks + b) * 3;
      float nb = partials[o];
      if (nb == 0.0)
        continue;
      float n = count + nb;
      float delta = partials[o + 1] - mean;
      mean += delta * (nb / n);
      m2 += partials[o + 2] + delta * delta * (count * nb / n);
      count = n;
    }
    float gamma = 1.0, beta = 0.0;
    if (ADAPTIVE != 0) {
      beta = parameters[p.shift_offset + channel];
      gamma = parameters[p.scale_offset + channel];
    }
    s_mean = mean;
    s_scale = gamma / sqrt (m2 / count + p.epsilon);
    s_shift = beta;
  }
  barrier ();

  float mean = s_mean, scale = s_scale, shift = s_shift;
  int base = channel * p.plane;
  int step = int (gl_NumWorkGroups.x * gl_WorkGroupSize.x);
  for (int i = int (gl_GlobalInvocationID.x); i < p.plane; i += step)
    y[base + i] = TO_STORE (activate ((float (x[base + i]) - mean) * scale + shift, ACT));
}
