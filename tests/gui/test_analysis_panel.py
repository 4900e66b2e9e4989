"""The Analysis dock on a demo-rig recording opened as a file: the envelope spectrum of the
inner-race span peaks at BPFI with the BPFI marker drawn, severity zone, trend blocks that
show in the main plot, remembered settings, and stepping through fault verdicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop.core.settings import load_settings
from desktop.ui.verdict_navigation import FaultSpan, fault_spans, step

RIG_RPM = 1797.0  # the CWRU inner-race excerpt: 0 hp, 1797 rpm (resources/demo/demo.json)
BPFI_6205 = 162.19  # Hz at 1797 rpm (CWRU's table: 5.4152 x shaft speed)


def opened(qtbot, make_window, demo_file: Path, model: str = ""):
    window = make_window()
    window.settings.model = model
    window.open_file(str(demo_file))
    qtbot.waitUntil(lambda: window.session.buffer is not None and bool(window.plot.lanes),
                    timeout=20_000)
    return window


def select(qtbot, window, a: float, b: float):
    """Cursors on, A–B at ``a``–``b`` s from the start; wait for the dock's answer."""
    panel = window.analysis_panel
    window.act_cursors.setChecked(True)
    window.plot.move_cursors(a, b)
    qtbot.waitUntil(lambda: panel.result is not None
                    and panel.result.request.t0 == pytest.approx(a + window.plot.x_offset)
                    and panel.result.request.t1 == pytest.approx(b + window.plot.x_offset)
                    and not panel.busy(), timeout=30_000)
    return panel.result


def test_envelope_of_the_inner_race_span_peaks_at_bpfi_with_its_marker(
        qtbot, make_window, demo_file: Path) -> None:
    window = opened(qtbot, make_window, demo_file)
    panel = window.analysis_panel
    assert window.analysis_dock.isVisible()
    panel.mode.setCurrentIndex(panel.mode.findData("envelope"))
    panel.bearing.setCurrentIndex(panel.bearing.findText("6205-2RS JEM SKF"))
    panel.rpm.setValue(RIG_RPM)
    panel.band_auto.setChecked(True)

    r = select(qtbot, window, 9.0, 12.0)  # the inner-race part of the recording
    assert r.request.mode == "envelope" and r.samples == pytest.approx(36_000, abs=2)
    assert r.faults is not None and r.faults.bpfi == pytest.approx(BPFI_6205, abs=0.05)
    # The strongest line of the envelope is BPFI (real bearings slip: within 2 %).
    f0, a0 = r.peaks[0]
    assert f0 == pytest.approx(r.faults.bpfi, rel=0.02), r.peaks
    assert a0 > 8 * float(np.median(r.amplitude))
    # The marker is drawn where it belongs, with its harmonics; hovering names it.
    names = panel.marker_names()
    assert {"BPFI", "2xBPFI", "BPFO", "BSF", "FTF"} <= set(names)
    (line,) = [ln for ln in panel._marker_items if ln.marker_name == "BPFI"]
    assert line.value() == pytest.approx(BPFI_6205, abs=0.05) and line.label.isVisible()
    hover = panel.describe(160.0)
    assert "BPFI" in hover and "161." in hover
    assert "strongest 161" in panel.info.text() and "BPFI" in panel.info.text()
    # The span's severity: velocity RMS and a coloured zone.
    assert r.velocity_mm_s is not None and r.velocity_mm_s > 0
    assert panel.zone.text() in {"Zone A", "Zone B", "Zone C", "Zone D"}
    assert "mm/s" in panel.velocity.text() and "background" in panel.zone.styleSheet()
    # Without cursors the visible span is analysed.
    window.act_cursors.setChecked(False)
    window.plot.show_span(2.0, 4.0)
    qtbot.waitUntil(lambda: panel.result.request.t0 < 2.0 + window.plot.x_offset
                    and not panel.busy(), timeout=30_000)
    assert "visible span" in panel.span_label.text()


