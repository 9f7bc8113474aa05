/* plugin.c - registers the "tunit" GStreamer plugin and its element
 * tunitfilter. */
#include <gst/gst.h>

#include "gsttunitfilter.h"
#include "tunit-config.h"

#ifndef PACKAGE
#define PACKAGE "gst-tunit"
#endif

static gboolean
plugin_init (GstPlugin *plugin)
{
  return gst_element_register (plugin, "tunitfilter", GST_RANK_NONE,
      GST_TYPE_TUNIT_FILTER);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, tunit,
    "TUNIT image-to-image translation of video frames (Vulkan / CPU)",
    plugin_init, TUNIT_VERSION, "MIT/X11", "gst-tunit",
    "https://github.com/clovaai/tunit")
