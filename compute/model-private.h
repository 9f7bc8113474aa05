/* model-private.h - what the engine's other files see of a model. */
#ifndef TUNIT_MODEL_PRIVATE_H
#define TUNIT_MODEL_PRIVATE_H

#include "tunit.h"
#include "safetensors.h"

G_BEGIN_DECLS

/* A tensor as float32: read in place from the file's bytes when they
 * already are aligned little-endian F32, converted once at load otherwise. */
typedef struct {
  const char *name;
  int n_dims;
  gint64 dims[TUNIT_MAX_DIMS];
  gsize n_elements;
  const float *values;
  float *converted;      /* owned copy, or NULL when values point into the file */
} TunitTensor;

/* Looks a tensor up and checks its shape: dims[i] == -1 accepts any size.
 * The error names the tensor and both shapes. */
const TunitTensor *tunit_model_require_tensor (const TunitModel *model, const char *name,
                                               int n_dims, const gint64 *dims,
                                               GError **error);

G_END_DECLS

#endif