def test_modes_short_spans_and_a_newer_request_cancels_the_older(
        qtbot, make_window, demo_file: Path) -> None:
    window = opened(qtbot, make_window, demo_file)
    panel = window.analysis_panel
    panel.rpm.setValue(RIG_RPM)
    panel.mode.setCurrentIndex(panel.mode.findData("spectrum"))
    r = select(qtbot, window, 1.0, 3.0)
    assert r.request.mode == "spectrum" and r.display_fmax == 6000.0
    panel.mode.setCurrentIndex(panel.mode.findData("spectrogram"))
    qtbot.waitUntil(lambda: panel.result.image is not None and not panel.busy(),
                    timeout=30_000)
    assert panel.image.isVisible() and not panel.marker_names()

    # A span too short says so in one line (and the last good result stays).
    panel.mode.setCurrentIndex(panel.mode.findData("envelope"))
    panel.band_auto.setChecked(True)
    window.plot.move_cursors(9.0, 9.1)
    qtbot.waitUntil(lambda: "span too short" in panel.status.text(), timeout=30_000)
    assert "\n" not in panel.status.text() and "type a band" in panel.status.text()

    # Two quick requests: the first is cancelled, only the second is drawn.
    window.plot.move_cursors(9.0, 12.0)
    panel.refresh()
    first = panel.jobs.spectrum.job
    panel.refresh()
    assert first is not None and first.task.cancelled and panel.jobs.spectrum.job is not first
    qtbot.waitUntil(lambda: not panel.busy(), timeout=30_000)
    assert panel.result.request.t0 == pytest.approx(9.0)


def test_trend_blocks_cover_the_file_and_a_click_shows_the_block(
        qtbot, make_window, demo_file: Path) -> None:
    window = opened(qtbot, make_window, demo_file)
    panel = window.analysis_panel
    panel.block.setValue(1.0)
    panel.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel.trend is not None and panel.trend.block_s == 1.0
                    and not panel.busy(), timeout=30_000)
    rows = panel.trend.rows
    duration = 144_000 / 12_000
    assert len(rows) == round(duration / 1.0) == 12
    assert rows[0].start_s - window.plot.x_offset == pytest.approx(0.0)
    assert rows[-1].end_s - window.plot.x_offset == pytest.approx(duration)
    # The inner-race fault is impulsive: kurtosis rises after ~8.8 s.
    assert rows[10].kurtosis > rows[2].kurtosis + 1.0
    assert all(r.zone in "ABCD" and r.velocity_mm_s > 0 for r in rows)

    view = panel.trend_view
    point = view.trend_dots["kurtosis"].points()[9]
    view._clicked(view.trend_dots["kurtosis"], [point])  # what a click on the point does
    assert view.selected_block == 9
    x0, x1 = window.plot.lanes[0].getViewBox().viewRange()[0]
    assert x0 < 9.0 and x1 > 10.0 and x1 - x0 < 2.0  # the block, framed
    assert len(view._block_items) == len(window.plot.lanes)
    assert view._block_items[0][1].getRegion() == pytest.approx((9.0, 10.0))
    assert "block 10" in view.info.text()
    # The mark survives a rebuild of the lanes (overlay on).
    window.act_overlay.setChecked(True)
    qtbot.waitUntil(lambda: [lane for lane, _ in view._block_items] == window.plot.lanes,
                    timeout=5000)


