#!/bin/bash
# Progress: on a terminal, live lines per file and for the batch redrawn in
# place; in a log, one plain line every --progress-interval seconds.
. "$(dirname "$0")/common.sh"

in=$work/in log=$work/run.log
make_clip "$in/a.webm" 12 6 "vp8enc deadline=1" webmmux
make_clip "$in/long.webm" 96 24 "vp8enc deadline=1" webmmux vorbisenc
command -v script > /dev/null || fail "script (util-linux) is missing"

# On a terminal (script(1) gives the command a pseudo-terminal).
command=$(printf '%q ' "$TUNIT_TRANSCODE" "${style[@]}" -o "$work/tty-out" "$in")
timeout 300 script -qefc "$command" /dev/null > "$log" 2>&1
expect_status 0 "$log" "tunit-transcode on a terminal"
tr '\r' '\n' < "$log" > "$log.lines"
expect_line "$log.lines" $'\033\\[1A\033\\[2K'
expect_line "$log.lines" '\[2/2\] long\.webm: [0-9]+/96 frames, [0-9.]+ fps, ETA [0-9]+:[0-9]{2}'
expect_line "$log.lines" 'batch: 1 of 2 files finished, [0-9]+/108 frames, [0-9.]+ fps, ETA [0-9]+:[0-9]{2}'
expect_line "$log.lines" '^summary: 2 files: 2 translated'
echo "ok: live lines on a terminal:"
for pattern in 'long\.webm: [0-9]+/96' '^batch: '; do
  grep -a -E "$pattern" "$log.lines" | tail -n 1 | sed 's/^/    /' | cat -v
done

# In a log: plain lines, no escapes.
run_transcode "$log" "${style[@]}" --progress-interval 1 -o "$work/log-out" "$in"
expect_status 0 "$log" "tunit-transcode into a log"
cat "$log"
plain=$(grep -c -E '^progress: \[2/2\] long\.webm: [0-9]+/96 frames, [0-9.]+ fps, ETA [0-9]+:[0-9]{2} \| batch: 1 of 2 files finished, [0-9]+/108 frames' "$log")
[ "$plain" -ge 2 ] || fail "$plain plain progress lines for a run of several seconds, not one a second"
! grep -q $'\033' "$log" || fail "terminal escapes in a log"
check_output "$in/long.webm" "$work/log-out/long.webm" WebM Vorbis
echo PASS
