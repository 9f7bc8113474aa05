/* cpu-bf16-conv.c - convolutions with bf16 inputs and weights and fp32
 * accumulation, by oneDNN (precision=bf16).
 *
 * oneDNN picks its kernel for the CPU: AMX tiles or AVX512-BF16 dot
 * products where the CPU has them, bf16 emulated in AVX-512 on older
 * AVX-512 CPUs.  Where it makes none (AVX2 CPUs: oneDNN 2.6 refuses bf16
 * convolutions there), the same arithmetic runs portably: inputs and
 * weights rounded to bf16, kept in fp32 (a product of two bf16 values is
 * exact in fp32), multiplied by the fp32 im2col GEMMs.  The backend takes
 * this algorithm on CPUs without bf16 instructions only when asked to
 * (force_bf16, for tests): it is no faster than fp32 there.  Around the
 * primitive everything is ours and fp32: the
 * padding (reflection, replication for the phases of an upsampled
 * convolution, zeros) is done while the input is rounded to bf16 (nearest
 * even) into channels-last order; the product comes back fp32 and goes
 * through the same bias / activation / phase-interleaving store as every
 * other algorithm.  The primitive depends on the input size, so it is
 * made at each new size; the weights are rounded once and reordered into
 * the primitive's layout when it changes. */
#include "cpu-common.h"
#include "tunit-config.h"

#include <stdlib.h>

#if TUNIT_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

/* oneDNN prefers 64-byte aligned buffers; scratch parts start at these */
#define ALIGN_FLOATS 16

typedef struct {
  int threads;
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  guint16 *weight;                 /* [rows][in_channels][k][k] bf16, plain */
  float *rounded_weight;           /* the same values as floats, for the portable path */
  /* at the current size */
  int in_width, in_height;
  int padded_width, padded_height;
  gboolean portable;               /* no primitive: rounds, then fp32 im2col */
  dnnl_primitive_t conv;
  void *weight_ready;              /* the weights in the primitive's layout */
  dnnl_memory_t src, weights, dst, scratchpad;
  gboolean dst_channels_last;      /* the product is [H][W][rows]: the store gathers */
  dnnl_primitive_t dst_reorder;    /* to plain [rows][H][W], or NULL: plain or channels-last */
  dnnl_memory_t dst_plain;
  gsize src_floats, dst_floats, scratchpad_floats, plain_floats;
} Bf16Conv;

