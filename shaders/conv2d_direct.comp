#version 450
/* conv2d_direct.comp - 2-D convolution for CPU Vulkan drivers (lavapipe).
 *
 * conv2d.comp's shared-memory tiles suit GPUs, but a CPU driver runs a
 * workgroup as SIMD loops on one core, and there memory loads, not
 * arithmetic, bound the speed.  Here each invocation computes TN
 * neighbouring output pixels for TM output channels, so that every input
 * fetch feeds TM multiply-adds and every weight fetch (four output
 * channels at once) feeds 4 x TN.  The channel block and the walk along K,
 * hence all weight addresses, are the same for the whole workgroup.
 *
 * Input and weights are uniform texel buffers (R32 or R16 float, and RGBA
 * for the weights; the fetch widens fp16): lavapipe turns texelFetch into
 * branch-free vector gathers, where storage-buffer loads inside loops
 * become a loop over the lanes with a branch each, many times slower.
 *
 * Padding (reflection or zero) and the phases of an upsampled
 * convolution (conv_common.glsl) are folded into per-pixel row and column
 * offsets computed once (input channels outside the taps: on lavapipe
 * faster than the reverse order).
 * Weights are [K][w_stride] as for conv2d.comp, w_stride a multiple of 4;
 * the specialization constants mean the same as there.  TM x TN = 32
 * accumulators is about what fits in registers: more spill and run several
 * times slower. */
#include "common.glsl"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;
layout (constant_id = TUNIT_SPEC_THREAD_M) const int TM = 8;   /* output channels per invocation, 4k */
layout (constant_id = TUNIT_SPEC_THREAD_N) const int TN = 4;   /* output pixels per invocation */
layout (constant_id = TUNIT_SPEC_KERNEL) const int KSIZE = 3;
layout (constant_id = TUNIT_SPEC_STRIDE) const int STRIDE = 1;
layout (constant_id = TUNIT_SPEC_PADDING) const int PAD = 1;
layout (constant_id = TUNIT_SPEC_PAD_REFLECT) const int PAD_REFLECT = 1;
layout (constant_id = TUNIT_SPEC_ACTIVATION) const int ACT = 0;
layout (constant_id = TUNIT_SPEC_HAS_BIAS) const int HAS_BIAS = 1;
layout (constant_id = TUNIT_SPEC_CONV_MODE) const int MODE = 0;   /* see conv_common.glsl */

layout (binding = 0) uniform samplerBuffer x;      /* one value per texel */
layout (binding = 1) uniform samplerBuffer w;      /* four output channels per texel */
layout (std430, binding = 2) readonly buffer Bias { STORE_T bias[]; };
layout (std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params { TUNIT_CONV_PUSH } p;

#include "conv_common.glsl"

void main ()
{
  int tile = int (gl_WorkGroupID.x + gl_WorkGroupID.z * gl_NumWorkGroups.x);
  if (tile >= p.tiles_n)
    return;
  int n_total = pixel_count ();
  int m_total = row_count ();
  int n0 = (tile * int (gl_WorkGroupSize.x) + int (gl_LocalInvocationID.x)) * TN;

  /* lanes past the end compute a valid pixel and do not store it, so that
   * no fetch sits in divergent control flow */
  ivec2 at[TN];
  for (int j = 0; j < TN; j++)
    at[j] = pixel_position (min (n0 + j, n_total - 1));

  int co0 = int (gl_WorkGroupID.y) * TM;
  int last_texel = p.in_c * KSIZE * KSIZE * p.w_stride / 4 - 1;
  int plane = p.in_h * p.in_w;
  float acc[TM * TN];
  for (int i = 0; i < TM * TN; i++)
    acc[i] = 0.0;

  int row[TN * KSIZE], column[TN * KSIZE];
  float row_mask[TN * KSIZE], column_mask[TN * KSIZE];
  for (int j = 0; j < TN; j++) {
    for (int t = 0; t < KSIZE; t++) {
      int iy = source_index (at[j].x, t, p.in_h);
      int ix = source_index (at[j].y, t, p.in_w);
      row[j * KSIZE + t] = max (iy, 0) * p.in_w;
      column[j * KSIZE + t] = max (ix, 0);
      row_mask[j * KSIZE + t] = iy >= 0 ? 1.0 : 0.0;
      column_mask[j * KSIZE + t] = ix >= 0 ? 1.0 : 0.0;
    }
  }
  int k = 0;
  for (int ci = 0; ci < p.in_c; ci++) {
    int base = ci * plane;
    for (int ky = 0; ky < KSIZE; ky++) {
      for (int kx = 0; kx < KSIZE; kx++, k++) {
        float v[TN];
        for (int j = 0; j < TN; j++) {
          v[j] = texelFetch (x, base + row[j * KSIZE + ky] + column[j * KSIZE + kx]).r;
          if (PAD_REFLECT == 0)
            v[j] *= row_mask[j * KSIZE + ky] * column_mask[j * KSIZE + kx];
        }
        int texel = (k * p.w_stride + co0) / 4;
        for (int q = 0; q < TM / 4; q++) {
          vec4 weights = texelFetch (w, min (texel + q, last_texel));
          for (int c = 0; c < 4; c++)
            for (int j = 0; j < TN; j++)
              acc[(4 * q + c) * TN + j] = fma (weights[c], v[j], acc[(4 * q + c) * TN + j]);
        }
      }
    }
  }

  for (int i = 0; i < TM; i++) {
    int m = co0 + i;
    if (m >= m_total)
      break;
    float b = HAS_BIAS != 0 ? float (bias[output_channel (m)]) : 0.0;
    for (int j = 0; j < TN; j++)
      if (n0 + j < n_total)
        y[output_index_at (m, at[j])] = TO_STORE (activate (acc[i * TN + j] + b, ACT));
  }
}
