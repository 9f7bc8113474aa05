/* model-private.h - what the engine's other files see of a model. */
#ifndef TUNIT_MODEL_PRIVATE_H
#define TUNIT_MODEL_PRIVATE_H

#include "tunit.h"
#include "safetensors.h"

G_BEGIN_DECLS

/* A tensor converted to float32 at load time. */
typedef struct {
  const char *name;
  int n_dims;
  gint64 dims[TUNIT_MAX_DIMS];
  gsize n_elements;
  float *values;
} TunitTensor;

/* Looks a tensor up and checks its shape: dims[i] == -1 accepts any size.
 * The error names the tensor and both shapes. */
const TunitTensor *tunit_model_require_tensor (const TunitModel *model, const char *name,
                                               int n_dims, const gint64 *dims,
                                               GError **error);

G_END_DECLS

#endif
