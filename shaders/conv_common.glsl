/* conv_common.glsl - what conv2d.comp and conv2d_direct.comp share: where
 * an output "pixel" of a dispatch lies, which input row or column a tap
 * reads, and where a result is stored.  Included after the push constants
 * and the specialization constants KSIZE, STRIDE, PAD, PAD_REFLECT,
 * UPSAMPLE and MODE.
 *
 * MODE_PLAIN   a convolution, optionally reading its input through a
 *              nearest x2 up-sampling (UPSAMPLE).
 * MODE_PHASES  nearest x2 up-sampling followed by a k x k convolution with
 *              "same" padding, computed on the small image: each output
 *              phase (py, px) is a smaller convolution whose weights sum
 *              the taps that land on the same input pixel, so the rows
 *              of the GEMM are (phase, channel) pairs, M = 4 * out_c, and
 *              the pixels those of the input.  Exact except within PAD
 *              pixels of the border, where the up-sampled image's
 *              reflection differs; there indices are clamped and the
 *              results later overwritten by
 * MODE_BORDER  the plain up-sampling convolution, on the border pixels
 *              only (enumerated: top rows, the sides of the middle rows,
 *              bottom rows).
 * The push constants always describe the real input and output images. */
#define MODE_PLAIN 0
#define MODE_PHASES 1
#define MODE_BORDER 2

/* Rows of the GEMM. */
int row_count ()
{
  return MODE == MODE_PHASES ? 4 * p.out_c : p.out_c;
}

/* Pixels of the GEMM. */
int pixel_count ()
{
  if (MODE == MODE_PHASES)
    return p.in_h * p.in_w;
  if (MODE == MODE_BORDER)
    return p.out_h * p.out_w - max (p.out_h - 2 * PAD, 0) * max (p.out_w - 2 * PAD, 0);
  return p.out_h * p.out_w;
}

ivec2 border_pixel (int n)
{
  int inner_h = max (p.out_h - 2 * PAD, 0), inner_w = max (p.out_w - 2 * PAD, 0);
  int top = min (PAD, p.out_h);
  int left = min (PAD, p.out_w);
  int side = p.out_w - inner_w;
  if (n < top * p.out_w)
    return ivec2 (n / p.out_w, n % p.out_w);
  n -= top * p.out_w;
  if (n < inner_h * side) {
    int c = n % side;
    return ivec2 (top + n / side, c < left ? c : c + inner_w);
  }
  n -= inner_h * side;
  return ivec2 (top + inner_h + n / p.out_w, n % p.out_w);
}

/* (row, column) of pixel n in the image the taps are centred on. */
ivec2 pixel_position (int n)
{
  if (MODE == MODE_PHASES)
    return ivec2 (n / p.in_w, n % p.in_w);
  if (MODE == MODE_BORDER)
    return border_pixel (n);
  return ivec2 (n / p.out_w, n % p.out_w);
}

/* The input row (or column) that output coordinate o and tap t read: with
 * reflection or zero padding (-1) of the image, up-sampled or not. */
int source_index (int o, int t, int size)
{
  int u = o * STRIDE - PAD + t;
  if (MODE == MODE_PHASES)
    return clamp (u, 0, size - 1);
  int virtual_size = UPSAMPLE != 0 ? 2 * size : size;
  if (PAD_REFLECT != 0) {
    u = u < 0 ? -u : u;
    u = u >= virtual_size ? 2 * virtual_size - 2 - u : u;
  } else if (u < 0 || u >= virtual_size) {
    return -1;
  }
  return UPSAMPLE != 0 ? u >> 1 : u;
}

/* Output channel of GEMM row m. */
int output_channel (int m)
{
  return MODE == MODE_PHASES ? m % p.out_c : m;
}

/* Index in the output of GEMM row m at pixel position `at`
 * (pixel_position of its pixel). */
int output_index_at (int m, ivec2 at)
{
  if (MODE == MODE_PHASES) {
    int phase = m / p.out_c;
    at = 2 * at + ivec2 (phase >> 1, phase & 1);
  }
  return output_channel (m) * p.out_h * p.out_w + at.x * p.out_w + at.y;
}

/* Index in the output of GEMM row m, pixel n. */
int output_index (int m, int n)
{
  if (MODE == MODE_PLAIN)
    return m * p.out_h * p.out_w + n;
  return output_index_at (m, pixel_position (n));
}
