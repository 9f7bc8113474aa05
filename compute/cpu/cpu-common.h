/* cpu-common.h - what the CPU kernel files share: the
 * instruction-set variants of hot loops, an 8-float vector type, and the
 * small helpers for activations and padding.  Every function here is
 * static inline. */
#ifndef TUNIT_CPU_COMMON_H
#define TUNIT_CPU_COMMON_H

#include "cpu-kernels.h"

#include <math.h>
#include <string.h>

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
 * padding: reflection (edge not repeated), replication, or -1 for zero
 * padding. */
static inline int
padded_index (int position, int n, CpuPad pad)
{
  if (position >= 0 && position < n)
    return position;
  switch (pad) {
  case CPU_PAD_ZERO:
    return -1;
  case CPU_PAD_REPLICATE:
    return position < 0 ? 0 : n - 1;
  case CPU_PAD_REFLECT:
  default:
    return position < 0 ? -position : 2 * (n - 1) - position;
  }
}

static inline float
padded_value (const float *row, int position, int n, CpuPad pad)
{
  int i = padded_index (position, n, pad);
  return i < 0 ? 0.0f : row[i];
}

/* The bias of GEMM row q of a convolution. */
static inline float
conv_row_bias (const CpuConv *conv, int q)
{
  return conv->bias != NULL ? conv->bias[q % conv->channels] : 0.0f;
}

/* Where row y of GEMM row q's result lands in the output: the row of its
 * channel plane, and the step between neighbouring pixels (2 for the
 * phases of an upsampled convolution, interleaved). */
static inline float *
conv_output_row (const CpuConv *conv, int q, int y, float *output, const TunitShape *out,
                 int *step)
{
  int channel = q % conv->channels;
  float *plane = output + (gsize) channel * out->height * out->width;
  if (!conv->phases) {
    *step = 1;
    return plane + (gsize) y * out->width;
  }
  int phase = q / conv->channels;
  *step = 2;
  return plane + (gsize) (2 * y + phase / 2) * out->width + phase % 2;
}

/* Writes GEMM row q's results for output row y (width values): bias and
 * activation applied. */
static inline void
conv_store_row (const CpuConv *conv, int q, int y, float *values, int width, float *output,
                const TunitShape *out)
{
  int step;
  float *dst = conv_output_row (conv, q, y, output, out, &step);
  bias_activate_row (values, width, conv_row_bias (conv, q), conv->activation);
  if (step == 1)
    memcpy (dst, values, sizeof (float) * width);
  else
    for (int x = 0; x < width; x++)
      dst[2 * x] = values[x];
}

#endif /* TUNIT_CPU_COMMON_H */
