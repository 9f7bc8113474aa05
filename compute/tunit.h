/* tunit.h - public API of libtunit, the TUNIT inference engine.
 *
 * libtunit loads a TUNIT model file (.safetensors, see models/FORMAT.md),
 * computes style codes with the guiding network and translates frames with
 * the generator, on a CPU (OpenBLAS) or Vulkan backend.  It knows nothing of
 * GStreamer.  Every fallible call reports through GError (domain TUNIT_ERROR).
 *
 * Images cross the API as planar float RGB ("CHW"): three planes of
 * width*height floats, R then G then B, values in [-1, 1] as TUNIT expects.
 * The helpers at the end convert from and to 8-bit interleaved pixels.
 */
#ifndef TUNIT_H
#define TUNIT_H

#include <glib.h>

G_BEGIN_DECLS

#define TUNIT_ERROR (tunit_error_quark ())
GQuark tunit_error_quark (void);

typedef enum {
  TUNIT_ERROR_FILE,          /* cannot open or read a file */
  TUNIT_ERROR_FORMAT,        /* a file is malformed or inconsistent */
  TUNIT_ERROR_ARGUMENT,      /* a caller-supplied value is out of range */
  TUNIT_ERROR_NO_DEVICE,     /* the requested backend has no usable device */
  TUNIT_ERROR_DEVICE,        /* the device failed (lost, shader, pipeline) */
  TUNIT_ERROR_OUT_OF_MEMORY, /* host or device memory exhausted */
} TunitErrorCode;

/* ---------------------------------------------------------------- model */

typedef struct _TunitModel TunitModel;

/* Architecture, read from the model file's metadata and checked against
 * the tensor shapes. */
typedef struct {
  int img_size;      /* training resolution; reference images are resized to it */
  int style_dim;     /* length of a style code */
  int nf;            /* width of the generator's first convolution */
  int n_downs;       /* down-samplings in the content encoder */
  int n_res;         /* residual blocks in encoder and decoder each */
  int mlp_dim;       /* hidden width of the style MLP */
  int mlp_layers;    /* linear layers in the style MLP */
  int num_domains;   /* K, pseudo-domains of the guiding network */
  gboolean has_centroids;
} TunitArchitecture;

TunitModel *tunit_model_load (const char *path, GError **error);
TunitModel *tunit_model_load_from_bytes (GBytes *bytes, GError **error);
TunitModel *tunit_model_ref (TunitModel *model);
void tunit_model_unref (TunitModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TunitModel, tunit_model_unref)

const TunitArchitecture *tunit_model_get_architecture (const TunitModel *model);

/* Value of a __metadata__ entry, or NULL. */
const char *tunit_model_get_metadata (const TunitModel *model, const char *key);

/* Number of scalar parameters in tensors whose name starts with prefix
 * ("G." generator, "E." guiding network, "" all). */
gsize tunit_model_count_parameters (const TunitModel *model, const char *prefix);

/* The centroid of pseudo-domain `domain` (style_dim floats, owned by the
 * model), or NULL with an error if the model has none or domain is out of
 * range. */
const float *tunit_model_get_centroid (const TunitModel *model, int domain,
                                       GError **error);

/* Writes a copy of the model with `centroids` (num_domains x style_dim
 * floats) replacing any centroids it had. */
gboolean tunit_model_save_with_centroids (const TunitModel *model,
                                          const float *centroids,
                                          const char *path, GError **error);

/* Multiply-adds x2 of the generator for a frame of width x height (after
 * padding to a multiple of 2^n_downs), for benchmarks. */
double tunit_model_generator_flops (const TunitModel *model, int width, int height);

/* --------------------------------------------------------------- engine */

typedef enum {
  TUNIT_BACKEND_AUTO,   /* Vulkan on a GPU when one exists, else CPU */
  TUNIT_BACKEND_CPU,
  TUNIT_BACKEND_VULKAN,
} TunitBackendKind;

