#!/bin/bash
# tunit-transcode on a folder of clips: WebM (VP8 + Vorbis), Matroska
# (H.264 + Opus), MP4 (H.264 + AAC), WebM without audio and a broken file.
# Every output keeps the frames, timestamps, size, frame rate, duration and
# audio; the broken file is reported, the rest goes on, the status says so.
. "$(dirname "$0")/common.sh"

in=$work/in
make_clip "$in/a.webm" 24 15 "vp8enc deadline=1" webmmux vorbisenc
make_clip "$in/sub/b.mkv" 20 10 x264enc matroskamux opusenc
make_clip "$in/c.mp4" 20 12 x264enc mp4mux avenc_aac
make_clip "$in/d.webm" 16 8 "vp8enc deadline=1" webmmux
make_broken "$in/broken.webm"
echo "not a video" > "$in/notes.txt"

log=$work/run.log
run_transcode "$log" "${style[@]}" -j 2 -o "$work/out" "$in"
expect_status 1 "$log" "a batch with a broken file"
cat "$log"

check_output "$in/a.webm" "$work/out/a.webm" WebM Vorbis
check_output "$in/sub/b.mkv" "$work/out/sub/b.mkv" Matroska Opus
check_output "$in/c.mp4" "$work/out/c.mp4" Quicktime "MPEG-4 AAC"
check_output "$in/d.webm" "$work/out/d.webm" WebM none
expect_line "$log" '/a\.webm -> .*a\.webm: .*WebM \(as the input\), video VP8 \(vp8enc\), audio Vorbis copied'
expect_line "$log" 'c\.mp4 -> .*: .*MP4 \(as the input\), video H.264 \(x264enc\), audio MPEG-4 AAC copied'
expect_line "$log" 'd\.webm -> .*no audio'
expect_line "$log" 'broken\.webm: FAILED: cannot read it as a video'
expect_line "$log" '^summary: 5 files: 4 translated, 0 skipped \(already done\), 1 failed'
expect_line "$log" '^  failed: .*broken\.webm: '
[ ! -e "$work/out/broken.webm" ] || fail "the broken input has an output"
leftovers=$(find "$work/out" -name '*.partial')
[ -z "$leftovers" ] || fail "partial files left: $leftovers"
[ ! -e "$work/out/notes.webm" ] || fail "a text file in the folder was taken for a video"

# Another container than the input's: MP4's AAC does not go into WebM, so
# it is re-encoded (Opus); WebM's VP8/Vorbis into Matroska are copied.
run_transcode "$log" "${style[@]}" --format webm -o "$work/as-webm" "$in/c.mp4"
expect_status 0 "$log" "--format webm"
cat "$log"
check_output "$in/c.mp4" "$work/as-webm/c.webm" WebM Opus
expect_line "$log" 'audio MPEG-4 AAC re-encoded with opusenc \(WebM does not take MPEG-4 AAC\)'
run_transcode "$log" "${style[@]}" --format mkv -o "$work/as-mkv" "$in/a.webm"
expect_status 0 "$log" "--format mkv"
check_output "$in/a.webm" "$work/as-mkv/a.mkv" Matroska Vorbis

# A missing decoder (hidden with GST_PLUGIN_FEATURE_RANK) is fatal only for
# a stream that must be decoded: Vorbis copied into WebM needs none.
GST_PLUGIN_FEATURE_RANK=vorbisdec:0 run_transcode "$log" "${style[@]}" -o "$work/no-vorbisdec" "$in/a.webm"
expect_status 0 "$log" "Vorbis copied without a Vorbis decoder"
check_output "$in/a.webm" "$work/no-vorbisdec/a.webm" WebM Vorbis
GST_PLUGIN_FEATURE_RANK=vorbisdec:0 run_transcode "$log" "${style[@]}" --format mp4 -o "$work/no-vorbisdec" "$in/a.webm"
expect_status 1 "$log" "Vorbis into MP4 without a Vorbis decoder"
expect_line "$log" 'a\.webm: FAILED: cannot decode it: a GStreamer plug-in is missing \(Vorbis decoder\)'
GST_PLUGIN_FEATURE_RANK=vp8dec:0,avdec_vp8:0 run_transcode "$log" "${style[@]}" -o "$work/no-vp8dec" "$in/d.webm"
expect_status 1 "$log" "VP8 without a VP8 decoder"
expect_line "$log" 'd\.webm: FAILED: cannot decode it: a GStreamer plug-in is missing \(VP8 decoder\)'

# A file cut short gives what it holds, with a warning in the summary.
make_clip "$work/whole.webm" 40 10 "vp8enc deadline=1" webmmux
mkdir -p "$work/cut"
head -c $(( $(stat -c %s "$work/whole.webm") / 2 )) "$work/whole.webm" > "$work/cut/cut.webm"
run_transcode "$log" "${style[@]}" -o "$work/cut-out" "$work/cut"
expect_status 0 "$log" "a file cut short"
expect_line "$log" '^  warning: .*cut\.webm: only [0-9]+ of the 40 frames its header promises were decoded'
# Every frame the cut file holds, at its timestamps (its header's duration
# is the whole clip's, so check_output's duration test does not apply).
[ "$(video_timestamps "$work/cut/cut.webm")" = "$(video_timestamps "$work/cut-out/cut.webm")" ] \
  || fail "the output of the cut file does not have its frames"

# An odd frame size is kept: VP8 takes it in 4:2:0, H.264 only in 4:4:4.
clip_size=161x121 make_clip "$work/odd/odd.webm" 8 8 "vp8enc deadline=1" webmmux
run_transcode "$log" "${style[@]}" -o "$work/odd-out" "$work/odd"
expect_status 0 "$log" "an odd frame size"
check_output "$work/odd/odd.webm" "$work/odd-out/odd.webm" WebM none
run_transcode "$log" "${style[@]}" --format mp4 -o "$work/odd-out" "$work/odd"
expect_status 0 "$log" "an odd frame size into MP4"
expect_line "$log" 'video H.264 \(x264enc\) in 4:4:4 \(4:2:0 needs even sides\)'
check_output "$work/odd/odd.webm" "$work/odd-out/odd.mp4" Quicktime none

# Bad settings stop before any file, with the element's own message.
run_transcode "$log" -m "$work/no-such-model.safetensors" -d 1 -o "$work/bad" "$in/a.webm"
expect_status 2 "$log" "a missing model"
expect_line "$log" 'the filter cannot run: .*no-such-model'
run_transcode "$log" "${style[@]}" -b warp -o "$work/bad" "$in/a.webm"
expect_status 2 "$log" "an unknown backend"
expect_line "$log" "unknown backend 'warp' \(one of: auto, vulkan, cpu\)"
run_transcode "$log" -m "$model" -o "$work/bad" "$in/a.webm"
expect_status 2 "$log" "no style"
[ ! -e "$work/bad" ] || fail "a run with bad settings wrote $work/bad"
# A missing input is reported like a broken one; the others still run.
run_transcode "$log" "${style[@]}" -o "$work/missing" "$work/nothing-here.webm" "$in/d.webm"
expect_status 1 "$log" "a missing input"
expect_line "$log" 'nothing-here\.webm: FAILED: cannot open: No such file or directory'
check_output "$in/d.webm" "$work/missing/d.webm" WebM none
echo PASS
