#!/bin/bash
# `meson install --destdir` puts everything under the prefix (the plugin in
# <prefix>/<libdir>/gstreamer-1.0, the model in <prefix>/<datadir>/gst-tunit),
# so that a user who may write only the prefix (or the destination) can
# install, and the installed plugin loads and documents its installed model.
. "$(dirname "$0")/common.sh"

build=${TUNIT_BUILD_ROOT:?TUNIT_BUILD_ROOT is not set}
option () {
  meson introspect "$build" --buildoptions \
    | "${PYTHON:-/usr/bin/python3}" -c "import json,sys; print(next(o['value'] for o in json.load(sys.stdin) if o['name']=='$1'))"
}
prefix=$(option prefix)
libdir=$(option libdir)
datadir=$(option datadir)
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
case $datadir in /*) ;; *) datadir=$prefix/$datadir ;; esac

# every installed file lies under the prefix
meson introspect "$build" --installed > "$work/installed.json"
"${PYTHON:-/usr/bin/python3}" - "$work/installed.json" "$prefix" <<'PY' || fail "a file installs outside the prefix"
import json, sys
prefix = sys.argv[2].rstrip('/') + '/'
outside = [d for d in json.load(open(sys.argv[1])).values() if not d.startswith(prefix)]
for d in outside:
    print('outside the prefix:', d, file=sys.stderr)
sys.exit(1 if outside else 0)
PY

dest=$work/destdir
HOME=$work meson install -C "$build" --no-rebuild --quiet --destdir "$dest" \
  > "$work/install.log" 2>&1 \
  || { cat "$work/install.log" >&2; fail "meson install --destdir failed"; }
# nothing but the destination was written to (besides the build tree's log)
outside=$(find "$dest" -type f | grep -v "^$dest$prefix/" || true)
[ -z "$outside" ] || fail "installed outside the prefix: $outside"

plugin=$dest$libdir/gstreamer-1.0/libgsttunit.so
[ -f "$plugin" ] || fail "no plugin at $plugin"
if [ -f "$TUNIT_SOURCE_ROOT/models/default.safetensors" ]; then
  [ -f "$dest$datadir/gst-tunit/default.safetensors" ] \
    || fail "no model at $dest$datadir/gst-tunit/default.safetensors"
fi
[ -x "$dest$prefix/bin/tunit" ] || fail "no tunit command in $dest$prefix/bin"

# the installed plugin loads from there, and documents its default model
GST_PLUGIN_PATH=$dest$libdir/gstreamer-1.0 GST_REGISTRY=$work/registry.bin \
  gst-inspect-1.0 tunitfilter > "$work/inspect.log" 2>&1 \
  || { cat "$work/inspect.log" >&2; fail "gst-inspect-1.0 does not load the installed plugin"; }
grep -q "Filename *$plugin" "$work/inspect.log" || fail "gst-inspect did not load $plugin"
grep -q "$datadir/gst-tunit/default.safetensors" "$work/inspect.log" \
  || fail "the model property does not document the installed model path"
echo "installed under $dest$prefix: plugin, model, tunit"
echo PASS
