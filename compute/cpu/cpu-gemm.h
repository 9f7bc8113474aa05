/* cpu-gemm.h - the matrix products of the CPU kernels, by the provider the
 * backend chose when it was made (OpenBLAS or oneDNN).  Every kernel calls
 * these instead of a BLAS directly, so that the choice is made in one
 * place.  Row-major, no transposes, alpha 1. */
#ifndef TUNIT_CPU_GEMM_H
#define TUNIT_CPU_GEMM_H

#include "tunit.h"

G_BEGIN_DECLS

typedef enum {
  CPU_GEMM_OPENBLAS,
  CPU_GEMM_ONEDNN,
} CpuGemmProvider;

/* How a backend multiplies matrices. */
typedef struct {
  CpuGemmProvider provider;
} CpuGemm;

/* The provider for `requested`: TUNIT_CPU_GEMM_AUTO takes oneDNN where the
 * CPU has AVX-512F or OpenBLAS runs a kernel older than the CPU (it does
 * not know the CPU), OpenBLAS otherwise.  Fails when oneDNN is asked for
 * and libtunit was built without it. */
gboolean tunit_cpu_gemm_choose (TunitCpuGemm requested, CpuGemmProvider *provider,
                                GError **error);

/* "openblas (SkylakeX)", "onednn (avx512_core_bf16)": what runs. */
char *tunit_cpu_gemm_describe (CpuGemmProvider provider);

/* C[m][n] = A[m][k] B[k][n] + beta C, on the calling thread (the kernels
 * split their work over the backend's pool, each worker multiplying its
 * own part; OpenBLAS is made single-threaded too, cpu-machine.c). */
void cpu_gemm (const CpuGemm *gemm, int m, int n, int k, const float *a, int lda,
               const float *b, int ldb, float beta, float *c, int ldc);

/* y[m] = A[m][k] x[k] + y */
void cpu_gemv_add (const CpuGemm *gemm, int m, int k, const float *a, int lda, const float *x,
                   float *y);

G_END_DECLS

#endif /* TUNIT_CPU_GEMM_H */
