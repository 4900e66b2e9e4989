#!/usr/bin/env bash
# Create .venv and install Linewatch into it (editable). `--dev` adds the test tools.
# Uses constraints.txt so torch stays the 2.13.0 CPU wheel and PySide6 stays 6.11.3.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/system_deps.sh  # Qt's system libraries, installed only when missing
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extra=""
if [ "${1:-}" = "--dev" ]; then extra="[dev]"; fi
# torch first and alone: with it in place, nothing else can drag in a CUDA build.
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt torch==2.13.0
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".${extra}"
