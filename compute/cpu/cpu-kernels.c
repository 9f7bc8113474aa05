/* cpu-kernels.c - CPU kernels: convolution as banded im2col + OpenBLAS
 * sgemm, stride-2 convolution as GEMMs on a space-to-depth input, Winograd F(2x2,3x3) / F(4x4,3x3) convolution with pre-transformed
 * weights (also for the phase decomposition of upsample + 5x5 conv), a
 * direct convolution for few output channels, and the cheap element-wise
 * and reduction passes.
 *
 * Threading: with OpenMP each kernel splits its work over `threads`
 * threads, which call OpenBLAS single-threaded (tunit_cpu_threads_init). */
#include "cpu-kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#define THREAD_ID() omp_get_thread_num ()
#define THREAD_COUNT() omp_get_num_threads ()
#else
#define THREAD_ID() 0
#define THREAD_COUNT() 1
#endif

/* Leaf loops worth an AVX2/FMA version get one.  A hot loop is written
 * once, as NAME_body, always inlined into one function per variant
 * (NAME_variants[isa]), each compiled for its instruction set; the
 * caller indexes the table with the variant the backend detected. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define HAVE_X86_64_V3 1
#define TARGET_X86_64_V3 __attribute__ ((target ("arch=x86-64-v3")))
#else
#define TARGET_X86_64_V3
#endif
#define ALWAYS_INLINE static inline __attribute__ ((always_inline))

/* NAME_variants[TUNIT_CPU_N_ISAS] of a void hot loop NAME_body. */
#define VOID_VARIANTS(name, params, args)                                       \
  static void name##_generic params { name##_body args; }                      \
  TARGET_X86_64_V3 static void name##_x86_64_v3 params { name##_body args; }   \
  static void (*const name##_variants[TUNIT_CPU_N_ISAS]) params = {            \
    [TUNIT_CPU_ISA_GENERIC] = name##_generic,                                   \
    [TUNIT_CPU_ISA_X86_64_V3] = name##_x86_64_v3,                               \
  };
/* The same for a hot loop returning a double. */
#define DOUBLE_VARIANTS(name, params, args)                                          \
  static double name##_generic params { return name##_body args; }                  \
  TARGET_X86_64_V3 static double name##_x86_64_v3 params { return name##_body args; } \
  static double (*const name##_variants[TUNIT_CPU_N_ISAS]) params = {               \
    [TUNIT_CPU_ISA_GENERIC] = name##_generic,                                        \
    [TUNIT_CPU_ISA_X86_64_V3] = name##_x86_64_v3,                                    \
  };

#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v8sf __attribute__ ((vector_size (32)));

ALWAYS_INLINE v8sf
load8 (const float *p)
{
  v8sf v;
  memcpy (&v, p, sizeof v);
  return v;
}

ALWAYS_INLINE void
store8 (float *p, v8sf v)
{
  memcpy (p, &v, sizeof v);
}

TunitCpuIsa
tunit_cpu_isa_detect (void)
{
#ifdef HAVE_X86_64_V3
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("x86-64-v3"))
    return TUNIT_CPU_ISA_X86_64_V3;
#endif
  return TUNIT_CPU_ISA_GENERIC;
}

const char *
tunit_cpu_isa_name (TunitCpuIsa isa)
{
  return isa == TUNIT_CPU_ISA_X86_64_V3 ? "x86-64-v3" : "generic";
}

int
tunit_cpu_threads_init (int requested)
{
#ifdef _OPENMP
  int n = requested > 0 ? requested : omp_get_num_procs ();
  /* our threads split the work; each calls OpenBLAS on its own part */
  openblas_set_num_threads (1);
  return MAX (n, 1);
#else
  if (requested > 0)
    openblas_set_num_threads (requested);
  return 1;
#endif
}

static inline float
activate (float value, TunitActivation activation)
{
  switch (activation) {
  case TUNIT_ACTIVATION_RELU:
    return value > 0.0f ? value : 0.0f;
  case TUNIT_ACTIVATION_TANH:
    return tanhf (value);
  case TUNIT_ACTIVATION_NONE:
  default:
    return value;
  }
}

static void
bias_activate_row (float *dst, gsize n, float bias, TunitActivation activation)
{
  switch (activation) {
  case TUNIT_ACTIVATION_RELU:
    for (gsize i = 0; i < n; i++) {
      float v = dst[i] + bias;
      dst[i] = v > 0.0f ? v : 0.0f;
    }
    break;
  case TUNIT_ACTIVATION_TANH:
    for (gsize i = 0; i < n; i++)
      dst[i] = tanhf (dst[i] + bias);
    break;
  default:
    if (bias != 0.0f)
      for (gsize i = 0; i < n; i++)
        dst[i] += bias;
    break;
  }
}

/* Index into a row of length n for a position that may lie in the
 * padding: reflection (edge not repeated) or -1 for zero padding. */
static inline int
padded_index (int position, int n, TunitPadMode mode)
{
  if (position >= 0 && position < n)
    return position;
  if (mode == TUNIT_PAD_ZERO)
    return -1;
  return position < 0 ? -position : 2 * (n - 1) - position;
}

static inline float
padded_value (const float *row, int position, int n, TunitPadMode mode)
{
  int i = padded_index (position, n, mode);
  return i < 0 ? 0.0f : row[i];
}

/* ------------------------------------------------ generic convolution */

static int
band_rows (const TunitNode *node, const TunitShape *out)
{
  gsize row = (gsize) node->in_channels * node->kernel * node->kernel * out->width;
  gsize rows = MAX (TUNIT_CPU_COLUMN_BUDGET / MAX (row, 1), 1);
  return (int) MIN (rows, (gsize) out->height);
}

gsize
tunit_cpu_conv_scratch_size (const TunitNode *node, const TunitShape *out)
{
  return (gsize) node->in_channels * node->kernel * node->kernel * out->width
         * band_rows (node, out);
}

/* Fills rows c*k*k .. (c+1)*k*k-1 of the column matrix
 * [in_channels*k*k][...] (row stride `band`) for output rows
 * y0 .. y0+rows-1. */
static void
fill_columns_channel (const TunitNode *node, int c, const float *input, const TunitShape *in,
                      const TunitShape *out, int y0, int rows, float *columns, gsize band)
{
  int k = node->kernel, stride = node->stride, pad = node->padding;
  const float *plane = input + (gsize) c * in->height * in->width;
  for (int ky = 0; ky < k; ky++) {
    for (int kx = 0; kx < k; kx++) {
      float *row = columns + ((gsize) (c * k + ky) * k + kx) * band;
      /* output columns whose input column is inside the image */
      int off = kx - pad;
      int x_lo = off >= 0 ? 0 : (-off + stride - 1) / stride;
      int x_hi = (in->width - 1 - off) >= 0 ? (in->width - 1 - off) / stride + 1 : 0;
      x_lo = MIN (x_lo, out->width);
      x_hi = CLAMP (x_hi, x_lo, out->width);
      for (int y = 0; y < rows; y++) {
        int iy = padded_index ((y0 + y) * stride - pad + ky, in->height, node->pad_mode);
        float *dst = row + (gsize) y * out->width;
        if (iy < 0) {
          memset (dst, 0, sizeof (float) * out->width);
          continue;
        }
        const float *src = plane + (gsize) iy * in->width;
        for (int x = 0; x < x_lo; x++) {
          int ix = padded_index (x * stride + off, in->width, node->pad_mode);
          dst[x] = ix < 0 ? 0.0f : src[ix];
        }
        if (stride == 1) {
          memcpy (dst + x_lo, src + x_lo + off, sizeof (float) * (x_hi - x_lo));
        } else {
          const float *s = src + off;
          for (int x = x_lo; x < x_hi; x++)
            dst[x] = s[x * stride];
        }
        for (int x = x_hi; x < out->width; x++) {
          int ix = padded_index (x * stride + off, in->width, node->pad_mode);
          dst[x] = ix < 0 ? 0.0f : src[ix];
        }
      }
    }
  }
}

