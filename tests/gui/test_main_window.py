"""The live window, built for real (offscreen), driven like a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from desktop.recording.readers import read_recording
from tests.support.ptydevice import PtyDevice
from tests.support.streams import SensorStream

ROOT = Path(__file__).resolve().parents[2]


def strict_json(text: str) -> dict:
    """json.loads that refuses NaN/Infinity (Python's json accepts them by default)."""
    def refuse(name: str) -> None:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def wait_state(qtbot, window, state: str, timeout: int = 10_000) -> None:
    qtbot.waitUntil(lambda: window.state == state, timeout=timeout)


def test_demo_rig_draws_named_channels(qtbot, make_window) -> None:
    window = make_window()
    window.connect_source("demo", {})
    wait_state(qtbot, window, "connected")
    qtbot.waitUntil(lambda: window.stats.frames > 5, timeout=10_000)
    assert [c.name for c in window.plot.channels] == ["DE accel", "FE accel"]
    assert window.channel_list.count() == 2
    qtbot.waitUntil(lambda: "Hz × 2 ch" in window.rate_label.text(), timeout=5000)
    x, y = window.plot.curves[0].getData()
    assert x.dtype == np.float64 and len(x) > 100 and np.isfinite(y).all()
    assert len(x) <= 2 * window.plot.lanes[0].getViewBox().width() + 200


def test_serial_session_record_pause_cursors_unplug_and_resume(qtbot, make_window,
                                                               tmp_path: Path) -> None:
    link = tmp_path / "ttyGUI"
    device = PtyDevice(link)
    device.plug()
    stream = SensorStream(seed=5)
    window = make_window()
    window.settings.recordings_folder = str(tmp_path / "recs")
    try:
        window.connect_source(f"serial:{link}", {"baud": "115200"})
        wait_state(qtbot, window, "connected")
        device.write(b"\n" + stream.header() + stream.lines(2000))
        qtbot.waitUntil(lambda: len(window.plot.channels) == 8, timeout=10_000)
        assert window.plot.channels[0].name == "count"
        assert window.channel_list.item(7).text() == "temp"

        # Record.
        window.toggle_recording()
        qtbot.waitUntil(lambda: window.recording_path is not None, timeout=5000)
        qtbot.waitUntil(lambda: "REC" in window.record_label.text(), timeout=5000)
        device.write(stream.lines(3000))
        qtbot.waitUntil(lambda: window.acq.counters.received >= 5000, timeout=10_000)

        # Pause: the view freezes, acquisition and recording continue.
        window.act_pause.setChecked(True)
        frozen = window.plot.curves[0].getData()[0].copy()
        before = window.acq.counters.received
        device.write(stream.lines(1000))
        qtbot.waitUntil(lambda: window.acq.counters.received >= before + 1000, timeout=10_000)
        qtbot.wait(100)
        np.testing.assert_array_equal(window.plot.curves[0].getData()[0], frozen)
        window.act_pause.setChecked(False)

        # Cursors: Δt and 1/Δt, values of every channel at both cursors.
        window.act_cursors.setChecked(True)
        window.plot.move_cursors(-0.5, -0.25)  # following live: 0 = the newest sample
        readout = window.plot.cursor_readout()
        assert readout["dt"] == pytest.approx(0.25)
        assert readout["freq"] == pytest.approx(4.0)
        assert set(readout["values"]) == {c.name for c in window.plot.channels}
        assert "1/Δt" in window.plot.readout.text()

        # Unplug: the state is shown; replug: acquisition resumes by itself.
        device.unplug()
        qtbot.waitUntil(lambda: window.state in ("lost", "reconnecting"), timeout=10_000)
        assert "reconnecting" in window.state_label.text() or "lost" in window.state_label.text()
        device.plug()
        wait_state(qtbot, window, "connected", timeout=15_000)
        before = window.acq.counters.received
        device.write(b"\n" + stream.lines(1000))
        qtbot.waitUntil(lambda: window.acq.counters.received >= before + 1000, timeout=10_000)

        assert window.recording_path is not None and window.acq.recording is not None, (
            window.errors, window.acq.recording_error)
        window.toggle_recording()
        qtbot.waitUntil(lambda: window.last_recording is not None, timeout=20_000)
        result = window.last_recording
        # 3000 lines + 1000 while paused + 1000 after the replug: each once, in order.
        assert result.error is None and result.samples == 5000
        recording = read_recording(result.out)
        np.testing.assert_array_equal(recording.values[:, 0], np.arange(2000, 7000))
        assert result.out.parent == tmp_path / "recs"
    finally:
        window.disconnect_source()
        if device.master is not None:
            device.unplug()
    assert window.state == "closed"


def test_view_settings_survive_a_restart(qtbot, make_window) -> None:
    window = make_window()
    window.connect_source("synth:3x500", {})
    qtbot.waitUntil(lambda: len(window.plot.channels) == 3, timeout=10_000)
    window.act_overlay.setChecked(True)
    window.view.set_channel_colour("synth2", "#123456")
    item = window.channel_list.item(2)
    item.setCheckState(item.checkState().Unchecked)
    window.span.setValue(3.5)
    window.close()

    again = make_window()
    again.connect_source("synth:3x500", {})
    qtbot.waitUntil(lambda: len(again.plot.channels) == 3, timeout=10_000)
    assert again.plot.mode == "overlay" and again.act_overlay.isChecked()
    assert again.plot.colours["synth2"] == "#123456"
    assert again.plot.visible == {"synth1": True, "synth2": True, "synth3": False}
    assert again.span.value() == 3.5
    assert again.settings.last_source == "synth:3x500"


def test_bad_source_is_a_message_not_a_crash(qtbot, make_window) -> None:
    window = make_window()
    window.connect_source("serial:/dev/does-not-exist", {})
    qtbot.waitUntil(lambda: window.state == "failed", timeout=10_000)
    assert "cannot open serial port" in window.state_label.text()
    assert not window.source_panel.connect_button.isChecked()


def test_about_names_versions_and_device(qtbot, make_window) -> None:
    window = make_window()
    text = window.menus.about_text()
    assert "Qt" in text and "Compute device" in text


def test_void_qt_calls_do_not_leak_none_references(qtbot) -> None:
    """PySide6 6.12.0 lost a reference to None in every void call (STACK-NOTES.md)."""
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(100_000):
        timer.stop()
    assert sys.getrefcount(None) >= before - 100


@pytest.mark.slow
def test_measure_prints_frame_figures(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               LINEWATCH_HOME=str(tmp_path))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "desktop", "--source", "synth:4x2000",
                           "--measure", "6"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    figures = strict_json(done.stdout.strip().splitlines()[-1])
    for key in ("frames", "frame_ms_p50", "frame_ms_p95", "frame_ms_p99", "first_draw_s",
                "received", "dropped", "malformed", "peak_rss_mb", "sample_rate",
                "labels_shown"):
        assert key in figures, key
    assert figures["frames"] > 5 and figures["received"] > 1000
    assert figures["sample_rate"] == 2000.0 and figures["labels_shown"] == 0
    assert figures["dropped"] == 0 and time.monotonic() - started < 30


@pytest.mark.slow
def test_measure_on_an_opened_recording_exits_cleanly(tmp_path: Path) -> None:
    """``linewatch FILE --measure S`` ends while the model thread may still be loading torch:
    the window must wait for it, not let Qt abort on a destroyed running thread."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               LINEWATCH_HOME=str(tmp_path))
    recording = tmp_path / "rec.parquet"
    subprocess.run([sys.executable, "-m", "desktop", "record", "--source", "synth:2x2000",
                    "--out", str(recording), "--seconds", "1"], check=True, env=env, cwd=ROOT,
                   capture_output=True, timeout=60)
    done = subprocess.run([sys.executable, "-m", "desktop", str(recording), "--measure", "2"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=90)
    assert done.returncode == 0, done.stderr
    assert "Destroyed while thread" not in done.stderr
    figures = strict_json(done.stdout.strip().splitlines()[-1])
    # A file session: the whole file, its own rate, never a replay through the live path.
    samples = read_recording(recording).samples
    assert figures["received"] == samples and figures["source"] == f"file:{recording}"
    assert figures["sample_rate"] == 2000.0


def test_real_versions_name_the_compute_device(qtbot) -> None:
    from desktop.app import versions

    info = versions()
    assert info["Compute device"] in ("CPU", "CUDA GPU")
    assert info["torch"].startswith("2.13")


def test_live_verdicts_lane_and_alarm_on_the_demo_rig(qtbot, make_window) -> None:
    window = make_window()
    assert window.model_panel.model.currentData() == "fault-cwru"  # on by default
    window.settings.alarm_raise_s = 1.0
    window.connect_source("demo", {"speed": "3"})  # healthy 1 s, then inner race faults
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=30_000)
    assert "FAULT" in window.banner.text()
    verdicts = window.plot.verdicts
    starts = [v["start_s"] for v in verdicts]
    assert starts == sorted(starts) and {"normal", "inner_007"} <= {v["class"] for v in verdicts}
    assert window.plot.verdict_lane is not None
    lane = window.plot.verdict_lane
    qtbot.waitUntil(lambda: len(lane.bars.opts["x0"]) > 0, timeout=5000)
    middle = (verdicts[-1]["start_s"] + verdicts[-1]["end_s"]) / 2 - window.plot.x_offset
    assert lane.verdict_at(middle) is verdicts[-1]
    assert "fault-cwru on CPU" in window.model_panel.status.text()

    # Switching the model off and on never blocks the UI thread.
    started = time.perf_counter()
    window.model_panel.model.setCurrentIndex(window.model_panel.model.findData(""))
    assert window.plot.verdict_lane is None and not window.banner.isVisible()
    window.model_panel.model.setCurrentIndex(window.model_panel.model.findData("fault-cwru"))
    assert time.perf_counter() - started < 0.5
    qtbot.waitUntil(lambda: len(window.plot.verdicts) > 0, timeout=20_000)
    assert window.settings.model == "fault-cwru"


def test_a_broken_model_is_a_message(qtbot, make_window) -> None:
    window = make_window()
    window.settings.model = "no-such-model"
    window.connect_source("synth:2x1000", {})
    qtbot.waitUntil(lambda: "⚠" in window.model_panel.status.text(), timeout=20_000)
    assert "no-such-model" in window.model_panel.status.text()
