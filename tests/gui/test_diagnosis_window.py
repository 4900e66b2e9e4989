"""The window half of issue 21 on the real MainWindow: the Machine dialog creates and edits
a profile; a CWRU ``.mat`` file's own RPM (X106RPM = 1772) drives the Analysis dock and
never leaks into the next file; the Diagnosis dock shows the inner-race evidence; the
verdict lane gets the per-window verdicts, merged with the model's under the policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from desktop.diagnosis.profiles import MachineProfile, ProfileStore, Sensor, SpeedSpec
from desktop.ui.diagnosis_run import DiagnosisOutcome, lane_rows
from desktop.ui.machine_dialog import GEOMETRY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cwru"
IR_106 = FIXTURES / "12k_Drive_End_IR007_1_106.mat"  # inner race 0.007 in, X106RPM = 1772


def _opened(qtbot, window, path: Path):
    window.open_file(str(path))
    qtbot.waitUntil(lambda: window.session is not None and window.session.loaded is not None
                    and bool(window.plot.lanes), timeout=30_000)


def _analysed(qtbot, window, channel: str = "X106_DE_time"):
    """The Analysis dock's answer for ``channel`` of the session now open."""
    panel = window.analysis_panel
    qtbot.waitUntil(lambda: panel.result is not None and not panel.busy()
                    and panel.result.request.channel == channel, timeout=30_000)
    return panel.result


def _diagnosed(qtbot, window) -> DiagnosisOutcome:
    dock = window.diagnosis_panel
    qtbot.waitUntil(lambda: dock.outcome is not None and not dock.busy(), timeout=60_000)
    assert dock.outcome is not None
    return dock.outcome


def _no_rpm_csv(tmp_path: Path) -> Path:
    """3 s of the same inner-race signal at 12 kHz, in a CSV that stores no speed."""
    from desktop.recording.readers import read_recording

    rec = read_recording(IR_106, None)
    x = np.asarray(rec.values[:, 0], dtype=np.float64)
    t = np.arange(x.size) / 12_000.0
    path = tmp_path / "no-speed.csv"
    lines = "\n".join(f"{a:.6f},{b:.6f}" for a, b in zip(t, x, strict=True))
    path.write_text("time_s,accel\n" + lines + "\n")
    return path


def test_machine_dialog_creates_and_edits_a_profile(qtbot, make_window) -> None:
    window = make_window()
    window.settings.model = ""
    window.act_machine.trigger()  # Analysis → Machine… (Ctrl+M)
    dialog = window.diagnosis_panel.dialog
    assert dialog is not None and dialog.isVisible()
    assert window.act_machine.shortcut().toString() == "Ctrl+M"
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "A&nalysis")
    assert {"Machine…", "Diagnose", "Diagnosis dock"} <= {a.text() for a in menu.actions()}
    assert window.act_diagnose.shortcut().toString() == "F7"

    dialog.new_profile()
    dialog.name.setText("Pump 3")
    dialog.bearing.setCurrentIndex(dialog.bearing.findData("6205-2RS JEM SKF"))
    dialog.speed_kind.setCurrentIndex(dialog.speed_kind.findData("rpm"))
    dialog.rpm.setValue(1790.0)
    dialog.add_sensor("DE", "")
    dialog.add_sensor("FE", "6203")
    dialog.group.setCurrentIndex(dialog.group.findData(2))
    dialog.foundation.setCurrentIndex(dialog.foundation.findData("rigid"))
    dialog.unit.setCurrentIndex(dialog.unit.findData("g"))
    assert dialog.save_profile(), dialog.status.text()

    store = ProfileStore()
    saved = store.load("Pump 3")
    assert saved.speed == SpeedSpec("rpm", rpm=1790.0)
    assert [(s.channel, s.bearing) for s in saved.sensors] == [
        ("DE", "6205-2RS JEM SKF"), ("FE", "6203")]
    assert (saved.group, saved.foundation, saved.unit) == (2, "rigid", "g")
    # The dock offers it at once.
    dock = window.diagnosis_panel
    assert dock.machine.findData("Pump 3") >= 0

    # Edit: own geometry, a tacho with 2 pulses per revolution.
    dialog.show_profile(store.load("Pump 3"))
    dialog.bearing.setCurrentIndex(dialog.bearing.findData(GEOMETRY))
    dialog.balls.setValue(9)
    dialog.ball_d.setValue(0.3126)
    dialog.pitch_d.setValue(1.537)
    dialog.speed_kind.setCurrentIndex(dialog.speed_kind.findData("tacho"))
    dialog.speed_channel.setCurrentText("tacho")
    dialog.pulses.setValue(2)
    assert dialog.save_profile(), dialog.status.text()
    edited = store.load("Pump 3")
    assert edited.speed == SpeedSpec("tacho", channel="tacho", pulses_per_rev=2)
    assert edited.sensors[0].bearing == "9,0.3126,1.537,0"
    assert edited.sensors[0].geometry().balls == 9
    assert edited.sensors[1].bearing == "6203"  # a sensor's own bearing is kept

    # A bad name is one line in the dialog, never a traceback; nothing is written.
    dialog.new_profile()
    dialog.name.setText("../etc")
    assert not dialog.save_profile()
    assert "bad machine name" in dialog.status.text() and "\n" not in dialog.status.text()
    assert store.names() == ["Pump 3"]

    # Remove.
    dialog.list.setCurrentRow(0)
    dialog.remove_profile(confirm=False)
    assert store.names() == [] and dock.machine.findData("Pump 3") < 0


