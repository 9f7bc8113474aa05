/* video-layout.c - GstVideoInfo -> TunitImageLayout. */
#include "video-layout.h"

#include <string.h>

/* The matrix of a YUV stream; caps that leave it open get GStreamer's own
 * default for the frame height (BT.709 from 720 lines, else BT.601). */
static void
luma_weights (const GstVideoInfo *info, double *kr, double *kb)
{
  if (gst_video_color_matrix_get_Kr_Kb (info->colorimetry.matrix, kr, kb))
    return;
  gst_video_color_matrix_get_Kr_Kb (GST_VIDEO_INFO_HEIGHT (info) >= 720 ?
      GST_VIDEO_COLOR_MATRIX_BT709 : GST_VIDEO_COLOR_MATRIX_BT601, kr, kb);
}

void
gst_tunit_video_layout (const GstVideoInfo *info, TunitImageLayout *layout)
{
  const GstVideoFormatInfo *finfo = info->finfo;
  gboolean yuv = GST_VIDEO_FORMAT_INFO_IS_YUV (finfo);
  static const int rgb[3] = { GST_VIDEO_COMP_R, GST_VIDEO_COMP_G, GST_VIDEO_COMP_B };
  static const int yuv_components[3] = { GST_VIDEO_COMP_Y, GST_VIDEO_COMP_U,
    GST_VIDEO_COMP_V
  };
  int c, p;

  memset (layout, 0, sizeof (*layout));
  layout->width = GST_VIDEO_INFO_WIDTH (info);
  layout->height = GST_VIDEO_INFO_HEIGHT (info);
  layout->color = yuv ? TUNIT_COLOR_YUV : TUNIT_COLOR_RGB;
  for (c = 0; c < 3; c++) {
    int component = yuv ? yuv_components[c] : rgb[c];
    TunitComponent *out = &layout->components[c];
    out->plane = GST_VIDEO_FORMAT_INFO_PLANE (finfo, component);
    out->offset = GST_VIDEO_FORMAT_INFO_POFFSET (finfo, component);
    out->step = GST_VIDEO_FORMAT_INFO_PSTRIDE (finfo, component);
    out->x_shift = GST_VIDEO_FORMAT_INFO_W_SUB (finfo, component);
    out->y_shift = GST_VIDEO_FORMAT_INFO_H_SUB (finfo, component);
  }
  for (p = 0; p < (int) GST_VIDEO_INFO_N_PLANES (info) && p < 4; p++)
    layout->strides[p] = GST_VIDEO_INFO_PLANE_STRIDE (info, p);
  if (yuv) {
    luma_weights (info, &layout->kr, &layout->kb);
    layout->full_range = info->colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
    layout->chroma_cosited_x =
        (info->chroma_site & GST_VIDEO_CHROMA_SITE_H_COSITED) != 0;
    layout->chroma_cosited_y =
        (info->chroma_site & GST_VIDEO_CHROMA_SITE_V_COSITED) != 0;
  }
}

void
gst_tunit_video_frame_planes (GstVideoFrame *frame, TunitImageLayout *layout,
    guint8 *planes[4])
{
  guint p;

  for (p = 0; p < 4; p++) {
    if (p < GST_VIDEO_FRAME_N_PLANES (frame)) {
      planes[p] = GST_VIDEO_FRAME_PLANE_DATA (frame, p);
      layout->strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE (frame, p);
    } else {
      planes[p] = NULL;
    }
  }
}
