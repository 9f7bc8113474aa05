# common.sh - shared set-up of the tunit-transcode tests (sourced).
# Needs TUNIT_TRANSCODE (the command), TUNIT_SOURCE_ROOT and GST_PLUGIN_PATH
# pointing at the built plugin; meson's test env sets them.  Clips are made
# by GStreamer; outputs are checked with gst-discoverer-1.0 and by decoding.
set -uo pipefail

fail () { echo "FAIL: $*" >&2; exit 1; }

[ -x "${TUNIT_TRANSCODE:-}" ] || fail "TUNIT_TRANSCODE is not the built tunit-transcode"
model=$TUNIT_SOURCE_ROOT/models/default.safetensors
[ -f "$model" ] || fail "no default model at $model"
scripts=$TUNIT_SOURCE_ROOT/plugin/transcode
for tool in gst-launch-1.0 gst-discoverer-1.0; do
  command -v $tool > /dev/null || fail "$tool is missing (bash .ci/setup installs it)"
done
for element in vp8enc webmmux matroskamux vorbisenc opusenc x264enc mp4mux avenc_aac avdec_h264; do
  gst-inspect-1.0 $element > /dev/null 2>&1 \
    || fail "the GStreamer element $element is missing (bash .ci/setup installs it)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/tunit-batch-XXXXXX")
cleanup () { rm -rf "$work"; }
trap cleanup EXIT

# The translation every test asks for: the default model, pseudo-domain 1,
# on the CPU so that the tests run the same on every machine.
style=(-m "$model" -d 1 -b cpu)

