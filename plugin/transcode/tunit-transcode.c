/* tunit-transcode.c - the tunit-transcode command: video files and folders
 * through the tunitfilter element, every frame, audio kept, with progress,
 * resume and a summary.  Options are read here; the batch runs in batch.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>

#include "batch.h"
#include "inputs.h"

#define DEFAULT_OUTPUT_FOLDER "tunit-output"
#define DEFAULT_PROGRESS_INTERVAL 5

typedef struct {
  gchar *model;
  gchar *reference;
  gint domain;
  gchar *backend;
  gint processing_size;
  gdouble strength;
  gchar *output_folder;
  gchar *format;
  gint jobs;
  gboolean force;
  gboolean list;
  gboolean verbose;
  gint progress_interval;
  gchar **inputs;
} Options;

static const gchar description[] =
  "Each INPUT is a video file or a folder, searched recursively for files\n"
  "ending in:\n  %s.\nA file's output goes to OUTDIR/NAME.EXT (OUTDIR/SUBFOLDER/NAME.EXT\n"
  "for a file found in a folder).\n"
  "\n"
  "Every frame is translated, at the input's size and frame rate, with its\n"
  "timestamps.  The output container is the input's (WebM, Matroska; MP4 for\n"
  "MP4/MOV) unless --format says otherwise; any other input is written as\n"
  "WebM, the default.  The video is encoded with the input's codec where an\n"
  "encoder for it is installed (VP8, VP9, H.264, H.265), else the container's\n"
  "default: VP8 for WebM and Matroska, H.264 (x264enc) for MP4.  Audio is\n"
  "copied untouched where the container takes its codec, else re-encoded\n"
  "(Opus or Vorbis for WebM/Matroska, AAC for MP4).  Each file's choice is\n"
  "printed before it runs.\n"
  "\n"
  "Output is written to OUTPUT.partial and renamed when complete, so a file\n"
  "under its final name is always whole: a rerun skips those (--force redoes\n"
  "them), and SIGINT or SIGTERM stops the batch and removes the partial\n"
  "files.  A file that cannot be read is reported and the batch goes on.\n"
  "\n"
  "-j: on the CPU backend one file already keeps every core busy (the\n"
  "network runs on all threads), so more files at once only add memory.\n"
  "With a GPU backend, 2 can let one file's decoding and encoding overlap\n"
  "another's network.\n"
  "\n"
  "Progress: on a terminal a live line per running file and one for the\n"
  "batch (frames done/total, fps, ETA); otherwise one plain line every\n"
  "--progress-interval seconds.\n"
  "\n"
  "Exit status: 0 when every file was translated or skipped, 1 when any\n"
  "failed (the summary lists them), 2 for bad options or a filter that\n"
  "cannot run (model, reference, domain, backend), 128+N when stopped by\n"
  "signal N.\n"
  "\n"
  "More than one machine: tunit-transcode-slurm (a Slurm job array, one\n"
  "task per file) and tunit-transcode-parallel (GNU parallel, --sshlogin).\n";

static gboolean
parse_options (int *argc, char ***argv, Options *options)
{
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &options->model,
      "Model file (default: $TUNIT_MODEL, else the installed default model)", "MODEL" },
    { "reference", 'r', 0, G_OPTION_ARG_FILENAME, &options->reference,
      "Reference image whose style to take", "REF" },
    { "domain", 'd', 0, G_OPTION_ARG_INT, &options->domain,
      "Pseudo-domain whose centroid gives the style", "K" },
    { "backend", 'b', 0, G_OPTION_ARG_STRING, &options->backend,
      "auto, vulkan or cpu (default: auto, Vulkan on a GPU, else CPU)", "BACKEND" },
    { "processing-size", 0, 0, G_OPTION_ARG_INT, &options->processing_size,
      "Longest side the network sees (default: the frame's own size)", "N" },
    { "strength", 0, 0, G_OPTION_ARG_DOUBLE, &options->strength,
      "Blend with the input, 0..1 (default 1)", "S" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &options->output_folder,
      "Output folder (default: " DEFAULT_OUTPUT_FOLDER ")", "OUTDIR" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &options->format,
      "Output container: webm, mkv or mp4 (default: the input's where we "
      "write it, else webm)", "FORMAT" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &options->jobs,
      "Files at once (default 1; see below)", "N" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &options->force,
      "Redo outputs that already exist", NULL },
    { "list", 0, 0, G_OPTION_ARG_NONE, &options->list,
      "Only list the inputs, one per line as SUBFOLDER<TAB>FILE (for job "
      "arrays), and exit", NULL },
    { "progress-interval", 0, 0, G_OPTION_ARG_INT, &options->progress_interval,
      "Seconds between progress lines when not on a terminal (default 5)", "S" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &options->verbose,
      "Give the failing element's debug text with each failure", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &options->inputs,
      NULL, "INPUT..." },
    { NULL }
  };
  GOptionContext *context = g_option_context_new (NULL);
  gchar *text = g_strdup_printf (description, transcode_inputs_video_extensions ());
  GError *error = NULL;
  gboolean ok;

  g_option_context_set_summary (context,
      "Translates video files with TUNIT (the tunitfilter element), keeping "
      "their audio.\n\n  tunit-transcode -m MODEL (-r REF | -d K) [-o OUTDIR] INPUT...");
  g_option_context_set_description (context, text);
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  ok = g_option_context_parse (context, argc, argv, &error);
  if (!ok) {
    g_printerr ("tunit-transcode: %s (see --help)\n", error->message);
    g_error_free (error);
  }
  g_free (text);
  g_option_context_free (context);
  return ok;
}

/* The checks options can have without running anything. */
static gboolean
check_options (const Options *options, TranscodeFormat *format)
{
  const gchar *problem = NULL;

  if (options->inputs == NULL || options->inputs[0] == NULL)
    problem = "no INPUT given";
  else if ((options->reference != NULL) == (options->domain >= 0) && !options->list)
    problem = "give a style: either -r REF or -d K";
  else if (options->jobs < 1)
    problem = "-j must be at least 1";
  else if (options->progress_interval < 1)
    problem = "--progress-interval must be at least 1";
  else if (options->strength > 1.0)
    problem = "--strength must be between 0 and 1";
  else if (options->format != NULL && !transcode_format_parse (options->format, format))
    problem = "--format must be webm, mkv or mp4";
  if (problem != NULL)
    g_printerr ("tunit-transcode: %s (see --help)\n", problem);
  return problem == NULL;
}

