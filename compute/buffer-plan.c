/* buffer-plan.c - assigns graph values to reusable buffers.
 *
 * A value dies after its last reader has run; its buffer then returns to a
 * free list.  A node takes the smallest free buffer that fits (growing one
 * if none does), never one of its own inputs, so kernels need not support
 * in-place operation. */
#include "network.h"

static void
find_last_use (const TunitGraph *graph, int *last_use)
{
  for (int i = 0; i < graph->n_nodes; i++)
    last_use[i] = i;
  for (int i = 0; i < graph->n_nodes; i++) {
    const TunitNode *node = &graph->nodes[i];
    if (node->input >= 0)
      last_use[node->input] = i;
    if (node->op == TUNIT_OP_RESIDUAL_ADD && node->skip >= 0)
      last_use[node->skip] = i;
  }
  for (int k = 0; k < 2; k++)
    if (graph->outputs[k] >= 0)
      last_use[graph->outputs[k]] = graph->n_nodes;
}

int
tunit_buffer_slot_take (GArray *sizes, gboolean *busy, gsize size)
{
  int best = -1;
  for (guint s = 0; s < sizes->len; s++) {
    if (busy[s])
      continue;
    gsize have = g_array_index (sizes, gsize, s);
    gsize best_size = best >= 0 ? g_array_index (sizes, gsize, best) : 0;
    /* prefer the smallest that fits; otherwise the largest, to grow */
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

TunitBufferPlan *
tunit_buffer_plan_new (const TunitGraph *graph, const TunitShape *shapes)
{
  int n = graph->n_nodes;
  g_autofree int *last_use = g_new (int, n);
  find_last_use (graph, last_use);
  GArray *sizes = g_array_new (FALSE, TRUE, sizeof (gsize));
  g_autofree gboolean *busy = g_new0 (gboolean, n + 1);
  TunitBufferPlan *plan = g_new0 (TunitBufferPlan, 1);
  plan->slot = g_new (int, n);
  for (int i = 0; i < n; i++) {
    gsize size = (gsize) shapes[i].channels * shapes[i].height * shapes[i].width;
    plan->slot[i] = tunit_buffer_slot_take (sizes, busy, size);
    /* release the values whose last reader is node i */
    for (int j = 0; j <= i; j++)
      if (last_use[j] == i && j != i)
        busy[plan->slot[j]] = FALSE;
  }
  plan->n_slots = sizes->len;
  plan->slot_size = (gsize *) g_array_free (sizes, FALSE);
  return plan;
}

void
tunit_buffer_plan_free (TunitBufferPlan *plan)
{
  if (plan == NULL)
    return;
  g_free (plan->slot);
  g_free (plan->slot_size);
  g_free (plan);
}