typedef enum {
  TUNIT_PRECISION_DEFAULT, /* backend's choice: fp16 on Vulkan where supported, fp32 on CPU */
  TUNIT_PRECISION_FP32,
  TUNIT_PRECISION_FP16,
  TUNIT_PRECISION_BF16,
} TunitPrecision;

/* Who multiplies the matrices of the CPU backend. */
typedef enum {
  TUNIT_CPU_GEMM_AUTO,       /* oneDNN on AVX-512 CPUs and where OpenBLAS does not know the
                              * CPU, OpenBLAS elsewhere */
  TUNIT_CPU_GEMM_OPENBLAS,
  TUNIT_CPU_GEMM_ONEDNN,     /* fails where libtunit was built without oneDNN */
} TunitCpuGemm;

typedef struct {
  TunitBackendKind backend;
  int device_index;          /* Vulkan device, -1 = choose */
  TunitPrecision precision;
  int threads;               /* CPU threads, 0 = all cores */

  /* Tuning and debugging.  0 (as TUNIT_ENGINE_OPTIONS_INIT leaves them)
   * lets the engine choose; tunit_engine_options_read_environment() sets
   * them from the TUNIT_* environment variables named here. */
  gboolean reference_kernels;  /* every node by its plain kernel: no fused upsample + conv,
                                * im2col convolutions (TUNIT_CPU_WINOGRAD=0); what the fast
                                * paths are checked against */
  gboolean unfused_upsample;   /* nearest upsamplings stay nodes of their own
                                * (TUNIT_VULKAN_PHASE_SPLIT=0) */
  int winograd_tile;           /* CPU: 2 or 4 = F(2x2) or F(4x4) Winograd on every 3x3 layer,
                                * 0 = chosen per layer (TUNIT_CPU_WINOGRAD=2|4) */
  int keep_winograd_weights;   /* CPU: 1 = transform once and keep, -1 = transform per frame,
                                * 0 = by frame size (TUNIT_CPU_KEEP_WEIGHTS=1|0) */
  TunitCpuGemm cpu_gemm;       /* CPU: GEMM provider (TUNIT_CPU_GEMM=openblas|onednn) */
  gboolean force_bf16;         /* CPU: precision bf16 runs bf16 convolutions even where the CPU
                                * has no bf16 instructions: oneDNN's portable kernels, slow;
                                * for tests (TUNIT_CPU_FORCE_BF16=1) */
  gboolean portable_loops;     /* CPU: the build's baseline instruction set, not the best the
                                * CPU has (TUNIT_CPU_PORTABLE_LOOPS=1) */
  int vulkan_conv_tile;        /* Vulkan: n > 0 = convolution tile shape n - 1 everywhere,
                                * 0 = chosen per layer (TUNIT_VULKAN_CONV_CONFIG=n-1) */
  gboolean vulkan_validation;  /* Vulkan: Khronos validation messages fail the call
                                * (TUNIT_VULKAN_VALIDATION=1; needs the layer loaded) */
  gboolean profile;            /* time every node, print the times on stderr
                                * (TUNIT_CPU_PROFILE=1, TUNIT_VULKAN_PROFILE=1) */
} TunitEngineOptions;

#define TUNIT_ENGINE_OPTIONS_INIT \
  { .backend = TUNIT_BACKEND_AUTO, .device_index = -1, .precision = TUNIT_PRECISION_DEFAULT }

/* Fills the tuning and debugging fields of `options`, and device_index
 * where it is -1, from the TUNIT_* environment variables above (and
 * TUNIT_VULKAN_DEVICE=N for the device).  Meant for programs' edges (the
 * `tunit` command, the GStreamer element): the engine itself never reads
 * the environment.  A malformed value fails with TUNIT_ERROR_ARGUMENT and
 * leaves `options` as it was. */
gboolean tunit_engine_options_read_environment (TunitEngineOptions *options, GError **error);

typedef struct _TunitEngine TunitEngine;

/* An engine runs one model on one backend; it keeps a reference to the
 * model.  Not thread-safe: use one engine from one thread at a time. */
