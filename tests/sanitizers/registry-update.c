/* registry-update.c - brings the sanitizer tree's GStreamer registry up to
 * date (GST_REGISTRY, GST_PLUGIN_PATH from the environment) and checks that
 * tunitfilter is in it.  Built with the tree's sanitizer, so that the
 * instrumented plugin loads here: TSan, unlike ASan, cannot be preloaded
 * into an uninstrumented program such as gst-inspect-1.0. */
#include <gst/gst.h>

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  GstElementFactory *factory = gst_element_factory_find ("tunitfilter");
  if (factory == NULL) {
    g_printerr ("registry-update: tunitfilter is not in the registry (GST_PLUGIN_PATH=%s)\n",
                g_getenv ("GST_PLUGIN_PATH"));
    return 1;
  }
  gst_object_unref (factory);
  gst_deinit ();
  return 0;
}