static gsize
aligned_floats (gsize bytes)
{
  gsize floats = (bytes + sizeof (float) - 1) / sizeof (float);
  return (floats + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static guint16
round_to_bf16 (float value)
{
  guint32 bits;
  memcpy (&bits, &value, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return (guint16) ((bits >> 16) | 0x40);       /* NaN stays a (quiet) NaN */
  bits += 0x7fffu + ((bits >> 16) & 1u);          /* to nearest, ties to even */
  return (guint16) (bits >> 16);
}

static float
bf16_to_float (guint16 value)
{
  guint32 bits = (guint32) value << 16;
  float result;
  memcpy (&result, &bits, sizeof result);
  return result;
}

static gboolean
bf16_applies (const CpuConv *conv, const CpuConvPolicy *policy)
{
  return policy->bf16 && !policy->reference_only;
}

static void *
bf16_prepare (const CpuConv *conv, const CpuContext *cpu)
{
  Bf16Conv *s = g_new0 (Bf16Conv, 1);
  s->threads = cpu->threads;
  gsize count = (gsize) conv->rows * conv->in_channels * conv->kernel * conv->kernel;
  s->weight = g_new (guint16, count);
  s->rounded_weight = g_new (float, count);
  for (gsize i = 0; i < count; i++) {
    s->weight[i] = round_to_bf16 (conv->weight[i]);
    s->rounded_weight[i] = bf16_to_float (s->weight[i]);
  }
  if (dnnl_engine_create (&s->engine, dnnl_cpu, 0) != dnnl_success
      || dnnl_stream_create (&s->stream, s->engine, dnnl_stream_default_flags) != dnnl_success)
    s->portable = TRUE;
  return s;
}

static void
clear_size (Bf16Conv *s)
{
  g_clear_pointer (&s->conv, dnnl_primitive_destroy);
  g_clear_pointer (&s->dst_reorder, dnnl_primitive_destroy);
  g_clear_pointer (&s->src, dnnl_memory_destroy);
  g_clear_pointer (&s->weights, dnnl_memory_destroy);
  g_clear_pointer (&s->dst, dnnl_memory_destroy);
  g_clear_pointer (&s->dst_plain, dnnl_memory_destroy);
  g_clear_pointer (&s->scratchpad, dnnl_memory_destroy);
  g_clear_pointer (&s->weight_ready, free);
  s->in_width = s->in_height = 0;
}

static void
bf16_free (void *state)
{
  Bf16Conv *s = state;
  clear_size (s);
  g_clear_pointer (&s->stream, dnnl_stream_destroy);
  g_clear_pointer (&s->engine, dnnl_engine_destroy);
  g_free (s->weight);
  g_free (s->rounded_weight);
  g_free (s);
}

/* The output of the GEMM-like product: [rows][H][W], on the small image
 * for phases. */
static void
product_dims (const CpuConv *conv, const TunitShape *in, const TunitShape *out, int *height,
              int *width)
{
  *height = conv->phases ? in->height : out->height;
  *width = conv->phases ? in->width : out->width;
}

/* Runs a reorder once (the weights into the primitive's layout). */
static gboolean
reorder_once (Bf16Conv *s, const dnnl_memory_desc_t *from, void *from_data,
              const dnnl_memory_desc_t *to, void *to_data)
{
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t reorder = NULL;
  dnnl_memory_t a = NULL, b = NULL;
  gboolean ok = dnnl_reorder_primitive_desc_create (&pd, from, s->engine, to, s->engine, NULL)
                  == dnnl_success
                && dnnl_primitive_create (&reorder, pd) == dnnl_success
                && dnnl_memory_create (&a, from, s->engine, from_data) == dnnl_success
                && dnnl_memory_create (&b, to, s->engine, to_data) == dnnl_success;
  if (ok) {
    dnnl_exec_arg_t args[] = { { DNNL_ARG_FROM, a }, { DNNL_ARG_TO, b } };
    ok = dnnl_primitive_execute (reorder, s->stream, 2, args) == dnnl_success
         && dnnl_stream_wait (s->stream) == dnnl_success;
  }
  if (a) dnnl_memory_destroy (a);
  if (b) dnnl_memory_destroy (b);
  if (reorder) dnnl_primitive_destroy (reorder);
  if (pd) dnnl_primitive_desc_destroy (pd);
  return ok;
}

/* oneDNN's reference kernels are a hundred times slower than the
 * portable path: not worth taking. */
static gboolean
is_reference_kernel (dnnl_primitive_desc_t pd)
{
  const char *implementation = NULL;
  return dnnl_primitive_desc_query (pd, dnnl_query_impl_info_str, 0, &implementation)
           != dnnl_success
         || implementation == NULL || g_str_has_prefix (implementation, "ref");
}

/* The primitive's descriptor for this size: src bf16 channels-last
 * (we write it), weights bf16 and dst fp32 in whatever layout it likes,
 * our scratchpad. */
static dnnl_primitive_desc_t
make_conv_desc (Bf16Conv *s, const CpuConv *conv, int height, int width)
{
  int k = conv->kernel;
  dnnl_dims_t src_dims = { 1, conv->in_channels, s->padded_height, s->padded_width };
  dnnl_dims_t weight_dims = { conv->rows, conv->in_channels, k, k };
  dnnl_dims_t dst_dims = { 1, conv->rows, height, width };
  dnnl_dims_t strides = { conv->stride, conv->stride }, padding = { 0, 0 };
  dnnl_memory_desc_t src_md, weight_md, dst_md;
  dnnl_convolution_desc_t desc;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_memory_desc_init_by_tag (&src_md, 4, src_dims, dnnl_bf16, dnnl_nhwc) != dnnl_success
      || dnnl_memory_desc_init_by_tag (&weight_md, 4, weight_dims, dnnl_bf16, dnnl_format_tag_any)
           != dnnl_success
      || dnnl_memory_desc_init_by_tag (&dst_md, 4, dst_dims, dnnl_f32, dnnl_format_tag_any)
           != dnnl_success
      || dnnl_convolution_forward_desc_init (&desc, dnnl_forward_inference,
                                             dnnl_convolution_direct, &src_md, &weight_md, NULL,
                                             &dst_md, strides, padding, padding) != dnnl_success
      || dnnl_primitive_attr_create (&attr) != dnnl_success)
    return NULL;
  /* the primitive sizes its work for this many threads */
  int saved = omp_get_max_threads ();
  omp_set_num_threads (s->threads);
  if (dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user) != dnnl_success
      || dnnl_primitive_desc_create (&pd, &desc, attr, s->engine, NULL) != dnnl_success)
    pd = NULL;
  if (pd != NULL && is_reference_kernel (pd))
    g_clear_pointer (&pd, dnnl_primitive_desc_destroy);
  omp_set_num_threads (saved);
  dnnl_primitive_attr_destroy (attr);
  return pd;
}

/* The memories and reorders around the primitive of descriptor pd. */
static gboolean
make_size (Bf16Conv *s, const CpuConv *conv, dnnl_primitive_desc_t pd, int height, int width)
{
  const dnnl_memory_desc_t *src_md = dnnl_primitive_desc_query_md (pd, dnnl_query_src_md, 0);
  const dnnl_memory_desc_t *weight_md
    = dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0);
  const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0);
  const dnnl_memory_desc_t *pad_md
    = dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0);
  dnnl_dims_t weight_dims = { conv->rows, conv->in_channels, conv->kernel, conv->kernel };
  dnnl_dims_t plain_dims = { 1, conv->rows, height, width };
  dnnl_memory_desc_t plain_weight_md, plain_dst_md, channels_last_md;
  dnnl_memory_desc_init_by_tag (&plain_weight_md, 4, weight_dims, dnnl_bf16, dnnl_oihw);
  dnnl_memory_desc_init_by_tag (&plain_dst_md, 4, plain_dims, dnnl_f32, dnnl_nchw);
  dnnl_memory_desc_init_by_tag (&channels_last_md, 4, plain_dims, dnnl_f32, dnnl_nhwc);
  gsize weight_bytes = dnnl_memory_desc_get_size (weight_md);
  if (posix_memalign (&s->weight_ready, 64, MAX (weight_bytes, 64)) != 0) {
    s->weight_ready = NULL;
    return FALSE;
  }
  if (!reorder_once (s, &plain_weight_md, s->weight, weight_md, s->weight_ready))
    return FALSE;
  s->src_floats = aligned_floats (dnnl_memory_desc_get_size (src_md));
  s->dst_floats = aligned_floats (dnnl_memory_desc_get_size (dst_md));
  s->scratchpad_floats = aligned_floats (pad_md != NULL ? dnnl_memory_desc_get_size (pad_md) : 0);
  s->plain_floats = 0;
  if (dnnl_primitive_create (&s->conv, pd) != dnnl_success
      || dnnl_memory_create (&s->src, src_md, s->engine, DNNL_MEMORY_NONE) != dnnl_success
      || dnnl_memory_create (&s->weights, weight_md, s->engine, s->weight_ready) != dnnl_success
      || dnnl_memory_create (&s->dst, dst_md, s->engine, DNNL_MEMORY_NONE) != dnnl_success)
    return FALSE;
  if (pad_md != NULL && s->scratchpad_floats > 0
      && dnnl_memory_create (&s->scratchpad, pad_md, s->engine, DNNL_MEMORY_NONE) != dnnl_success)
    return FALSE;
  s->dst_channels_last = dnnl_memory_desc_equal (dst_md, &channels_last_md)
                         && !dnnl_memory_desc_equal (dst_md, &plain_dst_md);
  if (s->dst_channels_last || dnnl_memory_desc_equal (dst_md, &plain_dst_md))
    return TRUE;
  dnnl_primitive_desc_t reorder_pd = NULL;
  s->plain_floats = aligned_floats (dnnl_memory_desc_get_size (&plain_dst_md));
  gboolean ok = dnnl_reorder_primitive_desc_create (&reorder_pd, dst_md, s->engine,
                                                    &plain_dst_md, s->engine, NULL)
                  == dnnl_success
                && dnnl_primitive_create (&s->dst_reorder, reorder_pd) == dnnl_success
                && dnnl_memory_create (&s->dst_plain, &plain_dst_md, s->engine,
                                       DNNL_MEMORY_NONE) == dnnl_success;
  if (reorder_pd)
    dnnl_primitive_desc_destroy (reorder_pd);
  return ok;
}

