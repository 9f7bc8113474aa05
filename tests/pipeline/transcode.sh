#!/bin/bash
# A batch transcode through tunitfilter keeps every frame and the frame size.
. "$(dirname "$0")/common.sh"

frames=12
for e in vp8enc webmmux vp8dec matroskademux; do
  gst-inspect-1.0 $e > /dev/null 2>&1 || skip "$e is missing (gstreamer1.0-plugins-good)"
done
make_reference "$work/ref.png"

gst-launch-1.0 -q videotestsrc num-buffers=$frames pattern=ball \
  ! video/x-raw,width=80,height=60,framerate=10/1 ! vp8enc deadline=1 \
  ! webmmux ! filesink location="$work/in.webm" || fail "cannot make the test clip"
decode "$work/in.webm" "$work/in.log"
n=$(count_frames "$work/in.log")
[ "$n" -eq $frames ] || fail "the test clip has $n frames, not $frames"

launch "$work/transcode.log" \
  filesrc location="$work/in.webm" ! decodebin ! videoconvert \
  ! tunitfilter model="$model" style="$work/ref.png" backend=cpu \
  ! videoconvert ! vp8enc deadline=1 ! webmmux \
  ! filesink location="$work/out.webm"

decode "$work/out.webm" "$work/out.log"
n=$(count_frames "$work/out.log")
[ "$n" -eq $frames ] || fail "the output has $n frames, not $frames"
size=$(frame_size "$work/out.log")
[ "$size" = 80x60 ] || fail "the output is ${size:-of unknown size}, not 80x60"
echo "transcode: $n of $frames frames, $size"
echo PASS
