"""The live window's start-up and the --measure instrument (issue 20): the window draws
before any model stack is imported, the live model loads after the first frame on the
numpy engine, and ``linewatch FILE --measure`` reports what a file session did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from desktop.core.types import Block, ChannelSpec
from desktop.streams.ring import RingBuffer
from desktop.workers.inference_worker import InferenceWorker, live_backend

ROOT = Path(__file__).resolve().parents[2]


def strict_json(text: str) -> dict:
    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_the_window_imports_no_model_stack_before_it_draws() -> None:
    """scipy (~0.9 s) and torch (~1.5 s) were imported before the first draw (c3478f0)."""
    code = ("import sys; import desktop.app, desktop.ui.main_window, desktop.session.live; "
            "print(sorted(m for m in ('scipy', 'torch') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_live_verdicts_run_on_numpy_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINEWATCH_BACKEND", raising=False)
    assert live_backend(None) == "numpy" and live_backend("cpu") == "numpy"
    assert live_backend("cuda") is None  # a GPU asked for: the usual choice (torch)
    monkeypatch.setenv("LINEWATCH_BACKEND", "torch")
    assert live_backend(None) is None


def _ring(seconds: float = 3.0, rate: float = 12_000.0) -> RingBuffer:
    specs = (ChannelSpec("DE accel", "g"),)
    ring = RingBuffer(specs, int(rate * 10), rate)
    t = np.arange(int(seconds * rate)) / rate
    ring.append(Block(np.sin(2 * np.pi * 160 * t)[:, None], specs))
    return ring


def test_the_live_model_loads_only_after_the_first_draw(qtbot) -> None:
    ring = _ring()
    drawn = threading.Event()
    worker = InferenceWorker("fault-cwru", lambda: ring, drawn=drawn, draw_wait_s=30.0)
    loaded: list[dict] = []
    worker.loaded.connect(loaded.append)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        time.sleep(0.5)
        assert not loaded  # still waiting for the window's first frame
        drawn.set()
        qtbot.waitUntil(lambda: bool(loaded), timeout=60_000)
    finally:
        worker.request_stop()
        thread.join(30)
    assert loaded[0]["name"] == "fault-cwru" and loaded[0]["device"] == "cpu"


def test_without_a_window_the_model_loads_after_the_wait(qtbot) -> None:
    ring = _ring()
    worker = InferenceWorker("fault-cwru", lambda: ring, drawn=threading.Event(),
                             draw_wait_s=0.2)
    loaded: list[dict] = []
    worker.loaded.connect(loaded.append)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        qtbot.waitUntil(lambda: bool(loaded), timeout=60_000)
    finally:
        worker.request_stop()
        thread.join(30)
    assert loaded[0]["name"] == "fault-cwru"


def test_the_window_tells_its_session_it_drew(qtbot, make_window) -> None:
    window = make_window()
    window.connect_source("synth:2x2000", {})
    qtbot.waitUntil(lambda: window.stats.frames > 2, timeout=20_000)
    assert window.session._drawn.is_set()  # the live model may load now


@pytest.mark.slow
def test_measure_on_a_file_reports_index_and_whole_file_verdicts(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               LINEWATCH_HOME=str(tmp_path))
    recording = tmp_path / "rec.parquet"
    subprocess.run([sys.executable, "-m", "desktop", "record", "--source", "synth:2x12000",
                    "--out", str(recording), "--seconds", "3"], check=True, env=env,
                   cwd=ROOT, capture_output=True, timeout=120)
    done = subprocess.run([sys.executable, "-m", "desktop", str(recording), "--measure", "12"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=180)
    assert done.returncode == 0, done.stderr
    figures = strict_json(done.stdout.strip().splitlines()[-1])
    assert figures["frames"] > 5 and figures["sample_rate"] == 12000.0
    assert figures["first_draw_s"] is not None and figures["first_draw_s"] > 0
    assert isinstance(figures["index_s"], float) and figures["index_s"] >= 0
    # 3 s at 12 kHz, the model's window and hop: whole-file verdicts, counted and timed
    assert figures["verdicts"] > 0 and figures["verdict_s"] > 0, figures
    for key in ("fps_p50", "frame_ms_p95", "received", "model", "source"):
        assert key in figures


def test_file_clear_cache_keeps_the_open_file(qtbot, make_window, tmp_path: Path) -> None:
    from desktop.streams import cache_budget
    from desktop.streams.file_view import index_file

    def csv(name: str, seed: int) -> Path:
        rng = np.random.default_rng(seed)
        path = tmp_path / name
        data = np.column_stack([np.arange(5000) / 1000.0, rng.standard_normal(5000)])
        np.savetxt(path, data, delimiter=",", header="time_s,a", comments="", fmt="%.6f")
        return path

    other = index_file(csv("other.csv", 1)).folder  # a file opened earlier
    window = make_window()
    window.open_file(str(csv("open.csv", 2)))
    qtbot.waitUntil(lambda: window.session is not None
                    and getattr(window.session, "loaded", None) is not None, timeout=30_000)
    shown = window.session.buffer.folder
    action = next(a for a in window.findChildren(type(window.act_fit))
                  if a.text() == "Clear cache")
    action.trigger()
    qtbot.waitUntil(lambda: "File cache cleared" in window.statusBar().currentMessage(),
                    timeout=30_000)
    assert not other.exists() and shown.exists()
    assert cache_budget.usage()[1] == 1