/* --list: the inputs as SUBFOLDER<TAB>FILE, for one task per file
 * (tunit-transcode-slurm, tunit-transcode-parallel). */
static int
list_inputs (GPtrArray *inputs)
{
  int status = TRANSCODE_EXIT_OK;

  for (guint i = 0; i < inputs->len; i++) {
    TranscodeInput *input = inputs->pdata[i];

    if (input->error == NULL && strpbrk (input->path, "\t\n") != NULL)
      input->error = g_strdup ("its name holds a tab or a newline, which a list cannot");
    if (input->error != NULL) {
      g_printerr ("tunit-transcode: %s: %s\n", input->path, input->error);
      status = TRANSCODE_EXIT_SOME_FAILED;
    } else {
      printf ("%s\t%s\n", input->subfolder, input->path);
    }
  }
  return status;
}

static void
free_options (Options *options)
{
  g_free (options->model);
  g_free (options->reference);
  g_free (options->backend);
  g_free (options->output_folder);
  g_free (options->format);
  g_strfreev (options->inputs);
}

int
main (int argc, char **argv)
{
  Options options = { .domain = -1, .processing_size = -1, .strength = -1.0,
    .jobs = 1, .progress_interval = DEFAULT_PROGRESS_INTERVAL };
  TranscodeBatchSettings settings = { 0 };
  const gchar *const plugin_folders[] = { TRANSCODE_PLUGIN_DIRS, NULL };
  GPtrArray *inputs;
  GError *error = NULL;
  int status;

  if (!parse_options (&argc, &argv, &options)
      || !check_options (&options, &settings.format)) {
    free_options (&options);
    return TRANSCODE_EXIT_USAGE;
  }
  settings.output_folder = options.output_folder != NULL ?
      options.output_folder : DEFAULT_OUTPUT_FOLDER;
  inputs = transcode_inputs_collect (options.inputs, settings.output_folder);
  if (options.list) {
    status = list_inputs (inputs);
    goto done;
  }
  transcode_filter_find_plugin (plugin_folders);
  settings.filter = (TranscodeFilterSettings) {
    .model = options.model, .style = options.reference, .domain = options.domain,
    .backend = options.backend, .processing_size = options.processing_size,
    .strength = options.strength,
  };
  settings.jobs = options.jobs;
  settings.force = options.force;
  settings.verbose = options.verbose;
  settings.progress_interval = options.progress_interval;
  if (!transcode_filter_check (&settings.filter, &error)) {
    g_printerr ("tunit-transcode: the filter cannot run: %s\n", error->message);
    g_error_free (error);
    status = TRANSCODE_EXIT_USAGE;
    goto done;
  }
  status = transcode_batch_run (&settings, inputs);
done:
  g_ptr_array_unref (inputs);
  free_options (&options);
  return status;
}
