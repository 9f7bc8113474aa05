/* cpu-kernels.h - the CPU implementation of each node kind.
 * Values are planar float32 [C][H][W]. */
#ifndef TUNIT_CPU_KERNELS_H
#define TUNIT_CPU_KERNELS_H

#include "network.h"

G_BEGIN_DECLS

/* Scratch for the convolution's column buffer: the convolution works in
 * bands of output rows so that the buffer stays within this many floats. */
#define TUNIT_CPU_COLUMN_BUDGET ((gsize) 4 << 20)

gsize tunit_cpu_conv_scratch_size (const TunitNode *node, const TunitShape *out);

void tunit_cpu_conv (const TunitNode *node, const float *input, const TunitShape *in,
                     float *output, const TunitShape *out, float *scratch);
void tunit_cpu_norm (const TunitNode *node, const float *input, const TunitShape *shape,
                     float *output, const float *adain_parameters);
void tunit_cpu_upsample_nearest2x (const float *input, const TunitShape *in, float *output);
void tunit_cpu_max_pool2x2 (const float *input, const TunitShape *in, float *output,
                            const TunitShape *out);
void tunit_cpu_global_average_pool (const float *input, const TunitShape *in, float *output);
void tunit_cpu_linear (const TunitNode *node, const float *input, float *output);
void tunit_cpu_residual_add (const TunitNode *node, const float *skip, const float *residual,
                             const TunitShape *shape, float *output);

G_END_DECLS

#endif
