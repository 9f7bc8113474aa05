/* lowering.h - from the description of a network (network.c) to the graph
 * that every backend executes.
 *
 * tunit_graph_lower() makes a new graph in which
 *   - each eval-mode BatchNorm is folded into the convolution before it
 *     (an affine map per channel: new weights and bias, its activation);
 *   - each nearest x2 upsampling read only by convolutions that can be
 *     split into phases (stride 1, odd kernel 2r + 1, padding r, and no
 *     activation where it has border terms, which add to its sum) is gone,
 *     and those convolutions are UPSAMPLED_CONV nodes that read the small
 *     image, with their phase weights and border terms (below) computed
 *     here, once;
 *   - a node that may run in place (graph.h) and is the last reader of
 *     its first input is marked in_place; the buffer plan then gives it
 *     that input's buffer;
 *   - every node lists its inputs in inputs[].
 * Backends implement the nodes; they discover no pattern.
 *
 * The phase split.  A nearest x2 upsampling followed by a convolution of
 * kernel k = 2r + 1 computes output pixel (2i + py, 2j + px) from the
 * rows i - p .. i + p and columns j - p .. j + p of the small image X,
 * p = (r + 1) / 2: each output phase (py, px) is a convolution of X with a
 * (2p + 1)^2 kernel whose taps sum the k x k taps that read the same pixel
 * of X (phase-split.h has the rules).  For TUNIT's 5x5 that is four 3x3
 * convolutions of the small image, 9/25 of the work.  The phases read X
 * padded by replication, which matches the upsampled image's own padding
 * except on a few lines beyond each edge (one for a reflected 5x5); each
 * border term adds, on one output line, the convolution of the difference
 * on one such padded line with the kernel row (or column) that reads it.
 * Phases plus border terms give the exact result.
 */
#ifndef TUNIT_LOWERING_H
#define TUNIT_LOWERING_H

#include "graph.h"

G_BEGIN_DECLS

typedef enum {
  TUNIT_SIDE_TOP,
  TUNIT_SIDE_BOTTOM,
  TUNIT_SIDE_LEFT,
  TUNIT_SIDE_RIGHT,
} TunitSide;

/* One border correction of an upsampled convolution: for output line
 * `output_line` (0 = the one at the edge of `side`; rows for TOP and
 * BOTTOM, columns for LEFT and RIGHT), the contribution of padded line
 * `line` (1 = the first beyond the edge) of the upsampled image.  The
 * difference D between the true padded image and what the phases read is
 * taken along the whole padded line (rows for TOP/BOTTOM, from column -r
 * to 2W - 1 + r; columns for LEFT/RIGHT, without the positions that lie
 * on border rows, which TOP and BOTTOM terms own); output pixel t of the
 * line gains sum over c and s of weight[o][c][s] * D[c][t + s]. */
typedef struct {
  TunitSide side;
  int line;
  int output_line;
  const float *weight;   /* [channels][in_channels][kernel] */
} TunitBorderTerm;

struct _TunitPhaseSplit {
  int padding;           /* p: the phases' replicate padding */
  int kernel;            /* 2p + 1 */
  int rows;              /* 4 x channels: row q = phase * channels + o, phase = 2 py + px */
  const float *weight;   /* [rows][in_channels][kernel][kernel] */
  const TunitBorderTerm *terms;
  int n_terms;
};

typedef struct {
  gboolean fuse_upsample_conv;   /* UPSAMPLED_CONV nodes where they apply */
} TunitLoweringOptions;

/* Lowers `description` (which must outlive the result: names and weights
 * are shared).  Fails on a description it cannot lower (a BatchNorm that
 * does not follow a convolution of its own, inputs that are not earlier
 * nodes...). */
TunitGraph *tunit_graph_lower (const TunitGraph *description,
                               const TunitLoweringOptions *options, GError **error);
void tunit_lowered_graph_free (TunitGraph *graph);

G_END_DECLS

#endif /* TUNIT_LOWERING_H */
