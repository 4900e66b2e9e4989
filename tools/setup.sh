#!/usr/bin/env bash
# Create .venv and install Linewatch into it (editable). `--dev` adds the test tools.
# Uses constraints.txt so torch stays the 2.13.0 CPU wheel and PySide6 stays 6.11.3.
# Says what it is doing at each step: the torch step alone downloads ~200 MB and takes
# minutes on a slow line, and a silent terminal for that long looks like a hang.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
step() { echo "[$1/4] $2 ($((SECONDS - started)) s so far)"; }
step 1 "checking the system libraries Qt needs"
bash tools/system_deps.sh  # Qt's system libraries, installed only when missing
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  step 2 "creating the virtual environment .venv with $PY"
  "$PY" -m venv .venv
else
  step 2 "using the existing virtual environment .venv"
fi
extra=""
if [ "${1:-}" = "--dev" ]; then extra="[dev]"; fi
# torch first and alone: with it in place, nothing else can drag in a CUDA build.
step 3 "installing torch 2.13.0 (CPU): a ~200 MB download, this takes a few minutes"
.venv/bin/python -m pip install --disable-pip-version-check --progress-bar on \
  -c constraints.txt torch==2.13.0 | sed '/^Requirement already satisfied/d'
step 4 "installing Linewatch${extra:+ with the test tools} and its libraries (PySide6, pyqtgraph, Dask …)"
.venv/bin/python -m pip install --disable-pip-version-check --progress-bar on \
  -c constraints.txt -e ".${extra}" | sed '/^Requirement already satisfied/d'
echo "done in $((SECONDS - started)) s: try .venv/bin/linewatch --self-test"