def test_speed_comes_from_the_file_and_never_carries_over(qtbot, make_window,
                                                          tmp_path: Path) -> None:
    window = make_window()
    window.settings.model = ""
    panel = window.analysis_panel
    panel.mode.setCurrentIndex(panel.mode.findData("envelope"))
    panel.bearing.setCurrentIndex(panel.bearing.findText("6205-2RS JEM SKF"))
    _opened(qtbot, window, IR_106)
    r = _analysed(qtbot, window)
    # The file's X106RPM drives the markers, and the dock says where it came from.
    assert r.rpm == pytest.approx(1772.0)
    assert r.rpm_source == "file variable X106RPM"
    assert panel.rpm_source.currentData() == "@file"
    assert panel.rpm_source.currentText() == "from the file (X106RPM)"
    assert panel.rpm.value() == pytest.approx(1772.0) and not panel.rpm.isEnabled()
    assert "X106RPM" in panel.status.text()
    assert r.faults is not None and r.faults.bpfi == pytest.approx(5.4152 * 1772 / 60,
                                                                   rel=1e-3)
    # Typing a speed for this file overrides it (for this file only).
    panel.rpm_source.setCurrentIndex(panel.rpm_source.findData(""))
    panel.rpm.setValue(1500.0)
    qtbot.waitUntil(lambda: panel.result is not None and panel.result.rpm == 1500.0
                    and not panel.busy(), timeout=30_000)

    # The next file stores no speed: nothing of the first file's is shown or used.
    _opened(qtbot, window, _no_rpm_csv(tmp_path))
    r2 = _analysed(qtbot, window, "accel")
    assert r2.rpm is None and r2.faults is None and not r2.markers
    assert panel.rpm.value() == 0.0 and panel.rpm.isEnabled()
    assert panel.rpm_source.findData("@file") < 0
    assert "1772" not in panel.status.text() and "1500" not in panel.status.text()
    assert "BPFO" not in panel.info.text()