def test_settings_are_remembered(qtbot, make_window, demo_file: Path) -> None:
    window = make_window()
    panel = window.analysis_panel
    panel.mode.setCurrentIndex(panel.mode.findData("spectrum"))
    panel.bearing.setCurrentIndex(panel.bearing.findText("6203-2RS JEM SKF"))
    panel.rpm.setValue(1772.0)
    panel.band_auto.setChecked(False)
    panel.band_lo.setValue(2500.0)
    panel.family_buttons["FTF"].setChecked(False)
    panel.group.setCurrentIndex(panel.group.findData(1))
    panel.foundation.setCurrentIndex(panel.foundation.findData("flexible"))
    panel.block.setValue(5.0)
    window.close()

    saved = load_settings()
    assert (saved.analysis_mode, saved.analysis_bearing, saved.analysis_rpm) == (
        "spectrum", "6203-2RS JEM SKF", 1772.0)
    assert not saved.analysis_band_auto and saved.analysis_band[0] == 2500.0
    assert "FTF" not in saved.analysis_markers.split(",")
    assert (saved.analysis_group, saved.analysis_foundation, saved.analysis_block_s) == (
        1, "flexible", 5.0)
    again = make_window().analysis_panel
    assert again.mode.currentData() == "spectrum" and again.rpm.value() == 1772.0
    assert again.bearing.currentText() == "6203-2RS JEM SKF" and again.balls.value() == 8
    assert not again.family_buttons["FTF"].isChecked() and again.block.value() == 5.0
    # Editing a preset's figures makes it a custom bearing.
    again.balls.setValue(10)
    assert again.bearing.currentData() == "custom" and again.geometry().balls == 10


def _verdict(start: float, cls: str) -> dict:
    location = {"normal": "normal", "inner_007": "inner_race", "ball_007": "ball",
                "unknown": "unknown"}[cls]
    return {"start_s": start, "end_s": start + 1.0, "class": cls, "location": location,
            "probability": 0.9}


def test_fault_spans_join_touching_fault_verdicts() -> None:
    verdicts = [_verdict(t, c) for t, c in [(0, "normal"), (1, "inner_007"),
                                            (1.5, "inner_007"), (2.5, "ball_007"),
                                            (3.5, "normal"), (5, "unknown"), (6, "ball_007")]]
    spans = fault_spans(verdicts)
    assert spans == [FaultSpan(1.0, 3.5, "inner_007", 3), FaultSpan(6.0, 7.0, "ball_007", 1)]
    assert step(spans, 0.0, True) == spans[0]
    assert step(spans, spans[0].centre, True) == spans[1]
    assert step(spans, spans[1].centre, False) == spans[0]
    assert step(spans, spans[0].centre, False) is None


def test_next_and_previous_alarm_move_the_view(qtbot, make_window, demo_file: Path) -> None:
    window = opened(qtbot, make_window, demo_file)
    assert window.act_next_alarm.shortcut().toString() == "]"
    assert window.act_prev_alarm.shortcut().toString() == "["
    window.plot.add_verdicts([_verdict(t, "normal") for t in range(3)]
                             + [_verdict(3, "inner_007"), _verdict(4, "inner_007")]
                             + [_verdict(t, "normal") for t in range(5, 8)]
                             + [_verdict(8, "ball_007")])
    window.plot.show_span(0.0, 1.0)

    def centre() -> float:
        x0, x1 = window.plot.lanes[0].getViewBox().viewRange()[0]
        return 0.5 * (x0 + x1)

    window.act_next_alarm.trigger()
    assert centre() == pytest.approx(4.0)
    assert "Alarm 1 of 2: inner_007" in window.statusBar().currentMessage()
    window.act_next_alarm.trigger()
    assert centre() == pytest.approx(8.5)
    window.act_next_alarm.trigger()
    assert "No later alarm" in window.statusBar().currentMessage()
    assert centre() == pytest.approx(8.5)
    window.act_prev_alarm.trigger()
    assert centre() == pytest.approx(4.0)
    # The labels stay editable where the view went.
    assert window.plot.lanes[0].getViewBox().on_span is not None


def test_next_alarm_goes_to_the_first_fault_verdict_of_the_model(
        qtbot, make_window, demo_file: Path) -> None:
    window = opened(qtbot, make_window, demo_file, model="fault-cwru")
    qtbot.waitUntil(lambda: len(window.plot.verdicts) > 30, timeout=60_000)
    verdicts = window.plot.verdicts
    first = next(v for v in verdicts if v["location"] not in ("normal", "unknown"))
    window.plot.show_span(0.0, 2.0)
    window.act_next_alarm.trigger()
    x0, x1 = window.plot.lanes[0].getViewBox().viewRange()[0]
    start = first["start_s"] - window.plot.x_offset
    assert x0 < start < x1
    assert 8.0 < start < 10.0  # the inner-race fault begins ~8.8 s into the recording
    assert window.plot.verdict_lane is not None  # the lane is still drawn


