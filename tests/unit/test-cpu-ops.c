/* test-cpu-ops.c - the op-test table (tests/ops) on the CPU backend, with
 * every way it can choose its kernels: per node (the default), the
 * reference kernels, the plain kernels of rarely-run graphs (im2col phase
 * convolutions included), each Winograd tile, Winograd weights transformed
 * per frame, the portable loops, and the lowering without fusion; each
 * with every GEMM provider (OpenBLAS, and oneDNN where libtunit has it). */
#include "op-cases.h"

typedef struct {
  const char *label;
  gboolean reference;
  int tile, keep;
  gboolean portable, unfused;
  TunitGraphUse use;
} Variant;

static const Variant variants[] = {
  { "chosen per node", FALSE, 0, 0, FALSE, FALSE, TUNIT_GRAPH_PER_FRAME },
  { "reference kernels", TRUE, 0, 0, FALSE, TRUE, TUNIT_GRAPH_PER_FRAME },
  { "plain kernels (per style)", FALSE, 0, 0, FALSE, FALSE, TUNIT_GRAPH_PER_STYLE },
  { "F(2x2) everywhere", FALSE, 2, 0, FALSE, FALSE, TUNIT_GRAPH_PER_FRAME },
  { "F(4x4) everywhere, per frame", FALSE, 4, -1, FALSE, FALSE, TUNIT_GRAPH_PER_FRAME },
  { "portable loops", FALSE, 0, 0, TRUE, FALSE, TUNIT_GRAPH_PER_FRAME },
  { "unfused upsampling", FALSE, 0, 0, FALSE, TRUE, TUNIT_GRAPH_PER_FRAME },
};

static const struct {
  const char *name;
  TunitCpuGemm gemm;
} providers[] = {
  { "openblas", TUNIT_CPU_GEMM_OPENBLAS },
  { "onednn", TUNIT_CPU_GEMM_ONEDNN },
};

typedef struct {
  const Variant *variant;
  int provider;
} Case;

static void
test_variant (gconstpointer data)
{
  const Case *test_case = data;
  const Variant *variant = test_case->variant;
  g_autoptr (GError) error = NULL;
  TunitEngineOptions options = TUNIT_ENGINE_OPTIONS_INIT;
  options.cpu_gemm = providers[test_case->provider].gemm;
  options.reference_kernels = variant->reference;
  options.winograd_tile = variant->tile;
  options.keep_winograd_weights = variant->keep;
  options.portable_loops = variant->portable;
  TunitBackend *backend = tunit_cpu_backend_new (&options, &error);
  if (backend == NULL && options.cpu_gemm == TUNIT_CPU_GEMM_ONEDNN
      && g_str_has_prefix (error->message, "oneDNN matrix products were asked for, but libtunit "
                                           "was built without")) {
    g_test_skip (error->message);
    return;
  }
  g_assert_no_error (error);
  g_test_message ("%s", backend->description);
  OpTableRun run = {
    .backend = backend, .label = variant->label, .tolerance = 3e-5,
    .offset_norm_tolerance = 3e-5, .fuse_upsample_conv = !variant->unfused,
    .use = variant->use,
  };
  op_table_run (&run);
  tunit_backend_free (backend);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static Case cases[G_N_ELEMENTS (variants) * G_N_ELEMENTS (providers)];
  for (guint p = 0; p < G_N_ELEMENTS (providers); p++) {
    for (guint i = 0; i < G_N_ELEMENTS (variants); i++) {
      Case *test_case = &cases[p * G_N_ELEMENTS (variants) + i];
      *test_case = (Case) { &variants[i], (int) p };
      g_autofree char *path = g_strdup_printf ("/cpu/ops/%s/%s", providers[p].name,
                                               variants[i].label);
      g_strdelimit (path + 5, " (),", '-');
      g_test_add_data_func (path, test_case, test_variant);
    }
  }
  return g_test_run ();
}
