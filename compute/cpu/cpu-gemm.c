/* cpu-gemm.c - the GEMM providers of the CPU backend and the choice
 * between them.
 *
 * Debian's OpenBLAS 0.3.21 does not know recent Intel CPUs (Sapphire and
 * Emerald Rapids) and falls back to its SSE3 "Prescott" kernels there, a
 * third of the speed of its own AVX-512 ones; oneDNN's sgemm generates its
 * kernels for the CPU it finds, and on AVX-512 machines it is faster than
 * OpenBLAS at its best on our shapes.  On AVX2 machines (AMD Zen, Intel
 * Haswell and later), OpenBLAS knows the CPU and stays. */
#include "cpu-gemm.h"
#include "tunit-config.h"

#include <cblas.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if TUNIT_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

/* OpenBLAS kernels for CPUs with AVX2 and FMA (x86-64-v3) or more; any
 * other name on such a CPU means OpenBLAS fell back to older kernels. */
static const char *const openblas_modern_cores[] = {
  "Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", "Excavator",
};

static gboolean
openblas_knows_this_cpu (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  if (!__builtin_cpu_supports ("avx2") || !__builtin_cpu_supports ("fma"))
    return TRUE;   /* an older CPU: whatever OpenBLAS runs fits it */
  const char *core = openblas_get_corename ();
  for (guint i = 0; core != NULL && i < G_N_ELEMENTS (openblas_modern_cores); i++)
    if (g_ascii_strcasecmp (core, openblas_modern_cores[i]) == 0)
      return TRUE;
  return FALSE;
#else
  return TRUE;
#endif
}

static gboolean
cpu_has_avx512f (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init ();
  return __builtin_cpu_supports ("avx512f");
#else
  return FALSE;
#endif
}

gboolean
tunit_cpu_gemm_choose (TunitCpuGemm requested, CpuGemmProvider *provider, GError **error)
{
  switch (requested) {
  case TUNIT_CPU_GEMM_OPENBLAS:
    *provider = CPU_GEMM_OPENBLAS;
    return TRUE;
  case TUNIT_CPU_GEMM_ONEDNN:
    if (!TUNIT_HAVE_ONEDNN) {
      g_set_error (error, TUNIT_ERROR, TUNIT_ERROR_ARGUMENT,
                   "oneDNN matrix products were asked for, but libtunit was built without "
                   "oneDNN (libdnnl-dev) or OpenMP");
      return FALSE;
    }
    *provider = CPU_GEMM_ONEDNN;
    return TRUE;
  case TUNIT_CPU_GEMM_AUTO:
  default:
    *provider = TUNIT_HAVE_ONEDNN && (cpu_has_avx512f () || !openblas_knows_this_cpu ())
                  ? CPU_GEMM_ONEDNN : CPU_GEMM_OPENBLAS;
    return TRUE;
  }
}

#if TUNIT_HAVE_ONEDNN
static const char *
onednn_isa_name (dnnl_cpu_isa_t isa)
{
  switch (isa) {
  case dnnl_cpu_isa_sse41: return "sse41";
  case dnnl_cpu_isa_avx: return "avx";
  case dnnl_cpu_isa_avx2: return "avx2";
  case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
  case dnnl_cpu_isa_avx512_core: return "avx512_core";
  case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
  case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
  case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
  default: return "other";
  }
}
#endif

char *
tunit_cpu_gemm_describe (CpuGemmProvider provider)
{
#if TUNIT_HAVE_ONEDNN
  if (provider == CPU_GEMM_ONEDNN)
    return g_strdup_printf ("onednn (%s)", onednn_isa_name (dnnl_get_effective_cpu_isa ()));
#endif
  char *description = g_strdup_printf ("openblas (%s", openblas_get_corename ());
  g_strchomp (description);
  char *closed = g_strconcat (description, ")", NULL);
  g_free (description);
  return closed;
}

#if TUNIT_HAVE_ONEDNN
/* oneDNN threads a product over omp_get_max_threads() threads of its
 * OpenMP runtime.  Our kernels split their work over the backend's own
 * pool, each worker multiplying its part, so a product stays on the
 * calling thread: no OpenMP team is ever started for it (its idle threads
 * would spin on the cores the pool needs). */
static void
onednn_gemm (const CpuGemm *gemm, int m, int n, int k, const float *a, int lda,
             const float *b, int ldb, float beta, float *c, int ldc)
{
  (void) gemm;
  if (omp_get_max_threads () != 1)
    omp_set_num_threads (1);
  dnnl_status_t status = dnnl_sgemm ('N', 'N', m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
  /* only bad arguments fail, which would be a bug of ours */
  g_return_if_fail (status == dnnl_success);
}
#endif

void
cpu_gemm (const CpuGemm *gemm, int m, int n, int k, const float *a, int lda, const float *b,
          int ldb, float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0)
    return;
#if TUNIT_HAVE_ONEDNN
  if (gemm->provider == CPU_GEMM_ONEDNN) {
    onednn_gemm (gemm, m, n, k, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#endif
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, beta,
               c, ldc);
}

void
cpu_gemv_add (const CpuGemm *gemm, int m, int k, const float *a, int lda, const float *x,
              float *y)
{
#if TUNIT_HAVE_ONEDNN
  if (gemm->provider == CPU_GEMM_ONEDNN) {
    onednn_gemm (gemm, m, 1, k, a, lda, x, 1, 1.0f, y, 1);
    return;
  }
#endif
  cblas_sgemv (CblasRowMajor, CblasNoTrans, m, k, 1.0f, a, lda, x, 1, 1.0f, y, 1);
}
