/* op-cases.h - one table of op tests that runs against every backend.
 *
 * Each case is a small described graph (the same kinds of nodes as
 * compute/network.c makes: BatchNorm after convolutions, upsampling before
 * them, adaptive norms reading a parameter vector) with awkward sizes.  A
 * check lowers it (compute/lowering.c), runs it on a backend through the
 * backend interface (compute/backend.h) and compares every output with a
 * naive reference written here, which runs the description itself with
 * double accumulation: so the lowering (folding, phase split, border terms,
 * in-place plan) and the backend's kernels are checked together.
 */
#ifndef TUNIT_OP_CASES_H
#define TUNIT_OP_CASES_H

#include "backend.h"

G_BEGIN_DECLS

/* How a backend runs the table. */
typedef struct {
  TunitBackend *backend;
  const char *label;            /* for messages: "cpu reference kernels", ... */
  double tolerance;             /* max |error| / max (1, max |reference|) */
  double offset_norm_tolerance; /* for norms of inputs far from zero (fp16 storage) */
  gboolean fuse_upsample_conv;  /* the lowering's option */
  TunitGraphUse use;
} OpTableRun;

/* The whole table: single convolutions of every shape (with and without an
 * upsampling before them), norms, the small ops, a guide-like, a
 * generator-like and an MLP-like graph.  Fails the test on a mismatch. */
void op_table_run (const OpTableRun *run);

/* Nodes of kind `op` in a graph. */
int op_graph_count (const TunitGraph *graph, TunitOpKind op);

/* Parts of it, for backends that vary a setting between convolutions and
 * the rest (tile shapes, reduction widths). */
void op_table_run_convolutions (const OpTableRun *run);
void op_table_run_norms (const OpTableRun *run);
void op_table_run_graphs (const OpTableRun *run);

G_END_DECLS

#endif /* TUNIT_OP_CASES_H */
