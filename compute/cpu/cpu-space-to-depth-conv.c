/* cpu-space-to-depth-conv.c - even-sized stride-2 convolutions (the
 * generator's downsampling) as GEMMs on the space-to-depth input. */
#include "cpu-common.h"

/* A k x k stride-2 convolution (k even) of the padded input P is a
 * (k/2) x (k/2) stride-1 convolution of its space-to-depth rearrangement
 * B[(c,sy,sx)][Y][X] = P[c][2Y+sy][2X+sx].  With B's rows laid out at the
 * output width plus k/2 - 1, each of the (k/2)^2 taps is one GEMM whose
 * right-hand side is B itself, shifted by dy rows and dx columns: no im2col
 * matrix, only B (the size of the input) and (k/2)^2 GEMMs with 4C deep
 * products.  The k/2 - 1 extra columns of each product row are discarded. */

typedef struct {
  int half;              /* kernel / 2 */
  int depth;             /* 4 x in_channels */
  float *weight;         /* [half * half taps][channels][depth] */
} SpaceToDepth;

static gboolean
space_to_depth_applies (const CpuConv *conv, const CpuConvPolicy *policy)
{
  return !policy->reference_only && conv->stride == 2 && conv->kernel >= 2
         && conv->kernel % 2 == 0 && !conv->phases;
}

