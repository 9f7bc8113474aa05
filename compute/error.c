/* error.c - the libtunit error domain. */
#include "tunit.h"

G_DEFINE_QUARK (tunit-error-quark, tunit_error)
