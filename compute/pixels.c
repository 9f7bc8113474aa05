/* pixels.c - 8-bit pictures (interleaved RGB, planar and packed YUV) <->
 * planar [-1, 1] RGB floats, and resizing of planar images.  The colour
 * conversion of YUV happens here, fused with the unpacking, so that a
 * pipeline needs no videoconvert around the element. */
#include "tunit.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------ RGB */

/* (x / 255 - 0.5) / 0.5, as TUNIT's Normalize */
static inline float
from_byte (guint8 value)
{
  return value * (2.0f / 255.0f) - 1.0f;
}

/* Rounds to the nearest of 0..255; NaN gives 0.  (Adding a half and
 * truncating: lrintf is a libm call per sample without -ffast-math.) */
static inline guint8
quantize (float value)
{
  if (!(value > 0.0f))
    return 0;
  if (value >= 255.0f)
    return 255;
  return (guint8) (value + 0.5f);
}

static inline guint8
to_byte (float value)
{
  return quantize ((value + 1.0f) * 127.5f);
}

static void
rgb_to_planar (const guint8 *const planes[4], const TunitImageLayout *layout, float *planar)
{
  gsize plane = (gsize) layout->width * layout->height;
  for (int c = 0; c < 3; c++) {
    const TunitComponent *component = &layout->components[c];
    for (int y = 0; y < layout->height; y++) {
      const guint8 *src = planes[component->plane] + (gsize) y * layout->strides[component->plane]
                          + component->offset;
      float *dst = planar + c * plane + (gsize) y * layout->width;
      for (int x = 0; x < layout->width; x++)
        dst[x] = from_byte (src[x * component->step]);
    }
  }
}

static void
planar_to_rgb (const float *planar, const TunitImageLayout *layout, guint8 *const planes[4])
{
  gsize plane = (gsize) layout->width * layout->height;
  for (int c = 0; c < 3; c++) {
    const TunitComponent *component = &layout->components[c];
    for (int y = 0; y < layout->height; y++) {
      guint8 *dst = planes[component->plane] + (gsize) y * layout->strides[component->plane]
                    + component->offset;
      const float *src = planar + c * plane + (gsize) y * layout->width;
      for (int x = 0; x < layout->width; x++)
        dst[x * component->step] = to_byte (src[x]);
    }
  }
}

/* ------------------------------------------------------------ YUV */

/* The YUV <-> RGB arithmetic of one layout: R'G'B' in [0, 1],
 * Y = kr R + kg G + kb B, U = (B - Y) / (2 (1 - kb)), V = (R - Y) / (2 (1 - kr)),
 * stored as luma_offset + luma_scale * Y and 128 + chroma_scale * U. */
typedef struct {
  float kr, kg, kb;
  float luma_offset, luma_scale, chroma_scale;
  float v_to_r, u_to_g, v_to_g, u_to_b;
} YuvMatrix;

static YuvMatrix
yuv_matrix (const TunitImageLayout *layout)
{
  YuvMatrix m;
  m.kr = (float) layout->kr;
  m.kb = (float) layout->kb;
  m.kg = 1.0f - m.kr - m.kb;
  m.luma_offset = layout->full_range ? 0.0f : 16.0f;
  m.luma_scale = layout->full_range ? 255.0f : 219.0f;
  m.chroma_scale = layout->full_range ? 255.0f : 224.0f;
  m.v_to_r = 2.0f - 2.0f * m.kr;
  m.u_to_b = 2.0f - 2.0f * m.kb;
  m.u_to_g = -2.0f * m.kb * (1.0f - m.kb) / m.kg;
  m.v_to_g = -2.0f * m.kr * (1.0f - m.kr) / m.kg;
  return m;
}

static inline float
clamp_unit (float value)
{
  return value > 0.0f ? (value < 1.0f ? value : 1.0f) : 0.0f;   /* NaN -> 0 */
}

/* Linear interpolation of a subsampled axis: the full-resolution sample i
 * lies between subsampled samples first[i] and first[i] + 1 (clamped at the
 * edge) with weight[i] on the second.  Chroma sits on the first of each
 * group of luma samples (cosited) or in their middle. */
typedef struct {
  int *first;
  float *weight;
} Interpolation;

