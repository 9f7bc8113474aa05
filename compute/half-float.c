/* half-float.c - IEEE binary16 <-> binary32, for F16 model tensors and
 * fp16 storage on Vulkan devices. */
#include "half-float.h"

#include <string.h>

/* IEEE binary32 -> binary16, round to nearest even, overflow to infinity. */
guint16
tunit_float_to_half (float value)
{
  guint32 bits;
  memcpy (&bits, &value, sizeof bits);
  guint32 sign = (bits >> 16) & 0x8000;
  guint32 magnitude = bits & 0x7fffffff;
  if (magnitude >= 0x7f800000)                      /* inf, nan (kept quiet) */
    return sign | 0x7c00 | (magnitude > 0x7f800000 ? 0x200 : 0);
  if (magnitude >= 0x477ff000)                      /* >= 65520 rounds to inf */
    return sign | 0x7c00;
  if (magnitude < 0x38800000) {                     /* below 2^-14: subnormal */
    guint32 exponent = magnitude >> 23;
    guint32 shift = 126 - exponent;
    if (shift > 24)
      return sign;
    guint32 mantissa = (magnitude & 0x7fffff) | 0x800000;
    guint32 half = mantissa >> shift;
    guint32 rest = mantissa & ((1u << shift) - 1);
    guint32 midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1)))
      half++;
    return sign | half;
  }
  guint32 half = (magnitude >> 13) - (112u << 10);
  guint32 rest = magnitude & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    half++;
  return sign | half;
}

float
tunit_half_to_float (guint16 value)
{
  guint32 sign = (guint32) (value & 0x8000) << 16;
  guint32 exponent = (value >> 10) & 0x1f;
  guint32 mantissa = value & 0x3ff;
  guint32 bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000 | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    /* subnormal: normalise */
    exponent = 113;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      exponent--;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
  }
  float result;
  memcpy (&result, &bits, sizeof result);
  return result;
}
