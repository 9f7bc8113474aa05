/* network.h - the one description of the TUNIT networks.
 *
 * network.c builds, from a loaded model, three graphs (graph.h): the
 * generator, the guiding network and the style MLP, layer by layer as the
 * official modules are written (eval-mode BatchNorm as a node of its own).
 * The engine lowers each (lowering.h) and runs it on a backend; no backend
 * hard-codes the layer list.
 */
#ifndef TUNIT_NETWORK_H
#define TUNIT_NETWORK_H

#include "graph.h"

G_BEGIN_DECLS

typedef struct {
  TunitGraph generator;   /* [3,H,W] -> [3,H,W], H and W multiples of 2^n_downs */
  TunitGraph guide;       /* [3,S,S] -> outputs[0] style [d], outputs[1] logits [K] */
  TunitGraph style_mlp;   /* [d] -> [adain_parameter_count] */
  int adain_parameter_count; /* the generator's parameters: the MLP's output */
  int size_multiple;      /* 2^n_downs */
  int guide_size;         /* img_size: the guide's input is guide_size x guide_size */
} TunitNetwork;

/* Builds the graphs; checks every tensor the graphs need (presence, dtype,
 * shape).  Owned by the model: see tunit_model_get_network(). */
TunitNetwork *tunit_network_build (const TunitModel *model, GError **error);
void tunit_network_free (TunitNetwork *network);

const TunitNetwork *tunit_model_get_network (const TunitModel *model);

G_END_DECLS

#endif /* TUNIT_NETWORK_H */
