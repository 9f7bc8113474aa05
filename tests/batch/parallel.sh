#!/bin/bash
# tunit-transcode-parallel: GNU parallel runs one tunit-transcode per file
# (here on this machine, --sshlogin :), outputs in one folder, failures in
# the summary and the exit status.
. "$(dirname "$0")/common.sh"
command -v parallel > /dev/null || fail "GNU parallel is missing (bash .ci/setup installs it)"

in=$work/in out=$work/out log=$work/parallel.log
make_clip "$in/a.webm" 16 8 "vp8enc deadline=1" webmmux opusenc
make_clip "$in/sub/b.mp4" 12 6 x264enc mp4mux avenc_aac
make_clip "$in/c.mkv" 12 6 "vp8enc deadline=1" matroskamux
make_broken "$in/broken.mkv"

timeout 300 "$scripts/tunit-transcode-parallel" -S : --jobs-per-host 2 \
  "${style[@]}" -o "$out" -- "$in" > "$log" 2>&1
expect_status 1 "$log" "a GNU parallel batch with a broken file"
cat "$log"
check_output "$in/a.webm" "$out/a.webm" WebM Opus
check_output "$in/sub/b.mp4" "$out/sub/b.mp4" Quicktime "MPEG-4 AAC"
check_output "$in/c.mkv" "$out/c.mkv" Matroska none
expect_line "$log" '^summary: 4 files through GNU parallel, 1 failed'
expect_line "$log" '^  failed: .*broken\.mkv \(exit status 1\)'
expect_line "$log" 'a\.webm	\[1/1\] done: '
[ "$(tail -n +2 "$out/parallel-joblog" | wc -l)" -eq 4 ] || fail "the joblog has no line per file"

# A rerun has nothing left to do but the broken file.
timeout 300 "$scripts/tunit-transcode-parallel" "${style[@]}" -o "$out" -- "$in" > "$log" 2>&1
expect_status 1 "$log" "the rerun"
[ "$(grep -c 'skipped, already done' "$log")" -eq 3 ] || { cat "$log"; fail "the rerun did not skip the 3 finished files"; }
echo PASS
