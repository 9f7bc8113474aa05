/* tiny-model.h - builds a small but complete TUNIT model file in memory
 * for tests that need a valid model without PyTorch. */
#ifndef TUNIT_TINY_MODEL_H
#define TUNIT_TINY_MODEL_H

#include <glib.h>

#include "tunit.h"

/* img_size 32 (n_downs 1), nf 2, n_res 1, style_dim 4, MLP 3 x 8,
 * guide width 2, K 3; centroids when with_centroids.  Deterministic. */
GBytes *tiny_model_build (gboolean with_centroids);

/* tiny_model_build (TRUE), loaded; aborts the test if it does not load. */
TunitModel *tiny_model_load (void);

/* The JSON header of a model file, and a file with a replaced header. */
char *tiny_model_header (GBytes *model);
GBytes *tiny_model_with_header (GBytes *model, const char *header);

#endif