static Interpolation
interpolation_new (int size, int shift, gboolean cosited)
{
  Interpolation in = { g_new (int, size), g_new (float, size) };
  int factor = 1 << shift;
  int subsampled = (size + factor - 1) >> shift;
  for (int i = 0; i < size; i++) {
    double position = cosited ? (double) i / factor : (i + 0.5) / factor - 0.5;
    if (shift == 0)
      position = i;
    double floor_position = floor (position);
    int first = (int) floor_position;
    float weight = (float) (position - floor_position);
    if (first < 0) {
      first = 0;
      weight = 0.0f;
    }
    if (first >= subsampled - 1) {
      first = subsampled - 1;
      weight = 0.0f;
    }
    in.first[i] = first;
    in.weight[i] = weight;
  }
  return in;
}

static void
interpolation_clear (Interpolation *in)
{
  g_free (in->first);
  g_free (in->weight);
}

static inline const guint8 *
component_row (const guint8 *const planes[4], const TunitImageLayout *layout, int c, int row)
{
  const TunitComponent *component = &layout->components[c];
  return planes[component->plane] + (gsize) row * layout->strides[component->plane]
         + component->offset;
}

/* Chroma component c of luma row y, blended vertically to the row's
 * position and centred on zero, at chroma resolution, into out[1..n] with
 * out[0] and out[n + 1] repeating the edge samples, so that horizontal
 * interpolation needs no edge test. */
static void
blend_chroma_row (const guint8 *const planes[4], const TunitImageLayout *layout,
                  const Interpolation *rows, int c, int chroma_width, int y, float *out)
{
  int row = rows->first[y];
  float weight = rows->weight[y];
  const guint8 *top = component_row (planes, layout, c, row);
  const guint8 *bottom = weight > 0.0f ? component_row (planes, layout, c, row + 1) : top;
  int step = layout->components[c].step;
  for (int i = 0; i < chroma_width; i++)
    out[i + 1] = top[i * step] + weight * (bottom[i * step] - top[i * step]) - 128.0f;
  out[0] = out[1];
  out[chroma_width + 1] = out[chroma_width];
}

/* The full-resolution row of a chroma row padded as blend_chroma_row makes
 * it.  Factor 2 (every format here) has loops of its own, which the
 * compiler vectorises; other factors use the interpolation table. */
static void
upsample_chroma_row (const float *padded, int chroma_width, int width, int shift,
                     gboolean cosited, const Interpolation *columns, float *out)
{
  const float *c = padded + 1;
  if (shift == 0) {
    memcpy (out, c, sizeof (float) * width);
  } else if (shift == 1 && !cosited) {
    /* luma 2i and 2i + 1 sit a quarter sample before and after chroma i */
    for (int i = 0; i < width / 2; i++) {
      out[2 * i] = 0.75f * c[i] + 0.25f * c[i - 1];
      out[2 * i + 1] = 0.75f * c[i] + 0.25f * c[i + 1];
    }
    if (width % 2)
      out[width - 1] = 0.75f * c[chroma_width - 1] + 0.25f * c[chroma_width - 2];
  } else if (shift == 1) {
    for (int i = 0; i < width / 2; i++) {
      out[2 * i] = c[i];
      out[2 * i + 1] = 0.5f * (c[i] + c[i + 1]);
    }
    if (width % 2)
      out[width - 1] = c[chroma_width - 1];
  } else {
    for (int x = 0; x < width; x++) {
      int i = columns->first[x];
      out[x] = c[i] + columns->weight[x] * (c[i + 1] - c[i]);
    }
  }
}

typedef struct {
  float *luma, *u, *v;        /* a full-resolution row each */
  float *u_chroma, *v_chroma; /* a padded chroma row each */
} RowBuffers;

static RowBuffers
row_buffers_new (int width, int chroma_width)
{
  RowBuffers rows = {
    g_new (float, width), g_new (float, width), g_new (float, width),
    g_new (float, chroma_width + 2), g_new (float, chroma_width + 2),
  };
  return rows;
}

static void
row_buffers_clear (RowBuffers *rows)
{
  g_free (rows->luma);
  g_free (rows->u);
  g_free (rows->v);
  g_free (rows->u_chroma);
  g_free (rows->v_chroma);
}

