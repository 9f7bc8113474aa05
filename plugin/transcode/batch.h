/* batch.h - a batch of inputs through tunitfilter: plans each file,
 * skips finished outputs, runs N files at once, shows progress, stops
 * cleanly on SIGINT/SIGTERM and ends with a summary. */
#pragma once

#include "filter.h"
#include "formats.h"

G_BEGIN_DECLS

/* Exit statuses of tunit-transcode. */
#define TRANSCODE_EXIT_OK 0
#define TRANSCODE_EXIT_SOME_FAILED 1
#define TRANSCODE_EXIT_USAGE 2       /* bad options, or the filter cannot run */
/* Interrupted by signal S: 128 + S, as a shell reports it. */

typedef struct {
  TranscodeFilterSettings filter;
  const gchar *output_folder;
  TranscodeFormat format;
  guint jobs;                   /* files at once, at least 1 */
  gboolean force;               /* redo finished outputs */
  gboolean verbose;             /* failing elements' debug text too */
  guint progress_interval;      /* seconds between plain progress lines */
} TranscodeBatchSettings;

/* Runs @inputs (an array of TranscodeInput) and returns the exit status. */
int transcode_batch_run (const TranscodeBatchSettings *settings, GPtrArray *inputs);

G_END_DECLS
