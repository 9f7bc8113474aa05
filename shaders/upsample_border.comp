#version 450
/* upsample_border.comp - one border term of an upsampled convolution
 * (compute/lowering.h), added to what its phases wrote: output line
 * p.target (a row when p.rows, else a column) gains, at pixel t and
 * output channel o,
 *     sum over c, s of w[o][c][s] * D[c][t + s - r]
 * where D is the difference, along padded line p.line of the upsampled
 * image, between what it really holds (reflection or zero padding) and
 * what the phases read (the small image, replicated); in column terms the
 * positions on border rows count zero (the row terms have them).  The
 * index rules are phase-split.h's, shared with the lowering and the CPU.
 * One invocation per pixel and output channel; terms that touch the same
 * pixels are separate dispatches, ordered by barriers. */
#include "common.glsl"
#include "phase-split.h"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;
layout (constant_id = TUNIT_SPEC_KERNEL) const int KSIZE = 5;
layout (constant_id = TUNIT_SPEC_PAD_REFLECT) const int PAD_REFLECT = 1;

layout (std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 1) readonly buffer Weight { STORE_T w[]; };  /* [out_c][in_c][KSIZE] */
layout (std430, binding = 3) buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params { TUNIT_BORDER_PUSH } p;

float difference (int c, int position)
{
  int u = p.rows != 0 ? p.line : position;
  int v = p.rows != 0 ? position : p.line;
  if (p.rows == 0 && tunit_phase_border_row (u, p.in_h, PAD_REFLECT) != 0)
    return 0.0;
  int plane = c * p.in_h * p.in_w;
  int true_row = tunit_upsampled_row (u, p.in_h, PAD_REFLECT);
  int true_column = tunit_upsampled_row (v, p.in_w, PAD_REFLECT);
  float truth = 0.0;
  if (true_row >= 0 && true_column >= 0)
    truth = float (x[plane + true_row * p.in_w + true_column]);
  return truth - float (x[plane + tunit_phase_row (u, p.in_h) * p.in_w
                          + tunit_phase_row (v, p.in_w)]);
}

void main ()
{
  int t = int (gl_GlobalInvocationID.x);
  int o = int (gl_WorkGroupID.y);
  if (t >= p.pixels)
    return;
  int r = KSIZE / 2;
  float sum = 0.0;
  for (int c = 0; c < p.in_c; c++)
    for (int s = 0; s < KSIZE; s++)
      sum = fma (float (w[(o * p.in_c + c) * KSIZE + s]), difference (c, t + s - r), sum);
  int at = p.rows != 0 ? p.target * p.out_w + t : t * p.out_w + p.target;
  int index = o * p.out_h * p.out_w + at;
  y[index] = TO_STORE (float (y[index]) + sum);
}
