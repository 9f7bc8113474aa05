/* job.h - one input file through tunitfilter into one output file.
 *
 *   filesrc ! parsebin ! multiqueue ! decodebin ! videoconvert ! tunitfilter
 *     ! videoconvert ! encoder ! muxer ! filesink (OUTPUT.partial)
 *   parsebin ! multiqueue ! muxer                        (audio it takes)
 *   parsebin ! multiqueue ! decodebin ! audioconvert ! audioresample
 *     ! encoder ! muxer                                  (audio it does not)
 *
 * The output is written to OUTPUT.partial and renamed to OUTPUT at the end
 * of the stream, so OUTPUT only ever names a complete file.  The job runs
 * in the thread-default main context of whoever starts it: its bus watch
 * reports the end there. */
#pragma once

#include "filter.h"
#include "plan.h"

G_BEGIN_DECLS

typedef struct _TranscodeJob TranscodeJob;

typedef void (*TranscodeJobFinished) (TranscodeJob *job, gpointer user_data);

/* A job for @input, written to @output (its folder is made if missing),
 * as @plan says, through a tunitfilter made with @filter (both must
 * outlive the job). */
TranscodeJob *transcode_job_new (const gchar *input, const gchar *output,
    const TranscodePlan *plan, const TranscodeFilterSettings *filter);

/* Starts the job; @finished is called from the main context when it ended,
 * well or not (see transcode_job_get_error).  FALSE with @error set if it
 * could not start (then @finished is not called). */
gboolean transcode_job_start (TranscodeJob *job, TranscodeJobFinished finished,
    gpointer user_data, GError **error);

/* Stops a running job and removes its partial output.  @finished is not
 * called. */
void transcode_job_cancel (TranscodeJob *job);

/* Frames translated so far (all video streams together). */
guint64 transcode_job_get_frames (TranscodeJob *job);

/* Seconds since the job started. */
gdouble transcode_job_get_elapsed (TranscodeJob *job);

/* NULL if the job succeeded, else why it failed. */
const GError *transcode_job_get_error (TranscodeJob *job);

/* The failing element's debug text for transcode_job_get_error, or NULL. */
const gchar *transcode_job_get_error_detail (TranscodeJob *job);

/* A remark on a finished job (a stream ending early, a decoder warning),
 * or NULL. */
const gchar *transcode_job_get_warning (TranscodeJob *job);

const gchar *transcode_job_get_input (TranscodeJob *job);
const gchar *transcode_job_get_output (TranscodeJob *job);
const TranscodePlan *transcode_job_get_plan (TranscodeJob *job);

void transcode_job_free (TranscodeJob *job);

G_END_DECLS
