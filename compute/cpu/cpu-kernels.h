/* cpu-kernels.h - the CPU implementations of the lowered graph's nodes,
 * one file per algorithm:
 *
 *   cpu-im2col-conv.c          any convolution: im2col + sgemm (the reference)
 *   cpu-bf16-conv.c            any convolution in bf16 by oneDNN (precision=bf16)
 *   cpu-winograd-conv.c        3x3 stride-1 convolutions, Winograd F(2x2) / F(4x4)
 *   cpu-direct-conv.c          convolutions with few input or output channels
 *   cpu-space-to-depth-conv.c  even-sized stride-2 convolutions
 *   cpu-upsample-border.c      the border terms of upsampled convolutions
 *   cpu-instance-norm.c        instance norm and AdaIN
 *   cpu-small-ops.c            every other node (pooling, linear, residual add...)
 *   cpu-machine.c              instruction-set variant and threads
 *   cpu-thread-pool.c          the backend's worker threads
 *   cpu-gemm.c                 the matrix products: OpenBLAS or oneDNN
 *
 * Values are planar float32 [C][H][W].  A kernel splits its work over
 * the backend's thread pool (cpu->pool, cpu->threads workers, the calling
 * thread among them), each worker calling its GEMM single-threaded. */
#ifndef TUNIT_CPU_KERNELS_H
#define TUNIT_CPU_KERNELS_H

#include "cpu-gemm.h"
#include "lowering.h"
#include "cpu-thread-pool.h"

G_BEGIN_DECLS

/* Scratch budget of the column buffer of an im2col convolution and of the
 * transformed tiles of a Winograd convolution, in floats: the convolutions
 * work in bands of output rows so that their buffers stay within it. */
#define TUNIT_CPU_COLUMN_BUDGET ((gsize) 4 << 20)

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

/* What the CPU has for bf16 products (cpuid, and the OS's AVX-512 state):
 * "amx_bf16", "avx512_bf16", or NULL for neither. */
const char *tunit_cpu_native_bf16 (void);
const char *tunit_cpu_isa_name (TunitCpuIsa isa);

/* Sets up threading: returns the thread count to use for `requested`
 * (0 = all cores the process may run on) and makes OpenBLAS
 * single-threaded, since the pool's workers split the work. */
int tunit_cpu_threads_init (int requested);

/* Runs on each helper thread of a backend's pool as it starts (the
 * calling thread, worker 0, is not a pool thread): the one place for the
 * per-thread settings of libraries that the kernels call. */
void tunit_cpu_worker_thread_start (void *data);

/* What every kernel is told about the machine. */
typedef struct {
  int threads;               /* of pool */
  CpuThreadPool *pool;
  TunitCpuIsa isa;
  CpuGemm gemm;              /* every matrix product goes through it (cpu-gemm.h) */
} CpuContext;

/* ---------------------------------------------------------- convolutions */

/* Pad modes of the CPU convolutions: the graph's two, plus the
 * replication that the phases of an upsampled convolution read. */
typedef enum {
  CPU_PAD_REFLECT,
  CPU_PAD_ZERO,
  CPU_PAD_REPLICATE,
} CpuPad;

/* A convolution as the algorithms see it: a CONV node, or the phases of an
 * UPSAMPLED_CONV node (lowering.h): rows = 4 x channels on the small
 * image, replicate padding, the results interleaved into the
 * [channels][2H][2W] output (row q is phase q / channels of channel
 * q % channels, phase = 2 py + px). */
typedef struct {
  const char *name;
  int in_channels;
  int channels;              /* output channels */
  int rows;                  /* GEMM rows: channels, or 4 x channels with phases */
  int kernel, stride, padding;
  CpuPad pad;
  gboolean phases;
  const float *weight;       /* [rows][in_channels][kernel][kernel] */
  const float *bias;         /* [channels] or NULL; row q adds bias[q % channels] */
  TunitActivation activation;
} CpuConv;

