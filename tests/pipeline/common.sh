# common.sh - shared set-up of the gst-launch pipeline tests (sourced).
# Needs TUNIT_FIXTURES (parity fixtures), TUNIT_CLI (the tunit tool) and
# GST_PLUGIN_PATH pointing at the built plugin; meson's test env sets them.
set -u

fail () { echo "FAIL: $*" >&2; exit 1; }
skip () { echo "SKIP: $*" >&2; exit 77; }

config=${TUNIT_TEST_CONFIG:-s64}
[ -n "${TUNIT_FIXTURES:-}" ] || skip "TUNIT_FIXTURES is not set"
model=$TUNIT_FIXTURES/$config/model.safetensors
[ -f "$model" ] || skip "no fixture model $model (build the parity-fixtures target)"
gst-inspect-1.0 tunitfilter > /dev/null 2>&1 \
  || fail "gst-inspect-1.0 does not find tunitfilter (GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-})"

work=$(mktemp -d "${TMPDIR:-/tmp}/tunit-pipeline-XXXXXX")
trap 'rm -rf "$work"' EXIT

# launch LOG ARGS...: gst-launch-1.0 with -m (messages) into LOG; fails the
# test unless the pipeline ends with EOS and without an error.
launch () {
  local log=$1; shift
  timeout 300 gst-launch-1.0 -m "$@" > "$log" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] || grep -q '^ERROR' "$log" || ! grep -q 'Got EOS' "$log"; then
    echo "---- gst-launch-1.0 $*" >&2
    tail -n 40 "$log" >&2
    fail "pipeline did not end cleanly with EOS (exit status $rc)"
  fi
}

# A reference image made with GStreamer.
make_reference () {
  gst-launch-1.0 -q videotestsrc num-buffers=1 pattern=smpte \
    ! video/x-raw,width=96,height=80 ! videoconvert ! pngenc \
    ! filesink location="$1" || fail "cannot make the reference image $1"
}

# The fixture model with pseudo-domain centroids, made by `tunit centroids`
# from the fixture's centroid images (or from generated PNGs).
make_centroid_model () {
  local out=$1 images=$TUNIT_FIXTURES/$config/centroid_images
  if [ ! -d "$images" ]; then
    images=$work/centroid-images
    mkdir -p "$images"
    local i=0
    for pattern in smpte ball snow circular gradient pinwheel spokes zone-plate; do
      gst-launch-1.0 -q videotestsrc num-buffers=1 pattern=$pattern \
        ! video/x-raw,width=64,height=64 ! videoconvert ! pngenc \
        ! filesink location="$images/$i.png" || fail "cannot make $images/$i.png"
      i=$((i + 1))
    done
  fi
  [ -n "${TUNIT_CLI:-}" ] || fail "TUNIT_CLI is not set"
  "$TUNIT_CLI" centroids -b cpu -m "$model" -o "$out" "$images" > "$work/centroids.log" 2>&1 \
    || { cat "$work/centroids.log" >&2; fail "tunit centroids failed"; }
}

# decode FILE LOG: decodes FILE's video into fakesink, verbose, into LOG.
decode () {
  timeout 300 gst-launch-1.0 -v filesrc location="$1" ! decodebin ! video/x-raw \
    ! fakesink name=counter silent=false sync=false > "$2" 2>&1 \
    || { tail -n 20 "$2" >&2; fail "cannot decode $1"; }
}

# count_frames LOG: number of frames fakesink got in a decode LOG.
count_frames () {
  grep -c 'GstFakeSink:counter: last-message = chain' "$1"
}

# frame_size LOG: WIDTHxHEIGHT of the decoded video in a decode LOG.
frame_size () {
  grep -o 'GstFakeSink:counter.GstPad:sink: caps = .*' "$1" | head -n 1 \
    | sed -n 's/.*width=(int)\([0-9]*\).*height=(int)\([0-9]*\).*/\1x\2/p'
}