static void
yuv_to_planar (const guint8 *const planes[4], const TunitImageLayout *layout, float *planar)
{
  YuvMatrix m = yuv_matrix (layout);
  int width = layout->width;
  gsize plane = (gsize) width * layout->height;
  const TunitComponent *chroma = &layout->components[1];
  int chroma_width = (width + (1 << chroma->x_shift) - 1) >> chroma->x_shift;
  Interpolation columns = interpolation_new (width, chroma->x_shift, layout->chroma_cosited_x);
  Interpolation rows = interpolation_new (layout->height, chroma->y_shift,
                                          layout->chroma_cosited_y);
  RowBuffers buffers = row_buffers_new (width, chroma_width);
  float luma_scale = 1.0f / m.luma_scale, chroma_scale = 1.0f / m.chroma_scale;
  int luma_step = layout->components[0].step;

  for (int y = 0; y < layout->height; y++) {
    const guint8 *luma = component_row (planes, layout, 0, y);
    float *l = buffers.luma, *u = buffers.u, *v = buffers.v;
    for (int x = 0; x < width; x++)
      l[x] = (luma[x * luma_step] - m.luma_offset) * luma_scale;
    blend_chroma_row (planes, layout, &rows, 1, chroma_width, y, buffers.u_chroma);
    blend_chroma_row (planes, layout, &rows, 2, chroma_width, y, buffers.v_chroma);
    upsample_chroma_row (buffers.u_chroma, chroma_width, width, chroma->x_shift,
                         layout->chroma_cosited_x, &columns, u);
    upsample_chroma_row (buffers.v_chroma, chroma_width, width, chroma->x_shift,
                         layout->chroma_cosited_x, &columns, v);
    float *r = planar + (gsize) y * width, *g = r + plane, *b = g + plane;
    for (int x = 0; x < width; x++) {
      float cu = u[x] * chroma_scale, cv = v[x] * chroma_scale;
      r[x] = 2.0f * clamp_unit (l[x] + m.v_to_r * cv) - 1.0f;
      g[x] = 2.0f * clamp_unit (l[x] + m.u_to_g * cu + m.v_to_g * cv) - 1.0f;
      b[x] = 2.0f * clamp_unit (l[x] + m.u_to_b * cu) - 1.0f;
    }
  }
  row_buffers_clear (&buffers);
  interpolation_clear (&columns);
  interpolation_clear (&rows);
}

/* Row y to Y (written into the picture) and U, V (centred on zero, in
 * stored units, every pixel). */
static void
convert_row (const float *planar, const TunitImageLayout *layout, const YuvMatrix *m, int y,
             guint8 *const planes[4], RowBuffers *buffers)
{
  gsize plane = (gsize) layout->width * layout->height;
  const float *r = planar + (gsize) y * layout->width, *g = r + plane, *b = g + plane;
  guint8 *luma = (guint8 *) component_row ((const guint8 *const *) planes, layout, 0, y);
  float *l = buffers->luma, *u = buffers->u, *v = buffers->v;
  int step = layout->components[0].step;
  float u_scale = m->chroma_scale / (2.0f * (1.0f - m->kb));
  float v_scale = m->chroma_scale / (2.0f * (1.0f - m->kr));
  for (int x = 0; x < layout->width; x++) {
    float rr = clamp_unit ((r[x] + 1.0f) * 0.5f);
    float gg = clamp_unit ((g[x] + 1.0f) * 0.5f);
    float bb = clamp_unit ((b[x] + 1.0f) * 0.5f);
    float y_value = m->kr * rr + m->kg * gg + m->kb * bb;
    l[x] = m->luma_offset + m->luma_scale * y_value + 0.5f;   /* in [0.5, 255.5] */
    u[x] = (bb - y_value) * u_scale;
    v[x] = (rr - y_value) * v_scale;
  }
  for (int x = 0; x < layout->width; x++)
    luma[x * step] = (guint8) l[x];
}

/* Taps of the low-pass filter before subsampling by 2^shift: the luma
 * samples of a chroma sample's group, and for cosited chroma half of each
 * neighbour too ([1 2 1] / 4 for a factor of 2). */
typedef struct {
  int count;
  int offsets[9];
  float weights[9];
} Taps;