/* What may pick an algorithm besides the convolution itself. */
typedef struct {
  gboolean reference_only;   /* im2col everywhere (reference kernels, rarely run graphs) */
  int winograd_tile;         /* 2 or 4 forces that tile; 0 = by size */
  int keep_weights;          /* Winograd weights: 1 keep, -1 per frame, 0 by size */
  gsize largest_value;       /* floats of the largest value of the graph at this size */
  gboolean bf16;             /* bf16 inputs and weights, fp32 accumulation (oneDNN) */
} CpuConvPolicy;

/* Scratch a kernel needs at one size, in floats, and the buffers given. */
typedef struct {
  gsize shared;              /* one buffer, shared by the threads of a kernel */
  gsize per_thread;          /* one per thread */
  gsize weights;             /* weights transformed on every run */
} CpuScratchSize;

typedef struct {
  float *shared;
  float **per_thread;        /* [threads] */
  float *weights;
} CpuScratch;

static inline void
cpu_scratch_size_grow (CpuScratchSize *size, const CpuScratchSize *need)
{
  size->shared = MAX (size->shared, need->shared);
  size->per_thread = MAX (size->per_thread, need->per_thread);
  size->weights = MAX (size->weights, need->weights);
}

/* One way of computing convolutions.  The backend takes the first of
 * tunit_cpu_conv_algorithms that applies to a node; a new algorithm (a
 * reduced-precision one, say) is one more entry there. */
typedef struct {
  const char *name;
  gboolean (*applies) (const CpuConv *conv, const CpuConvPolicy *policy);
  /* state that does not depend on the input size (repacked weights), or NULL */
  void *(*prepare) (const CpuConv *conv, const CpuContext *cpu);
  void (*free) (void *state);
  /* at one input size: chooses what depends on it; says the scratch needed */
  void (*size) (void *state, const CpuConv *conv, const CpuConvPolicy *policy,
                const TunitShape *in, const TunitShape *out, CpuScratchSize *need);
  void (*run) (void *state, const CpuConv *conv, const float *input, const TunitShape *in,
               float *output, const TunitShape *out, const CpuScratch *scratch,
               const CpuContext *cpu);
} CpuConvAlgorithm;

extern const CpuConvAlgorithm tunit_cpu_bf16_conv;
/* What runs the bf16 convolutions on this CPU: "oneDNN brgconv:..." or
 * the portable path. */
char *tunit_cpu_bf16_conv_describe (void);
extern const CpuConvAlgorithm tunit_cpu_winograd_conv;
extern const CpuConvAlgorithm tunit_cpu_direct_conv;
extern const CpuConvAlgorithm tunit_cpu_space_to_depth_conv;
extern const CpuConvAlgorithm tunit_cpu_im2col_conv;

/* ------------------------------------------------------------- the rest */

/* The border terms of an UPSAMPLED_CONV node (lowering.h), added to the
 * output of its phases.  in: the small image; scratch per thread. */
gsize tunit_cpu_upsample_border_scratch (const TunitNode *node, const TunitShape *in);
void tunit_cpu_upsample_border_run (const TunitNode *node, const float *input,
                                    const TunitShape *in, float *output, const TunitShape *out,
                                    float **thread_scratch, const CpuContext *cpu);

/* NORM; output may be input (in place). */
void tunit_cpu_norm (const TunitNode *node, const float *input, const TunitShape *shape,
                     float *output, const float *parameters, const CpuContext *cpu);

/* Every other node kind: whether cpu-small-ops.c implements it, and
 * running it on its inputs (inputs[k] of shape in[k]). */
gboolean tunit_cpu_small_op_implements (TunitOpKind op);
void tunit_cpu_small_op_run (const TunitNode *node, const float *const *inputs,
                             const TunitShape *const *in, float *output, const TunitShape *out,
                             const CpuContext *cpu);

G_END_DECLS

#endif /* TUNIT_CPU_KERNELS_H */
