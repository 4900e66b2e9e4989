"""``linewatch --self-test`` from source: the window step, and the whole run in a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop import selftest

ROOT = Path(__file__).resolve().parents[2]


def test_window_step_draws_the_demo_rig(qapp) -> None:
    detail = selftest.check_window(seconds=1.0)
    assert "samples" in detail and "frames drawn" in detail


@pytest.mark.slow
def test_self_test_from_source_passes(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               LINEWATCH_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-m", "desktop", "--self-test"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    for step in ("bundle", "home", "demo rig", "models", "recording", "label", "about"):
        assert any(line.startswith(f"ok  {step}:") for line in lines), (step, lines)
    assert lines[-1].startswith("self-test OK")
    assert "propagateSizeHints" not in done.stderr
    # Only the log file lands in the user's home; settings and labels went to a temp home.
    left = sorted(p.relative_to(tmp_path / "home").as_posix()
                  for p in (tmp_path / "home").rglob("*") if p.is_file())
    assert left == ["logs/linewatch.log"], left