void
tunit_cpu_conv (const TunitNode *node, const float *input, const TunitShape *in,
                float *output, const TunitShape *out, float *scratch, int threads)
{
  int rows = band_rows (node, out);
  int depth = node->in_channels * node->kernel * node->kernel;
  gsize plane = (gsize) out->height * out->width;
  for (int y0 = 0; y0 < out->height; y0 += rows) {
    int n_rows = MIN (rows, out->height - y0);
    int band = n_rows * out->width;
    /* each thread fills and multiplies the columns of its share of the
     * band's rows: balanced however few the input or output channels are
     * (the first layer has 3 inputs, the default model's 16 outputs) */
#pragma omp parallel num_threads (threads)
    {
      int id = THREAD_ID (), nt = THREAD_COUNT ();
      int r0 = n_rows * id / nt, r1 = n_rows * (id + 1) / nt;
      if (r1 > r0) {
        float *columns = scratch + (gsize) r0 * out->width;
        for (int c = 0; c < node->in_channels; c++)
          fill_columns_channel (node, c, input, in, out, y0 + r0, r1 - r0, columns, band);
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, node->channels,
                     (r1 - r0) * out->width, depth, 1.0f, node->weight, depth, columns, band,
                     0.0f, output + (gsize) (y0 + r0) * out->width, (int) plane);
      }
    }
  }
#pragma omp parallel for num_threads (threads) schedule (static)
  for (int c = 0; c < node->channels; c++)
    bias_activate_row (output + c * plane, plane, node->bias ? node->bias[c] : 0.0f,
                       node->activation);
}

/* ------------------------------- stride-2 convolution by space-to-depth */

/* A k x k stride-2 convolution (k even) of the padded input P is a
 * (k/2) x (k/2) stride-1 convolution of its space-to-depth rearrangement
 * B[(c,sy,sx)][Y][X] = P[c][2Y+sy][2X+sx].  With B's rows laid out at the
 * output width plus k/2 - 1, each of the (k/2)^2 taps is one GEMM whose
 * right-hand side is B itself, shifted by dy rows and dx columns: no im2col
 * matrix, only B (the size of the input) and (k/2)^2 GEMMs with 4C deep
 * products.  The k/2 - 1 extra columns of each product row are discarded. */

gboolean
tunit_cpu_space_to_depth_conv_applies (const TunitNode *node)
{
  return node->op == TUNIT_OP_CONV && node->stride == 2 && node->kernel >= 2
         && node->kernel % 2 == 0;
}

CpuSpaceToDepthConv *
tunit_cpu_space_to_depth_conv_new (const TunitNode *node)
{
  CpuSpaceToDepthConv *s = g_new0 (CpuSpaceToDepthConv, 1);
  int k = node->kernel, half = k / 2, C = node->in_channels, M = node->channels;
  s->node = node;
  s->half = half;
  s->depth = 4 * C;
  s->weight = g_new (float, (gsize) half * half * M * s->depth);
  for (int tap = 0; tap < half * half; tap++) {
    int dy = tap / half, dx = tap % half;
    for (int m = 0; m < M; m++) {
      float *row = s->weight + ((gsize) tap * M + m) * s->depth;
      for (int c = 0; c < C; c++)
        for (int sy = 0; sy < 2; sy++)
          for (int sx = 0; sx < 2; sx++)
            row[(c * 2 + sy) * 2 + sx]
              = node->weight[(((gsize) m * C + c) * k + 2 * dy + sy) * k + 2 * dx + sx];
    }
  }
  return s;
}

void
tunit_cpu_space_to_depth_conv_free (CpuSpaceToDepthConv *s)
{
  if (s == NULL)
    return;
  g_free (s->weight);
  g_free (s);
}

typedef struct {
  int rows;          /* output rows per band */
  int width;         /* B's row length: output width + half - 1 */
  gsize plane;       /* floats per B channel of a band */
} SpaceToDepthBand;

static SpaceToDepthBand
space_to_depth_band (const CpuSpaceToDepthConv *s, const TunitShape *out)
{
  SpaceToDepthBand b;
  b.width = out->width + s->half - 1;
  gsize per_row = (gsize) (s->depth + s->node->channels) * b.width;
  b.rows = (int) CLAMP (TUNIT_CPU_COLUMN_BUDGET / per_row, 1, (gsize) out->height);
  /* the last tap reads half - 1 floats past the band's last row */
  b.plane = (gsize) (b.rows + s->half - 1) * b.width + s->half;
  return b;
}

gsize
tunit_cpu_space_to_depth_conv_scratch_size (const CpuSpaceToDepthConv *s,
                                            const TunitShape *out)
{
  SpaceToDepthBand b = space_to_depth_band (s, out);
  return (gsize) s->depth * b.plane + (gsize) s->node->channels * b.rows * b.width;
}

/* B's four planes of input channel c for output rows y0 .. y0+rows-1. */
static void
fill_space_to_depth_channel (const CpuSpaceToDepthConv *s, int c, const float *input,
                             const TunitShape *in, int y0, int rows,
                             const SpaceToDepthBand *b, float *blocks)
{
  const TunitNode *node = s->node;
  int pad = node->padding, band_height = rows + s->half - 1;
  const float *plane = input + (gsize) c * in->height * in->width;
  for (int sy = 0; sy < 2; sy++) {
    for (int sx = 0; sx < 2; sx++) {
      float *dst = blocks + (gsize) ((c * 2 + sy) * 2 + sx) * b->plane;
      /* columns X whose input column 2X + sx - pad is inside the image */
      int x_lo = MIN ((pad - sx + 1) / 2, b->width);
      int x_hi = CLAMP ((in->width - 1 + pad - sx) / 2 + 1, x_lo, b->width);
      for (int y = 0; y < band_height; y++, dst += b->width) {
        int iy = padded_index (2 * (y0 + y) + sy - pad, in->height, node->pad_mode);
        if (iy < 0) {
          memset (dst, 0, sizeof (float) * b->width);
          continue;
        }
        const float *src = plane + (gsize) iy * in->width;
        for (int x = 0; x < x_lo; x++)
          dst[x] = padded_value (src, 2 * x + sx - pad, in->width, node->pad_mode);
        for (int x = x_lo; x < x_hi; x++)
          dst[x] = src[2 * x + sx - pad];
        for (int x = x_hi; x < b->width; x++)
          dst[x] = padded_value (src, 2 * x + sx - pad, in->width, node->pad_mode);
      }
      memset (dst, 0, sizeof (float) * s->half);
    }
  }
}

