/* filter.h - the tunitfilter element as tunit-transcode uses it: made from
 * the command line's settings through its public properties, and checked
 * once on a test frame before a batch starts. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  gchar *model;              /* NULL: the element's default model */
  gchar *style;              /* reference image, or NULL */
  gint domain;               /* pseudo-domain, -1: unset */
  gchar *backend;            /* "auto", "vulkan", "cpu"; NULL: the default */
  gint processing_size;      /* -1: the element's default */
  gdouble strength;          /* < 0: the element's default */
} TranscodeFilterSettings;

/* A tunitfilter with @settings and QoS off (a file transcode translates
 * every frame however long each takes), or NULL with @error set if the
 * element is not installed or a setting is not one it takes. */
GstElement *transcode_filter_make (const TranscodeFilterSettings *settings,
    GError **error);

/* Runs one small test frame through a tunitfilter with @settings, so that a
 * missing model, an unreadable reference or a domain out of range is
 * reported once, before the batch, instead of once per file. */
gboolean transcode_filter_check (const TranscodeFilterSettings *settings,
    GError **error);

/* Makes the element findable when the plugin is installed under a prefix
 * GStreamer does not search: scans @folders (NULL-terminated) if the
 * registry has no tunitfilter. */
void transcode_filter_find_plugin (const gchar *const *folders);

G_END_DECLS
