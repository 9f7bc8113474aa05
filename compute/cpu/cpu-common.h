/* cpu-common.h - what the CPU kernel files share: threading macros, the
 * instruction-set variants of hot loops, an 8-float vector type, and the
 * small helpers for activations and padding.  Every function here is
 * static inline. */
#ifndef TUNIT_CPU_COMMON_H
#define TUNIT_CPU_COMMON_H

#include "cpu-kernels.h"

#include <math.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#define THREAD_ID() omp_get_thread_num ()
#define THREAD_COUNT() omp_get_num_threads ()
#else
#define THREAD_ID() 0
#define THREAD_COUNT() 1
#endif

/* Leaf loops worth an AVX2/FMA version get one.  A hot loop is written
 * once, as NAME_body, always inlined into one function per variant
 * (NAME_variants[isa]), each compiled for its instruction set; the
 * caller indexes the table with the variant the backend detected. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define HAVE_X86_64_V3 1
#define TARGET_X86_64_V3 __attribute__ ((target ("arch=x86-64-v3")))
#else
#define TARGET_X86_64_V3
#endif
#define ALWAYS_INLINE static inline __attribute__ ((always_inline))

/* NAME_variants[TUNIT_CPU_N_ISAS] of a void hot loop NAME_body. */
#define VOID_VARIANTS(name, params, args)                                       \
  static void name##_generic params { name##_body args; }                      \
  TARGET_X86_64_V3 static void name##_x86_64_v3 params { name##_body args; }   \
  static void (*const name##_variants[TUNIT_CPU_N_ISAS]) params = {            \
    [TUNIT_CPU_ISA_GENERIC] = name##_generic,                                   \
    [TUNIT_CPU_ISA_X86_64_V3] = name##_x86_64_v3,                               \
  };
/* The same for a hot loop returning a double. */
#define DOUBLE_VARIANTS(name, params, args)                                          \
  static double name##_generic params { return name##_body args; }                  \
  TARGET_X86_64_V3 static double name##_x86_64_v3 params { return name##_body args; } \
  static double (*const name##_variants[TUNIT_CPU_N_ISAS]) params = {               \
    [TUNIT_CPU_ISA_GENERIC] = name##_generic,                                        \
    [TUNIT_CPU_ISA_X86_64_V3] = name##_x86_64_v3,                                    \
  };

#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v8sf __attribute__ ((vector_size (32)));

ALWAYS_INLINE v8sf
load8 (const float *p)
{
  v8sf v;
  memcpy (&v, p, sizeof v);
  return v;
}

ALWAYS_INLINE void
store8 (float *p, v8sf v)
{
  memcpy (p, &v, sizeof v);
}


static inline float
activate (float value, TunitActivation activation)
{
  switch (activation) {
  case TUNIT_ACTIVATION_RELU:
    return value > 0.0f ? value : 0.0f;
  case TUNIT_ACTIVATION_TANH:
    return tanhf (value);
  case TUNIT_ACTIVATION_NONE:
  default:
    return value;
  }
}

static inline void
bias_activate_row (float *dst, gsize n, float bias, TunitActivation activation)
{
  switch (activation) {
  case TUNIT_ACTIVATION_RELU:
    for (gsize i = 0; i < n; i++) {
      float v = dst[i] + bias;
      dst[i] = v > 0.0f ? v : 0.0f;
    }
    break;
  case TUNIT_ACTIVATION_TANH:
    for (gsize i = 0; i < n; i++)
      dst[i] = tanhf (dst[i] + bias);
    break;
  default:
    if (bias != 0.0f)
      for (gsize i = 0; i < n; i++)
        dst[i] += bias;
    break;
  }
}

/* Index into a row of length n for a position that may lie in the
 * padding: reflection (edge not repeated) or -1 for zero padding. */
static inline int
padded_index (int position, int n, TunitPadMode mode)
{
  if (position >= 0 && position < n)
    return position;
  if (mode == TUNIT_PAD_ZERO)
    return -1;
  return position < 0 ? -position : 2 * (n - 1) - position;
}

static inline float
padded_value (const float *row, int position, int n, TunitPadMode mode)
{
  int i = padded_index (position, n, mode);
  return i < 0 ? 0.0f : row[i];
}


#endif /* TUNIT_CPU_COMMON_H */
