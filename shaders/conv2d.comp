#version 450
/* conv2d.comp - 2-D convolution as a tiled implicit GEMM.
 *
 *   out[co][p] = act(bias[co] + sum_k W[k][co] * X[k][p])
 *
 * with M = output channels, N = output pixels p, K = in_channels * k * k.
 * X is never materialised (no im2col buffer): each workgroup gathers the
 * BK x BN slice of X it needs straight from the input image into shared
 * memory, computing the padding in the index math (conv_common.glsl, which
 * also has the phases of an upsampled convolution).  W is stored transposed, [K][M],
 * by the host so that tile loads are contiguous (rows p.w_stride long).  Each thread accumulates
 * a TM x TN block of outputs in fp32 registers; the next K slice is
 * fetched into registers while the current one is multiplied. */
#include "common.glsl"

layout (local_size_x_id = TUNIT_SPEC_WORKGROUP) in;
layout (constant_id = TUNIT_SPEC_TILE_M) const int BM = 64;      /* tile rows: output channels */
layout (constant_id = TUNIT_SPEC_TILE_N) const int BN = 64;      /* tile columns: output pixels */
layout (constant_id = TUNIT_SPEC_TILE_K) const int BK = 16;      /* K slice per step */
layout (constant_id = TUNIT_SPEC_THREAD_M) const int TM = 4;     /* rows per thread */
layout (constant_id = TUNIT_SPEC_THREAD_N) const int TN = 4;     /* columns per thread */
layout (constant_id = TUNIT_SPEC_KERNEL) const int KSIZE = 3;
layout (constant_id = TUNIT_SPEC_STRIDE) const int STRIDE = 1;
layout (constant_id = TUNIT_SPEC_PADDING) const int PAD = 1;
layout (constant_id = TUNIT_SPEC_PAD_REFLECT) const int PAD_REFLECT = 1;
layout (constant_id = TUNIT_SPEC_ACTIVATION) const int ACT = 0;
layout (constant_id = TUNIT_SPEC_HAS_BIAS) const int HAS_BIAS = 1;
layout (constant_id = TUNIT_SPEC_CONV_MODE) const int MODE = 0;   /* see conv_common.glsl */

const int WG = (BM / TM) * (BN / TN);   /* must equal local_size_x */
const int KK = KSIZE * KSIZE;
/* tile elements each thread loads; the last round may be partial */
const int A_PER_THREAD = (BK * BM + WG - 1) / WG;
const int B_PER_THREAD = (BK * BN + WG - 1) / WG;
const int THREADS_N = BN / TN;

layout (std430, binding = 0) readonly buffer Input { STORE_T x[]; };
layout (std430, binding = 1) readonly buffer Weight { STORE_T w[]; };
layout (std430, binding = 2) readonly buffer Bias { STORE_T bias[]; };
layout (std430, binding = 3) writeonly buffer Output { STORE_T y[]; };

layout (push_constant) uniform Params { TUNIT_CONV_PUSH } p;

shared float tile_a[BK * BM];
shared float tile_b[BK * BN];

#include "conv_common.glsl"

/* Per-invocation state: the output pixels this thread gathers for the B
 * tile (they do not change along K) and the registers holding the next
 * K slice. */
int b_oy[B_PER_THREAD], b_ox[B_PER_THREAD];
float next_a[A_PER_THREAD], next_b[B_PER_THREAD];

void load_slice (int k0, int tid, int m0, int k_total, int m_total)
{
  for (int i = 0; i < A_PER_THREAD; i++) {
    int e = tid + i * WG;
    int k = k0 + e / BM, m = m0 + e % BM;
    next_a[i] = (e < BK * BM && k < k_total && m < m_total) ? float (w[k * p.w_stride + m]) : 0.0;
  }
  int plane = p.in_h * p.in_w;
  for (int i = 0; i < B_PER_THREAD; i++) {
    int kk = (tid + i * WG) / BN;
    int k = k0 + kk;
    float v = 0.0;
    if (kk < BK && k < k_total && b_oy[i] >= 0) {
      int ci = k / KK, r = k - ci * KK;
      int ky = r / KSIZE, kx = r - ky * KSIZE;
      int iy = source_index (b_oy[i], ky, p.in_h);
      int ix = source_index (b_ox[i], kx, p.in_w);
      if (iy >= 0 && ix >= 0)
        v = float (x[ci * plane + iy * p.in_w + ix]);
    }
    next_b[i] = v;
  }
}

void main ()
{
  int tid = int (gl_LocalInvocationID.x);
  int tile_n = int (gl_WorkGroupID.x + gl_WorkGroupID.z * gl_NumWorkGroups.x);
  if (tile_n >= p.tiles_n)
    return;   /* whole workgroup: no barrier is skipped by part of it */
  int m0 = int (gl_WorkGroupID.y) * BM;
  int n0 = tile_n * BN;
  int n_total = pixel_count ();
  int m_total = row_count ();
  int k_total = p.in_c * KK;

  for (int i = 0; i < B_PER_THREAD; i++) {
    int n = n0 + (tid + i * WG) % BN;
    ivec2 at = pixel_position (min (n, n_total - 1));
    b_oy[i] = n < n_total ? at.x : -1;
    b_ox[i] = at.y;
  }

  float acc[TM * TN];
  for (int i = 0; i < TM * TN; i++)
    acc[i] = 0.0;

  load_slice (0, tid, m0, k_total, m_total);
  for (int k0 = 0; k0 < k_total; k0 += BK) {
    barrier ();   /* everyone is done reading the previous slice */
    for (int i = 0; i < A_PER_THREAD; i++)
      if (tid + i * WG < BK * BM)
        tile_a[tid + i * WG] = next_a[i];
    for (int i = 0; i < B_PER_THREAD; i++)
      if (tid + i * WG < BK * BN)
        tile_b[tid + i * WG] = next_b[i];
    barrier ();
    /* issue the loads of the next slice before multiplying this one */
    if (k0 + BK < k_total)
      load_slice (k0 + BK, tid, m0, k_total, m_total);

    int row0 = (tid / THREADS_N) * TM;
    int col0 = tid % THREADS_N;
    for (int kk = 0; kk < BK; kk++) {
      float a[TM], b[TN];
      for (int i = 0; i < TM; i++)
        a[i] = tile_a[kk * BM + row0 + i];
      for (int j = 0; j < TN; j++)
        b[j] = tile_b[kk * BN + col0 + j * THREADS_N];
      for (int i = 0; i < TM; i++)
        for (int j = 0; j < TN; j++)
          acc[i * TN + j] = fma (a[i], b[j], acc[i * TN + j]);
    }
  }

  int row0 = m0 + (tid / THREADS_N) * TM;
  int col0 = n0 + tid % THREADS_N;
  for (int i = 0; i < TM; i++) {
    int m = row0 + i;
    if (m >= m_total)
      break;
    float b = HAS_BIAS != 0 ? float (bias[output_channel (m)]) : 0.0;
    for (int j = 0; j < TN; j++) {
      int n = col0 + j * THREADS_N;
      if (n < n_total)
        y[output_index (m, n)] = TO_STORE (activate (acc[i * TN + j] + b, ACT));
    }
  }
}
