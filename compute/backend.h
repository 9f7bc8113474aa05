/* backend.h - what the engine asks of a backend.
 *
 * A backend executes the graphs of a TunitNetwork.  engine.c does what is
 * common to all of them: padding and cropping frames, resizing, running the
 * style MLP (tiny, once per style change, always on the CPU) and keeping
 * the current AdaIN parameters.
 */
#ifndef TUNIT_BACKEND_H
#define TUNIT_BACKEND_H

#include "network.h"

G_BEGIN_DECLS

typedef struct _TunitBackend TunitBackend;

typedef struct {
  void (*free) (TunitBackend *backend);
  /* Guiding network on a [3,S,S] image: style [d] and logits [K]
   * (logits may be NULL). */
  gboolean (*run_guide) (TunitBackend *backend, const float *image,
                         float *style, float *logits, GError **error);
  /* New AdaIN parameters (network->adain_parameter_count floats) for the
   * following generator runs. */
  gboolean (*set_adain_parameters) (TunitBackend *backend, const float *parameters,
                                    GError **error);
  /* Generator on a [3,H,W] frame whose sides are multiples of
   * network->size_multiple; output [3,H,W]. */
  gboolean (*run_generator) (TunitBackend *backend, const float *input,
                             int width, int height, float *output, GError **error);
} TunitBackendVTable;

struct _TunitBackend {
  const TunitBackendVTable *vtable;
  const char *name;          /* "cpu", "vulkan" */
  char *description;         /* device and precision, freed by the engine */
};

TunitBackend *tunit_cpu_backend_new (const TunitNetwork *network,
                                     const TunitEngineOptions *options, GError **error);

/* Returns NULL with TUNIT_ERROR_NO_DEVICE when there is no usable device
 * (or libtunit was built without Vulkan).  hardware_only: treat a CPU-type
 * Vulkan device (lavapipe) as no device unless one is asked for by index. */
TunitBackend *tunit_vulkan_backend_new (const TunitNetwork *network,
                                        const TunitEngineOptions *options,
                                        gboolean hardware_only, GError **error);

/* Runs a graph of LINEAR nodes on the CPU (the style MLP). */
gboolean tunit_cpu_run_vector_graph (const TunitGraph *graph, const float *input,
                                     float *output, GError **error);

G_END_DECLS

#endif /* TUNIT_BACKEND_H */