TunitEngine *tunit_engine_new (TunitModel *model, const TunitEngineOptions *options,
                               GError **error);
void tunit_engine_free (TunitEngine *engine);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TunitEngine, tunit_engine_free)

TunitModel *tunit_engine_get_model (TunitEngine *engine);
/* "cpu" or "vulkan" */
const char *tunit_engine_get_backend_name (TunitEngine *engine);
/* Human-readable description: device name, precision. */
const char *tunit_engine_get_description (TunitEngine *engine);

/* Runs the guiding network on an img_size x img_size planar image.
 * style_out: style_dim floats; logits_out (nullable): num_domains floats. */
gboolean tunit_engine_compute_style (TunitEngine *engine, const float *image,
                                     float *style_out, float *logits_out,
                                     GError **error);

/* Sets the style for the following translations: runs the style MLP once. */
gboolean tunit_engine_set_style (TunitEngine *engine, const float *style,
                                 GError **error);

/* Translates a width x height planar image (any size from 16x16) with the
 * current style.  Sides that are not multiples of 2^n_downs are padded by
 * reflection on the right/bottom and the result cropped back.  output has
 * the input's size.  Buffers are reused while the frame size stays the same. */
gboolean tunit_engine_translate (TunitEngine *engine, const float *input,
                                 int width, int height, float *output,
                                 GError **error);

/* ------------------------------------------------------ frames in flight */

/* A frame queue runs an engine on a thread of its own, so that a caller can
 * convert the next frame while the engine computes the previous ones
 * ("frames in flight"), and so that every heavy call of the engine
 * (translation, guide, style MLP) runs on one and the same thread whoever
 * asks for it: an engine is not thread-safe, and the CPU backend's thread
 * pool serves one calling thread at a time.  Work runs in the order it was queued.  The
 * queue owns the engine: once given to the queue, only the queue's thread
 * runs it.  The queue's calls may come from any one thread at a time. */
typedef struct _TunitFrameQueue TunitFrameQueue;

/* Takes ownership of engine. */
TunitFrameQueue *tunit_frame_queue_new (TunitEngine *engine);
/* Finishes the work already queued, then frees the queue and its engine. */
void tunit_frame_queue_free (TunitFrameQueue *queue);

/* The queue's engine, for its constant properties only (model, backend
 * name, description); its work goes through the queue. */
TunitEngine *tunit_frame_queue_get_engine (TunitFrameQueue *queue);

/* Queues the translation of a width x height planar frame into output, as
 * tunit_engine_translate does it.  Never blocks.  input and output must stay
 * valid and untouched until tunit_frame_queue_wait has returned the frame. */
void tunit_frame_queue_submit (TunitFrameQueue *queue, const float *input,
                               int width, int height, float *output,
                               gpointer user_data);

/* Frames submitted and not yet waited for. */
guint tunit_frame_queue_get_in_flight (TunitFrameQueue *queue);

/* Waits for the oldest frame in flight.  Sets *user_data to what it was
 * submitted with and *compute_us to the engine's time on it (both
 * nullable).  Returns FALSE with the engine's error when the translation
 * failed, or with TUNIT_ERROR_ARGUMENT when no frame is in flight. */
gboolean tunit_frame_queue_wait (TunitFrameQueue *queue, gpointer *user_data,
                                 gint64 *compute_us, GError **error);

/* Runs func (engine, user_data) on the queue's thread after everything
 * queued before it and before anything queued after it (the way to change
 * the engine's style between two frames), then destroy (user_data). */
typedef void (*TunitEngineFunc) (TunitEngine *engine, gpointer user_data);
void tunit_frame_queue_call (TunitFrameQueue *queue, TunitEngineFunc func,
                             gpointer user_data, GDestroyNotify destroy);

/* Like tunit_frame_queue_call, and waits until func has returned. */
void tunit_frame_queue_run (TunitFrameQueue *queue, TunitEngineFunc func,
                            gpointer user_data);

/* Lists the Vulkan devices as text lines (index, name, type, features).
 * Returns NULL with an error when Vulkan is unavailable. */
