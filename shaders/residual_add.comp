#version 450
/* residual_add.comp - y = skip + scale * x, element-wise. */
#include "common.glsl"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;

layout (std430, binding = 0) readonly buffer Skip { STORE_T skip[]; };
layout (std430, binding = 1) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params { TUNIT_TENSOR_PUSH } p;

void main ()
{
  int step = int (gl_NumWorkGroups.x * gl_WorkGroupSize.x);
  for (int i = int (gl_GlobalInvocationID.x); i < p.count; i += step)
    y[i] = TO_STORE (float (skip[i]) + p.scale * float (x[i]));
}
