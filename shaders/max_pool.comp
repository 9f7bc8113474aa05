#version 450
/* max_pool.comp - 2x2 max pooling, stride 2, output size floor(H/2). */
#include "common.glsl"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;

layout (std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params { TUNIT_TENSOR_PUSH } p;

void main ()
{
  int out_h = p.height / 2, out_w = p.width / 2, out_plane = out_h * out_w;
  int count = p.channels * out_plane;
  int step = int (gl_NumWorkGroups.x * gl_WorkGroupSize.x);
  for (int i = int (gl_GlobalInvocationID.x); i < count; i += step) {
    int c = i / out_plane, r = i - c * out_plane;
    int oy = r / out_w, ox = r - oy * out_w;
    int s = (c * p.height + 2 * oy) * p.width + 2 * ox;
    float v = max (max (float (x[s]), float (x[s + 1])),
                   max (float (x[s + p.width]), float (x[s + p.width + 1])));
    y[i] = TO_STORE (v);
  }
}
