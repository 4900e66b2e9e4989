"""``--measure``'s peak_rss_mb is the process's own peak, not its parent's (Linux carries
ru_maxrss over fork+exec: a window started by a 2 GB test run read ~2 GB)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux /proc")
def test_a_child_started_by_a_big_parent_reports_its_own_peak() -> None:
    ballast = np.ones(400_000_000 // 8)  # 400 MB resident in this (parent) process
    ballast[::512] = 2.0
    code = "from desktop.ui.frame_stats import peak_rss_mb; print(peak_rss_mb())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                         timeout=120, check=True)
    assert float(out.stdout) < 300, out.stdout  # numpy + PySide6-free import: ~30-60 MB
    del ballast
