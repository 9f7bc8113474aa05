/* plugin.c - registers the "tunit" GStreamer plugin and its element
 * tunitfilter, and routes libtunit's log into GStreamer's debug log. */
#include <gst/gst.h>

#include "gsttunitfilter.h"
#include "tunit-config.h"

#ifndef PACKAGE
#define PACKAGE "gst-tunit"
#endif

GST_DEBUG_CATEGORY_STATIC (tunit_library_debug);

/* libtunit logs with g_log in the "tunit" domain (it knows nothing of
 * GStreamer); inside a pipeline those lines belong with the rest of the
 * debug log, under GST_DEBUG=tunit:N, not on stderr. */
static void
route_library_log (const gchar *domain, GLogLevelFlags flags,
    const gchar *message, gpointer user_data)
{
  GstDebugLevel level;

  if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    level = GST_LEVEL_ERROR;
  else if (flags & G_LOG_LEVEL_WARNING)
    level = GST_LEVEL_WARNING;
  else if (flags & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
    level = GST_LEVEL_INFO;
  else
    level = GST_LEVEL_DEBUG;
  GST_CAT_LEVEL_LOG (tunit_library_debug, level, NULL, "%s", message);
}

static gboolean
plugin_init (GstPlugin *plugin)
{
  GST_DEBUG_CATEGORY_INIT (tunit_library_debug, "tunit", 0,
      "libtunit, the TUNIT engine under tunitfilter");
  g_log_set_handler ("tunit", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL
      | G_LOG_FLAG_RECURSION, route_library_log, NULL);
  return GST_ELEMENT_REGISTER (tunitfilter, plugin);
}

/* The origin is the project's name: it has no public home page yet, and
 * the research code it runs (clovaai/tunit) is not this plugin's origin. */
GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, tunit,
    "TUNIT image-to-image translation of video frames (Vulkan / CPU)",
    plugin_init, TUNIT_VERSION, "MIT/X11", PACKAGE, "gst-tunit")
