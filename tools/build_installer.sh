#!/usr/bin/env bash
# Build the one-folder bundle dist/linewatch/ from build.spec, check it with its own
# `--self-test` (offscreen), measure its start to a drawn window, and pack
# dist/linewatch-VERSION-linux-ARCH.tar.zst. Linux and macOS shells; Windows: docs/installer.md.
#
#   bash tools/build_installer.sh [--full] [--clean] [--no-test] [--no-pack]
#
# --full     the variant with torch (fine-tuning on the plant PC): dist/linewatch-full/
#            (default: the lean variant without torch, dist/linewatch/)
# --clean    rebuild from scratch (default: reuse PyInstaller's cache in build/pyinstaller)
# --no-test  skip the self-test and the start-up measurement
# --no-pack  leave dist/linewatch/ unpacked
# Environment: PYTHON (default .venv/bin/python), LINEWATCH_GPU_BUILD=1 (keep CUDA libraries),
# ZSTD_LEVEL (default 6), DIST (default dist), WORK (PyInstaller's cache, build/pyinstaller).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
clean="" test=1 pack=1 variant=lean
for arg in "$@"; do
  case "$arg" in
    --full) variant=full ;;
    --clean) clean="--clean" ;;
    --no-test) test=0 ;;
    --no-pack) pack=0 ;;
    *) echo "usage: bash tools/build_installer.sh [--full] [--clean] [--no-test] [--no-pack]" >&2
       exit 2 ;;
  esac
done
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
  echo "build_installer: PyInstaller is not installed; run: bash tools/setup.sh --dev" >&2
  exit 2
fi
version=$("$PY" -c 'import re, pathlib; print(re.search(r"__version__ = \"([^\"]+)\"",
          pathlib.Path("desktop/__init__.py").read_text()).group(1))')
os=$(uname -s | tr '[:upper:]' '[:lower:]')
arch=$(uname -m)
dist=${DIST:-dist}
name=linewatch
[ "$variant" = full ] && name=linewatch-full
bundle=$dist/$name
export LINEWATCH_BUNDLE=$variant
t0=$(date +%s)

echo "== building $bundle ($variant variant, Linewatch $version, PyInstaller $("$PY" -m PyInstaller --version))"
"$PY" -m PyInstaller --noconfirm $clean --log-level WARN \
  --distpath "$dist" --workpath "${WORK:-build/pyinstaller}/$variant" build.spec
t1=$(date +%s)
echo "== built in $((t1 - t0)) s: $(du -sm "$bundle" | cut -f1) MiB," \
     "$(find "$bundle" -type f | wc -l) files"

if [ "$test" = 1 ]; then
  export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
  # The self-test keeps its own files in a temp dir; this keeps its log out of the profile.
  export LINEWATCH_HOME=${LINEWATCH_HOME:-$PWD/build/selftest-home}
  echo "== self-test"
  "$bundle/linewatch" --self-test
  echo "== start-up: window drawn after (first_draw_s), 3 s of the demo rig"
  "$bundle/linewatch" --source demo --measure 3 | tee "$dist/measure.json"
fi
t2=$(date +%s)

if [ "$pack" = 1 ]; then
  archive="$dist/$name-$version-$os-$arch.tar.zst"
  rm -f "$archive"
  level=${ZSTD_LEVEL:-6}
  if command -v zstd >/dev/null; then
    tar -C "$dist" -I "zstd -T0 -$level" -cf "$archive" "$name"
  elif "$PY" -c "import zstandard" 2>/dev/null; then
    "$PY" - "$archive" "$level" "$bundle" <<'EOF'
import sys, tarfile, zstandard
with open(sys.argv[1], "wb") as raw, zstandard.ZstdCompressor(
        level=int(sys.argv[2]), threads=-1).stream_writer(raw) as out, \
        tarfile.open(fileobj=out, mode="w|") as tar:
    tar.add(sys.argv[3], arcname=sys.argv[3].rstrip("/").rsplit("/", 1)[-1])
EOF
  else
    echo "build_installer: neither zstd nor the zstandard module is available" >&2
    exit 1
  fi
  echo "== packed $archive: $(du -sm "$archive" | cut -f1) MiB in $(( $(date +%s) - t2 )) s"
fi
echo "== done in $(( $(date +%s) - t0 )) s"
