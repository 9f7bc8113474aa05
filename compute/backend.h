/* backend.h - what the engine asks of a backend: running lowered graphs.
 *
 * A backend knows nothing of TUNIT.  It prepares a lowered graph
 * (lowering.h) once: weights in its own layouts, an implementation for
 * each node.  Then, for one input size at a time, it prepares the buffers
 * of the engine's layout (buffer-plan.h: shapes and the buffer plan, used
 * as they are), and runs the graph on inputs into outputs, as often as
 * asked.  A graph may have a parameter vector (AdaIN), set between runs.
 * The guiding network, the style MLP and the generator are three such
 * graphs; which backend runs which is the engine's choice (engine.c).
 */
#ifndef TUNIT_BACKEND_H
#define TUNIT_BACKEND_H

#include "buffer-plan.h"
#include "lowering.h"

G_BEGIN_DECLS

typedef struct _TunitBackend TunitBackend;

/* A graph prepared by a backend; each backend's own graph type begins
 * with this. */
typedef struct {
  TunitBackend *backend;
  const TunitGraph *graph;   /* lowered */
} TunitBackendGraph;

/* How often a graph runs, which tells a backend how much preparing pays. */
typedef enum {
  TUNIT_GRAPH_PER_FRAME,    /* on every frame: the fastest kernels */
  TUNIT_GRAPH_PER_STYLE,    /* once in a while: the plain kernels, no precomputation */
} TunitGraphUse;

typedef struct {
  void (*free) (TunitBackend *backend);
  /* graph: lowered, outlives the result */
  TunitBackendGraph *(*graph_new) (TunitBackend *backend, const TunitGraph *graph,
                                   TunitGraphUse use, GError **error);
  void (*graph_free) (TunitBackendGraph *graph);
  /* Buffers for `layout` (of the same graph; it outlives them until the
   * next prepare).  Replaces the previous size. */
  gboolean (*graph_prepare) (TunitBackendGraph *graph, const TunitGraphLayout *layout,
                             GError **error);
  /* graph->n_parameters floats for the following runs (zeros until set) */
  gboolean (*graph_set_parameters) (TunitBackendGraph *graph, const float *parameters,
                                    GError **error);
  /* inputs[k]: graph input k at the prepared size; outputs[k]: room for
   * graph output k, or NULL for an output not wanted. */
  gboolean (*graph_run) (TunitBackendGraph *graph, const float *const *inputs,
                         float *const *outputs, GError **error);
} TunitBackendVTable;

struct _TunitBackend {
  const TunitBackendVTable *vtable;
  const char *name;          /* "cpu", "vulkan" */
  char *description;         /* device and precision, freed by the engine */
};

TunitBackend *tunit_cpu_backend_new (const TunitEngineOptions *options, GError **error);

/* Returns NULL with TUNIT_ERROR_NO_DEVICE when there is no usable device
 * (or libtunit was built without Vulkan).  hardware_only: treat a CPU-type
 * Vulkan device (lavapipe) as no device unless one is asked for by index. */
TunitBackend *tunit_vulkan_backend_new (const TunitEngineOptions *options,
                                        gboolean hardware_only, GError **error);

/* The vtable's calls, for readability. */
static inline TunitBackendGraph *
tunit_backend_graph_new (TunitBackend *backend, const TunitGraph *graph, TunitGraphUse use,
                         GError **error)
{
  g_return_val_if_fail (graph->lowered, NULL);
  return backend->vtable->graph_new (backend, graph, use, error);
}

static inline void
tunit_backend_graph_free (TunitBackendGraph *graph)
{
  if (graph != NULL)
    graph->backend->vtable->graph_free (graph);
}

static inline gboolean
tunit_backend_graph_prepare (TunitBackendGraph *graph, const TunitGraphLayout *layout,
                             GError **error)
{
  return graph->backend->vtable->graph_prepare (graph, layout, error);
}

static inline gboolean
tunit_backend_graph_set_parameters (TunitBackendGraph *graph, const float *parameters,
                                    GError **error)
{
  return graph->backend->vtable->graph_set_parameters (graph, parameters, error);
}

static inline gboolean
tunit_backend_graph_run (TunitBackendGraph *graph, const float *const *inputs,
                         float *const *outputs, GError **error)
{
  return graph->backend->vtable->graph_run (graph, inputs, outputs, error);
}

static inline void
tunit_backend_free (TunitBackend *backend)
{
  if (backend == NULL)
    return;
  char *description = backend->description;
  backend->vtable->free (backend);
  g_free (description);
}

G_END_DECLS

#endif /* TUNIT_BACKEND_H */
