/* inputs.c - collects a batch's input files from the command line. */
#include "inputs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

/* What folder recursion takes for a video file.  Files named on the command
 * line are tried whatever their name. */
static const gchar *const video_extensions[] = {
  "webm", "mkv", "mp4", "m4v", "mov", "avi", "ogv", "mpg", "mpeg", "ts",
  "m2ts", "mts", "flv", "wmv", "3gp", "mxf", "dv", NULL
};

typedef struct {
  GPtrArray *inputs;
  gboolean have_skip;
  dev_t skip_device;
  ino_t skip_inode;
} Collection;

static void
input_free (gpointer data)
{
  TranscodeInput *input = data;

  g_free (input->path);
  g_free (input->subfolder);
  g_free (input->error);
  g_free (input);
}

static void
add_input (Collection *collection, const gchar *path, const gchar *subfolder,
    gchar *error)
{
  TranscodeInput *input = g_new0 (TranscodeInput, 1);

  input->path = g_strdup (path);
  input->subfolder = g_strdup (subfolder);
  input->error = error;
  g_ptr_array_add (collection->inputs, input);
}

gboolean
transcode_inputs_has_video_extension (const gchar *name)
{
  const gchar *dot = strrchr (name, '.');

  if (dot == NULL || dot == name)
    return FALSE;
  for (guint i = 0; video_extensions[i] != NULL; i++) {
    if (g_ascii_strcasecmp (dot + 1, video_extensions[i]) == 0)
      return TRUE;
  }
  return FALSE;
}

const gchar *
transcode_inputs_video_extensions (void)
{
  static gchar *joined;

  /* The help text asks once; a small leak at exit is fine for a CLI. */
  if (joined == NULL)
    joined = g_strjoinv (", ", (gchar **) video_extensions);
  return joined;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar * const *) a, *(const gchar * const *) b);
}

/* The entries of @folder, sorted so that a batch (and a Slurm array's task
 * numbers) come out the same on every run.  NULL with @error set if the
 * folder cannot be read. */
static GPtrArray *
sorted_entries (const gchar *folder, GError **error)
{
  GDir *dir = g_dir_open (folder, 0, error);
  GPtrArray *names;
  const gchar *name;

  if (dir == NULL)
    return NULL;
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, compare_names);
  return names;
}

static void collect_folder (Collection *collection, const gchar *folder,
    const gchar *subfolder);

static void
collect_entry (Collection *collection, const gchar *folder,
    const gchar *subfolder, const gchar *name)
{
  gchar *path = g_build_filename (folder, name, NULL);
  GStatBuf link_info, info;

  /* Hidden entries are left out: editors' and our own temporary files. */
  if (name[0] == '.' || g_lstat (path, &link_info) != 0) {
    g_free (path);
    return;
  }
  if (S_ISDIR (link_info.st_mode)) {
    /* Symbolic links to folders are not followed: they could loop. */
    gchar *inner = subfolder[0] == '\0' ? g_strdup (name) :
        g_build_filename (subfolder, name, NULL);
    collect_folder (collection, path, inner);
    g_free (inner);
  } else if (transcode_inputs_has_video_extension (name)
      && g_stat (path, &info) == 0 && S_ISREG (info.st_mode)) {
    add_input (collection, path, subfolder, NULL);
  }
  g_free (path);
}

static void
collect_folder (Collection *collection, const gchar *folder,
    const gchar *subfolder)
{
  GError *error = NULL;
  GPtrArray *names;
  GStatBuf info;

  if (collection->have_skip && g_stat (folder, &info) == 0
      && info.st_dev == collection->skip_device
      && info.st_ino == collection->skip_inode)
    return;
  names = sorted_entries (folder, &error);
  if (names == NULL) {
    add_input (collection, folder, subfolder,
        g_strdup_printf ("cannot read the folder: %s", error->message));
    g_error_free (error);
    return;
  }
  for (guint i = 0; i < names->len; i++)
    collect_entry (collection, folder, subfolder, names->pdata[i]);
  g_ptr_array_unref (names);
}

static void
collect_argument (Collection *collection, const gchar *argument)
{
  GStatBuf info;

  if (g_stat (argument, &info) != 0) {
    add_input (collection, argument, "",
        g_strdup_printf ("cannot open: %s", g_strerror (errno)));
  } else if (S_ISDIR (info.st_mode)) {
    collect_folder (collection, argument, "");
  } else if (S_ISREG (info.st_mode)) {
    add_input (collection, argument, "", NULL);
  } else {
    add_input (collection, argument, "",
        g_strdup ("not a regular file or a folder"));
  }
}

GPtrArray *
transcode_inputs_collect (gchar **arguments, const gchar *skip_folder)
{
  Collection collection = { 0 };
  GStatBuf info;

  collection.inputs = g_ptr_array_new_with_free_func (input_free);
  if (skip_folder != NULL && g_stat (skip_folder, &info) == 0) {
    collection.have_skip = TRUE;
    collection.skip_device = info.st_dev;
    collection.skip_inode = info.st_ino;
  }
  for (guint i = 0; arguments != NULL && arguments[i] != NULL; i++)
    collect_argument (&collection, arguments[i]);
  return collection.inputs;
}