void
tunit_cpu_space_to_depth_conv_run (const CpuSpaceToDepthConv *s, const float *input,
                                   const TunitShape *in, float *output, const TunitShape *out,
                                   float *scratch, int threads)
{
  const TunitNode *node = s->node;
  SpaceToDepthBand b = space_to_depth_band (s, out);
  int M = node->channels, half = s->half;
  gsize out_plane = (gsize) out->height * out->width;
  float *blocks = scratch;
  float *product = scratch + (gsize) s->depth * b.plane;
  for (int y0 = 0; y0 < out->height; y0 += b.rows) {
    int rows = MIN (b.rows, out->height - y0);
    int columns = rows * b.width;
#pragma omp parallel num_threads (threads)
    {
#pragma omp for schedule (static)
      for (int c = 0; c < node->in_channels; c++)
        fill_space_to_depth_channel (s, c, input, in, y0, rows, &b, blocks);
      /* each thread multiplies and writes out its share of the channels */
      int id = THREAD_ID (), nt = THREAD_COUNT ();
      int m0 = M * id / nt, m1 = M * (id + 1) / nt;
      for (int tap = 0; m1 > m0 && tap < half * half; tap++)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m1 - m0, columns, s->depth,
                     1.0f, s->weight + ((gsize) tap * M + m0) * s->depth, s->depth,
                     blocks + (tap / half) * b.width + tap % half, (int) b.plane,
                     tap == 0 ? 0.0f : 1.0f, product + (gsize) m0 * columns, columns);
      for (int m = m0; m < m1; m++) {
        float bias = node->bias ? node->bias[m] : 0.0f;
        for (int y = 0; y < rows; y++) {
          float *dst = output + m * out_plane + (gsize) (y0 + y) * out->width;
          memcpy (dst, product + (gsize) m * columns + (gsize) y * b.width,
                  sizeof (float) * out->width);
          bias_activate_row (dst, out->width, bias, node->activation);
        }
      }
    }
  }
}

/* ------------------------------------------- direct convolution, few outputs */

#define DIRECT_BAND_ROWS 4
#define DIRECT_BLOCK 16

gboolean
tunit_cpu_direct_conv_applies (const TunitNode *node)
{
  return node->op == TUNIT_OP_CONV && node->stride == 1
         && (node->channels <= TUNIT_CPU_DIRECT_MAX_CHANNELS
             || node->in_channels <= TUNIT_CPU_DIRECT_MAX_CHANNELS);
}

static int
direct_band_width (const TunitNode *node, const TunitShape *out)
{
  int blocks = (out->width + DIRECT_BLOCK - 1) / DIRECT_BLOCK;
  return blocks * DIRECT_BLOCK + node->kernel - 1;
}

gsize
tunit_cpu_direct_conv_thread_scratch (const TunitNode *node, const TunitShape *out)
{
  return (gsize) node->in_channels * (DIRECT_BAND_ROWS + node->kernel - 1)
         * direct_band_width (node, out)
         + (gsize) TUNIT_CPU_DIRECT_MAX_CHANNELS * direct_band_width (node, out);
}

/* acc[o][0..band_width) for one output row: sum over c, ky, kx; one
 * version per output count so that the accumulators stay in registers. */
#define DIRECT_ROW_PARAMS                                                                  \
  (const float *band, int band_rows, int band_width, int y, int in_channels, int k,        \
   const float *weight, int width, float *acc)
