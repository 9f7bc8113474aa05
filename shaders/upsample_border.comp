#version 450
/* upsample_border.comp - one border term of an upsampled convolution
 * (compute/lowering.h), added to what its phases wrote: output line
 * p.target (a row when p.rows, else a column) gains, at pixel t and
 * output channel o,
 *     sum over c, s of w[c][s][o] * D[c][t + s - r]
 * where D is the difference, along padded line p.line of the upsampled
 * image, between what it really holds (reflection or zero padding) and
 * what the phases read (the small image, replicated); in column terms the
 * positions on border rows count zero (the row terms have them).  The
 * index rules are phase-split.h's, shared with the lowering and the CPU.
 *
 * Laid out like conv2d_direct.comp, for the same reasons (lavapipe): each
 * invocation computes TN pixels of TM output channels, so that every
 * difference feeds TM multiply-adds, from texel buffers, with the offsets
 * of every pixel and tap computed once.  Weights are [in_c * KSIZE][w_stride],
 * four output channels per texel.  Terms that touch the same pixels are
 * separate dispatches, ordered by barriers. */
#include "common.glsl"
#include "phase-split.h"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;
layout (constant_id = TUNIT_SPEC_THREAD_M) const int TM = 8;   /* output channels per invocation, 4k */
layout (constant_id = TUNIT_SPEC_THREAD_N) const int TN = 4;   /* pixels per invocation */
layout (constant_id = TUNIT_SPEC_KERNEL) const int KSIZE = 5;
layout (constant_id = TUNIT_SPEC_PAD_REFLECT) const int PAD_REFLECT = 1;

layout (binding = 0) uniform samplerBuffer x;      /* the small image, one value per texel */
layout (binding = 1) uniform samplerBuffer w;      /* four output channels per texel */
layout (std430, binding = 3) buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params { TUNIT_BORDER_PUSH } p;

void main ()
{
  int n0 = int (gl_GlobalInvocationID.x) * TN;
  int co0 = int (gl_WorkGroupID.y) * TM;
  int r = KSIZE / 2;
  /* per pixel and tap: where the true value and the phases' value lie in a
   * channel plane, and whether the position counts (lanes past the end
   * compute the last pixel and do not store it) */
  int truth[TN * KSIZE], seen[TN * KSIZE];
  float truth_mask[TN * KSIZE], position_mask[TN * KSIZE];
  for (int j = 0; j < TN; j++) {
    for (int s = 0; s < KSIZE; s++) {
      int position = min (n0 + j, p.pixels - 1) + s - r;
      int u = p.rows != 0 ? p.line : position;
      int v = p.rows != 0 ? position : p.line;
      int true_row = tunit_upsampled_row (u, p.in_h, PAD_REFLECT);
      int true_column = tunit_upsampled_row (v, p.in_w, PAD_REFLECT);
      int e = j * KSIZE + s;
      truth[e] = max (true_row, 0) * p.in_w + max (true_column, 0);
      truth_mask[e] = true_row >= 0 && true_column >= 0 ? 1.0 : 0.0;
      seen[e] = tunit_phase_row (u, p.in_h) * p.in_w + tunit_phase_row (v, p.in_w);
      position_mask[e] = p.rows == 0 && tunit_phase_border_row (u, p.in_h, PAD_REFLECT) != 0
                         ? 0.0 : 1.0;
    }
  }
  int plane = p.in_h * p.in_w;
  int last_texel = p.in_c * KSIZE * p.w_stride / 4 - 1;
  float acc[TM * TN];
  for (int i = 0; i < TM * TN; i++)
    acc[i] = 0.0;
  int k = 0;
  for (int c = 0; c < p.in_c; c++) {
    int base = c * plane;
    for (int s = 0; s < KSIZE; s++, k++) {
      float d[TN];
      for (int j = 0; j < TN; j++) {
        int e = j * KSIZE + s;
        d[j] = (texelFetch (x, base + truth[e]).r * truth_mask[e]
                - texelFetch (x, base + seen[e]).r) * position_mask[e];
      }
      int texel = (k * p.w_stride + co0) / 4;
      for (int q = 0; q < TM / 4; q++) {
        vec4 weights = texelFetch (w, min (texel + q, last_texel));
        for (int i = 0; i < 4; i++)
          for (int j = 0; j < TN; j++)
            acc[(4 * q + i) * TN + j] = fma (weights[i], d[j], acc[(4 * q + i) * TN + j]);
      }
    }
  }
  for (int i = 0; i < TM; i++) {
    int o = co0 + i;
    if (o >= p.out_c)
      break;
    for (int j = 0; j < TN; j++) {
      int t = n0 + j;
      if (t >= p.pixels)
        break;
      int at = p.rows != 0 ? p.target * p.out_w + t : t * p.out_w + p.target;
      int index = o * p.out_h * p.out_w + at;
      y[index] = TO_STORE (float (y[index]) + acc[i * TN + j]);
    }
  }
}
