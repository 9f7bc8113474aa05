#!/bin/bash
# An interrupted batch leaves no partial output under a final name; a rerun
# skips the finished files and does the rest; --force redoes them.
. "$(dirname "$0")/common.sh"

in=$work/in out=$work/out log=$work/run.log
make_clip "$in/a.webm" 16 8 "vp8enc deadline=1" webmmux vorbisenc
make_clip "$in/b-long.webm" 120 24 "vp8enc deadline=1" webmmux vorbisenc
make_clip "$in/c.webm" 12 6 "vp8enc deadline=1" webmmux

# wait_for_partial FILE: until tunit-transcode is in the middle of FILE:
# the file exists and a progress line counts some of its frames (its size
# says nothing: filesink holds the first 64 KiB back).
wait_for_partial () {
  for _ in $(seq 1200); do
    [ -e "$1" ] && grep -Eq '^progress: \[2/3\] b-long\.webm: [1-9][0-9]*/120' "$log" && return 0
    sleep 0.1
  done
  cat "$log" >&2
  fail "no progress on $1 within 120 s"
}

# interrupt SIGNAL STATUS: starts the batch, stops it with SIGNAL while
# b-long.webm is half done; it must exit with STATUS and leave neither
# b-long.webm nor its partial file.
interrupt () {
  local signal=$1 status=$2
  "$TUNIT_TRANSCODE" "${style[@]}" --progress-interval 1 -o "$out" "$in" > "$log" 2>&1 &
  local pid=$!
  wait_for_partial "$out/b-long.webm.partial"
  kill -$signal $pid
  wait $pid
  expect_status $status "$log" "a batch stopped by SIG$signal"
  [ ! -e "$out/b-long.webm" ] || fail "SIG$signal left b-long.webm under its final name"
  [ ! -e "$out/b-long.webm.partial" ] || fail "SIG$signal left b-long.webm.partial"
  [ ! -e "$out/c.webm" ] || fail "the batch went on after SIG$signal"
  expect_line "$log" 'interrupted: .*b-long\.webm \(its partial output was removed\)'
  expect_line "$log" '^summary: 3 files: .* 2 not finished \(interrupted\)'
  echo "ok: SIG$signal stopped the batch with status $status, nothing partial left"
}

interrupt INT 130
check_output "$in/a.webm" "$out/a.webm" WebM Vorbis
first_inode=$(stat -c %i "$out/a.webm")
interrupt TERM 143
[ "$(stat -c %i "$out/a.webm")" = "$first_inode" ] || fail "the second run redid a.webm"

# SIGKILL cannot be caught: the partial file stays, under its own name only.
"$TUNIT_TRANSCODE" "${style[@]}" --progress-interval 1 -o "$out" "$in" > "$log" 2>&1 &
pid=$!
wait_for_partial "$out/b-long.webm.partial"
kill -KILL $pid
wait $pid 2> /dev/null
[ ! -e "$out/b-long.webm" ] || fail "SIGKILL left b-long.webm under its final name"

# The rerun skips a.webm, replaces the stale partial file and finishes.
run_transcode "$log" "${style[@]}" -o "$out" "$in"
expect_status 0 "$log" "the rerun"
cat "$log"
expect_line "$log" 'a\.webm -> .*a\.webm: skipped, already done \(--force redoes it\)'
expect_line "$log" '^summary: 3 files: 2 translated, 1 skipped \(already done\), 0 failed'
[ "$(stat -c %i "$out/a.webm")" = "$first_inode" ] || fail "the rerun redid a.webm"
check_output "$in/b-long.webm" "$out/b-long.webm" WebM Vorbis
check_output "$in/c.webm" "$out/c.webm" WebM none
[ -z "$(find "$out" -name '*.partial')" ] || fail "partial files left after the rerun"

# Nothing left to do; --force redoes one file, replacing it whole.
run_transcode "$log" "${style[@]}" -o "$out" "$in"
expect_status 0 "$log" "a rerun with nothing to do"
expect_line "$log" '^summary: 3 files: 0 translated, 3 skipped'
run_transcode "$log" "${style[@]}" --force -o "$out" "$in/a.webm"
expect_status 0 "$log" "--force"
expect_line "$log" '^summary: 1 files: 1 translated, 0 skipped'
[ "$(stat -c %i "$out/a.webm")" != "$first_inode" ] || fail "--force did not redo a.webm"
check_output "$in/a.webm" "$out/a.webm" WebM Vorbis
echo PASS
