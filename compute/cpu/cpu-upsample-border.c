/* cpu-upsample-border.c - the border terms of an upsampled convolution
 * (lowering.h), added to what its phases wrote: for each term, the
 * difference D between the true padded upsampled image and what the
 * phases read, along one padded line, convolved with the term's kernel row
 * (or column) and added to one output line.  One GEMM per term and chunk
 * of the line, M x n x (in_channels * k): for TUNIT's reflected 5x5, four
 * terms of depth 5C where recomputing the border pixels would take 25C.
 * Two parallel passes (rows, then columns), a thread per output line:
 * synchronising the threads inside every term cost more than the terms
 * on a busy machine. */
#include "cpu-common.h"
#include "phase-split.h"

/* Output positions per GEMM, so that each thread's columns stay within an
 * eighth of the column budget (every thread has its own). */
static int
chunk_length (const TunitNode *node, int line_length)
{
  gsize depth = (gsize) node->in_channels * node->kernel;
  return (int) CLAMP (TUNIT_CPU_COLUMN_BUDGET / 8 / depth, 1, (gsize) line_length);
}

/* Per thread. */
gsize
tunit_cpu_upsample_border_scratch (const TunitNode *node, const TunitShape *in)
{
  int longest = 2 * MAX (in->height, in->width);
  int chunk = chunk_length (node, longest);
  gsize line = (gsize) node->in_channels * (longest + node->kernel);
  return line + (gsize) node->in_channels * node->kernel * chunk
         + (gsize) node->channels * chunk;
}

typedef struct {
  gboolean rows;         /* a padded row (TOP, BOTTOM) or column (LEFT, RIGHT) */
  int fixed;             /* its coordinate in the padded upsampled image */
  int output;            /* the output row or column that gains the term */
  int length;            /* output pixels along it */
} TermLine;

static gboolean
term_line (const TunitBorderTerm *term, const TunitShape *in, TermLine *line)
{
  int height = 2 * in->height, width = 2 * in->width;
  line->rows = term->side == TUNIT_SIDE_TOP || term->side == TUNIT_SIDE_BOTTOM;
  int across = line->rows ? height : width;
  gboolean near = term->side == TUNIT_SIDE_TOP || term->side == TUNIT_SIDE_LEFT;
  line->fixed = near ? -term->line : across - 1 + term->line;
  line->output = near ? term->output_line : across - 1 - term->output_line;
  line->length = line->rows ? width : height;
  /* a frame thinner than the kernel: the line may miss the output */
  return term->output_line < across;
}

/* D along the padded line, positions -r .. length - 1 + r: d[c][p + r]. */
static void
fill_difference (const TunitNode *node, const TermLine *line, const float *input,
                 const TunitShape *in, float *d, int c)
{
  int H = in->height, W = in->width, r = node->kernel / 2;
  int reflect = node->pad_mode == TUNIT_PAD_REFLECT;
  const float *X = input + (gsize) c * H * W;
  float *out = d + (gsize) c * (line->length + 2 * r);
  for (int p = -r; p < line->length + r; p++) {
    int u = line->rows ? line->fixed : p, v = line->rows ? p : line->fixed;
    /* positions on border rows belong to the TOP and BOTTOM terms */
    if (!line->rows && tunit_phase_border_row (u, H, reflect)) {
      out[p + r] = 0.0f;
      continue;
    }
    int true_row = tunit_upsampled_row (u, H, reflect);
    int true_column = tunit_upsampled_row (v, W, reflect);
    float truth = true_row < 0 || true_column < 0 ? 0.0f : X[true_row * W + true_column];
    out[p + r] = truth - X[tunit_phase_row (u, H) * W + tunit_phase_row (v, W)];
  }
}

static void
add_to_output (const TunitNode *node, const TermLine *line, const float *result, int first,
               int count, float *output, const TunitShape *out, int o)
{
  float *plane = output + (gsize) o * out->height * out->width;
  const float *values = result + (gsize) o * count;
  if (line->rows) {
    float *row = plane + (gsize) line->output * out->width + first;
    for (int i = 0; i < count; i++)
      row[i] += values[i];
  } else {
    float *column = plane + (gsize) first * out->width + line->output;
    for (int i = 0; i < count; i++)
      column[(gsize) i * out->width] += values[i];
  }
}