#define DIRECT_ROW_ARGS (band, band_rows, band_width, y, in_channels, k, weight, width, acc)
#define DIRECT_ROW(NOUT)                                                                   \
  ALWAYS_INLINE void                                                                       \
  direct_row_##NOUT##_body DIRECT_ROW_PARAMS                                               \
  {                                                                                        \
    gsize plane = (gsize) in_channels * k * k;                                             \
    for (int x0 = 0; x0 < width; x0 += DIRECT_BLOCK) {                                     \
      v8sf a0[NOUT], a1[NOUT];                                                             \
      for (int o = 0; o < NOUT; o++)                                                       \
        a0[o] = a1[o] = (v8sf) { 0 };                                                      \
      for (int c = 0; c < in_channels; c++) {                                              \
        for (int ky = 0; ky < k; ky++) {                                                   \
          const float *src = band + ((gsize) c * band_rows + y + ky) * band_width + x0;    \
          const float *w = weight + (c * k + ky) * k;                                      \
          for (int kx = 0; kx < k; kx++) {                                                 \
            v8sf v0 = load8 (src + kx), v1 = load8 (src + kx + 8);                         \
            for (int o = 0; o < NOUT; o++) {                                               \
              float wv = w[o * plane + kx];                                                \
              a0[o] += wv * v0;                                                            \
              a1[o] += wv * v1;                                                            \
            }                                                                              \
          }                                                                                \
        }                                                                                  \
      }                                                                                    \
      for (int o = 0; o < NOUT; o++) {                                                     \
        store8 (acc + o * band_width + x0, a0[o]);                                         \
        store8 (acc + o * band_width + x0 + 8, a1[o]);                                     \
      }                                                                                    \
    }                                                                                      \
  }                                                                                        \
  VOID_VARIANTS (direct_row_##NOUT, DIRECT_ROW_PARAMS, DIRECT_ROW_ARGS)
DIRECT_ROW (1)
DIRECT_ROW (2)
DIRECT_ROW (3)
DIRECT_ROW (4)

static void
direct_row (const float *band, int band_rows, int band_width, int y, int in_channels,
            int k, const float *weight, int n_out, int width, float *acc, TunitCpuIsa isa)
{
  switch (n_out) {
  case 1: direct_row_1_variants[isa] DIRECT_ROW_ARGS; break;
  case 2: direct_row_2_variants[isa] DIRECT_ROW_ARGS; break;
  case 3: direct_row_3_variants[isa] DIRECT_ROW_ARGS; break;
  default: direct_row_4_variants[isa] DIRECT_ROW_ARGS; break;
  }
}

void
tunit_cpu_direct_conv (const TunitNode *node, const float *input, const TunitShape *in,
                       float *output, const TunitShape *out, float **thread_scratch,
                       int threads, TunitCpuIsa isa)
{
  int k = node->kernel, pad = node->padding;
  int band_width = direct_band_width (node, out);
  int n_bands = (out->height + DIRECT_BAND_ROWS - 1) / DIRECT_BAND_ROWS;
  gsize out_plane = (gsize) out->height * out->width;
#pragma omp parallel for num_threads (threads) schedule (dynamic)
  for (int b = 0; b < n_bands; b++) {
    float *band = thread_scratch[THREAD_ID ()];
    int y0 = b * DIRECT_BAND_ROWS, rows = MIN (DIRECT_BAND_ROWS, out->height - y0);
    int band_rows = rows + k - 1;
    float *acc = band + (gsize) node->in_channels * band_rows * band_width;
    /* the padded input rows of this band */
    for (int c = 0; c < node->in_channels; c++) {
      const float *plane = input + (gsize) c * in->height * in->width;
      for (int r = 0; r < band_rows; r++) {
        float *dst = band + ((gsize) c * band_rows + r) * band_width;
        int iy = padded_index (y0 + r - pad, in->height, node->pad_mode);
        if (iy < 0) {
          memset (dst, 0, sizeof (float) * band_width);
          continue;
        }
        const float *src = plane + (gsize) iy * in->width;
        for (int x = 0; x < band_width; x++) {
          int ix = x - pad;
          if (ix >= 0 && ix < in->width)
            dst[x] = src[ix];
          else if (ix >= in->width + pad)
            dst[x] = 0.0f;
          else {
            ix = padded_index (ix, in->width, node->pad_mode);
            dst[x] = ix < 0 ? 0.0f : src[ix];
          }
        }
      }
    }
    /* the outputs in groups of up to four, whose accumulators fit in registers */
    for (int y = 0; y < rows; y++) {
      for (int o0 = 0; o0 < node->channels; o0 += TUNIT_CPU_DIRECT_MAX_CHANNELS) {
        int group = MIN (TUNIT_CPU_DIRECT_MAX_CHANNELS, node->channels - o0);
        direct_row (band, band_rows, band_width, y, node->in_channels, k,
                    node->weight + (gsize) o0 * node->in_channels * k * k, group,
                    out->width, acc, isa);
        for (int o = o0; o < o0 + group; o++) {
          float *dst = output + o * out_plane + (gsize) (y0 + y) * out->width;
          float bias = node->bias ? node->bias[o] : 0.0f;
          const float *a = acc + (o - o0) * band_width;
          for (int x = 0; x < out->width; x++)
            dst[x] = activate (a[x] + bias, node->activation);
        }
      }
    }
  }
}

/* ------------------------------------------- Winograd 3x3 convolution */

/* F(2x2, 3x3) and F(4x4, 3x3) (Lavin & Gray), interpolation points
 * 0, +-1 (, +-2), infinity. */
static const float BT2[4][4] = {
  { 1, 0, -1, 0 }, { 0, 1, 1, 0 }, { 0, -1, 1, 0 }, { 0, 1, 0, -1 },
};
static const float AT2[2][4] = {
  { 1, 1, 1, 0 }, { 0, 1, -1, -1 },
};
static const float BT4[6][6] = {
  { 4, 0, -5, 0, 1, 0 },
  { 0, -4, -4, 1, 1, 0 },
  { 0, 4, -4, -1, 1, 0 },
  { 0, -2, -1, 2, 1, 0 },
  { 0, 2, -1, -2, 1, 0 },
  { 0, 4, 0, -5, 0, 1 },
};
static const float AT4[4][6] = {
  { 1, 1, 1, 1, 1, 0 },
  { 0, 1, -1, 2, -2, 0 },
  { 0, 1, 1, 4, 4, 0 },
  { 0, 1, -1, 8, -8, 1 },
};

static const float *
winograd_bt (int m)
{
  return m == 2 ? &BT2[0][0] : &BT4[0][0];
}

static const float *
winograd_at (int m)
{
  return m == 2 ? &AT2[0][0] : &AT4[0][0];
}

static const float G2f[4][3] = {
  { 1, 0, 0 }, { 0.5f, 0.5f, 0.5f }, { 0.5f, -0.5f, 0.5f }, { 0, 0, 1 },
};
static const float G4f[6][3] = {
  { 1.0f / 4, 0, 0 },
  { -1.0f / 6, -1.0f / 6, -1.0f / 6 },
  { -1.0f / 6, 1.0f / 6, -1.0f / 6 },
  { 1.0f / 24, 1.0f / 12, 1.0f / 6 },
  { 1.0f / 24, -1.0f / 12, 1.0f / 6 },
  { 0, 0, 1 },
};

/* u[xi * xi_stride] = (G g G^T)[beta][alpha], xi = beta * n + alpha. */
static inline void
transform_kernel (int m, const float g[9], float *u, gsize xi_stride)
{
  int n = m + 2;
  const float *G = m == 2 ? &G2f[0][0] : &G4f[0][0];
  float t[6][3];
  for (int b = 0; b < n; b++)
    for (int v = 0; v < 3; v++)
      t[b][v] = G[b * 3 + 0] * g[v] + G[b * 3 + 1] * g[3 + v] + G[b * 3 + 2] * g[6 + v];
  for (int b = 0; b < n; b++)
    for (int a = 0; a < n; a++)
      u[(b * n + a) * xi_stride] =
        t[b][0] * G[a * 3 + 0] + t[b][1] * G[a * 3 + 1] + t[b][2] * G[a * 3 + 2];
}

/* Nearest x2 upsampling then a 5x5 conv: output row 2i+a reads upsampled
 * rows 2i+a-2 .. 2i+a+2, i.e. input rows i-1, i, i+1 with the kernel rows
 * grouped as {0,1},{2,3},{4} (a = 0) or {0},{1,2},{3,4} (a = 1); same for
 * columns.  Phase p = 2a + b, GEMM row q = p * channels + o. */
static const int phase_group[2][5] = { { 0, 0, 1, 1, 2 }, { 0, 1, 1, 2, 2 } };

/* The 3x3 kernel of GEMM row q, input channel c. */
static inline void
kernel_3x3 (const CpuWinograd *w, int q, int c, float g[9])
{
  if (!w->phases) {
    memcpy (g, w->weight + ((gsize) q * w->in_channels + c) * 9, sizeof (float) * 9);
    return;
  }
  int p = q / w->channels, o = q % w->channels, a = p / 2, b = p % 2;
  const float *k = w->weight + ((gsize) o * w->in_channels + c) * 25;
  memset (g, 0, sizeof (float) * 9);
  for (int ky = 0; ky < 5; ky++)
    for (int kx = 0; kx < 5; kx++)
      g[phase_group[a][ky] * 3 + phase_group[b][kx]] += k[ky * 5 + kx];
}

gsize
tunit_cpu_winograd_weight_size (const CpuWinograd *w)
{
  return (gsize) (w->m + 2) * (w->m + 2) * w->rows * w->in_channels;
}

/* Row q of the transformed weights, eight input channels at a time. */
ALWAYS_INLINE void
transform_weights_row_body (const CpuWinograd *w, int q, float *u)
{
  int m = w->m, n = m + 2, C = w->in_channels;
  const float *G = m == 2 ? &G2f[0][0] : &G4f[0][0];
  int c = 0;
  for (; c + 8 <= C; c += 8) {
    float lanes[9][8];
    for (int l = 0; l < 8; l++) {
      float g[9];
      kernel_3x3 (w, q, c + l, g);
      for (int i = 0; i < 9; i++)
        lanes[i][l] = g[i];
    }
    v8sf g[9], t[6][3];
    for (int i = 0; i < 9; i++)
      g[i] = load8 (lanes[i]);
    for (int b = 0; b < n; b++)
      for (int v = 0; v < 3; v++)
        t[b][v] = G[b * 3 + 0] * g[v] + G[b * 3 + 1] * g[3 + v] + G[b * 3 + 2] * g[6 + v];
    for (int b = 0; b < n; b++)
      for (int a = 0; a < n; a++)
        store8 (u + (gsize) (b * n + a) * C + c,
                t[b][0] * G[a * 3 + 0] + t[b][1] * G[a * 3 + 1] + t[b][2] * G[a * 3 + 2]);
  }
  for (; c < C; c++) {
    float g[9];
    kernel_3x3 (w, q, c, g);
    transform_kernel (m, g, u + c, C);
  }
}
VOID_VARIANTS (transform_weights_row, (const CpuWinograd *w, int q, float *u), (w, q, u))

/* Fills u[rows][(m+2)^2][in_channels]: each row's transforms are written
 * in one sequential run (writing (m+2)^2 far-apart streams instead made
 * the per-frame transform several times slower); the GEMM of point xi
 * reads its matrix at u + xi * in_channels with a row stride of
 * (m+2)^2 * in_channels. */
static void
transform_weights (const CpuWinograd *w, float *u, int first, int count, int threads)
{
  gsize row = (gsize) (w->m + 2) * (w->m + 2) * w->in_channels;
#pragma omp parallel for num_threads (threads) schedule (static)
  for (int q = 0; q < count; q++)
    transform_weights_row_variants[w->isa] (w, first + q, u + q * row);
}

/* Weights transformed per frame are transformed a block of GEMM rows at a
 * time, right before their GEMMs, with blocks of at most this many floats
 * (40 MiB): the official models' first upsampling layer, 72 MiB in
 * F(4x4), takes two.  Each block repeats the input transform and the
 * packing of the GEMMs' right-hand sides; with 8 MiB blocks a 640x480
 * frame of the img_size-128 model took about 25% longer. */
#define WEIGHT_BLOCK_BUDGET ((gsize) 10 << 20)

static int
weight_block_rows (const CpuWinograd *w)
{
  if (w->u != NULL)
    return w->rows;
  gsize row = (gsize) (w->m + 2) * (w->m + 2) * w->in_channels;
  return (int) CLAMP (WEIGHT_BLOCK_BUDGET / row, (gsize) MIN (w->rows, 64), (gsize) w->rows);
}

gsize
tunit_cpu_winograd_weight_scratch_size (const CpuWinograd *w)
{
  if (w->u != NULL)
    return 0;
  return (gsize) weight_block_rows (w) * (w->m + 2) * (w->m + 2) * w->in_channels;
}

static CpuWinograd *
winograd_alloc (const TunitNode *node, int m, gboolean phases, gboolean cached,
                TunitCpuIsa isa)
{
  CpuWinograd *w = g_new0 (CpuWinograd, 1);
  w->m = m;
  w->isa = isa;
  w->in_channels = node->in_channels;
  w->channels = node->channels;
  w->rows = phases ? 4 * node->channels : node->channels;
  w->phases = phases;
  w->activation = node->activation;
  w->weight = node->weight;
  w->bias = g_new0 (float, w->rows);
  for (int q = 0; q < w->rows; q++)
    w->bias[q] = node->bias ? node->bias[q % node->channels] : 0.0f;
  if (cached) {
    w->u = g_new (float, tunit_cpu_winograd_weight_size (w));
    transform_weights (w, w->u, 0, w->rows, 1);
  }
  return w;
}

CpuWinograd *
tunit_cpu_winograd_new (const TunitNode *node, int m, gboolean cached, TunitCpuIsa isa)
{
  CpuWinograd *w = winograd_alloc (node, m, FALSE, cached, isa);
  w->pad = node->pad_mode == TUNIT_PAD_ZERO ? CPU_PAD_ZERO : CPU_PAD_REFLECT;
  return w;
}

CpuWinograd *
tunit_cpu_winograd_new_upsampled (const TunitNode *node, int m, gboolean cached,
                                  TunitCpuIsa isa)
{
  CpuWinograd *w = winograd_alloc (node, m, TRUE, cached, isa);
  w->pad = CPU_PAD_REPLICATE;
  return w;
}

void
tunit_cpu_winograd_free (CpuWinograd *w)
{
  if (w == NULL)
    return;
  g_free (w->u);
  g_free (w->bias);
  g_free (w);
}

typedef struct {
  int tiles_h, tiles_w;   /* tiles over the output (input) plane */
  int chunk_rows;         /* tile rows per chunk */
  int band_width;         /* padded row length m * tiles_w + 2 */
} WinogradGeometry;

static WinogradGeometry
winograd_geometry (const CpuWinograd *w, const TunitShape *in)
{
  WinogradGeometry g;
  int m = w->m, n = m + 2;
  g.tiles_h = (in->height + m - 1) / m;
  g.tiles_w = (in->width + m - 1) / m;
  g.band_width = m * g.tiles_w + 2;
  gsize per_row = (gsize) n * n * (w->in_channels + w->rows) * g.tiles_w;
  g.chunk_rows = (int) CLAMP (TUNIT_CPU_COLUMN_BUDGET / per_row, 1, (gsize) g.tiles_h);
  return g;
}

gsize
tunit_cpu_winograd_scratch_size (const CpuWinograd *w, const TunitShape *in)
{
  WinogradGeometry g = winograd_geometry (w, in);
  int n = w->m + 2;
  return (gsize) n * n * (w->in_channels + w->rows) * g.tiles_w * g.chunk_rows;
}

gsize
tunit_cpu_winograd_thread_scratch (const CpuWinograd *w, const TunitShape *in)
{
  WinogradGeometry g = winograd_geometry (w, in);
  int m = w->m, n = m + 2;
  gsize input_side = (gsize) (m * g.chunk_rows + 2) * g.band_width + (gsize) n * g.band_width;
  gsize output_side = (gsize) m * n * g.tiles_w + (gsize) m * g.tiles_w;
  return MAX (input_side, output_side);
}

/* The padded rows of one input channel for tile rows t0 .. t0+rows-1:
 * band[(m*rows+2)][band_width], zero beyond the padding. */
static void
fill_band (const CpuWinograd *w, const float *plane, const TunitShape *in, int y_first,
           int band_rows, int band_width, float *band)
{
  int H = in->height, W = in->width;
  for (int r = 0; r < band_rows; r++) {
    float *dst = band + (gsize) r * band_width;
    int y = y_first + r;
    if (y == -1)
      y = w->pad == CPU_PAD_REFLECT ? 1 : w->pad == CPU_PAD_REPLICATE ? 0 : -1;
    else if (y == H)
      y = w->pad == CPU_PAD_REFLECT ? H - 2 : w->pad == CPU_PAD_REPLICATE ? H - 1 : -1;
    else if (y > H)
      y = -1;
    if (y < 0) {
      memset (dst, 0, sizeof (float) * band_width);
      continue;
    }
    const float *src = plane + (gsize) y * W;
    switch (w->pad) {
    case CPU_PAD_REFLECT:
      dst[0] = src[1];
      dst[W + 1] = src[W - 2];
      break;
    case CPU_PAD_REPLICATE:
      dst[0] = src[0];
      dst[W + 1] = src[W - 1];
      break;
    default:
      dst[0] = dst[W + 1] = 0.0f;
      break;
    }
    memcpy (dst + 1, src, sizeof (float) * W);
    if (band_width > W + 2)
      memset (dst + W + 2, 0, sizeof (float) * (band_width - W - 2));
  }
}

/* Input transform of one channel's band: v[xi * xi_stride + t * tiles_w + k]. */
#define INPUT_TRANSFORM_PARAMS                                                  \
  (int m, const float *band, int rows, int tiles_w, int band_width, float *tmp, \
   float *v, gsize xi_stride)
#define INPUT_TRANSFORM_ARGS (m, band, rows, tiles_w, band_width, tmp, v, xi_stride)
ALWAYS_INLINE void
input_transform_body INPUT_TRANSFORM_PARAMS
{
  int n = m + 2;
  const float *bt = winograd_bt (m);
  for (int t = 0; t < rows; t++) {
    /* vertical: tmp[beta][x] = sum_i BT[beta][i] band[m t + i][x] */
    const float *rows_in = band + (gsize) m * t * band_width;
    for (int b = 0; b < n; b++) {
      float *dst = tmp + (gsize) b * band_width;
      gboolean first = TRUE;
      for (int i = 0; i < n; i++) {
        float coef = bt[b * n + i];
        if (coef == 0.0f)
          continue;
        const float *src = rows_in + (gsize) i * band_width;
        if (first)
          for (int x = 0; x < band_width; x++)
            dst[x] = coef * src[x];
        else
          for (int x = 0; x < band_width; x++)
            dst[x] += coef * src[x];
        first = FALSE;
      }
    }
    /* horizontal, per tile */
    gsize base = (gsize) t * tiles_w;
    for (int b = 0; b < n; b++) {
      const float *d = tmp + (gsize) b * band_width;
      float *out = v + (gsize) b * n * xi_stride + base;
      if (m == 2) {
        for (int k = 0; k < tiles_w; k++) {
          const float *e = d + 2 * k;
          out[k] = e[0] - e[2];
          out[xi_stride + k] = e[1] + e[2];
          out[2 * xi_stride + k] = e[2] - e[1];
          out[3 * xi_stride + k] = e[1] - e[3];
        }
      } else {
        for (int k = 0; k < tiles_w; k++) {
          const float *e = d + 4 * k;
          out[k] = 4.0f * e[0] - 5.0f * e[2] + e[4];
          out[xi_stride + k] = -4.0f * (e[1] + e[2]) + e[3] + e[4];
          out[2 * xi_stride + k] = 4.0f * (e[1] - e[2]) - e[3] + e[4];
          out[3 * xi_stride + k] = -2.0f * (e[1] - e[3]) - e[2] + e[4];
          out[4 * xi_stride + k] = 2.0f * (e[1] - e[3]) - e[2] + e[4];
          out[5 * xi_stride + k] = 4.0f * e[1] - 5.0f * e[3] + e[5];
        }
      }
    }
  }
}
VOID_VARIANTS (input_transform, INPUT_TRANSFORM_PARAMS, INPUT_TRANSFORM_ARGS)

/* Output transform of GEMM row q: mx[xi * xi_stride + tile]; writes the
 * rows of output tile row t into `row` (m rows of m*tiles_w) one at a
 * time and hands them to the caller through `emit`. */
#define OUTPUT_TRANSFORM_ROW_PARAMS                                                  \
  (int m, const float *mx, gsize xi_stride, int t, int tiles_w, int r, float *s,   \
   float *row)
#define OUTPUT_TRANSFORM_ROW_ARGS (m, mx, xi_stride, t, tiles_w, r, s, row)
ALWAYS_INLINE void
output_transform_row_body OUTPUT_TRANSFORM_ROW_PARAMS
{
  int n = m + 2;
  const float *at = winograd_at (m);
  gsize base = (gsize) t * tiles_w;
  /* vertical: s[alpha][k] = sum_beta AT[r][beta] mx[(beta n + alpha)][tile] */
  for (int a = 0; a < n; a++) {
    float *dst = s + (gsize) a * tiles_w;
    gboolean first = TRUE;
    for (int b = 0; b < n; b++) {
      float coef = at[r * n + b];
      if (coef == 0.0f)
        continue;
      const float *src = mx + (gsize) (b * n + a) * xi_stride + base;
      if (first)
        for (int k = 0; k < tiles_w; k++)
          dst[k] = coef * src[k];
      else
        for (int k = 0; k < tiles_w; k++)
          dst[k] += coef * src[k];
      first = FALSE;
    }
  }
  const float *s0 = s, *s1 = s + tiles_w, *s2 = s + 2 * tiles_w, *s3 = s + 3 * tiles_w;
  if (m == 2) {
    for (int k = 0; k < tiles_w; k++) {
      row[2 * k] = s0[k] + s1[k] + s2[k];
      row[2 * k + 1] = s1[k] - s2[k] - s3[k];
    }
  } else {
    const float *s4 = s + 4 * tiles_w, *s5 = s + 5 * tiles_w;
    for (int k = 0; k < tiles_w; k++) {
      float p = s1[k] + s2[k], q = s1[k] - s2[k];
      float u = s3[k] + s4[k], v = s3[k] - s4[k];
      row[4 * k] = s0[k] + p + u;
      row[4 * k + 1] = q + 2.0f * v;
      row[4 * k + 2] = p + 4.0f * u;
      row[4 * k + 3] = q + 8.0f * v + s5[k];
    }
  }
}
VOID_VARIANTS (output_transform_row, OUTPUT_TRANSFORM_ROW_PARAMS, OUTPUT_TRANSFORM_ROW_ARGS)

/* GEMM rows q0 .. q0+count-1 of the convolution (output channels, or
 * phase x channel), whose transformed weights are u[count][(m+2)^2][C]. */
static void
winograd_rows (const CpuWinograd *w, const WinogradGeometry *geometry, const float *input,
               const TunitShape *in, int q0, int count, const float *u, float *output,
               float *scratch, float **thread_scratch, int threads)
{
  WinogradGeometry g = *geometry;
  int m = w->m, n = m + 2, nn = n * n;
  int H = in->height, W = in->width, C = w->in_channels, M = count;
  gsize in_plane = (gsize) H * W;
  gsize out_plane = w->phases ? 4 * in_plane : in_plane;
  int out_width = w->phases ? 2 * W : W;
  for (int t0 = 0; t0 < g.tiles_h; t0 += g.chunk_rows) {
    int rows = MIN (g.chunk_rows, g.tiles_h - t0);
    int T = rows * g.tiles_w;
    float *v = scratch;                          /* [nn][C][T] */
    float *mx = scratch + (gsize) nn * C * T;    /* [nn][M][T] */
#pragma omp parallel num_threads (threads)
    {
      float *mine = thread_scratch[THREAD_ID ()];
      int band_rows = m * rows + 2;
#pragma omp for schedule (static)
      for (int c = 0; c < C; c++) {
        float *band = mine, *tmp = mine + (gsize) band_rows * g.band_width;
        fill_band (w, input + c * in_plane, in, m * t0 - 1, band_rows, g.band_width, band);
        input_transform_variants[w->isa] (m, band, rows, g.tiles_w, g.band_width, tmp,
                                          v + (gsize) c * T, (gsize) C * T);
      }
#ifdef _OPENMP
#pragma omp for schedule (static)
      for (int xi = 0; xi < nn; xi++)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, M, T, C, 1.0f,
                     u + (gsize) xi * C, nn * C, v + (gsize) xi * C * T, T, 0.0f,
                     mx + (gsize) xi * M * T, T);
#else
      for (int xi = 0; xi < nn; xi++)
        cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, M, T, C, 1.0f,
                     u + (gsize) xi * C, nn * C, v + (gsize) xi * C * T, T, 0.0f,
                     mx + (gsize) xi * M * T, T);
#endif
#pragma omp for schedule (static)
      for (int q = 0; q < M; q++) {
        float *s = mine, *row = mine + (gsize) n * g.tiles_w;
        int o = w->phases ? (q0 + q) % w->channels : q0 + q;
        int phase = w->phases ? (q0 + q) / w->channels : 0;
        float bias = w->bias[q0 + q];
        for (int t = 0; t < rows; t++) {
          for (int r = 0; r < m; r++) {
            int y = m * (t0 + t) + r;
            if (y >= H)
              break;
            output_transform_row_variants[w->isa] (m, mx + (gsize) q * T, (gsize) M * T, t,
                                                   g.tiles_w, r, s, row);
            if (!w->phases) {
              float *dst = output + o * out_plane + (gsize) y * W;
              memcpy (dst, row, sizeof (float) * W);
              bias_activate_row (dst, W, bias, w->activation);
            } else {
              bias_activate_row (row, W, bias, w->activation);
              float *dst = output + o * out_plane + (gsize) (2 * y + phase / 2) * out_width
                           + phase % 2;
              for (int x = 0; x < W; x++)
                dst[2 * x] = row[x];
            }
          }
        }
      }
    }
  }
}