static void
bf16_size (void *state, const CpuConv *conv, const CpuConvPolicy *policy, const TunitShape *in,
           const TunitShape *out, CpuScratchSize *need)
{
  Bf16Conv *s = state;
  int height, width;
  product_dims (conv, in, out, &height, &width);
  if (!s->portable && (s->in_width != in->width || s->in_height != in->height)) {
    clear_size (s);
    s->padded_height = (height - 1) * conv->stride + conv->kernel;
    s->padded_width = (width - 1) * conv->stride + conv->kernel;
    dnnl_primitive_desc_t pd = make_conv_desc (s, conv, height, width);
    gboolean ok = pd != NULL && make_size (s, conv, pd, height, width);
    if (ok) {
      const char *implementation = NULL;
      dnnl_primitive_desc_query (pd, dnnl_query_impl_info_str, 0, &implementation);
      g_debug ("%s: bf16 convolution by oneDNN %s%s", conv->name,
               implementation ? implementation : "?",
               s->dst_reorder != NULL ? ", output reordered to planar"
               : s->dst_channels_last ? ", output channels-last" : "");
    }
    if (pd)
      dnnl_primitive_desc_destroy (pd);
    if (!ok) {
      g_debug ("%s: oneDNN made no bf16 convolution for %dx%d: rounded to bf16, fp32 GEMMs",
               conv->name, in->width, in->height);
      clear_size (s);
      s->portable = TRUE;
    } else {
      s->in_width = in->width;
      s->in_height = in->height;
    }
  }
  if (s->portable) {
    tunit_cpu_im2col_conv.size (NULL, conv, policy, in, out, need);
    need->shared += aligned_floats (sizeof (float) * tunit_shape_count (in));
    return;
  }
  *need = (CpuScratchSize) {
    .shared = s->src_floats + s->dst_floats + s->scratchpad_floats + s->plain_floats,
    .per_thread = s->dst_channels_last ? (gsize) width : 0,
  };
}

