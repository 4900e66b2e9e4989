"""Sessions without a window: only a Qt event loop (pytest-qt's ``qapp``), real sources,
real models, real threads. A live session on the demo rig fills its ring buffer and
judges it; a file session indexes a CWRU fixture, answers views and judges the whole file.
Both stop cleanly (every thread ended)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.session.file import FileSession
from desktop.session.live import LiveSession
from desktop.session.types import ModelInfo, Verdict
from desktop.sources.demo import DemoRigSource
from desktop.streams.sample_view import SampleView
from desktop.ui.gc_main_thread import MainThreadCollector

FIXTURE = (Path(__file__).resolve().parents[2] / "fixtures" / "cwru"
           / "12k_Drive_End_IR007_0_105.mat")  # 3 s, inner race fault, 12 kHz
MODEL = "fault-cwru"  # shipped; the numpy engine judges it without torch


@pytest.fixture(autouse=True)
def collect_on_this_thread(qapp: Any) -> Iterator[None]:
    """As in the app: cycles are freed on this thread only, never by a collection that a
    worker thread happens to trigger (desktop/ui/gc_main_thread.py)."""
    collector = MainThreadCollector()
    yield
    collector.stop()
    gc.collect()


class Collected:
    """Plain recorder of a session's signals (queued to this thread: the session lives
    here, its workers' signals reach it through queued connections)."""

    def __init__(self, session: Any) -> None:
        self.opened = 0
        self.errors: list[str] = []
        self.models: list[Any] = []
        self.verdicts: list[Any] = []
        session.opened.connect(self.on_opened)
        session.open_failed.connect(self.errors.append)
        session.model_failed.connect(self.errors.append)
        session.model_loaded.connect(self.models.append)
        session.verdicts.connect(self.verdicts.extend)

    def on_opened(self) -> None:
        self.opened += 1


def test_live_session_streams_judges_and_stops(qtbot: Any) -> None:
    session = LiveSession("demo", lambda: DemoRigSource(speed=4.0), history_s=30)
    seen = Collected(session)
    session.set_model(MODEL, 2.0, 5.0)
    session.start()
    try:
        qtbot.waitUntil(lambda: seen.opened == 1 or bool(seen.errors), timeout=20_000)
        assert not seen.errors, seen.errors
        buffer = session.buffer
        assert isinstance(buffer, SampleView)
        session.frame_drawn()  # no window: let the model load now
        qtbot.waitUntil(lambda: buffer.written > 24_000, timeout=20_000)
        assert session.sample_rate() == 12_000.0
        snap = buffer.latest(1000)
        assert snap.values.shape == (1000, len(buffer.channels))
        assert np.all(np.diff(snap.times) > 0)
        qtbot.waitUntil(lambda: len(seen.verdicts) >= 3 or bool(seen.errors), timeout=60_000)
        assert not seen.errors, seen.errors
        info = seen.models[0]
        assert isinstance(info, ModelInfo) and info.name == MODEL and info.device == "cpu"
        v = seen.verdicts[0]
        assert isinstance(v, Verdict) and v.arrived is not None  # live: when it arrived
        assert v.end_s > v.start_s and 0.0 <= v.probability <= 1.0
        assert v.label in (*info.classes, "unknown") and v.row["class"] == v.label
    finally:
        session.stop()
        session.wait(30_000)
    assert session.buffer is None and not session.running


def test_file_session_opens_views_judges_and_stops(qtbot: Any) -> None:
    session = FileSession(FIXTURE)
    seen = Collected(session)
    session.set_model(MODEL, 2.0, 5.0)
    with qtbot.waitSignal(session.source_finished, timeout=30_000):
        session.start()
    assert seen.opened == 1 and not seen.errors, seen.errors
    view = session.buffer
    assert isinstance(view, SampleView) and session.loaded is view
    assert view.written == 36_000 and session.sample_rate() == pytest.approx(12_000.0)
    snap = view.view(0.0, 3.0, 200)  # a lane 200 px wide: min/max pairs, bounded
    assert 0 < snap.values.shape[0] <= 2 * 200 + 4
    t, values = view.sample_at(1.5) or (None, None)
    assert t == pytest.approx(1.5, abs=1 / 12_000) and values is not None
    # Indexed: the whole file is judged end to end on the verdict runner.
    qtbot.waitUntil(lambda: bool(seen.verdicts) or bool(seen.errors), timeout=60_000)
    assert not seen.errors, seen.errors
    assert isinstance(seen.models[0], ModelInfo) and seen.models[0].name == MODEL
    assert all(isinstance(v, Verdict) and v.arrived is None for v in seen.verdicts)
    assert seen.verdicts[-1].end_s > 2.5
    assert {v.label for v in seen.verdicts} & {"inner_007", "unknown"}
    assert not session.busy
    session.stop()
    session.wait(10_000)
    assert not session.indexer.running and not session.judge.running
