/* test-lowering.c - the lowering and the buffer plan on the networks of a
 * real model (the tiny one) and on descriptions it must refuse: what the
 * backends are promised (no BatchNorm, no fused upsampling left, phase
 * nodes with their border terms, in-place hints) and a plan that never
 * lets two live values share a buffer. */
#include "buffer-plan.h"
#include "op-cases.h"
#include "lowering.h"
#include "network.h"
#include "tiny-model.h"

#include <string.h>

static TunitModel *model;

static TunitGraph *
lower (const TunitGraph *description, gboolean fuse)
{
  GError *error = NULL;
  TunitLoweringOptions options = { .fuse_upsample_conv = fuse };
  TunitGraph *lowered = tunit_graph_lower (description, &options, &error);
  g_assert_no_error (error);
  g_assert_true (lowered->lowered);
  return lowered;
}

/* A value is live from its node to its last reader (to the end for an
 * output); no two live values may share a buffer, except an in-place
 * node's with the input it overwrites. */
static void
check_plan (const TunitGraphLayout *layout)
{
  const TunitGraph *graph = layout->graph;
  int n = graph->n_nodes;
  g_autofree int *last = g_new (int, n);
  for (int i = 0; i < n; i++) {
    last[i] = i;
    for (int k = 0; k < graph->nodes[i].n_inputs; k++)
      last[graph->nodes[i].inputs[k]] = i;
  }
  for (int k = 0; k < graph->n_outputs; k++)
    last[graph->outputs[k]] = n;
  for (int i = 0; i < n; i++) {
    const TunitNode *node = &graph->nodes[i];
    g_assert_cmpuint (layout->slot_size[layout->slot[i]], >=,
                      tunit_shape_count (&layout->shapes[i]));
    if (node->in_place)
      g_assert_cmpint (layout->slot[i], ==, layout->slot[node->inputs[0]]);
    for (int v = 0; v < i; v++) {
      gboolean overwritten = node->in_place && v == node->inputs[0];
      if (last[v] >= i && !overwritten && layout->slot[v] == layout->slot[i])
        g_error ("node %d (%s) takes the buffer of node %d, still read by node %d", i,
                 node->name, v, last[v]);
    }
  }
}

static void
test_generator (void)
{
  const TunitNetwork *network = tunit_model_get_network (model);
  const TunitArchitecture *architecture = tunit_model_get_architecture (model);
  const TunitGraph *description = &network->generator;
  g_assert_cmpint (op_graph_count (description, TUNIT_OP_UPSAMPLE_NEAREST2X), ==,
                   architecture->n_downs);
  TunitGraph *lowered = lower (description, TRUE);
  g_assert_cmpint (op_graph_count (lowered, TUNIT_OP_UPSAMPLE_NEAREST2X), ==, 0);
  g_assert_cmpint (op_graph_count (lowered, TUNIT_OP_UPSAMPLED_CONV), ==, architecture->n_downs);
  g_assert_cmpint (lowered->n_parameters, ==, network->adain_parameter_count);
  int in_place = 0;
  for (int i = 0; i < lowered->n_nodes; i++) {
    const TunitNode *node = &lowered->nodes[i];
    in_place += node->in_place;
    if (node->op != TUNIT_OP_UPSAMPLED_CONV)
      continue;
    /* the reflected 5x5: four 3x3 phases of 4 x channels rows, and one
     * border term per side, on the line next to the edge */
    g_assert_cmpint (node->phases->kernel, ==, 3);
    g_assert_cmpint (node->phases->padding, ==, 1);
    g_assert_cmpint (node->phases->rows, ==, 4 * node->channels);
    g_assert_cmpint (node->phases->n_terms, ==, 4);
    for (int t = 0; t < 4; t++) {
      g_assert_cmpint (node->phases->terms[t].line, ==, 2);
      g_assert_cmpint (node->phases->terms[t].output_line, ==, 0);
    }
  }
  /* every norm and residual add of the generator overwrites its input */
  g_assert_cmpint (in_place, ==, op_graph_count (lowered, TUNIT_OP_NORM)
                                 + op_graph_count (lowered, TUNIT_OP_RESIDUAL_ADD));
  GError *error = NULL;
  for (int size = 16; size <= 48; size += 16) {
    TunitGraphLayout *layout = tunit_graph_layout_new (lowered, size, size + 16, &error);
    g_assert_no_error (error);
    check_plan (layout);
    tunit_graph_layout_free (layout);
  }
  /* too small for the reflection padding: an error, not a crash */
  g_assert_null (tunit_graph_layout_new (lowered, 2, 2, &error));
  g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
  g_clear_error (&error);
  tunit_lowered_graph_free (lowered);

  lowered = lower (description, FALSE);
  g_assert_cmpint (op_graph_count (lowered, TUNIT_OP_UPSAMPLE_NEAREST2X), ==, architecture->n_downs);
  g_assert_cmpint (op_graph_count (lowered, TUNIT_OP_UPSAMPLED_CONV), ==, 0);
  tunit_lowered_graph_free (lowered);
}

