#version 450
/* convert.comp - moves a tensor between the fp32 host-visible transfer
 * buffers and the storage type of the activations.  Compiled as
 * convert_in (fp32 -> storage) and, with CONVERT_OUT, convert_out
 * (storage -> fp32).  In the fp32 build it is a plain copy. */
#include "common.glsl"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;

#ifdef CONVERT_OUT
layout (std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 3) writeonly buffer Output { float y[]; };
#define CONVERT(v) float (v)
#else
layout (std430, binding = 0) readonly buffer Input { float x[]; };
layout (std430, binding = 3) writeonly buffer Output { STORE_T y[]; };
#define CONVERT(v) TO_STORE (v)
#endif

layout (push_constant) uniform Params { TUNIT_TENSOR_PUSH } p;

void main ()
{
  int step = int (gl_NumWorkGroups.x * gl_WorkGroupSize.x);
  for (int i = int (gl_GlobalInvocationID.x); i < p.count; i += step)
    y[i] = CONVERT (x[i]);
}