static Taps
downsample_taps (int shift, gboolean cosited)
{
  Taps taps = { 0 };
  int factor = 1 << shift;
  if (shift == 0) {
    taps.count = 1;
    taps.weights[0] = 1.0f;
    return taps;
  }
  if (cosited) {
    /* a triangle of half-width `factor` centred on the first sample */
    float total = 0.0f;
    for (int d = -factor + 1; d < factor; d++) {
      taps.offsets[taps.count] = d;
      taps.weights[taps.count] = (float) (factor - ABS (d));
      total += taps.weights[taps.count++];
    }
    for (int i = 0; i < taps.count; i++)
      taps.weights[i] /= total;
  } else {
    for (int d = 0; d < factor; d++) {
      taps.offsets[taps.count] = d;
      taps.weights[taps.count++] = 1.0f / factor;
    }
  }
  return taps;
}

/* One subsampled chroma row from the filtered full-resolution row `sum`
 * (its weights adding up to `total`). */
static void
write_chroma_row (const float *sum, float total, int width, const Taps *taps, int shift,
                  gboolean cosited, guint8 *out, int step)
{
  int chroma_width = (width + (1 << shift) - 1) >> shift;
  float norm = 1.0f / total;
  if (shift == 1 && !cosited) {
    /* the average of each pair; an odd width's last sample stands alone */
    for (int i = 0; i < width / 2; i++)
      out[i * step] = (guint8) CLAMP (128.5f + 0.5f * norm * (sum[2 * i] + sum[2 * i + 1]),
                                      0.0f, 255.0f);
    if (width % 2)
      out[(chroma_width - 1) * step] = quantize (128.0f + norm * sum[width - 1]);
    return;
  }
  for (int i = 0; i < chroma_width; i++) {
    float value = 0.0f, weights = 0.0f;
    /* at the edges the filter is renormalised over the samples there */
    for (int t = 0; t < taps->count; t++) {
      int x = (i << shift) + taps->offsets[t];
      if (x >= 0 && x < width) {
        value += taps->weights[t] * sum[x];
        weights += taps->weights[t];
      }
    }
    out[i * step] = quantize (128.0f + value * norm / weights);
  }
}

static void
planar_to_yuv (const float *planar, const TunitImageLayout *layout, guint8 *const planes[4])
{
  YuvMatrix m = yuv_matrix (layout);
  int width = layout->width, height = layout->height;
  const TunitComponent *chroma = &layout->components[1];
  int chroma_height = (height + (1 << chroma->y_shift) - 1) >> chroma->y_shift;
  Taps row_taps = downsample_taps (chroma->y_shift, layout->chroma_cosited_y);
  Taps column_taps = downsample_taps (chroma->x_shift, layout->chroma_cosited_x);
  RowBuffers buffers = row_buffers_new (width, 0);
  float *u_sum = g_new (float, width), *v_sum = g_new (float, width);

  for (int j = 0; j < chroma_height; j++) {
    float total = 0.0f;
    memset (u_sum, 0, sizeof (float) * width);
    memset (v_sum, 0, sizeof (float) * width);
    for (int t = 0; t < row_taps.count; t++) {
      int y = (j << chroma->y_shift) + row_taps.offsets[t];
      float weight = row_taps.weights[t];
      if (y < 0 || y >= height)
        continue;   /* the filter is renormalised over the rows that exist */
      /* (a cosited row serves two chroma rows: it is converted twice) */
      convert_row (planar, layout, &m, y, planes, &buffers);
      for (int x = 0; x < width; x++) {
        u_sum[x] += weight * buffers.u[x];
        v_sum[x] += weight * buffers.v[x];
      }
      total += weight;
    }
    guint8 *u_out = (guint8 *) component_row ((const guint8 *const *) planes, layout, 1, j);
    guint8 *v_out = (guint8 *) component_row ((const guint8 *const *) planes, layout, 2, j);
    write_chroma_row (u_sum, total, width, &column_taps, chroma->x_shift,
                      layout->chroma_cosited_x, u_out, layout->components[1].step);
    write_chroma_row (v_sum, total, width, &column_taps, chroma->x_shift,
                      layout->chroma_cosited_x, v_out, layout->components[2].step);
  }
  row_buffers_clear (&buffers);
  g_free (u_sum);
  g_free (v_sum);
}

/* ------------------------------------------------------------ entry points */

void
tunit_image_to_planar (const guint8 *const planes[4], const TunitImageLayout *layout,
                       float *planar)
{
  if (layout->color == TUNIT_COLOR_YUV)
    yuv_to_planar (planes, layout, planar);
  else
    rgb_to_planar (planes, layout, planar);
}