static void
test_guide (void)
{
  const TunitNetwork *network = tunit_model_get_network (model);
  const TunitGraph *description = &network->guide;
  int norms = op_graph_count (description, TUNIT_OP_BATCH_NORM);
  g_assert_cmpint (norms, >, 0);
  TunitGraph *lowered = lower (description, TRUE);
  g_assert_cmpint (op_graph_count (lowered, TUNIT_OP_BATCH_NORM), ==, 0);
  g_assert_cmpint (lowered->n_nodes, ==, description->n_nodes - norms);
  g_assert_cmpint (lowered->n_outputs, ==, 2);
  /* the ReLU after each BatchNorm moved into its convolution */
  for (int i = 0; i < lowered->n_nodes; i++)
    if (lowered->nodes[i].op == TUNIT_OP_CONV)
      g_assert_cmpint (lowered->nodes[i].activation, ==, TUNIT_ACTIVATION_RELU);
  GError *error = NULL;
  TunitGraphLayout *layout = tunit_graph_layout_new (lowered, network->guide_size,
                                                     network->guide_size, &error);
  g_assert_no_error (error);
  check_plan (layout);
  tunit_graph_layout_free (layout);
  tunit_lowered_graph_free (lowered);
}

/* Descriptions the lowering refuses, with an error that says why. */
static void
test_refused (void)
{
  float weight[16] = { 0 }, stats[4] = { 1, 1, 1, 1 };
  TunitNode input = { .op = TUNIT_OP_INPUT, .name = "input", .channels = 1 };
  TunitNode conv = { .op = TUNIT_OP_CONV, .name = "conv", .inputs = { 0 }, .n_inputs = 1,
                     .channels = 1, .in_channels = 1, .kernel = 1, .stride = 1,
                     .weight = weight };
  TunitNode norm = { .op = TUNIT_OP_BATCH_NORM, .name = "norm", .inputs = { 1 }, .n_inputs = 1,
                     .channels = 1, .in_channels = 1, .weight = stats, .bias = stats,
                     .running_mean = stats, .running_variance = stats };
  struct {
    const char *what;
    TunitNode nodes[4];
    int n_nodes, outputs;
  } cases[] = {
    /* a BatchNorm on the input, and one after a convolution also read elsewhere */
    { "BatchNorm", { input, { .op = TUNIT_OP_BATCH_NORM, .name = "norm", .inputs = { 0 },
                              .n_inputs = 1, .channels = 1, .weight = stats, .bias = stats,
                              .running_mean = stats, .running_variance = stats } }, 2, 1 },
    { "BatchNorm", { input, conv, norm,
                     { .op = TUNIT_OP_RESIDUAL_ADD, .name = "add", .inputs = { 1, 2 },
                       .n_inputs = 2, .channels = 1 } }, 4, 3 },
    /* an input that is not an earlier node, a wrong number of inputs */
    { "earlier node", { input, { .op = TUNIT_OP_MAX_POOL2X2, .name = "pool", .inputs = { 1 },
                                 .n_inputs = 1, .channels = 1 } }, 2, 1 },
    { "number of inputs", { input, { .op = TUNIT_OP_RESIDUAL_ADD, .name = "add",
                                     .inputs = { 0 }, .n_inputs = 1, .channels = 1 } }, 2, 1 },
    /* AdaIN parameters the graph does not have */
    { "AdaIN", { input, { .op = TUNIT_OP_NORM, .name = "adain", .inputs = { 0 }, .n_inputs = 1,
                          .channels = 1, .adaptive = TRUE, .shift_offset = 0,
                          .scale_offset = 5 } }, 2, 1 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    TunitGraph graph = { .name = "test graph", .nodes = cases[i].nodes,
                         .n_nodes = cases[i].n_nodes, .n_inputs = 1,
                         .outputs = { cases[i].outputs }, .n_outputs = 1, .n_parameters = 2 };
    TunitLoweringOptions options = { .fuse_upsample_conv = TRUE };
    GError *error = NULL;
    g_assert_null (tunit_graph_lower (&graph, &options, &error));
    g_assert_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, cases[i].what));
    g_clear_error (&error);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  model = tiny_model_load ();
  g_test_add_func ("/lowering/generator", test_generator);
  g_test_add_func ("/lowering/guide", test_guide);
  g_test_add_func ("/lowering/refused", test_refused);
  int status = g_test_run ();
  tunit_model_unref (model);
  return status;
}