def test_evidence_panel_shows_inner_race_with_its_lines(qtbot, make_window) -> None:
    window = make_window()
    window.settings.model = ""
    panel = window.analysis_panel
    panel.mode.setCurrentIndex(panel.mode.findData("envelope"))
    panel.bearing.setCurrentIndex(panel.bearing.findText("6205-2RS JEM SKF"))
    dock = window.diagnosis_panel
    assert window.diagnosis_dock.isVisible()
    _opened(qtbot, window, IR_106)
    outcome = _diagnosed(qtbot, window)  # the whole file, on its own once indexed
    assert outcome.overall.location == "inner_race"
    assert outcome.overall.rpm == pytest.approx(1772.0)
    assert outcome.overall.rpm_source == "file variable X106RPM"
    assert dock.verdict.text() == "INNER RACE"
    assert "1772 rpm" in dock.speed.text() and "X106RPM" in dock.speed.text()
    rows = dock.table_rows()
    bpfi = [row for row in rows if row[0] == "BPFI"]
    assert bpfi[0][1] == "1×" and bpfi[0][4] == "PRESENT"
    assert float(bpfi[0][2]) == pytest.approx(5.4152 * 1772 / 60, rel=0.02)
    assert float(bpfi[0][3]) > 10
    assert {row[0] for row in rows} == {"BPFO", "BPFI", "BSF", "FTF"}
    # The lines found are starred on the envelope spectrum beside the BPFI markers.
    _analysed(qtbot, window)
    qtbot.waitUntil(lambda: "BPFI" in dock.star_names(), timeout=10_000)
    assert "BPFI" in panel.marker_names()

    # F7 diagnoses the visible span; Cancel stops a running one and says so in one line.
    window.plot.show_span(0.5, 2.0)
    dock.span.setCurrentIndex(dock.span.findData("visible"))
    job = dock.diagnose()
    assert job is not None and dock.busy()
    dock.cancel()
    qtbot.waitUntil(lambda: not dock.busy(), timeout=30_000)
    assert dock.status.text() in ("diagnosis cancelled",) or dock.outcome is not None
    window.act_diagnose.trigger()
    qtbot.waitUntil(lambda: not dock.busy() and dock.outcome is not None
                    and dock.outcome.start_s > 0.0, timeout=60_000)
    t0, t1, _how = panel.span()
    assert (dock.outcome.start_s, dock.outcome.end_s) == pytest.approx((t0, t1), abs=0.01)
    assert dock.outcome.overall.location == "inner_race"


def test_verdict_lane_gets_the_diagnosis_windows(qtbot, make_window) -> None:
    window = make_window()
    window.settings.model = ""
    _opened(qtbot, window, IR_106)
    outcome = _diagnosed(qtbot, window)
    qtbot.waitUntil(lambda: len(window.plot.verdicts) == 3, timeout=10_000)
    assert window.plot.verdict_lane is not None  # shown even with inference off
    lane = window.plot.verdicts
    assert [(v["start_s"], v["end_s"]) for v in lane] == [(0.0, 1.0), (1.0, 2.0),
                                                          (2.0, 3.0)]
    assert {v["location"] for v in lane} == {"inner_race"}
    assert all(v["source"] == "evidence" for v in lane)
    from desktop.ui.verdict_lane import hover_text

    assert "evidence: inner race" in hover_text(lane[0])
    assert len(outcome.diagnosis.windows) == 3


def test_policy_model_guess_without_evidence_is_a_suggestion(qtbot, make_window) -> None:
    """On a machine with a profile, a model verdict the evidence does not back is shown as
    the evidence's verdict with the model's answer as a suggestion; where the evidence
    agrees, the model's class stands; a model alarm without evidence is not red."""
    ProfileStore().save(MachineProfile("Rig DE", (Sensor("*", "6205"),),
                                       SpeedSpec("unknown")))
    window = make_window()
    window.settings.model = ""
    dock = window.diagnosis_panel
    _opened(qtbot, window, IR_106)
    _diagnosed(qtbot, window)
    dock.reload_machines()
    dock.machine.setCurrentIndex(dock.machine.findData("Rig DE"))  # diagnoses again
    qtbot.waitUntil(lambda: dock.outcome is not None and dock.outcome.machine == "Rig DE"
                    and not dock.busy(), timeout=60_000)
    key = next(iter(window.settings.machine_by_source))
    assert window.settings.machine_by_source[key] == "Rig DE" and key.endswith("106.mat")
    # The model's verdicts arrive (as a whole-file judge would add them to the lane).
    model = [{"start_s": 0.0, "end_s": 1.0, "class": "outer_014", "location": "outer_race",
              "probability": 0.97},
             {"start_s": 1.0, "end_s": 2.0, "class": "inner_007", "location": "inner_race",
              "probability": 0.91}]
    window.plot.add_verdicts(model)
    qtbot.waitUntil(lambda: all("source" in v for v in window.plot.verdicts)
                    and len(window.plot.verdicts) == 3, timeout=5000)
    first, second, _third = window.plot.verdicts
    assert first["location"] == "inner_race" and first["source"] == "evidence"
    assert first["suggestion"] == "outer_014 97%" and "suggestion" in first["detail"]
    assert second["class"] == "inner_007" and "evidence agrees" in second["detail"]
    assert "suggestion" in dock.policy.text()
    # A model alarm the evidence does not back: amber, the evidence named.
    window.model_info = {"name": "fault-cwru", "kind": "fault"}
    window._set_alarm(True, "outer_014")
    qtbot.waitUntil(lambda: "suggestion" in window.banner.text(), timeout=5000)
    assert "inner race" in window.banner.text() and "#c62828" not in \
        window.banner.styleSheet()
    # One that it backs keeps the red banner.
    window._set_alarm(True, "inner_007")
    qtbot.waitUntil(lambda: "#c62828" in window.banner.styleSheet(), timeout=5000)
    assert "FAULT: inner_007" in window.banner.text()
    QApplication.processEvents()


