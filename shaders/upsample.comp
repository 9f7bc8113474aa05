#version 450
/* upsample.comp - nearest-neighbour x2 up-sampling, [C,H,W] -> [C,2H,2W].
 * Used only where the lowering did not fuse the up-sampling into the
 * convolution after it (compute/lowering.h). */
#include "common.glsl"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;

layout (std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params { TUNIT_TENSOR_PUSH } p;

void main ()
{
  int out_w = 2 * p.width, out_plane = 4 * p.height * p.width;
  int count = p.channels * out_plane;
  int step = int (gl_NumWorkGroups.x * gl_WorkGroupSize.x);
  for (int i = int (gl_GlobalInvocationID.x); i < count; i += step) {
    int c = i / out_plane, r = i - c * out_plane;
    int oy = r / out_w, ox = r - oy * out_w;
    y[i] = x[(c * p.height + oy / 2) * p.width + ox / 2];
  }
}
