"""``tools/setup.sh`` says what it is doing (issue 24: it printed nothing for up to 15
minutes). The real script runs in a copy of ``tools/`` whose ``.venv/bin/python`` is a
stand-in for pip (installing torch for real needs the network and minutes)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAKE_PYTHON = """#!/usr/bin/env bash
echo "pip $*" >> "$(dirname "$0")/../../pip-calls.txt"
echo "Requirement already satisfied: numpy in ./site-packages"
echo "Collecting ${@: -1}"
if [ -n "${FAIL_ON:-}" ] && [[ "$*" == *"$FAIL_ON"* ]]; then
  echo "ERROR: no matching distribution" >&2; exit 1
fi
"""


def copy_of_setup(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "tools").mkdir(parents=True)
    for name in ("setup.sh", "system_deps.sh"):
        shutil.copy(ROOT / "tools" / name, repo / "tools" / name)
    shutil.copy(ROOT / "constraints.txt", repo / "constraints.txt")
    python = repo / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return repo


def test_setup_prints_each_step_and_warns_that_torch_takes_minutes(tmp_path: Path) -> None:
    repo = copy_of_setup(tmp_path)
    done = subprocess.run(["bash", "tools/setup.sh", "--dev"], cwd=repo, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    steps = [line for line in out.splitlines() if line.startswith("[")]
    assert [s[:5] for s in steps] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"], out
    assert "torch" in steps[2] and "minutes" in steps[2], steps
    assert "test tools" in steps[3]
    assert "Collecting torch==2.13.0" in out and "Requirement already satisfied" not in out
    assert out.splitlines()[-1].startswith("done in ") and "--self-test" in out
    calls = (repo / "pip-calls.txt").read_text().splitlines()
    assert calls[0].startswith("pip -m pip install") and calls[0].endswith("torch==2.13.0")
    assert calls[1].endswith('-e .[dev]')


@pytest.mark.parametrize("fail_on", ["torch==2.13.0", "-e ."])
def test_setup_stops_when_an_install_fails(tmp_path: Path, fail_on: str) -> None:
    repo = copy_of_setup(tmp_path)
    done = subprocess.run(["bash", "tools/setup.sh"], cwd=repo, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
                                            "FAIL_ON": fail_on})
    assert done.returncode != 0 and "no matching distribution" in done.stderr
    assert "done in" not in done.stdout
