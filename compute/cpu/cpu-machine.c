/* cpu-machine.c - what the CPU offers: the instruction-set variant of the
 * hot loops and the threads, chosen once when a CPU backend is made. */
#include "cpu-common.h"

#include <cblas.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

TunitCpuIsa
tunit_cpu_isa_detect (void)
{
#ifdef HAVE_X86_64_V3
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("x86-64-v3"))
    return TUNIT_CPU_ISA_X86_64_V3;
#endif
  return TUNIT_CPU_ISA_GENERIC;
}

const char *
tunit_cpu_native_bf16 (void)
{
#if defined(__x86_64__) && defined(__GNUC__)
  unsigned int eax, ebx, ecx, edx;
  __builtin_cpu_init ();
  /* AVX-512 state enabled by the OS; oneDNN asks Linux for the AMX tile
   * state itself (arch_prctl ARCH_REQ_XCOMP_PERM) before it uses AMX */
  if (!__builtin_cpu_supports ("avx512f"))
    return NULL;
  if (__get_cpuid_count (7, 0, &eax, &ebx, &ecx, &edx) && (edx & (1u << 22)))
    return "amx_bf16";
  if (__get_cpuid_count (7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 5)))
    return "avx512_bf16";
#endif
  return NULL;
}

const char *
tunit_cpu_isa_name (TunitCpuIsa isa)
{
  return isa == TUNIT_CPU_ISA_X86_64_V3 ? "x86-64-v3" : "generic";
}

int
tunit_cpu_threads_init (int requested)
{
  int n = requested > 0 ? requested : (int) g_get_num_processors ();
  /* our threads split the work; each calls OpenBLAS on its own part */
  openblas_set_num_threads (1);
  return MAX (n, 1);
}

void
tunit_cpu_worker_thread_start (void *data)
{
  /* nothing yet: a GEMM library with threads of its own would be told
   * here to stay on this thread */
}