void
tunit_cpu_winograd_run (const CpuWinograd *w, const float *input, const TunitShape *in,
                        float *output, float *scratch, float **thread_scratch,
                        float *weight_scratch, int threads)
{
  WinogradGeometry g = winograd_geometry (w, in);
  int block = weight_block_rows (w);
  for (int q0 = 0; q0 < w->rows; q0 += block) {
    int count = MIN (block, w->rows - q0);
    const float *u = w->u + (gsize) q0 * (w->m + 2) * (w->m + 2) * w->in_channels;
    if (w->u == NULL) {
      transform_weights (w, weight_scratch, q0, count, threads);
      u = weight_scratch;
    }
    winograd_rows (w, &g, input, in, q0, count, u, output, scratch, thread_scratch, threads);
  }
}

/* ------------------------------------------ upsample + 5x5 conv border */

CpuUpsampleBorder *
tunit_cpu_upsample_border_new (const TunitNode *node)
{
  CpuUpsampleBorder *b = g_new0 (CpuUpsampleBorder, 1);
  int C = node->in_channels, M = node->channels;
  b->in_channels = C;
  b->channels = M;
  for (int line = 0; line < 4; line++) {
    b->w[line] = g_new (float, (gsize) M * C * 5);
    for (int o = 0; o < M; o++)
      for (int c = 0; c < C; c++)
        for (int j = 0; j < 5; j++) {
          const float *k = node->weight + ((gsize) o * C + c) * 25;
          float value;
          switch (line) {
          case 0: value = k[0 * 5 + j]; break;   /* top: kernel row 0 */
          case 1: value = k[4 * 5 + j]; break;   /* bottom: kernel row 4 */
          case 2: value = k[j * 5 + 0]; break;   /* left: kernel column 0 */
          default: value = k[j * 5 + 4]; break;  /* right: kernel column 4 */
          }
          b->w[line][((gsize) o * C + c) * 5 + j] = value;
        }
  }
  return b;
}

