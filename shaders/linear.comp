#version 450
/* linear.comp - fully connected layer, y = act(W x + b), one output per
 * thread.  W is stored transposed, [in][out], so that neighbouring
 * threads read neighbouring weights.  The layers here are small (the
 * guiding network's heads, the style MLP), so this simple form is enough. */
#include "common.glsl"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;
layout (constant_id = TUNIT_SPEC_ACTIVATION) const int ACT = 0;
layout (constant_id = TUNIT_SPEC_HAS_BIAS) const int HAS_BIAS = 1;

layout (std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 1) readonly buffer Weight { STORE_T w[]; };
layout (std430, binding = 2) readonly buffer Bias { STORE_T bias[]; };
layout (std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params { TUNIT_LINEAR_PUSH } p;

void main ()
{
  int o = int (gl_GlobalInvocationID.x);
  if (o >= p.out_features)
    return;
  float sum = HAS_BIAS != 0 ? float (bias[o]) : 0.0;
  for (int i = 0; i < p.in_features; i++)
    sum = fma (float (w[i * p.out_features + o]), float (x[i]), sum);
  y[o] = TO_STORE (activate (sum, ACT));
}
