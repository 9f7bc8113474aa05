/* buffer-plan.h - a lowered graph at one input size: the shape of every
 * value and the buffer that holds it.  The engine makes one per graph and
 * size; every backend allocates and binds exactly these buffers. */
#ifndef TUNIT_BUFFER_PLAN_H
#define TUNIT_BUFFER_PLAN_H

#include "graph.h"

G_BEGIN_DECLS

typedef struct {
  const TunitGraph *graph;     /* lowered; outlives the layout */
  int height, width;           /* of the graph's inputs (1 x 1 for vectors) */
  TunitShape *shapes;          /* [n_nodes] */
  int *slot;                   /* [n_nodes]: the buffer holding each value */
  gsize *slot_size;            /* [n_slots]: floats */
  int n_slots;
} TunitGraphLayout;

/* Shapes for inputs of height x width, then buffers: a value takes the
 * smallest free buffer that fits (else the largest, grown; else a new one),
 * never one of its inputs' except for an in_place node, which takes its
 * first input's; a buffer is free again after the last reader of its
 * value.  The graph's outputs keep theirs to the end.  Fails when the size
 * is too small for a layer. */
TunitGraphLayout *tunit_graph_layout_new (const TunitGraph *graph, int height, int width,
                                          GError **error);
void tunit_graph_layout_free (TunitGraphLayout *layout);

static inline gboolean
tunit_graph_layout_matches (const TunitGraphLayout *layout, int height, int width)
{
  return layout != NULL && layout->height == height && layout->width == width;
}

G_END_DECLS

#endif /* TUNIT_BUFFER_PLAN_H */
