/* cpu-kernels.h - the CPU implementation of each node kind.
 * Values are planar float32 [C][H][W].
 *
 * Every kernel takes the number of threads to use (`threads`); with OpenMP
 * (-fopenmp) the work is split over that many threads, each of which calls
 * OpenBLAS single-threaded.  Without OpenMP the kernels run on the calling
 * thread and OpenBLAS threads the GEMMs itself. */
#ifndef TUNIT_CPU_KERNELS_H
#define TUNIT_CPU_KERNELS_H

#include "network.h"

G_BEGIN_DECLS

/* Scratch budget of the column buffer of an im2col convolution and of the
 * transformed tiles of a Winograd convolution, in floats: the convolutions
 * work in bands of output rows so that their buffers stay within it. */
#define TUNIT_CPU_COLUMN_BUDGET ((gsize) 4 << 20)

/* Pad modes of the CPU kernels: the graph's two plus replication, which the
 * phase decomposition of upsample + conv uses. */
typedef enum {
  CPU_PAD_REFLECT,
  CPU_PAD_ZERO,
  CPU_PAD_REPLICATE,
} CpuPad;

/* Instruction-set variants of the hot loops.  Each hot loop is written once
 * and compiled once per variant (GCC's target attribute); the backend
 * detects the CPU when it is created and passes the variant to the kernels.
 * Nothing is resolved when the library loads: no ifunc, whose resolvers run
 * before a sanitizer's runtime is ready. */
typedef enum {
  TUNIT_CPU_ISA_GENERIC,     /* the build's baseline instruction set */
  TUNIT_CPU_ISA_X86_64_V3,   /* x86-64 with AVX2, FMA, BMI2 (Haswell, Zen and later) */
  TUNIT_CPU_N_ISAS
} TunitCpuIsa;

/* The best variant this CPU runs. */
TunitCpuIsa tunit_cpu_isa_detect (void);
const char *tunit_cpu_isa_name (TunitCpuIsa isa);

/* Sets up threading: returns the thread count to use for `requested`
 * (0 = all cores) and, under OpenMP, makes OpenBLAS single-threaded. */
int tunit_cpu_threads_init (int requested);

/* ------------------------------------------------ generic convolution */

/* im2col + sgemm in bands of output rows; any kernel, stride, padding. */
gsize tunit_cpu_conv_scratch_size (const TunitNode *node, const TunitShape *out);
void tunit_cpu_conv (const TunitNode *node, const float *input, const TunitShape *in,
                     float *output, const TunitShape *out, float *scratch, int threads);

/* A k x k stride-2 convolution with k even (the generator's
 * downsampling) as (k/2)^2 GEMMs on the space-to-depth rearranged input,
 * with weights repacked once.  Scratch in bands of output rows. */
typedef struct {
  const TunitNode *node;
  int half;              /* kernel / 2 */
  int depth;             /* 4 x in_channels */
  float *weight;         /* [half * half taps][channels][depth] */
} CpuSpaceToDepthConv;

gboolean tunit_cpu_space_to_depth_conv_applies (const TunitNode *node);
CpuSpaceToDepthConv *tunit_cpu_space_to_depth_conv_new (const TunitNode *node);
void tunit_cpu_space_to_depth_conv_free (CpuSpaceToDepthConv *s);
gsize tunit_cpu_space_to_depth_conv_scratch_size (const CpuSpaceToDepthConv *s,
                                                  const TunitShape *out);
void tunit_cpu_space_to_depth_conv_run (const CpuSpaceToDepthConv *s, const float *input,
                                        const TunitShape *in, float *output,
                                        const TunitShape *out, float *scratch, int threads);

/* Direct convolution for few output or input channels (<= 4), stride 1:
 * the first and last 7x7 layers of the generator.  Per-thread scratch. */
#define TUNIT_CPU_DIRECT_MAX_CHANNELS 4
gboolean tunit_cpu_direct_conv_applies (const TunitNode *node);
gsize tunit_cpu_direct_conv_thread_scratch (const TunitNode *node, const TunitShape *out);
void tunit_cpu_direct_conv (const TunitNode *node, const float *input, const TunitShape *in,
                            float *output, const TunitShape *out, float **thread_scratch,
                            int threads, TunitCpuIsa isa);

