/* progress.c - stays-lines and live lines on a terminal or a log. */
#include "progress.h"

#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define CURSOR_UP_AND_ERASE "\033[1A\033[2K"
#define DEFAULT_WIDTH 80

struct _TranscodeProgress {
  FILE *stream;
  gboolean terminal;
  guint live_lines;       /* how many live lines are on the screen */
};

TranscodeProgress *
transcode_progress_new (FILE *stream, gboolean terminal)
{
  TranscodeProgress *progress = g_new0 (TranscodeProgress, 1);

  progress->stream = stream;
  progress->terminal = terminal;
  return progress;
}

gboolean
transcode_progress_is_terminal (TranscodeProgress *progress)
{
  return progress->terminal;
}

static void
erase_live_lines (TranscodeProgress *progress)
{
  for (; progress->live_lines > 0; progress->live_lines--)
    fputs (CURSOR_UP_AND_ERASE, progress->stream);
}

void
transcode_progress_print (TranscodeProgress *progress, const gchar *format, ...)
{
  va_list arguments;

  erase_live_lines (progress);
  va_start (arguments, format);
  vfprintf (progress->stream, format, arguments);
  va_end (arguments);
  fputc ('\n', progress->stream);
  fflush (progress->stream);
}

static guint
terminal_width (FILE *stream)
{
  struct winsize size;

  if (ioctl (fileno (stream), TIOCGWINSZ, &size) == 0 && size.ws_col > 1)
    return size.ws_col;
  return DEFAULT_WIDTH;
}

void
transcode_progress_show (TranscodeProgress *progress, gchar **lines)
{
  guint width;

  if (!progress->terminal)
    return;
  width = terminal_width (progress->stream);
  erase_live_lines (progress);
  for (guint i = 0; lines[i] != NULL; i++) {
    /* One column spare: a line that fills the width makes some terminals
     * wrap, and the redraw would then climb one line too few. */
    fprintf (progress->stream, "%.*s\n", (int) (width - 1), lines[i]);
    progress->live_lines++;
  }
  fflush (progress->stream);
}

void
transcode_progress_free (TranscodeProgress *progress)
{
  if (progress == NULL)
    return;
  erase_live_lines (progress);
  fflush (progress->stream);
  g_free (progress);
}

static gchar *
format_duration (gdouble seconds)
{
  guint64 whole = (guint64) (seconds + 0.5);

  if (whole >= 3600)
    return g_strdup_printf ("%" G_GUINT64_FORMAT ":%02u:%02u", whole / 3600,
        (guint) (whole / 60 % 60), (guint) (whole % 60));
  return g_strdup_printf ("%u:%02u", (guint) (whole / 60), (guint) (whole % 60));
}

gchar *
transcode_progress_describe (guint64 done, guint64 total, gdouble seconds)
{
  gdouble fps = seconds > 0 ? done / seconds : 0.0;
  gchar *eta, *text;

  if (total == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " frames, %.1f fps", done, fps);
  eta = fps > 0 ? format_duration ((total > done ? total - done : 0) / fps) :
      g_strdup ("?");
  text = g_strdup_printf ("%" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
      " frames, %.1f fps, ETA %s", done, total, fps, eta);
  g_free (eta);
  return text;
}
