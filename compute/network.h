/* network.h - the one description of the TUNIT networks.
 *
 * network.c builds, from a loaded model, three graphs: the generator, the
 * guiding network and the style MLP.  A graph is a list of nodes in
 * execution order; every node reads the output of earlier nodes.  Every
 * backend executes these graphs; none hard-codes the layer list.
 *
 * Weights are float32 in the layouts PyTorch uses ([out][in][k][k] for
 * convolutions, [out][in] for linear layers) and belong to the model.
 * Eval-mode BatchNorm of the guiding network is folded into the preceding
 * convolution when the graph is built.
 */
#ifndef TUNIT_NETWORK_H
#define TUNIT_NETWORK_H

#include "tunit.h"

G_BEGIN_DECLS

typedef enum {
  TUNIT_OP_INPUT,               /* the graph's input image or vector */
  TUNIT_OP_CONV,                /* 2-D convolution with padding */
  TUNIT_OP_NORM,                /* instance norm, optionally adaptive (AdaIN) */
  TUNIT_OP_UPSAMPLE_NEAREST2X,  /* nearest-neighbour x2 up-sampling */
  TUNIT_OP_MAX_POOL2X2,         /* 2x2 max pooling, stride 2 (floor) */
  TUNIT_OP_GLOBAL_AVERAGE_POOL, /* mean over H x W -> [C] */
  TUNIT_OP_LINEAR,              /* fully connected: [in] -> [out] */
  TUNIT_OP_RESIDUAL_ADD,        /* skip + residual_scale * input */
} TunitOpKind;

typedef enum {
  TUNIT_ACTIVATION_NONE,
  TUNIT_ACTIVATION_RELU,
  TUNIT_ACTIVATION_TANH,
} TunitActivation;

typedef enum {
  TUNIT_PAD_REFLECT,
  TUNIT_PAD_ZERO,
} TunitPadMode;

typedef struct {
  TunitOpKind op;
  const char *name;        /* module path, e.g. "G.decoder.model.2"; for messages */
  int input;               /* index of the node read; -1 for INPUT */
  int channels;            /* output channels (output features for LINEAR) */
  int in_channels;         /* input channels (input features for LINEAR) */
  TunitActivation activation; /* applied to the result (CONV, NORM, LINEAR) */

  /* CONV */
  int kernel, stride, padding;
  TunitPadMode pad_mode;
  /* CONV and LINEAR: [channels][in_channels][kernel][kernel] or [out][in] */
  const float *weight;
  const float *bias;       /* [channels], or NULL */

  /* NORM: statistics of the current frame, biased variance, eps 1e-5.
   * adaptive: scale/shift come from the AdaIN parameter vector: bias
   * (shift) at adain_offset .. +channels, weight (scale) right after. */
  gboolean adaptive;
  int adain_offset;

  /* RESIDUAL_ADD: output = node[skip] + residual_scale * node[input] */
  int skip;
  float residual_scale;
} TunitNode;

#define TUNIT_NORM_EPSILON 1e-5f

typedef struct {
  TunitNode *nodes;
  int n_nodes;
  int outputs[2];    /* nodes whose values the graph returns; -1 = unused */
} TunitGraph;

typedef struct {
  TunitGraph generator;   /* [3,H,W] -> [3,H,W], H and W multiples of 2^n_downs */
  TunitGraph guide;       /* [3,S,S] -> outputs[0] style [d], outputs[1] logits [K] */
  TunitGraph style_mlp;   /* [d] -> [adain_parameter_count] */
  int adain_parameter_count;
  int size_multiple;      /* 2^n_downs */
  int guide_size;         /* img_size: the guide's input is guide_size x guide_size */
} TunitNetwork;

/* Builds the graphs; checks every tensor the graphs need (presence, dtype,
 * shape).  Owned by the model: see tunit_model_get_network(). */
TunitNetwork *tunit_network_build (const TunitModel *model, GError **error);
void tunit_network_free (TunitNetwork *network);

const TunitNetwork *tunit_model_get_network (const TunitModel *model);

/* Shape of a node's value: LINEAR and GLOBAL_AVERAGE_POOL give [C,1,1]. */
typedef struct { int channels, height, width; } TunitShape;

/* Fills shapes[n_nodes] for an input of `height` x `width`.  Fails when a
 * size becomes too small for a layer (reflection padding needs side > pad). */
gboolean tunit_graph_infer_shapes (const TunitGraph *graph, int input_channels,
                                   int height, int width, TunitShape *shapes,
                                   GError **error);

/* Buffer plan shared by the backends: node i writes buffer slot[i]; a slot
 * is reused once every reader of its previous value has run.  Sizes are in
 * floats.  The graph's outputs keep their slots to the end. */
typedef struct {
  int *slot;             /* [n_nodes] */
  gsize *slot_size;      /* [n_slots] */
  int n_slots;
} TunitBufferPlan;

/* Picks a free slot (busy[s] FALSE) for a value of `size` floats: the
 * smallest that fits, else the largest, grown; appends one if none is free.
 * Marks it busy.  sizes is a GArray of gsize; busy has room for one more
 * slot than sizes holds.  Backends with their own plans share this rule. */
int tunit_buffer_slot_take (GArray *sizes, gboolean *busy, gsize size);

TunitBufferPlan *tunit_buffer_plan_new (const TunitGraph *graph, const TunitShape *shapes);
void tunit_buffer_plan_free (TunitBufferPlan *plan);

/* FLOPs (2 x multiply-adds) of convolution and linear nodes. */
double tunit_graph_flops (const TunitGraph *graph, const TunitShape *shapes);

G_END_DECLS

#endif /* TUNIT_NETWORK_H */
