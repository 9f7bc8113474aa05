/* common.glsl - storage type and helpers shared by the compute shaders.
 *
 * Every shader is compiled twice: with TUNIT_FP16 activations and weights
 * are stored as float16 (VK_KHR_16bit_storage), without it as float.
 * Arithmetic is always fp32: values are widened on load and narrowed on
 * store, which halves memory traffic without fp16 accumulation error. */
#ifdef TUNIT_FP16
#extension GL_EXT_shader_16bit_storage : require
#define STORE_T float16_t
#define TO_STORE(x) float16_t(x)
#else
#define STORE_T float
#define TO_STORE(x) (x)
#endif

#include "shader-interface.h"

/* tanh written with exp(-2|x|) so that it neither overflows nor relies on
 * an implementation's tanh precision for large |x|. */
float safe_tanh (float x)
{
  float t = exp (-2.0 * abs (x));
  return sign (x) * (1.0 - t) / (1.0 + t);
}

float activate (float x, int act)
{
  if (act == TUNIT_SHADER_ACTIVATION_RELU)
    return max (x, 0.0);
  if (act == TUNIT_SHADER_ACTIVATION_TANH)
    return safe_tanh (x);
  return x;
}
