/* conv_common.glsl - what conv2d.comp and conv2d_direct.comp share: where
 * an output "pixel" of a dispatch lies, which input row or column a tap
 * reads, and where a result is stored.  Included after the push constants
 * (TUNIT_CONV_PUSH) and the specialization constants KSIZE, STRIDE, PAD,
 * PAD_REFLECT and MODE.
 *
 * TUNIT_CONV_MODE_PLAIN   a convolution with reflection or zero padding.
 * TUNIT_CONV_MODE_PHASES  the phases of an upsampled convolution
 *              (compute/lowering.h): the lowering's phase weights, GEMM
 *              rows (phase, channel), M = 4 * out_c, on the pixels of the
 *              small input, read with replication padding (PAD is the
 *              phases' padding); each result lands at its phase's place
 *              in the upsampled output.  The border terms are
 *              upsample_border.comp's.
 * The push constants always describe the real input and output images. */

/* Rows of the GEMM. */
int row_count ()
{
  return MODE == TUNIT_CONV_MODE_PHASES ? 4 * p.out_c : p.out_c;
}

/* Pixels of the GEMM. */
int pixel_count ()
{
  return MODE == TUNIT_CONV_MODE_PHASES ? p.in_h * p.in_w : p.out_h * p.out_w;
}

/* (row, column) of pixel n in the image the taps are centred on. */
ivec2 pixel_position (int n)
{
  if (MODE == TUNIT_CONV_MODE_PHASES)
    return ivec2 (n / p.in_w, n % p.in_w);
  return ivec2 (n / p.out_w, n % p.out_w);
}

/* The input row (or column) that output coordinate o and tap t read:
 * replication for phases (tunit_phase_row's rule), else reflection or
 * zero padding (-1). */
int source_index (int o, int t, int size)
{
  int u = o * STRIDE - PAD + t;
  if (MODE == TUNIT_CONV_MODE_PHASES)
    return clamp (u, 0, size - 1);
  if (PAD_REFLECT != 0) {
    u = u < 0 ? -u : u;
    u = u >= size ? 2 * size - 2 - u : u;
  } else if (u < 0 || u >= size) {
    return -1;
  }
  return u;
}

/* Output channel of GEMM row m. */
int output_channel (int m)
{
  return MODE == TUNIT_CONV_MODE_PHASES ? m % p.out_c : m;
}

/* Index in the output of GEMM row m at pixel position `at`
 * (pixel_position of its pixel). */
int output_index_at (int m, ivec2 at)
{
  if (MODE == TUNIT_CONV_MODE_PHASES) {
    int phase = m / p.out_c;
    at = 2 * at + ivec2 (phase >> 1, phase & 1);
  }
  return output_channel (m) * p.out_h * p.out_w + at.x * p.out_w + at.y;
}

/* Index in the output of GEMM row m, pixel n. */
int output_index (int m, int n)
{
  if (MODE == TUNIT_CONV_MODE_PLAIN)
    return m * p.out_h * p.out_w + n;
  return output_index_at (m, pixel_position (n));
}
