/* cpu-upsample-border.c - the exact border of upsample + 5x5 reflect
 * convolution run as replicate-padded phase convolutions. */
#include "cpu-common.h"

#include <cblas.h>

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