/* The padded, channels-last bf16 input, a row at a time. */
typedef struct {
  const CpuConv *conv;
  const Bf16Conv *s;
  const float *input;
  const TunitShape *in;
  guint16 *padded;
} PaddingCall;

/* Row py of the padded input. */
static void
fill_padded_row (void *data, int py, int worker)
{
  const PaddingCall *call = data;
  const CpuConv *conv = call->conv;
  const TunitShape *in = call->in;
  int C = conv->in_channels, Wp = call->s->padded_width, pad = conv->padding;
  gsize in_plane = (gsize) in->height * in->width;
  guint16 *row = call->padded + (gsize) py * Wp * C;
  int iy = padded_index (py - pad, in->height, conv->pad);
  if (iy < 0) {
    memset (row, 0, sizeof (guint16) * Wp * C);
    return;
  }
  for (int c = 0; c < C; c++) {
    const float *src = call->input + c * in_plane + (gsize) iy * in->width;
    for (int px = 0; px < Wp; px++) {
      int ix = padded_index (px - pad, in->width, conv->pad);
      row[(gsize) px * C + c] = ix < 0 ? 0 : round_to_bf16 (src[ix]);
    }
  }
}

static void
fill_padded_input (const CpuConv *conv, const Bf16Conv *s, const float *input,
                   const TunitShape *in, guint16 *padded, const CpuContext *cpu)
{
  PaddingCall call = { conv, s, input, in, padded };
  cpu_thread_pool_for (cpu->pool, cpu->threads, s->padded_height, CPU_SCHEDULE_STATIC,
                       fill_padded_row, &call);
}

