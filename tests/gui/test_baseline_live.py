"""The live worker and the file session's whole-file verdicts judge against the machine
chosen (issue 22, item 2): verdicts gain the baseline level, and an alarm that latches
until acknowledged is announced with its sensor, indicator and evidence."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.analysis.bearings import find_preset
from desktop.baseline.routes import RouteSpec, route
from desktop.cli import main
from desktop.core.types import Block, ChannelSpec
from desktop.streams.ring import RingBuffer
from desktop.workers.inference_worker import InferenceWorker

FS = 12000.0


def _write(path: Path, x: np.ndarray) -> Path:
    pq.write_table(pa.table({"time_s": np.arange(x.size) / FS, "de": x}), path)
    return path


@pytest.fixture()
def pump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> np.ndarray:
    """A machine 'pump' with a baseline; returns 5 s of a strong outer-race fault."""
    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm", "1800",
                 "--channel", "de", "--unit", "g"]) == 0
    g = find_preset("6205")
    healthy = [s.x for s in list(route(RouteSpec(g, 1800.0, days=0.05, seed=3)))[:6]]
    files = [str(_write(tmp_path / f"b{i}.parquet", x)) for i, x in enumerate(healthy)]
    assert main(["baseline", "pump", *files]) == 0
    capsys.readouterr()
    fault = route(RouteSpec(g, 1800.0, days=0.05, seed=3, fault="outer_race",
                            onset_day=0.0, start_db=6.0, end_db=6.0))
    return np.concatenate([s.x for s in list(fault)[:5]])


def test_live_verdicts_gain_the_level_and_the_alarm_latches(qtbot, pump: np.ndarray) -> None:
    specs = (ChannelSpec("de", "g"),)
    ring = RingBuffer(specs, int(FS * 20), FS)
    ring.append(Block(pump[:1200, None], specs))
    drawn = threading.Event()
    drawn.set()
    worker = InferenceWorker("fault-cwru", lambda: ring, drawn=drawn, machine="pump",
                             period_s=0.05)
    loaded: list[dict] = []
    verdicts: list[dict] = []
    alarms: list[dict] = []
    worker.loaded.connect(loaded.append)
    worker.verdicts.connect(verdicts.extend)
    worker.baseline_alarm.connect(alarms.append)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        qtbot.waitUntil(lambda: bool(loaded), timeout=60_000)
        assert loaded[0]["baseline"] == {"machine": "pump", "sensor": "de"}
        for i in range(0, pump.size, 3000):
            ring.append(Block(pump[i:i + 3000, None], specs))
        qtbot.waitUntil(lambda: any(a["state"] == "alarm" for a in alarms), timeout=60_000)
        qtbot.waitUntil(lambda: any(v.get("level") == "alarm" for v in verdicts),
                        timeout=30_000)
        assert worker.acknowledge_baseline() == "alarm"  # the fault persists: stays raised
    finally:
        worker.request_stop()
        thread.join(30)
    ev = next(a["event"] for a in alarms if a["event"]["level"] == "alarm")
    assert ev["sensor"] == "de" and ev["indicator"] and ev["location"] == "outer_race"
    assert "exceeded" in ev["evidence"]


def test_whole_file_verdicts_with_a_machine(qtbot, pump: np.ndarray, tmp_path: Path) -> None:
    from desktop.session.file import FileSession

    session = FileSession(_write(tmp_path / "fault.parquet", pump))
    got: list[list[dict]] = []
    alarms: list[dict] = []
    session.verdicts.connect(got.append)
    session.baseline_alarm.connect(alarms.append)
    session.set_machine("pump")
    session.set_model("fault-cwru", 2.0, 5.0)
    session.start()
    try:
        qtbot.waitUntil(lambda: bool(got), timeout=120_000)
    finally:
        session.stop()
        session.wait()
    rows = [v.row for v in got[0]]  # the typed verdicts keep the worker's dicts
    assert rows and all(r.get("level") in ("ok", "alert", "alarm") for r in rows)
    assert rows[-1]["level"] == "alarm" and rows[-1]["baseline_state"] == "alarm"
    assert alarms and alarms[-1]["event"]["sensor"] == "de"
    assert session.acknowledge_baseline() == "alarm"


def test_the_window_hands_its_session_the_machine_chosen(qtbot, make_window, pump: np.ndarray,
                                                        tmp_path: Path) -> None:
    from desktop.ui.diagnosis_panel import source_key

    window = make_window()
    window.settings.model = "fault-cwru"
    path = _write(tmp_path / "fault.parquet", pump)
    window.settings.machine_by_source[str(path.resolve())] = "pump"
    window.open_file(str(path))
    assert source_key(window.session) == str(path.resolve())
    qtbot.waitUntil(lambda: window.session._machine == "pump", timeout=10_000)
    qtbot.waitUntil(lambda: "Baseline ALARM on de" in window.statusBar().currentMessage(),
                    timeout=120_000)
    qtbot.waitUntil(lambda: bool(window.plot.verdicts), timeout=30_000)
    assert window.plot.verdicts[-1].get("level") == "alarm"
    # The latch waits for a person: the status bar's button acknowledges it.
    button = window.baseline_ack.button
    assert button.isVisible() and "Baseline ALARM on de" in button.toolTip()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=60_000)
    button.click()
    assert not button.isVisible()
    assert "Baseline alarm acknowledged; level now: alarm" in window.statusBar().currentMessage()
