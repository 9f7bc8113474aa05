/* pixels.c - 8-bit interleaved pixels <-> planar [-1, 1] floats, and
 * resizing of planar images. */
#include "tunit.h"

#include <math.h>

void
tunit_pixels_to_planar (const guint8 *pixels, const TunitPixelLayout *layout, float *planar)
{
  gsize plane = (gsize) layout->width * layout->height;
  const int offsets[3] = { layout->red_offset, layout->green_offset, layout->blue_offset };
  for (int y = 0; y < layout->height; y++) {
    const guint8 *row = pixels + (gsize) y * layout->stride;
    for (int c = 0; c < 3; c++) {
      float *dst = planar + c * plane + (gsize) y * layout->width;
      const guint8 *src = row + offsets[c];
      /* (x / 255 - 0.5) / 0.5, as TUNIT's Normalize */
      for (int x = 0; x < layout->width; x++)
        dst[x] = src[x * layout->channels] * (2.0f / 255.0f) - 1.0f;
    }
  }
}

static inline guint8
to_byte (float value)
{
  float scaled = (value + 1.0f) * 127.5f;
  if (!(scaled > 0.0f))   /* also catches NaN */
    return 0;
  if (scaled >= 255.0f)
    return 255;
  return (guint8) lrintf (scaled);
}

void
tunit_planar_to_pixels (const float *planar, const TunitPixelLayout *layout, guint8 *pixels)
{
  gsize plane = (gsize) layout->width * layout->height;
  const int offsets[3] = { layout->red_offset, layout->green_offset, layout->blue_offset };
  for (int y = 0; y < layout->height; y++) {
    guint8 *row = pixels + (gsize) y * layout->stride;
    for (int c = 0; c < 3; c++) {
      const float *src = planar + c * plane + (gsize) y * layout->width;
      guint8 *dst = row + offsets[c];
      for (int x = 0; x < layout->width; x++)
        dst[x * layout->channels] = to_byte (src[x]);
    }
  }
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