def test_following_live_analyses_on_request(qtbot, make_window) -> None:
    window = make_window()
    window.settings.model = ""
    panel = window.analysis_panel
    window.connect_source("synth:2x2000", {})
    # The first spectrum comes by itself once a second is in (issue #24: no blank dock) ...
    qtbot.waitUntil(lambda: panel.result is not None and not panel.busy(), timeout=30_000)
    first = panel.result
    qtbot.waitUntil(lambda: window.session.buffer.written > 12_000, timeout=30_000)
    assert panel.result is first and not panel.busy()  # ... then nothing behind the plot
    window.analysis_refresh.trigger()  # F6
    qtbot.waitUntil(lambda: panel.result is not first and not panel.busy(), timeout=30_000)
    assert "visible span" in panel.span_label.text() and panel.result.samples > 1000
    assert window.analysis_refresh.shortcut().toString() == "F6"


def test_the_dock_reacts_to_the_view_once_it_settles_and_idles_without_requests(
        qtbot, make_window, demo_file: Path) -> None:
    """No polling: moving the view several times quickly makes exactly one request, after
    SETTLE_MS; a second of frames with nothing changed makes none."""
    from desktop.ui.analysis_panel import SETTLE_MS

    window = opened(qtbot, make_window, demo_file)
    panel, plot = window.analysis_panel, window.plot
    qtbot.waitUntil(lambda: window.session.loaded is not None and panel.result is not None
                    and window.diagnosis_panel.outcome is not None, timeout=60_000)
    qtbot.waitUntil(lambda: not panel.busy() and not panel.settle.isActive()
                    and not window.diagnosis_panel.busy(), timeout=30_000)
    qtbot.wait(SETTLE_MS + 200)
    frames = []
    plot.frame_drawn.connect(lambda: frames.append(1))
    before = panel.jobs.started
    qtbot.wait(1000)
    assert len(frames) > 5  # the plot kept drawing ...
    assert panel.jobs.started == before and not panel.settle.isActive()  # ... idle dock

    for k in range(5):  # a quick pan: five ranges, 50 ms apart
        plot.set_view_range(2.0 + 0.1 * k, 4.0 + 0.1 * k)
        qtbot.wait(50)
    assert panel.jobs.started == before  # still settling
    qtbot.waitUntil(lambda: panel.jobs.started == before + 1, timeout=5000)
    qtbot.waitUntil(lambda: not panel.busy(), timeout=30_000)
    qtbot.wait(SETTLE_MS + 500)
    assert panel.jobs.started == before + 1  # exactly one request for the settled view
    assert panel.result.request.t0 == pytest.approx(2.4 + plot.x_offset)
    assert panel.result.request.t1 == pytest.approx(4.4 + plot.x_offset)


def test_keep_spectra_current_recomputes_a_followed_live_source(qtbot, make_window) -> None:
    """Following live the view range does not move: the frame tick is the update path,
    one request every LIVE_REFRESH_S when "keep spectra current" is on."""
    from desktop.ui.analysis_panel import LIVE_REFRESH_S

    window = make_window()
    window.settings.model = ""
    window.settings.analysis_live_refresh = True
    panel = window.analysis_panel
    window.connect_source("synth:2x2000", {})
    qtbot.waitUntil(lambda: panel.result is not None and not panel.busy()
                    and window.session.buffer.written > 4000, timeout=30_000)
    first, before = panel.result, panel.jobs.started
    qtbot.wait(int(2.6 * LIVE_REFRESH_S * 1000))
    assert 1 <= panel.jobs.started - before <= 3  # not every frame
    qtbot.waitUntil(lambda: panel.result is not first and not panel.busy(), timeout=10_000)
    assert panel.result.samples > first.samples or panel.result.request.t1 > first.request.t1
