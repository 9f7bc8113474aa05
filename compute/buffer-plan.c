/* buffer-plan.c - assigns the values of a lowered graph to reusable
 * buffers (buffer-plan.h), the one plan every backend uses.
 *
 * A value dies after its last reader has run; its buffer then returns to
 * the free list.  A node takes the smallest free buffer that fits (growing
 * one if none does), so kernels never write over their inputs, except the
 * nodes the lowering marked in_place, which take their first input's. */
#include "buffer-plan.h"

/* last_use[i]: the last node that reads value i (i itself if none);
 * the graph's outputs live to the end (n_nodes). */
static int *
find_last_use (const TunitGraph *graph)
{
  int *last_use = g_new (int, graph->n_nodes);
  for (int i = 0; i < graph->n_nodes; i++) {
    last_use[i] = i;
    const TunitNode *node = &graph->nodes[i];
    for (int k = 0; k < node->n_inputs; k++)
      last_use[node->inputs[k]] = i;
  }
  for (int k = 0; k < graph->n_outputs; k++)
    last_use[graph->outputs[k]] = graph->n_nodes;
  return last_use;
}

/* A free buffer (busy[s] FALSE) for `size` floats: the smallest that
 * fits, else the largest, grown; a new one if none is free. */
static int
take_slot (GArray *sizes, gboolean *busy, gsize size)
{
  int best = -1;
  for (guint s = 0; s < sizes->len; s++) {
    if (busy[s])
      continue;
    gsize have = g_array_index (sizes, gsize, s);
    gsize best_size = best >= 0 ? g_array_index (sizes, gsize, best) : 0;
    if (best < 0 || (have >= size && (best_size < size || have < best_size))
        || (best_size < size && have > best_size))
      best = s;
  }
  if (best < 0) {
    gsize zero = 0;
    g_array_append_val (sizes, zero);
    best = sizes->len - 1;
  }
  gsize *slot_size = &g_array_index (sizes, gsize, best);
  *slot_size = MAX (*slot_size, size);
  busy[best] = TRUE;
  return best;
}

static void
plan_slots (TunitGraphLayout *layout)
{
  const TunitGraph *graph = layout->graph;
  int n = graph->n_nodes;
  g_autofree int *last_use = find_last_use (graph);
  GArray *sizes = g_array_new (FALSE, TRUE, sizeof (gsize));
  g_autofree gboolean *busy = g_new0 (gboolean, n + 1);
  layout->slot = g_new (int, n);
  for (int i = 0; i < n; i++) {
    const TunitNode *node = &graph->nodes[i];
    gsize size = tunit_shape_count (&layout->shapes[i]);
    if (node->in_place) {
      layout->slot[i] = layout->slot[node->inputs[0]];
      gsize *have = &g_array_index (sizes, gsize, layout->slot[i]);
      *have = MAX (*have, size);
    } else {
      layout->slot[i] = take_slot (sizes, busy, size);
    }
    /* the values whose last reader is node i free their buffers */
    for (int k = 0; k < node->n_inputs; k++) {
      int value = node->inputs[k];
      if (last_use[value] == i && layout->slot[value] != layout->slot[i])
        busy[layout->slot[value]] = FALSE;
    }
    if (last_use[i] == i)
      busy[layout->slot[i]] = FALSE;
  }
  layout->n_slots = sizes->len;
  layout->slot_size = (gsize *) g_array_free (sizes, FALSE);
}

TunitGraphLayout *
tunit_graph_layout_new (const TunitGraph *graph, int height, int width, GError **error)
{
  g_return_val_if_fail (graph->lowered, NULL);
  TunitGraphLayout *layout = g_new0 (TunitGraphLayout, 1);
  layout->graph = graph;
  layout->height = height;
  layout->width = width;
  layout->shapes = g_new (TunitShape, graph->n_nodes);
  int first = tunit_graph_input_node (graph, 0);
  if (!tunit_graph_infer_shapes (graph, graph->nodes[first].channels, height, width,
                                 layout->shapes, error)) {
    tunit_graph_layout_free (layout);
    return NULL;
  }
  plan_slots (layout);
  return layout;
}

void
tunit_graph_layout_free (TunitGraphLayout *layout)
{
  if (layout == NULL)
    return;
  g_free (layout->shapes);
  g_free (layout->slot);
  g_free (layout->slot_size);
  g_free (layout);
}