/* ------------------------------------------- Winograd 3x3 convolution */

/* A 3x3 stride-1 convolution with padding 1 in Winograd F(m x m, 3 x 3),
 * weights transformed once.  With `phases`, it is the phase decomposition
 * of nearest-x2 upsampling followed by a 5x5 convolution: 4 x channels
 * outputs, one 3x3 kernel per output phase, written interleaved into the
 * [channels][2H][2W] output; the exact border is CpuUpsampleBorder's job. */
typedef struct {
  int m;                 /* output tile side: 2 or 4 */
  int in_channels;
  int channels;          /* output channels of the node */
  int rows;              /* GEMM rows: channels, or 4 x channels with phases */
  gboolean phases;
  CpuPad pad;
  TunitActivation activation;
  const float *weight;    /* the node's weights */
  float *u;              /* [rows][(m+2)^2][in_channels], or NULL: transformed
                          * into scratch on every run */
  float *bias;           /* [rows] */
  TunitCpuIsa isa;       /* variant of the transforms */
} CpuWinograd;

/* node: a 3x3 stride-1 padding-1 convolution.  cached: transform the
 * weights now and keep them; otherwise every run transforms them into its
 * weight scratch (less memory, some time). */
CpuWinograd *tunit_cpu_winograd_new (const TunitNode *node, int m, gboolean cached,
                                     TunitCpuIsa isa);
/* node: a 5x5 stride-1 padding-2 reflect convolution reading a nearest x2
 * upsampling. */
CpuWinograd *tunit_cpu_winograd_new_upsampled (const TunitNode *node, int m,
                                               gboolean cached, TunitCpuIsa isa);
/* Floats of the transformed weights. */
gsize tunit_cpu_winograd_weight_size (const CpuWinograd *w);
/* Floats of the weight scratch a run needs: 0 when the weights are kept,
 * else one block of transformed rows. */
gsize tunit_cpu_winograd_weight_scratch_size (const CpuWinograd *w);
void tunit_cpu_winograd_free (CpuWinograd *w);
/* in: the (low-resolution) input's shape. */
gsize tunit_cpu_winograd_scratch_size (const CpuWinograd *w, const TunitShape *in);
gsize tunit_cpu_winograd_thread_scratch (const CpuWinograd *w, const TunitShape *in);
void tunit_cpu_winograd_run (const CpuWinograd *w, const float *input, const TunitShape *in,
                             float *output, float *scratch, float **thread_scratch,
                             float *weight_scratch, int threads);

/* The exact two-pixel border of upsample + 5x5 reflect conv computed as
 * replicate-padded phase convolutions: corrections on the outermost output
 * rows and columns. */
typedef struct {
  int in_channels, channels;
  float *w[4];           /* top, bottom, left, right: [channels][in_channels * 5] */
} CpuUpsampleBorder;

CpuUpsampleBorder *tunit_cpu_upsample_border_new (const TunitNode *node);
void tunit_cpu_upsample_border_free (CpuUpsampleBorder *b);
gsize tunit_cpu_upsample_border_thread_scratch (const CpuUpsampleBorder *b, const TunitShape *in);
/* in: the low-resolution input X; output: [channels][2H][2W], corrected in place. */
void tunit_cpu_upsample_border_run (const CpuUpsampleBorder *b, const float *input,
                                    const TunitShape *in, float *output,
                                    float **thread_scratch, int threads);

/* ----------------------------------------------------- the other nodes */

/* output may equal input (in place) for norm and residual add. */
void tunit_cpu_norm (const TunitNode *node, const float *input, const TunitShape *shape,
                     float *output, const float *adain_parameters, int threads,
                     TunitCpuIsa isa);
void tunit_cpu_upsample_nearest2x (const float *input, const TunitShape *in, float *output);
void tunit_cpu_max_pool2x2 (const float *input, const TunitShape *in, float *output,
                            const TunitShape *out);
void tunit_cpu_global_average_pool (const float *input, const TunitShape *in, float *output);
void tunit_cpu_linear (const TunitNode *node, const float *input, float *output);
void tunit_cpu_residual_add (const TunitNode *node, const float *skip, const float *residual,
                             const TunitShape *shape, float *output, int threads);

G_END_DECLS

#endif