/* Repacks the weights once: tap (dy, dx), row m, column (c, sy, sx). */
static void *
space_to_depth_prepare (const CpuConv *node, const CpuContext *cpu)
{
  SpaceToDepth *s = g_new0 (SpaceToDepth, 1);
  int k = node->kernel, half = k / 2, C = node->in_channels, M = node->channels;
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

static void
space_to_depth_free (void *state)
{
  SpaceToDepth *s = state;
  g_free (s->weight);
  g_free (s);
}

typedef struct {
  int rows;          /* output rows per band */
  int width;         /* B's row length: output width + half - 1 */
  gsize plane;       /* floats per B channel of a band */
} SpaceToDepthBand;

static SpaceToDepthBand
space_to_depth_band (const SpaceToDepth *s, const CpuConv *conv, const TunitShape *out)
{
  SpaceToDepthBand b;
  b.width = out->width + s->half - 1;
  gsize per_row = (gsize) (s->depth + conv->channels) * b.width;
  b.rows = (int) CLAMP (TUNIT_CPU_COLUMN_BUDGET / per_row, 1, (gsize) out->height);
  /* the last tap reads half - 1 floats past the band's last row */
  b.plane = (gsize) (b.rows + s->half - 1) * b.width + s->half;
  return b;
}

static void
space_to_depth_size (void *state, const CpuConv *conv, const CpuConvPolicy *policy,
                     const TunitShape *in, const TunitShape *out, CpuScratchSize *need)
{
  const SpaceToDepth *s = state;
  SpaceToDepthBand b = space_to_depth_band (s, conv, out);
  *need = (CpuScratchSize) {
    .shared = (gsize) s->depth * b.plane + (gsize) conv->channels * b.rows * b.width,
  };
}

/* B's four planes of input channel c for output rows y0 .. y0+rows-1. */
static void
fill_space_to_depth_channel (const SpaceToDepth *s, const CpuConv *node, int c,
                             const float *input, const TunitShape *in, int y0, int rows,
                             const SpaceToDepthBand *b, float *blocks)
{
  int pad = node->padding, band_height = rows + s->half - 1;
  const float *plane = input + (gsize) c * in->height * in->width;
  for (int sy = 0; sy < 2; sy++) {
    for (int sx = 0; sx < 2; sx++) {
      float *dst = blocks + (gsize) ((c * 2 + sy) * 2 + sx) * b->plane;
      /* columns X whose input column 2X + sx - pad is inside the image */
      int x_lo = MIN ((pad - sx + 1) / 2, b->width);
      int x_hi = CLAMP ((in->width - 1 + pad - sx) / 2 + 1, x_lo, b->width);
      for (int y = 0; y < band_height; y++, dst += b->width) {
        int iy = padded_index (2 * (y0 + y) + sy - pad, in->height, node->pad);
        if (iy < 0) {
          memset (dst, 0, sizeof (float) * b->width);
          continue;
        }
        const float *src = plane + (gsize) iy * in->width;
        for (int x = 0; x < x_lo; x++)
          dst[x] = padded_value (src, 2 * x + sx - pad, in->width, node->pad);
        for (int x = x_lo; x < x_hi; x++)
          dst[x] = src[2 * x + sx - pad];
        for (int x = x_hi; x < b->width; x++)
          dst[x] = padded_value (src, 2 * x + sx - pad, in->width, node->pad);
      }
      memset (dst, 0, sizeof (float) * s->half);
    }
  }
}

/* One convolution, as its workers see it, and the band in flight. */
typedef struct {
  const SpaceToDepth *s;
  const CpuConv *node;
  const CpuContext *cpu;
  const float *input;
  const TunitShape *in;
  float *output;
  const TunitShape *out;
  SpaceToDepthBand b;
  float *blocks, *product;
  int y0, rows;
} SpaceToDepthCall;

static void
fill_channel (void *data, int c, int worker)
{
  const SpaceToDepthCall *call = data;
  fill_space_to_depth_channel (call->s, call->node, c, call->input, call->in, call->y0,
                               call->rows, &call->b, call->blocks);
}

/* Each worker multiplies and writes out its share of the channels. */
static void
multiply_channel_share (void *data, int index, int count)
{
  const SpaceToDepthCall *call = data;
  const SpaceToDepth *s = call->s;
  const CpuConv *node = call->node;
  const TunitShape *out = call->out;
  int M = node->channels, half = s->half;
  int columns = call->rows * call->b.width;
  gsize out_plane = (gsize) out->height * out->width;
  int m0 = M * index / count, m1 = M * (index + 1) / count;
  for (int tap = 0; m1 > m0 && tap < half * half; tap++)
    cpu_gemm (&call->cpu->gemm, m1 - m0, columns, s->depth,
              s->weight + ((gsize) tap * M + m0) * s->depth, s->depth,
              call->blocks + (tap / half) * call->b.width + tap % half, (int) call->b.plane,
              tap == 0 ? 0.0f : 1.0f, call->product + (gsize) m0 * columns, columns);
  for (int m = m0; m < m1; m++) {
    float bias = conv_row_bias (node, m);
    for (int y = 0; y < call->rows; y++) {
      float *dst = call->output + m * out_plane + (gsize) (call->y0 + y) * out->width;
      memcpy (dst, call->product + (gsize) m * columns + (gsize) y * call->b.width,
              sizeof (float) * out->width);
      bias_activate_row (dst, out->width, bias, node->activation);
    }
  }
}

static void
space_to_depth_run (void *state, const CpuConv *node, const float *input, const TunitShape *in,
                    float *output, const TunitShape *out, const CpuScratch *scratch,
                    const CpuContext *cpu)
{
  const SpaceToDepth *s = state;
  SpaceToDepthCall call = {
    .s = s, .node = node, .cpu = cpu, .input = input, .in = in, .output = output, .out = out,
    .b = space_to_depth_band (s, node, out), .blocks = scratch->shared,
  };
  call.product = scratch->shared + (gsize) s->depth * call.b.plane;
  for (call.y0 = 0; call.y0 < out->height; call.y0 += call.b.rows) {
    call.rows = MIN (call.b.rows, out->height - call.y0);
    /* every channel's blocks before any product reads them */
    cpu_thread_pool_for (cpu->pool, cpu->threads, node->in_channels, CPU_SCHEDULE_STATIC,
                         fill_channel, &call);
    cpu_thread_pool_run (cpu->pool, cpu->threads, multiply_channel_share, &call);
  }
}

const CpuConvAlgorithm tunit_cpu_space_to_depth_conv = {
  .name = "space-to-depth",
  .applies = space_to_depth_applies,
  .prepare = space_to_depth_prepare,
  .free = space_to_depth_free,
  .size = space_to_depth_size,
  .run = space_to_depth_run,
};