def test_lane_rows_policy_headless() -> None:
    """The policy itself: agreement keeps the model's row, disagreement the evidence's."""
    from desktop.analysis.bearings import find_preset
    from desktop.recording.readers import read_recording
    from desktop.streams.file_view import index_file
    from desktop.ui.diagnosis_run import DiagnosisRequest, diagnose_buffer

    assert read_recording(IR_106, None).samples == 36_000
    view = index_file(IR_106)
    outcome = diagnose_buffer(view, DiagnosisRequest(None, None, None, find_preset("6205"),
                                                     None, view.effective_rate(),
                                                     view.metadata, "test"))
    rows = lane_rows(outcome, [{"start_s": 0.0, "end_s": 3.0, "class": "ball_014",
                                "location": "ball", "probability": 0.8}])
    assert [r["location"] for r in rows] == ["inner_race"] * 3
    assert all(r["suggestion"] == "ball_014 80%" for r in rows)
    agreed = lane_rows(outcome, [{"start_s": 0.0, "end_s": 3.0, "class": "inner_007",
                                  "location": "inner_race", "probability": 0.9}])
    assert all(r["class"] == "inner_007" for r in agreed)
    adapted = lane_rows(outcome, [{"start_s": 0.0, "end_s": 3.0, "class": "ball_014",
                                   "location": "ball", "probability": 0.8}], adapted=True)
    assert all(r["class"] == "ball_014" for r in adapted)
    declined = lane_rows(outcome, [{"start_s": 0.0, "end_s": 3.0, "class": "unknown",
                                    "location": "unknown", "probability": 0.8,
                                    "reason": "out of band"}])
    assert all(r["suggestion"] is None and r["model_declined"] for r in declined)
    assert "model declined (out of band)" in declined[0]["detail"]


def test_a_machine_with_a_fixed_speed_drives_both_docks_for_its_file_only(
        qtbot, make_window, tmp_path: Path) -> None:
    ProfileStore().save(MachineProfile("Fan 2", (Sensor("*", "6205"),),
                                       SpeedSpec("rpm", rpm=1750.0)))
    window = make_window()
    window.settings.model = ""
    panel, dock = window.analysis_panel, window.diagnosis_panel
    panel.mode.setCurrentIndex(panel.mode.findData("envelope"))
    panel.bearing.setCurrentIndex(panel.bearing.findData("6203-2RS JEM SKF"))
    _opened(qtbot, window, IR_106)
    _diagnosed(qtbot, window)
    dock.reload_machines()
    dock.machine.setCurrentIndex(dock.machine.findData("Fan 2"))
    qtbot.waitUntil(lambda: dock.outcome is not None and dock.outcome.machine == "Fan 2"
                    and not dock.busy(), timeout=60_000)
    assert dock.outcome.overall.rpm == 1750.0
    assert dock.outcome.overall.rpm_source == "machine Fan 2"
    assert panel.rpm_source.currentData() == "@machine"
    qtbot.waitUntil(lambda: panel.result is not None and not panel.busy()
                    and panel.result.rpm == 1750.0, timeout=30_000)
    assert panel.result.rpm_source == "machine Fan 2"
    assert panel.bearing.currentData() == "6205-2RS JEM SKF"

    # The next file has no machine chosen yet: neither the machine's speed nor the file's.
    _opened(qtbot, window, _no_rpm_csv(tmp_path))
    r2 = _analysed(qtbot, window, "accel")
    assert r2.rpm is None and panel.rpm_source.findData("@machine") < 0
    assert dock.machine.currentData() == ""
    assert panel.bearing.currentData() == "6203-2RS JEM SKF"  # the user's own again
    # Reopening the first file brings its machine back (remembered per file).
    _opened(qtbot, window, IR_106)
    qtbot.waitUntil(lambda: dock.machine.currentData() == "Fan 2", timeout=10_000)


