/* cpu-winograd-conv.c - 3x3 convolutions in Winograd F(2x2,3x3) and
 * F(4x4,3x3) with pre-transformed weights, also for the phase
 * decomposition of upsample + 5x5 convolution. */
#include "cpu-common.h"

/* One Winograd F(m x m, 3 x 3) form of a 3x3 stride-1 padding-1
 * convolution (or of the phases of an upsampled convolution: 4 x channels
 * GEMM rows, written interleaved into the [channels][2H][2W] output).
 * Weights transformed once (u), or per run into the weight scratch. */
typedef struct {
  int m;                 /* output tile side: 2 or 4 */
  int in_channels;
  int channels;          /* output channels of the node */
  int rows;              /* GEMM rows: channels, or 4 x channels with phases */
  gboolean phases;
  CpuPad pad;
  TunitActivation activation;
  const float *weight;   /* [rows][in_channels][3][3] */
  float *u;              /* [rows][(m+2)^2][in_channels], or NULL: transformed
                          * into scratch on every run */
  float *bias;           /* [rows] */
  TunitCpuIsa isa;       /* variant of the transforms */
} Winograd;

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

/* The 3x3 kernel of GEMM row q, input channel c (for phases, the
 * lowering's phase weights). */
static inline void
kernel_3x3 (const Winograd *w, int q, int c, float g[9])
{
  memcpy (g, w->weight + ((gsize) q * w->in_channels + c) * 9, sizeof (float) * 9);
}

static gsize
winograd_weight_size (const Winograd *w)
{
  return (gsize) (w->m + 2) * (w->m + 2) * w->rows * w->in_channels;
}

/* Row q of the transformed weights, eight input channels at a time. */
ALWAYS_INLINE void
transform_weights_row_body (const Winograd *w, int q, float *u)
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
VOID_VARIANTS (transform_weights_row, (const Winograd *w, int q, float *u), (w, q, u))

/* Fills u[rows][(m+2)^2][in_channels]: each row's transforms are written
 * in one sequential run (writing (m+2)^2 far-apart streams instead made
 * the per-frame transform several times slower); the GEMM of point xi
 * reads its matrix at u + xi * in_channels with a row stride of
 * (m+2)^2 * in_channels. */
typedef struct {
  const Winograd *w;
  float *u;
  int first;
} WeightTransform;

static void
transform_weights_task (void *data, int q, int worker)
{
  const WeightTransform *t = data;
  const Winograd *w = t->w;
  gsize row = (gsize) (w->m + 2) * (w->m + 2) * w->in_channels;
  transform_weights_row_variants[w->isa] (w, t->first + q, t->u + q * row);
}

static void
transform_weights (const Winograd *w, float *u, int first, int count, CpuThreadPool *pool,
                   int threads)
{
  WeightTransform t = { .w = w, .u = u, .first = first };
  cpu_thread_pool_for (pool, threads, count, CPU_SCHEDULE_STATIC, transform_weights_task, &t);
}

/* Weights transformed per frame are transformed a block of GEMM rows at a
 * time, right before their GEMMs, with blocks of at most this many floats
 * (40 MiB): the official models' first upsampling layer, 72 MiB in
 * F(4x4), takes two.  Each block repeats the input transform and the
 * packing of the GEMMs' right-hand sides; with 8 MiB blocks a 640x480
 * frame of the img_size-128 model took about 25% longer. */
#define WEIGHT_BLOCK_BUDGET ((gsize) 10 << 20)

static int
weight_block_rows (const Winograd *w)
{
  if (w->u != NULL)
    return w->rows;
  gsize row = (gsize) (w->m + 2) * (w->m + 2) * w->in_channels;
  return (int) CLAMP (WEIGHT_BLOCK_BUDGET / row, (gsize) MIN (w->rows, 64), (gsize) w->rows);
}

static gsize
winograd_weight_scratch_size (const Winograd *w)
{
  if (w->u != NULL)
    return 0;
  return (gsize) weight_block_rows (w) * (w->m + 2) * (w->m + 2) * w->in_channels;
}

static Winograd *
winograd_new (const CpuConv *conv, int m, gboolean cached, TunitCpuIsa isa)
{
  Winograd *w = g_new0 (Winograd, 1);
  w->m = m;
  w->isa = isa;
  w->in_channels = conv->in_channels;
  w->channels = conv->channels;
  w->rows = conv->rows;
  w->phases = conv->phases;
  w->pad = conv->pad;
  w->activation = conv->activation;
  w->weight = conv->weight;
  w->bias = g_new0 (float, w->rows);
  for (int q = 0; q < w->rows; q++)
    w->bias[q] = conv_row_bias (conv, q);
  if (cached) {
    w->u = g_new (float, winograd_weight_size (w));
    transform_weights (w, w->u, 0, w->rows, NULL, 1);
  }
  return w;
}

static void
winograd_free (Winograd *w)
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
winograd_geometry (const Winograd *w, const TunitShape *in)
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