/* Values rounded to bf16 and kept in fp32, a share per worker. */
typedef struct {
  const float *input;
  float *rounded;
  gsize count;
} RoundingCall;

static void
round_share (void *data, int index, int count)
{
  const RoundingCall *call = data;
  gsize first = call->count * index / count, last = call->count * (index + 1) / count;
  for (gsize i = first; i < last; i++)
    call->rounded[i] = bf16_to_float (round_to_bf16 (call->input[i]));
}

/* The same arithmetic without oneDNN: bf16 values in fp32, fp32 GEMMs. */
static void
run_portable (const Bf16Conv *s, const CpuConv *conv, const float *input, const TunitShape *in,
              float *output, const TunitShape *out, const CpuScratch *scratch,
              const CpuContext *cpu)
{
  gsize count = tunit_shape_count (in), room = aligned_floats (sizeof (float) * count);
  float *rounded = scratch->shared;
  RoundingCall call = { input, rounded, count };
  cpu_thread_pool_run (cpu->pool, cpu->threads, round_share, &call);
  CpuConv rounded_conv = *conv;
  rounded_conv.weight = s->rounded_weight;
  CpuScratch rest = *scratch;
  rest.shared = scratch->shared + room;
  tunit_cpu_im2col_conv.run (NULL, &rounded_conv, rounded, in, output, out, &rest, cpu);
}

/* A product of oneDNN's, as the shared store takes it. */
typedef struct {
  const CpuConv *conv;
  float *product;            /* the store applies bias and activation in place */
  int height, width;
  float *output;
  const TunitShape *out;
  float **thread_scratch;
} ProductCall;

/* A [H][W][rows] product through the shared store, one gathered row at a
 * time: one pass instead of a reorder and a store.  Item y * rows + q. */
static void
store_channels_last_row (void *data, int item, int worker)
{
  const ProductCall *call = data;
  int rows = call->conv->rows, width = call->width;
  int y = item / rows, q = item % rows;
  float *row = call->thread_scratch[worker];
  const float *pixel = call->product + (gsize) y * width * rows + q;
  for (int x = 0; x < width; x++)
    row[x] = pixel[(gsize) x * rows];
  conv_store_row (call->conv, q, y, row, width, call->output, call->out);
}

/* A planar [rows][H][W] product, GEMM row q. */
static void
store_planar_row (void *data, int q, int worker)
{
  const ProductCall *call = data;
  gsize plane = (gsize) call->height * call->width;
  for (int y = 0; y < call->height; y++)
    conv_store_row (call->conv, q, y, call->product + q * plane + (gsize) y * call->width,
                    call->width, call->output, call->out);
}