void
tunit_cpu_upsample_border_free (CpuUpsampleBorder *b)
{
  if (b == NULL)
    return;
  for (int line = 0; line < 4; line++)
    g_free (b->w[line]);
  g_free (b);
}

gsize
tunit_cpu_upsample_border_thread_scratch (const CpuUpsampleBorder *b, const TunitShape *in)
{
  gsize length = 2 * (gsize) MAX (in->height, in->width);
  return (gsize) (5 * b->in_channels + b->channels) * length + length + 4;
}

static inline int
reflect_index (int i, int n)
{
  return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
}

/* Upsampled-and-padded image U' (size 2H+4 x 2W+4, coordinates from -2):
 * the true one reflects U = up(X) by 2, the one the phase convolutions saw
 * replicates X by 1 before upsampling.  They differ only on the outermost
 * rows (-2, 2H+1) and columns (-2, 2W+1); D = true - seen there. */
static void
upsample_border_line (const CpuUpsampleBorder *b, int line, const float *input,
                      const TunitShape *in, float *output, float *scratch)
{
  int H = in->height, W = in->width, C = b->in_channels, M = b->channels;
  gsize in_plane = (gsize) H * W, out_plane = 4 * in_plane;
  gboolean horizontal = line < 2;
  int N = horizontal ? 2 * W : 2 * H;      /* output pixels on this line */
  float *d = scratch;                      /* [C*5][N] */
  float *delta = d + (gsize) C * 5 * N;    /* [N + 4], index + 2 */
  float *result = delta + N + 4;           /* [M][N] */
  for (int c = 0; c < C; c++) {
    const float *X = input + c * in_plane;
    for (int i = -2; i < N + 2; i++) {
      float value = 0.0f;
      if (horizontal) {
        /* row -2 (top) or 2H+1 (bottom), column i */
        int true_col = reflect_index (i, 2 * W) / 2;
        int seen_col = CLAMP (i < 0 ? -1 : i / 2, 0, W - 1);
        int true_row = line == 0 ? 1 : H - 2, seen_row = line == 0 ? 0 : H - 1;
        value = X[true_row * W + true_col] - X[seen_row * W + seen_col];
      } else if (i >= -1 && i <= 2 * H) {
        /* column -2 (left) or 2W+1 (right), row i; rows -2 and 2H+1 belong
         * to the horizontal lines */
        int row = CLAMP (i < 0 ? -1 : i / 2, 0, H - 1);
        int true_col = line == 2 ? 1 : W - 2, seen_col = line == 2 ? 0 : W - 1;
        value = X[row * W + true_col] - X[row * W + seen_col];
      }
      delta[i + 2] = value;
    }
    for (int j = 0; j < 5; j++)
      memcpy (d + ((gsize) c * 5 + j) * N, delta + j, sizeof (float) * N);
  }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, C * 5, 1.0f, b->w[line],
               C * 5, d, N, 0.0f, result, N);
  int out_width = 2 * W;
  for (int o = 0; o < M; o++) {
    float *plane = output + o * out_plane;
    const float *r = result + (gsize) o * N;
    switch (line) {
    case 0:
      for (int s = 0; s < N; s++)
        plane[s] += r[s];
      break;
    case 1:
      for (int s = 0; s < N; s++)
        plane[(gsize) (2 * H - 1) * out_width + s] += r[s];
      break;
    case 2:
      for (int s = 0; s < N; s++)
        plane[(gsize) s * out_width] += r[s];
      break;
    default:
      for (int s = 0; s < N; s++)
        plane[(gsize) s * out_width + out_width - 1] += r[s];
      break;
    }
  }
}