static gsize
winograd_scratch_size (const Winograd *w, const TunitShape *in)
{
  WinogradGeometry g = winograd_geometry (w, in);
  int n = w->m + 2;
  return (gsize) n * n * (w->in_channels + w->rows) * g.tiles_w * g.chunk_rows;
}

static gsize
winograd_thread_scratch (const Winograd *w, const TunitShape *in)
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
fill_band (const Winograd *w, const float *plane, const TunitShape *in, int y_first,
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

/* A chunk of tile rows t0 .. t0+rows-1 of GEMM rows q0 .. q0+M-1 (T
 * tiles), as its workers see it. */
typedef struct {
  const Winograd *w;
  const WinogradGeometry *g;
  const CpuGemm *gemm;
  const float *input;
  const TunitShape *in;
  const float *u;
  float *output;
  float **thread_scratch;
  int q0, M;
  int t0, rows, T;
  float *v;                   /* [nn][C][T] */
  float *mx;                  /* [nn][M][T] */
} WinogradChunk;

/* Input channel c of the chunk: its rows of tiles, transformed. */
static void
transform_input_channel (void *data, int c, int worker)
{
  const WinogradChunk *k = data;
  const Winograd *w = k->w;
  const WinogradGeometry *g = k->g;
  int m = w->m, T = k->T;
  int band_rows = m * k->rows + 2;
  float *band = k->thread_scratch[worker], *tmp = band + (gsize) band_rows * g->band_width;
  gsize in_plane = (gsize) k->in->height * k->in->width;
  fill_band (w, k->input + c * in_plane, k->in, m * k->t0 - 1, band_rows, g->band_width, band);
  input_transform_variants[w->isa] (m, band, k->rows, g->tiles_w, g->band_width, tmp,
                                    k->v + (gsize) c * T, (gsize) w->in_channels * T);
}

/* The GEMM of transform point xi. */
static void
multiply_point (void *data, int xi, int worker)
{
  const WinogradChunk *k = data;
  int n = k->w->m + 2, nn = n * n;
  int C = k->w->in_channels, M = k->M, T = k->T;
  cpu_gemm (k->gemm, M, T, C, k->u + (gsize) xi * C, nn * C, k->v + (gsize) xi * C * T, T,
            0.0f, k->mx + (gsize) xi * M * T, T);
}

/* GEMM row q0 + q of the chunk: its output rows, transformed back, with
 * bias and activation. */
static void
transform_output_row (void *data, int q, int worker)
{
  const WinogradChunk *k = data;
  const Winograd *w = k->w;
  const WinogradGeometry *g = k->g;
  int m = w->m, n = m + 2;
  int H = k->in->height, W = k->in->width, M = k->M, T = k->T;
  gsize in_plane = (gsize) H * W;
  gsize out_plane = w->phases ? 4 * in_plane : in_plane;
  int out_width = w->phases ? 2 * W : W;
  float *mine = k->thread_scratch[worker];
  float *s = mine, *row = mine + (gsize) n * g->tiles_w;
  int o = w->phases ? (k->q0 + q) % w->channels : k->q0 + q;
  int phase = w->phases ? (k->q0 + q) / w->channels : 0;
  float bias = w->bias[k->q0 + q];
  for (int t = 0; t < k->rows; t++) {
    for (int r = 0; r < m; r++) {
      int y = m * (k->t0 + t) + r;
      if (y >= H)
        break;
      output_transform_row_variants[w->isa] (m, k->mx + (gsize) q * T, (gsize) M * T, t,
                                             g->tiles_w, r, s, row);
      if (!w->phases) {
        float *dst = k->output + o * out_plane + (gsize) y * W;
        memcpy (dst, row, sizeof (float) * W);
        bias_activate_row (dst, W, bias, w->activation);
      } else {
        bias_activate_row (row, W, bias, w->activation);
        float *dst = k->output + o * out_plane + (gsize) (2 * y + phase / 2) * out_width
                     + phase % 2;
        for (int x = 0; x < W; x++)
          dst[2 * x] = row[x];
      }
    }
  }
}

/* GEMM rows q0 .. q0+count-1 of the convolution (output channels, or
 * phase x channel), whose transformed weights are u[count][(m+2)^2][C].
 * Each chunk is three successive runs of the pool (every input transform
 * before any GEMM, every GEMM before any output transform). */
static void
winograd_rows (const Winograd *w, const WinogradGeometry *g, const float *input,
               const TunitShape *in, int q0, int count, const float *u, float *output,
               float *scratch, float **thread_scratch, const CpuContext *cpu)
{
  int n = w->m + 2, nn = n * n;
  WinogradChunk k = {
    .w = w, .g = g, .gemm = &cpu->gemm, .input = input, .in = in, .u = u, .output = output,
    .thread_scratch = thread_scratch, .q0 = q0, .M = count,
  };
  for (k.t0 = 0; k.t0 < g->tiles_h; k.t0 += g->chunk_rows) {
    k.rows = MIN (g->chunk_rows, g->tiles_h - k.t0);
    k.T = k.rows * g->tiles_w;
    k.v = scratch;
    k.mx = scratch + (gsize) nn * w->in_channels * k.T;
    cpu_thread_pool_for (cpu->pool, cpu->threads, w->in_channels, CPU_SCHEDULE_STATIC,
                         transform_input_channel, &k);
    cpu_thread_pool_for (cpu->pool, cpu->threads, nn, CPU_SCHEDULE_STATIC, multiply_point, &k);
    cpu_thread_pool_for (cpu->pool, cpu->threads, count, CPU_SCHEDULE_STATIC,
                         transform_output_row, &k);
  }
}

static void
winograd_run_variant (const Winograd *w, const float *input, const TunitShape *in,
                      float *output, float *scratch, float **thread_scratch,
                      float *weight_scratch, const CpuContext *cpu)
{
  WinogradGeometry g = winograd_geometry (w, in);
  int block = weight_block_rows (w);
  for (int q0 = 0; q0 < w->rows; q0 += block) {
    int count = MIN (block, w->rows - q0);
    const float *u = w->u + (gsize) q0 * (w->m + 2) * (w->m + 2) * w->in_channels;
    if (w->u == NULL) {
      transform_weights (w, weight_scratch, q0, count, cpu->pool, cpu->threads);
      u = weight_scratch;
    }
    winograd_rows (w, &g, input, in, q0, count, u, output, scratch, thread_scratch, cpu);
  }
}

/* ------------------------------------------------------ the algorithm */

/* The forms a node has used, made when first needed: [F(2x2), F(4x4)] x
 * [transformed per run, kept]. */
typedef struct {
  TunitCpuIsa isa;
  Winograd *forms[2][2];
  Winograd *current;      /* the form for the prepared size */
} WinogradState;

/* Large frames: a graph whose largest value has at least this many floats
 * transforms the Winograd weights on every frame instead of keeping them
 * (the transform is then a small part of the frame, and the kept weights
 * would cost up to 4x the model's size in memory). */
#define LARGE_FRAME_VALUE ((gsize) 8 << 20)

static gboolean
keep_transformed_weights (const CpuConvPolicy *policy)
{
  if (policy->keep_weights != 0)
    return policy->keep_weights > 0;
  return policy->largest_value < LARGE_FRAME_VALUE;
}

/* F(4x4,3x3) does 4x fewer multiplications than direct convolution,
 * F(2x2,3x3) 2.25x; F(4x4) needs enough tiles to keep the GEMMs wide.  So:
 * F(4x4) on inputs of at least 24x24, F(2x2) on smaller ones.  Kept F(4x4)
 * weights take 36/9 of the model's 3x3 weights (about 400 MB for the
 * img_size-128 model at frames up to LARGE_FRAME_VALUE); at 256x256 they
 * made a frame about 10% faster than kept F(2x2) weights. */
static int
winograd_tile (const CpuConvPolicy *policy, const TunitShape *in)
{
  if (policy->winograd_tile == 2 || policy->winograd_tile == 4)
    return policy->winograd_tile;
  return in->height >= 24 && in->width >= 24 ? 4 : 2;
}

static gboolean
winograd_applies (const CpuConv *conv, const CpuConvPolicy *policy)
{
  return !policy->reference_only && conv->kernel == 3 && conv->stride == 1
         && conv->padding == 1;
}

static void *
winograd_prepare (const CpuConv *conv, const CpuContext *cpu)
{
  WinogradState *state = g_new0 (WinogradState, 1);
  state->isa = cpu->isa;
  return state;
}

static void
winograd_state_free (void *data)
{
  WinogradState *state = data;
  for (int k = 0; k < 4; k++)
    winograd_free (state->forms[k / 2][k % 2]);
  g_free (state);
}

static void
winograd_size (void *data, const CpuConv *conv, const CpuConvPolicy *policy,
               const TunitShape *in, const TunitShape *out, CpuScratchSize *need)
{
  WinogradState *state = data;
  int m = winograd_tile (policy, in);
  gboolean keep = keep_transformed_weights (policy);
  Winograd **form = &state->forms[m == 4][keep != 0];
  if (*form == NULL)
    *form = winograd_new (conv, m, keep, state->isa);
  state->current = *form;
  *need = (CpuScratchSize) {
    .shared = winograd_scratch_size (*form, in),
    .per_thread = winograd_thread_scratch (*form, in),
    .weights = winograd_weight_scratch_size (*form),
  };
}

static void
winograd_run (void *data, const CpuConv *conv, const float *input, const TunitShape *in,
              float *output, const TunitShape *out, const CpuScratch *scratch,
              const CpuContext *cpu)
{
  const WinogradState *state = data;
  winograd_run_variant (state->current, input, in, output, scratch->shared,
                        scratch->per_thread, scratch->weights, cpu);
}

const CpuConvAlgorithm tunit_cpu_winograd_conv = {
  .name = "Winograd",
  .applies = winograd_applies,
  .prepare = winograd_prepare,
  .free = winograd_state_free,
  .size = winograd_size,
  .run = winograd_run,
};
