/* graph.h - the graphs that every stage of libtunit hands on.
 *
 * A graph is a list of nodes in execution order; a node reads the values
 * of earlier nodes, listed in inputs[].  The stages:
 *
 *   network.c     describes the TUNIT networks as graphs of layers, the
 *                 way the official modules are written;
 *   lowering.c    turns a description into the graph the backends run:
 *                 BatchNorm folded into its convolution, nearest
 *                 upsampling + convolution fused into phase nodes, in-place
 *                 hints;
 *   buffer-plan.c assigns the values of a lowered graph at one input size
 *                 to buffers, one plan that every backend uses as it is.
 *
 * Weights are float32 in PyTorch's layouts ([out][in][k][k] for
 * convolutions, [out][in] for linear layers) and belong to the model or to
 * the lowered graph.
 *
 * The op kinds are one list (TUNIT_OPS below): for each its name, its
 * number of inputs, how its output shape follows from its first input
 * (graph.c) and whether it may write over that input.
 */
#ifndef TUNIT_GRAPH_H
#define TUNIT_GRAPH_H

#include "tunit.h"

G_BEGIN_DECLS

/* X (KIND, name, inputs, shape rule, may run in place) for each op.  Shape
 * rules (graph.c): SAME (as inputs[0]), CONV, UPSAMPLE, UPSAMPLE_CONV,
 * POOL, VECTOR ([channels,1,1]), INPUT.  BATCH_NORM appears only in
 * descriptions, UPSAMPLED_CONV only in lowered graphs. */
#define TUNIT_OPS(X)                                                                         \
  X (INPUT, "input", 0, INPUT, FALSE)                /* a graph input (image or vector) */   \
  X (CONV, "convolution", 1, CONV, FALSE)            /* 2-D convolution with padding */      \
  X (BATCH_NORM, "batch norm", 1, SAME, FALSE)       /* eval-mode, running statistics */     \
  X (NORM, "instance norm", 1, SAME, TRUE)           /* current frame's statistics */        \
  X (UPSAMPLE_NEAREST2X, "nearest upsampling", 1, UPSAMPLE, FALSE)                           \
  X (UPSAMPLED_CONV, "upsampled convolution", 1, UPSAMPLE_CONV, FALSE) /* lowering.h */      \
  X (MAX_POOL2X2, "max pooling", 1, POOL, FALSE)     /* 2x2, stride 2, floor */              \
  X (GLOBAL_AVERAGE_POOL, "average pooling", 1, VECTOR, FALSE) /* mean over H x W */         \
  X (LINEAR, "linear", 1, VECTOR, FALSE)             /* fully connected */                   \
  X (RESIDUAL_ADD, "residual add", 2, SAME, TRUE)    /* inputs[0] + scale * inputs[1] */

#define TUNIT_OP_ENUM(kind, name, inputs, shape, in_place) TUNIT_OP_##kind,
typedef enum { TUNIT_OPS (TUNIT_OP_ENUM) TUNIT_N_OPS } TunitOpKind;
#undef TUNIT_OP_ENUM

typedef enum {
  TUNIT_ACTIVATION_NONE,
  TUNIT_ACTIVATION_RELU,
  TUNIT_ACTIVATION_TANH,
} TunitActivation;

typedef enum {
  TUNIT_PAD_REFLECT,
  TUNIT_PAD_ZERO,
} TunitPadMode;

#define TUNIT_NODE_MAX_INPUTS 2
#define TUNIT_GRAPH_MAX_OUTPUTS 2
#define TUNIT_NORM_EPSILON 1e-5f

typedef struct _TunitPhaseSplit TunitPhaseSplit;   /* lowering.h */

typedef struct {
  TunitOpKind op;
  const char *name;        /* module path, e.g. "G.decoder.model.2"; for messages */
  int inputs[TUNIT_NODE_MAX_INPUTS];  /* earlier nodes read, in order */
  int n_inputs;
  int channels;            /* output channels (output features for LINEAR) */
  int in_channels;         /* input channels (input features for LINEAR) */
  TunitActivation activation; /* applied to the result (CONV, NORM, LINEAR, BATCH_NORM) */

  /* CONV; UPSAMPLED_CONV: the convolution that reads the upsampled image */
  int kernel, stride, padding;
  TunitPadMode pad_mode;
  /* CONV, LINEAR: [channels][in_channels][kernel][kernel] or [out][in];
   * BATCH_NORM: the affine weight and bias */
  const float *weight;
  const float *bias;       /* [channels], or NULL */
  /* BATCH_NORM: the running statistics [channels] */
  const float *running_mean, *running_variance;

  /* NORM: statistics of the current frame, biased variance, eps 1e-5.
   * adaptive: the shift of channel c is parameters[shift_offset + c],
   * its scale parameters[scale_offset + c] (the graph's parameters). */
  gboolean adaptive;
  int shift_offset, scale_offset;

  /* RESIDUAL_ADD */
  float residual_scale;

  /* Set by the lowering */
  gboolean in_place;       /* writes its value over inputs[0]'s, whose last reader it is */
  const TunitPhaseSplit *phases; /* UPSAMPLED_CONV */
} TunitNode;

typedef struct {
  const char *name;        /* "generator", "guide", "style MLP"; for messages */
  TunitNode *nodes;
  int n_nodes;
  int n_inputs;            /* its INPUT nodes, in node order */
  int outputs[TUNIT_GRAPH_MAX_OUTPUTS];  /* nodes whose values the graph returns */
  int n_outputs;
  int n_parameters;        /* floats of the parameter vector its NORM nodes read */
  gboolean lowered;        /* made by tunit_graph_lower: what backends accept */
} TunitGraph;

/* What graph.c knows of each op. */
const char *tunit_op_name (TunitOpKind op);
int tunit_op_input_count (TunitOpKind op);
gboolean tunit_op_may_run_in_place (TunitOpKind op);

/* Index of the INPUT node that is graph input k, or -1. */
int tunit_graph_input_node (const TunitGraph *graph, int k);

/* Shape of a node's value: LINEAR and GLOBAL_AVERAGE_POOL give [C,1,1]. */
typedef struct { int channels, height, width; } TunitShape;

static inline gsize
tunit_shape_count (const TunitShape *shape)
{
  return (gsize) shape->channels * shape->height * shape->width;
}

/* Fills shapes[n_nodes] for inputs of `height` x `width` (1 x 1 for
 * vectors); input_channels must match the first INPUT node.  Fails when a
 * size becomes too small for a layer (reflection padding needs side >
 * pad). */
gboolean tunit_graph_infer_shapes (const TunitGraph *graph, int input_channels,
                                   int height, int width, TunitShape *shapes,
                                   GError **error);

/* FLOPs (2 x multiply-adds) of the convolution and linear nodes, counted
 * as the layers of the description (an upsampled convolution as the
 * convolution of the upsampled image). */
double tunit_graph_flops (const TunitGraph *graph, const TunitShape *shapes);

G_END_DECLS

#endif /* TUNIT_GRAPH_H */