void
tunit_cpu_upsample_border_run (const CpuUpsampleBorder *b, const float *input,
                               const TunitShape *in, float *output, float **thread_scratch,
                               int threads)
{
  /* lines 0/1 and 2/3 touch the same corner pixels: run the horizontal
   * pair, then the vertical pair */
  for (int pair = 0; pair < 2; pair++) {
#pragma omp parallel for num_threads (MIN (threads, 2)) schedule (static)
    for (int line = 2 * pair; line < 2 * pair + 2; line++)
      upsample_border_line (b, line, input, in, output, thread_scratch[THREAD_ID ()]);
  }
}

/* ----------------------------------------------------- the other nodes */

/* sum of x[i] and of (x[i] - mean)^2, in float blocks summed in double */
ALWAYS_INLINE double
plane_sum_body (const float *x, gsize n, float mean)
{
  double total = 0.0;
  gsize i = 0;
  while (i + 8 <= n) {
    v8sf acc = { 0 };
    gsize end = MIN (n & ~(gsize) 7, i + 1024);
    for (; i < end; i += 8)
      acc += load8 (x + i) - mean;
    total += (double) acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
  }
  for (; i < n; i++)
    total += x[i] - mean;
  return total;
}
DOUBLE_VARIANTS (plane_sum, (const float *x, gsize n, float mean), (x, n, mean))

