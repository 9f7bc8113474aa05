/* cpu-machine.c - what the CPU offers: the instruction-set variant of the
 * hot loops and the threads, chosen once when a CPU backend is made. */
#include "cpu-common.h"

#include <cblas.h>

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
tunit_cpu_isa_name (TunitCpuIsa isa)
{
  return isa == TUNIT_CPU_ISA_X86_64_V3 ? "x86-64-v3" : "generic";
}

int
tunit_cpu_threads_init (int requested)
{
#ifdef _OPENMP
  int n = requested > 0 ? requested : omp_get_num_procs ();
  /* our threads split the work; each calls OpenBLAS on its own part */
  openblas_set_num_threads (1);
  return MAX (n, 1);
#else
  if (requested > 0)
    openblas_set_num_threads (requested);
  return 1;
#endif
}