static void
bf16_run (void *state, const CpuConv *conv, const float *input, const TunitShape *in,
          float *output, const TunitShape *out, const CpuScratch *scratch,
          const CpuContext *cpu)
{
  Bf16Conv *s = state;
  if (s->portable) {
    run_portable (s, conv, input, in, output, out, scratch, cpu);
    return;
  }
  int height, width;
  product_dims (conv, in, out, &height, &width);
  float *padded = scratch->shared, *product = padded + s->src_floats;
  float *pad = product + s->dst_floats, *plain = pad + s->scratchpad_floats;
  fill_padded_input (conv, s, input, in, (guint16 *) padded, cpu);
  dnnl_memory_set_data_handle (s->src, padded);
  dnnl_memory_set_data_handle (s->dst, product);
  dnnl_exec_arg_t args[4] = {
    { DNNL_ARG_SRC, s->src }, { DNNL_ARG_WEIGHTS, s->weights }, { DNNL_ARG_DST, s->dst },
  };
  int n_args = 3;
  if (s->scratchpad != NULL) {
    dnnl_memory_set_data_handle (s->scratchpad, pad);
    args[n_args++] = (dnnl_exec_arg_t) { DNNL_ARG_SCRATCHPAD, s->scratchpad };
  }
  int saved = omp_get_max_threads ();
  omp_set_num_threads (cpu->threads);
  dnnl_primitive_execute (s->conv, s->stream, n_args, args);
  if (s->dst_reorder != NULL) {
    dnnl_memory_set_data_handle (s->dst_plain, plain);
    dnnl_exec_arg_t reorder_args[] = { { DNNL_ARG_FROM, s->dst }, { DNNL_ARG_TO, s->dst_plain } };
    dnnl_primitive_execute (s->dst_reorder, s->stream, 2, reorder_args);
    product = plain;
  }
  dnnl_stream_wait (s->stream);
  omp_set_num_threads (saved);
  ProductCall store = { conv, product, height, width, output, out, scratch->per_thread };
  if (s->dst_channels_last)
    cpu_thread_pool_for (cpu->pool, cpu->threads, height * conv->rows, CPU_SCHEDULE_STATIC,
                         store_channels_last_row, &store);
  else
    cpu_thread_pool_for (cpu->pool, cpu->threads, conv->rows, CPU_SCHEDULE_STATIC,
                         store_planar_row, &store);
}

char *
tunit_cpu_bf16_conv_describe (void)
{
  /* a small 3x3 convolution: what oneDNN makes for it */
  CpuConv probe = { .name = "probe", .in_channels = 16, .channels = 16, .rows = 16,
                    .kernel = 3, .stride = 1 };
  Bf16Conv s = { .threads = 1 };
  s.padded_height = s.padded_width = 10;
  const char *implementation = NULL;
  char *description = NULL;
  dnnl_primitive_desc_t pd = NULL;
  if (dnnl_engine_create (&s.engine, dnnl_cpu, 0) == dnnl_success
      && (pd = make_conv_desc (&s, &probe, 8, 8)) != NULL
      && dnnl_primitive_desc_query (pd, dnnl_query_impl_info_str, 0, &implementation)
           == dnnl_success)
    description = g_strdup_printf ("oneDNN %s", implementation);
  if (pd)
    dnnl_primitive_desc_destroy (pd);
  if (s.engine)
    dnnl_engine_destroy (s.engine);
  return description != NULL ? description
                             : g_strdup ("portable: oneDNN has no bf16 convolution on this CPU; "
                                         "rounded to bf16, fp32 GEMMs");
}

const CpuConvAlgorithm tunit_cpu_bf16_conv = {
  .name = "bf16 (oneDNN)",
  .applies = bf16_applies,
  .prepare = bf16_prepare,
  .free = bf16_free,
  .size = bf16_size,
  .run = bf16_run,
};

#else /* !TUNIT_HAVE_ONEDNN: the backend never asks for bf16 */

static gboolean
bf16_applies (const CpuConv *conv, const CpuConvPolicy *policy)
{
  return FALSE;
}

char *
tunit_cpu_bf16_conv_describe (void)
{
  return g_strdup ("not built");
}

const CpuConvAlgorithm tunit_cpu_bf16_conv = {
  .name = "bf16 (oneDNN)",
  .applies = bf16_applies,
};
#endif
