/* half-float.h - IEEE binary16 conversions shared by the model loader and
 * the Vulkan backend. */
#ifndef TUNIT_HALF_FLOAT_H
#define TUNIT_HALF_FLOAT_H

#include <glib.h>

/* Round to nearest even; overflow gives infinity. */
guint16 tunit_float_to_half (float value);
float tunit_half_to_float (guint16 value);

#endif