# make_clip FILE FRAMES FPS VIDEO-ENCODER MUXER [AUDIO-ENCODER]: a clip of
# $clip_size (default 160x120), with a tone as audio when an audio encoder
# is given.
make_clip () {
  local file=$1 frames=$2 fps=$3 video=$4 muxer=$5 audio=${6:-}
  local seconds_x100=$((frames * 100 / fps))
  local audio_branch=() clip_size=${clip_size:-160x120}
  if [ -n "$audio" ]; then
    # 100 buffers of 1/100 s per second of video, at 48 kHz.
    audio_branch=(audiotestsrc num-buffers=$seconds_x100 samplesperbuffer=480
      ! audio/x-raw,rate=48000,channels=2 ! audioconvert ! $audio ! queue ! mux.)
  fi
  mkdir -p "$(dirname "$file")"
  timeout 120 gst-launch-1.0 -q videotestsrc num-buffers=$frames pattern=ball \
    ! video/x-raw,width=${clip_size%x*},height=${clip_size#*x},framerate=$fps/1,format=I420 \
    ! $video ! queue ! $muxer name=mux ! filesink location="$file" \
    "${audio_branch[@]}" || fail "cannot make the clip $file"
}

# A file that is no video at all, with a video file's name.
make_broken () {
  mkdir -p "$(dirname "$1")"
  head -c 20000 /dev/urandom > "$1"
}

# discover FILE: gst-discoverer-1.0's report of FILE.
discover () {
  timeout 120 gst-discoverer-1.0 "$1" 2>&1 || fail "gst-discoverer-1.0 cannot read $1"
}

# decode_video FLAG FILE ELEMENTS...: gst-launch-1.0 FLAG (-q or -v)
# decoding FILE's video into ELEMENTS.  Audio, where FILE has some, goes to
# a fakesink: left unlinked, gst-launch-1.0 now and then never sees the end
# of the stream.
decode_video () {
  local flag=$1 file=$2
  shift 2
  local audio=() report
  report=$(discover "$file") || exit 1
  grep -q '^ *audio #' <<< "$report" && audio=(d. ! audio/x-raw ! fakesink sync=false)
  timeout 120 gst-launch-1.0 $flag filesrc location="$file" ! decodebin name=d \
    d. ! video/x-raw ! "$@" "${audio[@]}"
}

# field REPORT NAME: the value of "NAME: value" in a discoverer report.
field () {
  sed -n "s/^ *$2: //p" <<< "$1" | head -n 1
}

# Duration of a report in milliseconds.
duration_ms () {
  local d
  d=$(field "$1" Duration)
  awk -F: -v d="$d" 'BEGIN { split(d, p, ":"); printf "%d\n", (p[1] * 3600 + p[2] * 60 + p[3]) * 1000 + 0.5 }'
}

# video_timestamps FILE: the presentation time of every decoded video
# frame after the first one's, in milliseconds, one per line.  Relative:
# containers differ in where they start (MP4 keeps the encoder's B-frame
# delay in the first timestamp, Matroska starts at zero).
video_timestamps () {
  decode_video -v "$1" fakesink name=counter silent=false sync=false 2>&1 \
    | sed -n 's/.*GstFakeSink:counter: last-message = chain.*pts: \([0-9]*\):\([0-9]*\):\([0-9.]*\).*/\1 \2 \3/p' \
    | awk '{ t = ($1 * 3600 + $2 * 60 + $3) * 1000; if (NR == 1) first = t; printf "%d\n", t - first + 0.5 }'
}

# check_output INPUT OUTPUT CONTAINER AUDIO: OUTPUT is INPUT translated:
# the same frames at the same timestamps (from the first), size and frame rate, the same
# duration (within a frame), in CONTAINER (as gst-discoverer-1.0 names it),
# with audio AUDIO ("none" for no audio stream).
check_output () {
  local input=$1 output=$2 container=$3 audio=$4
  local in_report out_report in_times out_times frames
  [ -f "$output" ] || fail "no output $output for $input"
  in_report=$(discover "$input") || exit 1
  out_report=$(discover "$output") || exit 1
  [ "$(field "$out_report" 'container #0')" = "$container" ] \
    || fail "$output is not $container: $(field "$out_report" 'container #0')"
  for name in Width Height 'Frame rate'; do
    [ "$(field "$out_report" "$name")" = "$(field "$in_report" "$name")" ] \
      || fail "$output: $name $(field "$out_report" "$name"), the input's $(field "$in_report" "$name")"
  done
  local out_audio
  out_audio=$(sed -n 's/^ *audio #[0-9]*: //p' <<< "$out_report")
  [ "${out_audio:-none}" = "$audio" ] || fail "$output: audio '${out_audio:-none}', not '$audio'"
  in_times=$(video_timestamps "$input") || fail "cannot decode the video of $input"
  out_times=$(video_timestamps "$output") || fail "cannot decode the video of $output"
  frames=$(wc -l <<< "$out_times")
  [ -n "$out_times" ] && [ "$in_times" = "$out_times" ] \
    || fail "$output: $frames frames whose timestamps differ from the input's $(wc -l <<< "$in_times")" \
       "(input: $(echo $in_times | cut -c1-80)...; output: $(echo $out_times | cut -c1-80)...)"
  local rate frame_ms difference
  rate=$(field "$in_report" 'Frame rate')
  frame_ms=$(awk -v r="$rate" 'BEGIN { split(r, f, "/"); printf "%d\n", 1000 * f[2] / f[1] + 1 }')
  difference=$(( $(duration_ms "$out_report") - $(duration_ms "$in_report") ))
  [ ${difference#-} -le "$frame_ms" ] \
    || fail "$output lasts $(field "$out_report" Duration), the input $(field "$in_report" Duration)"
  check_translated "$input" "$output"
  echo "ok: $output: $container, $frames frames at the input's timestamps," \
    "$(field "$out_report" Width)x$(field "$out_report" Height) at $rate, audio $audio"
}

# check_translated INPUT OUTPUT: OUTPUT's frames are not INPUT's: the mean
# absolute difference of their RGB pixels is well above what re-encoding
# alone makes (under 1 on these clips; a translation by the default model
# makes over 20).
check_translated () {
  local frames=$work/frames side=in
  mkdir -p "$frames"
  for file in "$1" "$2"; do
    decode_video -q "$file" videoconvert ! video/x-raw,format=RGB \
      ! filesink location="$frames/$side.rgb" || fail "cannot decode $file"
    side=out
  done
  "${PYTHON:-/usr/bin/python3}" - "$frames/in.rgb" "$frames/out.rgb" <<'PY' \
    || fail "$2 does not look translated from $1"
import sys
import numpy
a, b = (numpy.fromfile(name, numpy.uint8).astype(numpy.float32) for name in sys.argv[1:])
difference = abs(a - b).mean() if a.size == b.size else float("nan")
print(f"mean |output - input| = {difference:.1f} of 255")
sys.exit(0 if difference > 5 else 1)
PY
  rm -f "$frames"/*.rgb
}

# run_transcode LOG ARGS...: tunit-transcode with a time limit; its output
# in LOG; returns its exit status.
run_transcode () {
  local log=$1; shift
  timeout 300 "$TUNIT_TRANSCODE" "$@" > "$log" 2>&1
}

# expect_status STATUS LOG WHAT: fails unless the last command exited with
# STATUS, showing LOG.
expect_status () {
  local got=$? want=$1 log=$2
  shift 2
  if [ $got -ne $want ]; then
    cat "$log" >&2
    fail "$* exited with $got, not $want"
  fi
}

# expect_line LOG PATTERN: LOG has a line matching PATTERN (grep -E).
expect_line () {
  grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "no line like '$2' in the output"; }
}
