/* progress.h - the batch's output: lines that stay (a file's plan, its
 * result, the summary) and, on a terminal, live lines under them that are
 * redrawn in place. */
#pragma once

#include <stdio.h>

#include <glib.h>

G_BEGIN_DECLS

typedef struct _TranscodeProgress TranscodeProgress;

/* Writes to @stream; @terminal: redraw live lines with ANSI escapes, else
 * live lines are not drawn and the caller prints plain lines. */
TranscodeProgress *transcode_progress_new (FILE *stream, gboolean terminal);

gboolean transcode_progress_is_terminal (TranscodeProgress *progress);

/* Prints a line that stays, above the live lines. */
void transcode_progress_print (TranscodeProgress *progress,
    const gchar *format, ...) G_GNUC_PRINTF (2, 3);

/* Replaces the live lines with @lines (NULL-terminated; terminal only),
 * each cut to the terminal's width so that redrawing stays in place. */
void transcode_progress_show (TranscodeProgress *progress, gchar **lines);

/* Clears the live lines and frees @progress. */
void transcode_progress_free (TranscodeProgress *progress);

/* "12/24 frames, 8.1 fps, ETA 0:02" (total 0: unknown, no ETA). */
gchar *transcode_progress_describe (guint64 done, guint64 total, gdouble seconds);

G_END_DECLS