void
tunit_planar_to_image (const float *planar, const TunitImageLayout *layout,
                       guint8 *const planes[4])
{
  if (layout->color == TUNIT_COLOR_YUV)
    planar_to_yuv (planar, layout, planes);
  else
    planar_to_rgb (planar, layout, planes);
}

/* The interleaved RGB layout as a general one: one plane. */
static TunitImageLayout
interleaved_layout (const TunitPixelLayout *pixels)
{
  TunitImageLayout layout = { 0 };
  const int offsets[3] = { pixels->red_offset, pixels->green_offset, pixels->blue_offset };
  layout.width = pixels->width;
  layout.height = pixels->height;
  layout.color = TUNIT_COLOR_RGB;
  layout.strides[0] = pixels->stride;
  for (int c = 0; c < 3; c++) {
    layout.components[c].offset = offsets[c];
    layout.components[c].step = pixels->channels;
  }
  return layout;
}

void
tunit_pixels_to_planar (const guint8 *pixels, const TunitPixelLayout *layout, float *planar)
{
  TunitImageLayout image = interleaved_layout (layout);
  const guint8 *const planes[4] = { pixels, NULL, NULL, NULL };
  rgb_to_planar (planes, &image, planar);
}

void
tunit_planar_to_pixels (const float *planar, const TunitPixelLayout *layout, guint8 *pixels)
{
  TunitImageLayout image = interleaved_layout (layout);
  guint8 *const planes[4] = { pixels, NULL, NULL, NULL };
  planar_to_rgb (planar, &image, planes);
}

/* One output sample along an axis: the input interval it covers, so that
 * shrinking averages (a box filter) and enlarging interpolates linearly. */
typedef struct {
  int first, count;
  float *weights;
} Footprint;

static Footprint *
make_footprints (int src_size, int dst_size)
{
  Footprint *footprints = g_new0 (Footprint, dst_size);
  double scale = (double) src_size / dst_size;
  double support = MAX (scale, 1.0);   /* filter width in source pixels */
  for (int i = 0; i < dst_size; i++) {
    double center = (i + 0.5) * scale;
    int first = (int) floor (center - support);
    int last = (int) ceil (center + support);
    first = MAX (first, 0);
    last = MIN (last, src_size - 1);
    Footprint *footprint = &footprints[i];
    footprint->first = first;
    footprint->count = last - first + 1;
    footprint->weights = g_new (float, footprint->count);
    double total = 0.0;
    for (int j = 0; j < footprint->count; j++) {
      double distance = fabs ((first + j + 0.5 - center) / support);
      double weight = MAX (0.0, 1.0 - distance);   /* triangle filter */
      footprint->weights[j] = (float) weight;
      total += weight;
    }
    for (int j = 0; j < footprint->count; j++)
      footprint->weights[j] = total > 0 ? (float) (footprint->weights[j] / total) : 0.0f;
  }
  return footprints;
}

static void
free_footprints (Footprint *footprints, int n)
{
  for (int i = 0; i < n; i++)
    g_free (footprints[i].weights);
  g_free (footprints);
}

void
tunit_planar_resize (const float *src, int src_width, int src_height, float *dst,
                     int dst_width, int dst_height)
{
  Footprint *columns = make_footprints (src_width, dst_width);
  Footprint *rows = make_footprints (src_height, dst_height);
  g_autofree float *horizontal = g_new (float, (gsize) src_height * dst_width);
  for (int c = 0; c < 3; c++) {
    const float *plane = src + (gsize) c * src_width * src_height;
    for (int y = 0; y < src_height; y++)
      for (int x = 0; x < dst_width; x++) {
        const Footprint *f = &columns[x];
        float sum = 0.0f;
        for (int j = 0; j < f->count; j++)
          sum += f->weights[j] * plane[(gsize) y * src_width + f->first + j];
        horizontal[(gsize) y * dst_width + x] = sum;
      }
    float *out = dst + (gsize) c * dst_width * dst_height;
    for (int y = 0; y < dst_height; y++) {
      const Footprint *f = &rows[y];
      for (int x = 0; x < dst_width; x++) {
        float sum = 0.0f;
        for (int j = 0; j < f->count; j++)
          sum += f->weights[j] * horizontal[(gsize) (f->first + j) * dst_width + x];
        out[(gsize) y * dst_width + x] = sum;
      }
    }
  }
  free_footprints (columns, dst_width);
  free_footprints (rows, dst_height);
}
