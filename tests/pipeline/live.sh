#!/bin/bash
# A live pipeline through tunitfilter ends with EOS and no error; the element
# reports its processing latency, and late frames are dropped by QoS rather
# than piling up.  (fakesink's `qos` defaults to false, unlike video sinks,
# so it is turned on here; a 320x240 frame takes the CPU engine far longer
# than the 33 ms a frame lasts, so frames must be dropped.)
. "$(dirname "$0")/common.sh"

make_centroid_model "$work/model-centroids.safetensors"
make_reference "$work/ref.png"

start=$(date +%s)
launch "$work/live-domain.log" \
  videotestsrc is-live=true num-buffers=30 \
  ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert \
  ! tunitfilter model="$work/model-centroids.safetensors" domain=0 backend=cpu \
  ! videoconvert ! fakesink sync=true qos=true
seconds=$(( $(date +%s) - start ))
grep -q 'from element "tunitfilter0" (latency)' "$work/live-domain.log" \
  || fail "tunitfilter posted no latency message in a live pipeline"
qos=$(grep -c '(qos)' "$work/live-domain.log")
[ "$qos" -gt 0 ] || fail "no frame was dropped by QoS although frames are late"
echo "live, domain=0: EOS after ${seconds}s, $qos QoS drops"

# a reference image, reduced processing size, half strength
launch "$work/live-style.log" \
  videotestsrc is-live=true num-buffers=15 pattern=ball \
  ! video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert \
  ! tunitfilter model="$model" style="$work/ref.png" backend=cpu \
      processing-size=64 strength=0.5 \
  ! videoconvert ! fakesink sync=true qos=true
echo "live, style: EOS, $(grep -c '(qos)' "$work/live-style.log") QoS drops"
echo PASS