ALWAYS_INLINE double
plane_squares_body (const float *x, gsize n, float mean)
{
  double total = 0.0;
  gsize i = 0;
  while (i + 8 <= n) {
    v8sf acc = { 0 };
    gsize end = MIN (n & ~(gsize) 7, i + 1024);
    for (; i < end; i += 8) {
      v8sf d = load8 (x + i) - mean;
      acc += d * d;
    }
    total += (double) acc[0] + acc[1] + acc[2] + acc[3] + acc[4] + acc[5] + acc[6] + acc[7];
  }
  for (; i < n; i++) {
    double d = x[i] - mean;
    total += d * d;
  }
  return total;
}
DOUBLE_VARIANTS (plane_squares, (const float *x, gsize n, float mean), (x, n, mean))

#define PLANE_AFFINE_PARAMS \
  (const float *src, float *dst, gsize n, float scale, float shift, gboolean relu)
ALWAYS_INLINE void
plane_affine_body PLANE_AFFINE_PARAMS
{
  if (relu)
    for (gsize i = 0; i < n; i++) {
      float v = src[i] * scale + shift;
      dst[i] = v > 0.0f ? v : 0.0f;
    }
  else
    for (gsize i = 0; i < n; i++)
      dst[i] = src[i] * scale + shift;
}
VOID_VARIANTS (plane_affine, PLANE_AFFINE_PARAMS, (src, dst, n, scale, shift, relu))

void
tunit_cpu_norm (const TunitNode *node, const float *input, const TunitShape *shape,
                float *output, const float *adain_parameters, int threads, TunitCpuIsa isa)
{
  gsize plane = (gsize) shape->height * shape->width;
#pragma omp parallel for num_threads (threads) schedule (static)
  for (int c = 0; c < shape->channels; c++) {
    const float *src = input + c * plane;
    float *dst = output + c * plane;
    /* the mean, refined once, then the biased variance around it */
    double mean = plane_sum_variants[isa] (src, plane, 0.0f) / plane;
    mean += plane_sum_variants[isa] (src, plane, (float) mean) / plane;
    double squares = plane_squares_variants[isa] (src, plane, (float) mean);
    double inv_std = 1.0 / sqrt (squares / plane + TUNIT_NORM_EPSILON);
    double scale = inv_std, shift = -mean * inv_std;
    if (node->adaptive) {
      double bias = adain_parameters[node->adain_offset + c];
      double weight = adain_parameters[node->adain_offset + shape->channels + c];
      scale *= weight;
      shift = shift * weight + bias;
    }
    if (node->activation == TUNIT_ACTIVATION_TANH) {
      for (gsize i = 0; i < plane; i++)
        dst[i] = tanhf (src[i] * (float) scale + (float) shift);
    } else {
      plane_affine_variants[isa] (src, dst, plane, (float) scale, (float) shift,
                                  node->activation == TUNIT_ACTIVATION_RELU);
    }
  }
}

void
tunit_cpu_upsample_nearest2x (const float *input, const TunitShape *in, float *output)
{
  int out_width = in->width * 2;
  for (int c = 0; c < in->channels; c++) {
    for (int y = 0; y < in->height; y++) {
      const float *src = input + ((gsize) c * in->height + y) * in->width;
      float *dst = output + ((gsize) c * in->height * 2 + 2 * y) * out_width;
      for (int x = 0; x < in->width; x++)
        dst[2 * x] = dst[2 * x + 1] = src[x];
      memcpy (dst + out_width, dst, sizeof (float) * out_width);
    }
  }
}

void
tunit_cpu_max_pool2x2 (const float *input, const TunitShape *in, float *output,
                       const TunitShape *out)
{
  for (int c = 0; c < out->channels; c++) {
    const float *plane = input + (gsize) c * in->height * in->width;
    for (int y = 0; y < out->height; y++) {
      const float *top = plane + (gsize) (2 * y) * in->width;
      const float *bottom = top + in->width;
      float *dst = output + ((gsize) c * out->height + y) * out->width;
      for (int x = 0; x < out->width; x++)
        dst[x] = MAX (MAX (top[2 * x], top[2 * x + 1]), MAX (bottom[2 * x], bottom[2 * x + 1]));
    }
  }
}

void
tunit_cpu_global_average_pool (const float *input, const TunitShape *in, float *output)
{
  gsize plane = (gsize) in->height * in->width;
  for (int c = 0; c < in->channels; c++) {
    double sum = 0.0;
    for (gsize i = 0; i < plane; i++)
      sum += input[c * plane + i];
    output[c] = (float) (sum / plane);
  }
}

void
tunit_cpu_linear (const TunitNode *node, const float *input, float *output)
{
  for (int o = 0; o < node->channels; o++)
    output[o] = node->bias ? node->bias[o] : 0.0f;
  cblas_sgemv (CblasRowMajor, CblasNoTrans, node->channels, node->in_channels, 1.0f,
               node->weight, node->in_channels, input, 1, 1.0f, output, 1);
  for (int o = 0; o < node->channels; o++)
    output[o] = activate (output[o], node->activation);
}

void
tunit_cpu_residual_add (const TunitNode *node, const float *skip, const float *residual,
                        const TunitShape *shape, float *output, int threads)
{
  gsize plane = (gsize) shape->height * shape->width;
  float scale = node->residual_scale;
#pragma omp parallel for num_threads (threads) schedule (static)
  for (int c = 0; c < shape->channels; c++)
    for (gsize i = c * plane; i < (c + 1) * plane; i++)
      output[i] = skip[i] + scale * residual[i];
}
