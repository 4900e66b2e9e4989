"""One numeric thread for every model run unless asked (desktop/ml/threads.py): torch's
intra-op pool and every loaded BLAS/OpenMP pool, for predictors as ``predict``, the live
worker, whole-file verdicts and Dask workers load them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _run(code: str, **env: str) -> str:
    full = dict(os.environ, PYTHONPATH=str(ROOT), **env)
    if "LINEWATCH_THREADS" not in env:
        full.pop("LINEWATCH_THREADS", None)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=full, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


# A fresh process each: the caps are process-wide, and a test must see the defaults.
PROBE = """
import json, numpy, scipy.linalg
from desktop.ml.inference.predictors import load_predictor
from desktop.ml.threads import numeric_thread_info
p = load_predictor('fault-cwru', device='cpu'{extra})
info = numeric_thread_info()
print(json.dumps(info))
"""


def test_a_predictor_loads_with_one_thread_everywhere_by_default() -> None:
    import json

    info = json.loads(_run(PROBE.format(extra="")))
    assert info.get("torch") == 1  # the default backend is torch where it is installed
    blas = {k: v for k, v in info.items() if k != "torch"}
    assert blas, "numpy's BLAS should be listed by threadpoolctl"
    assert set(blas.values()) == {1}, info


def test_threads_raise_every_pool_and_the_environment_sets_the_default() -> None:
    import json

    info = json.loads(_run(PROBE.format(extra=", threads=2")))
    assert info.get("torch") == 2 and set(info.values()) == {2}, info
    info = json.loads(_run(PROBE.format(extra=""), LINEWATCH_THREADS="2"))
    assert info.get("torch") == 2, info


def test_the_numpy_backend_is_capped_too() -> None:
    import json

    info = json.loads(_run(PROBE.format(extra=""), LINEWATCH_BACKEND="numpy"))
    assert "torch" not in info  # never imported on this backend
    assert info and set(info.values()) == {1}, info


def test_thread_count_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.ml.threads import DEFAULT_THREADS, thread_count

    monkeypatch.delenv("LINEWATCH_THREADS", raising=False)
    assert DEFAULT_THREADS == 1 and thread_count(None) == 1 and thread_count(3) == 3
    assert thread_count(0) == 1
    monkeypatch.setenv("LINEWATCH_THREADS", "4")
    assert thread_count(None) == 4 and thread_count(2) == 2
    monkeypatch.setenv("LINEWATCH_THREADS", "many")
    assert thread_count(None) == 1


@pytest.mark.parametrize("argv", [["predict", "x.csv", "--threads", "0"],
                                  ["--threads", "0"]])
def test_threads_below_one_is_a_usage_error(argv: list[str], tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "desktop", *argv], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT),
                                   QT_QPA_PLATFORM="offscreen",
                                   LINEWATCH_HOME=str(tmp_path)))
    assert done.returncode == 2, done.stderr
    assert "--threads must be at least 1" in done.stderr


def test_help_says_the_default_and_why() -> None:
    from desktop.cli import build_gui_parser, build_parser

    window = " ".join(build_gui_parser().format_help().split())
    assert "--threads N" in window and "default 1" in window
    top = " ".join(build_parser().format_help().split())
    assert "--threads N" in top
    predict = " ".join(build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
                       .choices["predict"].format_help().split())
    assert "default 1" in predict and "busy PC" in predict
