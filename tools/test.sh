#!/usr/bin/env bash
# The whole check, as CI runs it: lint, layer contracts, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
.venv/bin/ruff check desktop tests bench tools
.venv/bin/lint-imports
# Types, package by package from core/ upward (pyproject [tool.mypy]; core/ strict).
.venv/bin/mypy desktop/core desktop/analysis desktop/labels
.venv/bin/python -m pytest -q --durations=15 "$@"
# Speed guard: live drawing, first draw, parser, file open, inference, each as a ratio to a
# baseline measured in the same run (bench/check_speed.py; ~45 s). LINEWATCH_SPEED_GUARD=0
# skips it for a quick local run.
if [ "${LINEWATCH_SPEED_GUARD:-1}" != "0" ]; then
    .venv/bin/python bench/check_speed.py
fi