char *tunit_vulkan_describe_devices (GError **error);

/* ---------------------------------------------------------------- pixels */

/* The most pixels an image read from a file may have (32 Mi pixels, e.g.
 * 8192 x 4096): the tunit tool and the element refuse larger images before
 * decoding them (models/FORMAT.md, "Limits"). */
#define TUNIT_MAX_IMAGE_PIXELS (G_GINT64_CONSTANT (1) << 25)

typedef enum {
  TUNIT_IMAGE_FILE_OTHER,       /* neither PNG nor JPEG */
  TUNIT_IMAGE_FILE_COMPLETE,    /* reaches its end marker (IEND, EOI) */
  TUNIT_IMAGE_FILE_TRUNCATED,   /* ends before it */
  TUNIT_IMAGE_FILE_MALFORMED,   /* its chunks or markers do not parse */
} TunitImageFileCheck;

/* Walks the chunks of a PNG or the markers of a JPEG without decoding:
 * whether the file is complete, and the width and height its header
 * declares (0 where it has none). */
TunitImageFileCheck tunit_image_file_check (const guint8 *data, gsize size,
                                            guint64 *width, guint64 *height);

/* 8-bit interleaved pixels with `channels` bytes per pixel, red at byte
 * red_offset, green at green_offset, blue at blue_offset, rows `stride`
 * bytes apart  <->  planar [-1, 1] floats. */
typedef struct {
  int width, height, stride, channels;
  int red_offset, green_offset, blue_offset;
} TunitPixelLayout;

void tunit_pixels_to_planar (const guint8 *pixels, const TunitPixelLayout *layout,
                             float *planar);
void tunit_planar_to_pixels (const float *planar, const TunitPixelLayout *layout,
                             guint8 *pixels);

/* Pictures of any common 8-bit layout: packed RGB in any order, planar YUV
 * (I420, YV12), semi-planar YUV (NV12, NV21), packed YUV 4:2:2 (YUY2, UYVY,
 * YVYU).  A layout says where each of three components (R, G, B, or Y, U,
 * V) lives, which is what GStreamer's video format descriptions give. */
typedef struct {
  int plane;     /* index of the plane holding it */
  int offset;    /* byte offset of a row's first sample */
  int step;      /* bytes from one sample to the next along a row */
  int x_shift;   /* log2 of the horizontal subsampling (NV12's U, V: 1) */
  int y_shift;   /* log2 of the vertical subsampling (NV12: 1, YUY2: 0) */
} TunitComponent;

typedef enum {
  TUNIT_COLOR_RGB,
  TUNIT_COLOR_YUV,
} TunitColorModel;

typedef struct {
  int width, height;
  TunitColorModel color;
  TunitComponent components[3];   /* R, G, B or Y, U, V */
  int strides[4];                 /* bytes from one row to the next, per plane */
  /* YUV only: the matrix, as the luma weights of red and blue (BT.601:
   * 0.299, 0.114; BT.709: 0.2126, 0.0722), and the range (full: 0..255,
   * else Y 16..235 and U, V 16..240). */
  double kr, kb;
  gboolean full_range;
  /* where a chroma sample sits: on the first luma sample it covers
   * (cosited) or in the middle of them */
  gboolean chroma_cosited_x, chroma_cosited_y;
} TunitImageLayout;

/* planes[i] points at plane i's first row.  Only the three components are
 * read or written (alpha and padding bytes are left alone).  Subsampled
 * chroma is interpolated linearly on the way in and low-pass filtered on
 * the way out; values out of the RGB cube are clamped. */
void tunit_image_to_planar (const guint8 *const planes[4],
                            const TunitImageLayout *layout, float *planar);
void tunit_planar_to_image (const float *planar, const TunitImageLayout *layout,
                            guint8 *const planes[4]);

/* Bilinear resize of a planar image (area-averaging when shrinking). */
void tunit_planar_resize (const float *src, int src_width, int src_height,
                          float *dst, int dst_width, int dst_height);

G_END_DECLS

#endif /* TUNIT_H */