/* One term, on one thread (the terms of different output lines run on
 * different threads). */
static void
run_term (const TunitNode *node, const TunitBorderTerm *term, const float *input,
          const TunitShape *in, float *output, const TunitShape *out, float *scratch,
          const CpuGemm *gemm)
{
  TermLine line;
  if (!term_line (term, in, &line))
    return;
  int C = node->in_channels, M = node->channels, k = node->kernel;
  int span = line.length + k - 1, chunk = chunk_length (node, line.length), depth = C * k;
  float *d = scratch;                                /* [C][span] */
  float *columns = d + (gsize) C * span;             /* [C * k][chunk] */
  float *result = columns + (gsize) depth * chunk;   /* [M][chunk] */
  for (int c = 0; c < C; c++)
    fill_difference (node, &line, input, in, d, c);
  for (int first = 0; first < line.length; first += chunk) {
    int count = MIN (chunk, line.length - first);
    /* output position first + i reads line positions first + i + s, s < k */
    for (int row = 0; row < depth; row++)
      memcpy (columns + (gsize) row * count, d + (gsize) (row / k) * span + first + row % k,
              sizeof (float) * count);
    cpu_gemm (gemm, M, count, depth, term->weight, depth, columns, count, 0.0f, result, count);
    for (int o = 0; o < M; o++)
      add_to_output (node, &line, result, first, count, output, out, o);
  }
}

static gboolean
term_on_rows (const TunitBorderTerm *term)
{
  return term->side == TUNIT_SIDE_TOP || term->side == TUNIT_SIDE_BOTTOM;
}

/* The terms of one output line: side and output_line. */
static int
line_key (const TunitBorderTerm *term)
{
  return term->output_line * 4 + term->side;
}

/* One pass of a node's border terms. */
typedef struct {
  const TunitNode *node;
  const float *input;
  const TunitShape *in;
  float *output;
  const TunitShape *out;
  float **thread_scratch;
  const CpuGemm *gemm;
  gboolean rows;
} BorderPass;

/* Every term of the pass on output line `key` (line_key). */
static void
run_line (void *data, int key, int worker)
{
  const BorderPass *pass = data;
  const TunitPhaseSplit *phases = pass->node->phases;
  for (int t = 0; t < phases->n_terms; t++) {
    const TunitBorderTerm *term = &phases->terms[t];
    if (term_on_rows (term) == pass->rows && line_key (term) == key)
      run_term (pass->node, term, pass->input, pass->in, pass->output, pass->out,
                pass->thread_scratch[worker], pass->gemm);
  }
}

void
tunit_cpu_upsample_border_run (const TunitNode *node, const float *input, const TunitShape *in,
                               float *output, const TunitShape *out, float **thread_scratch,
                               const CpuContext *cpu)
{
  const TunitPhaseSplit *phases = node->phases;
  /* row terms, then column terms (they share the corner pixels); within a
   * pass, each output line on one thread; all on one thread where the
   * frame is so small that near and far lines may coincide */
  int deepest = 0;
  for (int t = 0; t < phases->n_terms; t++)
    deepest = MAX (deepest, phases->terms[t].output_line);
  BorderPass pass = {
    .node = node, .input = input, .in = in, .output = output, .out = out,
    .thread_scratch = thread_scratch, .gemm = &cpu->gemm,
  };
  for (int i = 0; i < 2; i++) {
    pass.rows = i == 0;
    int across = pass.rows ? out->height : out->width;
    int threads = across > 2 * deepest + 1 ? cpu->threads : 1;
    int keys = 4 * (deepest + 1);
    cpu_thread_pool_for (cpu->pool, threads, keys, CPU_SCHEDULE_DYNAMIC, run_line, &pass);
  }
}
