/* inputs.h - the files a batch works on: the command line's files, and the
 * video files found by recursing into its folders. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gchar *path;          /* the input file, as given or as found */
  gchar *subfolder;     /* where its output goes under the output folder:
                           "" for files named on the command line, the
                           path relative to the named folder otherwise */
  gchar *error;         /* non-NULL: the input cannot be used, and why */
} TranscodeInput;

/* Collects the inputs named by @arguments (files or folders), in command
 * line order, each folder's files sorted by name.  Folders are searched
 * recursively for files with a video extension (see
 * transcode_inputs_has_video_extension); hidden entries and @skip_folder
 * (the output folder, may be NULL) are left out.  A missing or unreadable
 * argument gives an entry with @error set, so that it is reported with the
 * rest of the batch.  Returns an array of TranscodeInput (owned, freed with
 * the array). */
GPtrArray *transcode_inputs_collect (gchar **arguments, const gchar *skip_folder);

/* TRUE if @name ends with one of the extensions of video files that folder
 * recursion picks up (case-insensitive). */
gboolean transcode_inputs_has_video_extension (const gchar *name);

/* The extensions, for the help text: "webm, mkv, ...". */
const gchar *transcode_inputs_video_extensions (void);

G_END_DECLS
