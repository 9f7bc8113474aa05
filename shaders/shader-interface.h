/* shader-interface.h - the parameters of the compute shaders, written once
 * for both sides: the C code that records dispatches (compute/vulkan/)
 * and the GLSL that reads them (shaders/ *.comp) include this file.
 *
 * Specialization constants have ids from TunitSpecId; the C side always
 * passes all of them (a shader ignores those it does not declare).  Push
 * constants are blocks of int and float members only, so that C and GLSL
 * (std430) lay them out alike; vulkan-internal.h checks the C sizes
 * against the pipeline layout's push range.
 */
#ifndef TUNIT_SHADER_INTERFACE_H
#define TUNIT_SHADER_INTERFACE_H

#ifdef VULKAN   /* GLSL */
#define TUNIT_CONSTANT(name, value) const int name = value;
#else           /* C */
#define TUNIT_CONSTANT(name, value) name = value,
#endif

/* ----------------------------------------- specialization constant ids */

#define TUNIT_SPEC_IDS(X)                                                      \
  X (TUNIT_SPEC_WORKGROUP, 0)     /* local_size_x */                           \
  X (TUNIT_SPEC_TILE_M, 1)        /* conv2d: tile rows (output channels) */    \
  X (TUNIT_SPEC_TILE_N, 2)        /* conv2d: tile columns (pixels) */          \
  X (TUNIT_SPEC_TILE_K, 3)        /* conv2d: K slice per step */               \
  X (TUNIT_SPEC_THREAD_M, 4)      /* conv2d*: rows per invocation */           \
  X (TUNIT_SPEC_THREAD_N, 5)      /* conv2d*: pixels per invocation */         \
  X (TUNIT_SPEC_KERNEL, 6)        /* convolution kernel side */                \
  X (TUNIT_SPEC_STRIDE, 7)                                                     \
  X (TUNIT_SPEC_PADDING, 8)                                                    \
  X (TUNIT_SPEC_PAD_REFLECT, 9)   /* 1 reflection, 0 zeros */                  \
  X (TUNIT_SPEC_ACTIVATION, 10)   /* TUNIT_SHADER_ACTIVATION_* */              \
  X (TUNIT_SPEC_HAS_BIAS, 11)                                                  \
  X (TUNIT_SPEC_CONV_MODE, 12)    /* TUNIT_CONV_MODE_* */                      \
  X (TUNIT_SPEC_ADAPTIVE, 13)     /* norm_apply: AdaIN */                      \
  X (TUNIT_SPEC_COUNT, 14)

/* Activations: the values of the graph's TunitActivation. */
#define TUNIT_SHADER_ACTIVATIONS(X)                                            \
  X (TUNIT_SHADER_ACTIVATION_NONE, 0)                                          \
  X (TUNIT_SHADER_ACTIVATION_RELU, 1)                                          \
  X (TUNIT_SHADER_ACTIVATION_TANH, 2)

/* conv2d.comp and conv2d_direct.comp (conv_common.glsl):
 * PLAIN   a convolution;
 * PHASES  the phases of an upsampled convolution on the small image
 *         (4 x out_c GEMM rows, replicate padding, output interleaved). */
#define TUNIT_CONV_MODES(X)                                                    \
  X (TUNIT_CONV_MODE_PLAIN, 0)                                                 \
  X (TUNIT_CONV_MODE_PHASES, 1)

#ifdef VULKAN
TUNIT_SPEC_IDS (TUNIT_CONSTANT)
TUNIT_SHADER_ACTIVATIONS (TUNIT_CONSTANT)
TUNIT_CONV_MODES (TUNIT_CONSTANT)
#else
typedef enum { TUNIT_SPEC_IDS (TUNIT_CONSTANT) } TunitSpecId;
typedef enum { TUNIT_SHADER_ACTIVATIONS (TUNIT_CONSTANT) } TunitShaderActivation;
typedef enum { TUNIT_CONV_MODES (TUNIT_CONSTANT) } TunitConvMode;
#endif

/* ------------------------------------------------------ push constants */

/* The members of each push-constant block.  A shader declares its block
 *     layout (push_constant) uniform Params { TUNIT_CONV_PUSH } p;
 * and C has the struct of the same name below. */

/* conv2d.comp, conv2d_direct.comp */
#define TUNIT_CONV_PUSH                                                        \
  int in_c; int in_h; int in_w;   /* the stored input */                       \
  int out_c; int out_h; int out_w;                                             \
  int tiles_n;                    /* workgroups along the pixels */            \
  int w_stride;                   /* values per K row of the weights (>= rows) */

/* upsample_border.comp: one border term of an upsampled convolution */
#define TUNIT_BORDER_PUSH                                                      \
  int in_c; int in_h; int in_w;   /* the small image */                        \
  int out_c; int out_h; int out_w;                                             \
  int rows;                       /* 1: a padded row (top, bottom); 0: a column */ \
  int line;                       /* its coordinate in the padded upsampled image */  \
  int target;                     /* the output row or column that gains the term */ \
  int pixels;                     /* output pixels along it */                 \
  int w_stride;                   /* values per K row of the weights (>= out_c) */

/* norm_stats.comp */
#define TUNIT_NORM_STATS_PUSH                                                  \
  int plane;                      /* elements per channel */                   \
  int blocks;                     /* workgroups per channel */                 \
  int chunk;                      /* elements per workgroup */

/* norm_apply.comp; AdaIN: channel c's shift at parameters[shift_offset + c],
 * its scale at parameters[scale_offset + c] */
#define TUNIT_NORM_APPLY_PUSH                                                  \
  int plane; int blocks; int channels;                                         \
  int shift_offset; int scale_offset;                                          \
  float epsilon;

/* The block of the simple shaders, which a new one can take too: a tensor
 * of channels x height x width (count elements) and one scalar.
 * residual_add.comp: y = skip + scale * x over count; upsample.comp and
 * max_pool.comp: the input's channels, height, width; global_avg_pool.comp:
 * the mean over height x width; convert.comp: count. */
#define TUNIT_TENSOR_PUSH                                                      \
  int channels; int height; int width;                                         \
  int count;                                                                   \
  float scale;

/* linear.comp */
#define TUNIT_LINEAR_PUSH int in_features; int out_features;

#ifndef VULKAN
typedef struct { TUNIT_CONV_PUSH } TunitConvPush;
typedef struct { TUNIT_BORDER_PUSH } TunitBorderPush;
typedef struct { TUNIT_NORM_STATS_PUSH } TunitNormStatsPush;
typedef struct { TUNIT_NORM_APPLY_PUSH } TunitNormApplyPush;
typedef struct { TUNIT_TENSOR_PUSH } TunitTensorPush;
typedef struct { TUNIT_LINEAR_PUSH } TunitLinearPush;
#endif

#endif /* TUNIT_SHADER_INTERFACE_H */
