#version 450
/* upsample.comp - nearest-neighbour x2 up-sampling, [C,H,W] -> [C,2H,2W].
 * Used only where the up-sampled image cannot be folded into the next
 * convolution's reads (see conv2d.comp, UPSAMPLE). */
#include "common.glsl"

layout (local_size_x_id = 0) in;

layout (std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params {
  int channels, in_h, in_w;
} p;

void main ()
{
  int out_w = 2 * p.in_w, out_plane = 4 * p.in_h * p.in_w;
  int count = p.channels * out_plane;
  int step = int (gl_NumWorkGroups.x * gl_WorkGroupSize.x);
  for (int i = int (gl_GlobalInvocationID.x); i < count; i += step) {
    int c = i / out_plane, r = i - c * out_plane;
    int oy = r / out_w, ox = r - oy * out_w;
    y[i] = x[(c * p.in_h + oy / 2) * p.in_w + ox / 2];
  }
}