def test_speed_sources_and_banner_policy_headless() -> None:
    """The adapter's speed order (a profile's speed channel; the file's RPM; a speed
    channel by name) and the banner rule, without a window."""
    from desktop.ui.diagnosis_run import banner_text, file_speed, settle_speed

    assert file_speed({"scalars": {"X106RPM": 1772.0}}) == (1772.0, "file variable X106RPM")
    assert file_speed({"scalars": {"X106RPM": float("nan")}}) is None
    assert file_speed({}) is None
    fs = 1000.0
    values = np.c_[np.random.default_rng(0).normal(size=2000), np.full(2000, 1490.0)]
    names, units = ["accel", "shaft speed"], ["g", ""]
    speed, _rng, theta = settle_speed(values, names, units, 0, fs, None, {})
    assert speed is not None and speed.rpm == 1490.0 and speed.rpm_source == \
        "channel shaft speed" and theta is not None
    stored, _rng, _theta = settle_speed(values, names, units, 0, fs, None,
                                        {"scalars": {"X1RPM": 1800.0}})
    assert stored is not None and stored.rpm == 1800.0  # the file's RPM first
    prof = MachineProfile("M", (Sensor("*", "6205"),), SpeedSpec("rpm", rpm=1000.0))
    fixed, _rng, _theta = settle_speed(values, names, units, 0, fs, prof,
                                       {"scalars": {"X1RPM": 1800.0}})
    assert fixed is not None and fixed.rpm == 1000.0 and fixed.rpm_source == "machine M"
    none, rng, _theta = settle_speed(values[:, :1], names[:1], units[:1], 0, fs,
                                     MachineProfile("R", (), SpeedSpec(
                                         "rpm_range", rpm_range=(600.0, 900.0))), {})
    assert none is None and rng == (600.0, 900.0)

    from desktop.analysis.bearings import find_preset
    from desktop.streams.file_view import index_file
    from desktop.ui.diagnosis_run import DiagnosisRequest, diagnose_buffer

    view = index_file(IR_106)
    prof = MachineProfile("M", (Sensor("*", "6205"),))  # speed: the file's X106RPM
    outcome = diagnose_buffer(view, DiagnosisRequest(None, None, None, find_preset("6205"),
                                                     prof, view.effective_rate(),
                                                     view.metadata, "test"))
    assert banner_text("inner_007", outcome, "M", False) is None  # backed: red stays
    text, red = banner_text("outer_014", outcome, "M", False)  # type: ignore[misc]
    assert not red and "suggestion" in text
    assert banner_text("outer_014", outcome, None, False) is None  # no profile
    assert banner_text("outer_014", outcome, "M", True) is None  # adapted model


def test_a_file_too_long_to_read_whole_waits_for_the_visible_span(
        qtbot, make_window, monkeypatch: pytest.MonkeyPatch) -> None:
    import desktop.ui.diagnosis_run as run

    monkeypatch.setattr(run, "MAX_VALUES", 20_000)  # 1.7 s of this one channel
    window = make_window()
    window.settings.model = ""
    dock = window.diagnosis_panel
    _opened(qtbot, window, IR_106)
    qtbot.waitUntil(lambda: "Not diagnosed on opening" in dock.status.text(), timeout=10_000)
    assert "\n" not in dock.status.text() and dock.outcome is None
    assert dock.span.currentData() == "visible"
    window.plot.show_span(0.2, 1.2)
    window.act_diagnose.trigger()  # F7: the visible span fits
    qtbot.waitUntil(lambda: dock.outcome is not None and not dock.busy(), timeout=60_000)
    assert dock.outcome.overall.location == "inner_race"


def test_f6_and_f7_show_their_closed_docks(qtbot, make_window) -> None:
    """Refresh (F6) and Diagnose (F7) with their dock closed open it: the answer never
    lands out of sight."""
    window = make_window()
    window.show()
    window.analysis_dock.close()
    window.diagnosis_dock.close()
    refresh = next(a for a in window.actions() if a.text() == "Refresh analysis")
    refresh.trigger()
    assert window.analysis_dock.isVisible()
    window.act_diagnose.trigger()
    assert window.diagnosis_dock.isVisible()
