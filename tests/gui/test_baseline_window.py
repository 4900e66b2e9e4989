"""The window half of issue 22 on the real MainWindow: Analysis → Learn baseline… learns a
machine's baseline from 3 one-second snapshot files (a thin baseline, said so), Cancel
leaves the store as it was, and the Diagnosis dock shows the level of a fault file
against a healthy baseline with its indicators and the thin-baseline note."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.analysis.bearings import find_preset
from desktop.baseline.routes import RouteSpec, route
from desktop.baseline.store import BaselineStore
from desktop.diagnosis.profiles import MachineProfile, ProfileStore, Sensor, SpeedSpec
from desktop.ui.baseline_panel import StoredSensor, stored_sensors

FS = 12000.0
MACHINE = "pump"


def _write(path: Path, x: np.ndarray) -> Path:
    t = np.arange(x.size) / FS
    pq.write_table(pa.table({"time_s": t, "de": x}), path)
    return path


@pytest.fixture()
def snapshots(tmp_path: Path) -> tuple[list[Path], Path]:
    """3 healthy one-second snapshots and a 4-s outer-race fault file of one machine,
    and its profile (bearing 6205, speed searched in 1500–1900 r/min)."""
    ProfileStore().save(MachineProfile(MACHINE, (Sensor("de", "6205"),),
                                       SpeedSpec("rpm_range", rpm_range=(1500.0, 1900.0))))
    g = find_preset("6205")
    healthy = list(route(RouteSpec(g, 1800.0, days=0.05, seed=3)))[:3]
    fault = list(route(RouteSpec(g, 1800.0, days=0.05, seed=3, fault="outer_race",
                                 onset_day=0.0, start_db=3.0, end_db=6.0)))[:4]
    folder = tmp_path / "healthy"
    folder.mkdir()
    files = [_write(folder / f"2026.12.0{i + 1}.10.00.00.parquet", s.x)
             for i, s in enumerate(healthy)]
    bad = _write(tmp_path / "fault.parquet", np.concatenate([s.x for s in fault]))
    return files, bad


def _learn(qtbot, window, files: list[Path]):
    window.act_learn_baseline.trigger()  # Analysis → Learn baseline… (Ctrl+Shift+B)
    dialog = window.baseline_view.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.machine.setCurrentIndex(dialog.machine.findData(MACHINE))
    dialog.add_paths(files)
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=60_000)
    return dialog


def test_learn_baseline_from_three_snapshots_says_thin(qtbot, make_window, snapshots
                                                       ) -> None:
    files, _bad = snapshots
    window = make_window()
    window.settings.model = ""
    assert window.act_learn_baseline.shortcut().toString() == "Ctrl+Shift+B"
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "A&nalysis")
    assert "Learn baseline…" in {a.text() for a in menu.actions()}

    dialog = _learn(qtbot, window, files)
    assert dialog.result is not None, dialog.status.text()
    sb = dialog.result.sensors["de"]
    assert sb.snapshots == 3 and sb.thin and abs(sb.seconds - 3.0) < 1e-6
    assert dialog.thin.isVisible() and "thin baseline (3 snapshots)" in dialog.thin.text()
    assert "3 snapshots, 3.0 s" in dialog.summary.text()
    shown = {(r[0], r[1]) for r in dialog.table_rows()}
    assert {("de", "acc RMS"), ("de", "vel RMS (mm/s)"), ("de", "env BPFO")} <= shown
    # stored where `linewatch baseline` stores it
    stored = BaselineStore().load(MACHINE)
    assert stored.sensors["de"].snapshots == 3
    assert dialog.result.path == BaselineStore().path(MACHINE)
    # the dock reads the same file without importing desktop.baseline (scipy)
    assert stored_sensors(MACHINE) == {"de": StoredSensor(3, True)}
    assert stored_sensors("nothing here") is None
    dialog.close()


def test_cancel_stores_nothing(qtbot, make_window, snapshots, tmp_path: Path) -> None:
    files, _bad = snapshots
    # a long healthy record: 300 one-second snapshots, so there is time to cancel
    one = pq.read_table(files[0]).column("de").to_numpy()
    long = _write(tmp_path / "long.parquet", np.tile(one, 300))
    window = make_window()
    window.settings.model = ""
    window.act_learn_baseline.trigger()
    dialog = window.baseline_view.dialog
    dialog.machine.setCurrentIndex(dialog.machine.findData(MACHINE))
    dialog.add_paths([long])
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: dialog.bar.value() > 0, timeout=30_000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=30_000)
    assert dialog.result is None
    assert dialog.status.text().startswith("Cancelled")
    assert dialog.learn_button.isEnabled() and not dialog.cancel_button.isEnabled()
    assert not BaselineStore().exists(MACHINE)
    dialog.close()


def test_dock_shows_the_level_of_a_fault_file(qtbot, make_window, snapshots) -> None:
    files, bad = snapshots
    window = make_window()
    window.settings.model = ""
    _learn(qtbot, window, files).close()
    window.settings.machine_by_source[str(bad.resolve())] = MACHINE
    window.open_file(str(bad))
    view = window.baseline_view
    qtbot.waitUntil(lambda: view.judgement is not None and not view.busy(), timeout=90_000)
    j = view.judgement.judgement
    assert j.level == "alarm", view.level.text()
    assert j.location == "outer_race"
    assert view.level.text().startswith("BASELINE: ALARM")
    assert view.thin.isVisible() and view.thin.text() == "⚠ thin baseline (3 snapshots)"
    rows = view.table_rows()
    assert rows and {r[0] for r in rows} >= {"acc RMS", "env BPFO"}
    assert "3 snapshots (thin)" in view.info.text()


def test_route_trend_draws_limits_and_marks_the_first_alarm(qtbot, make_window, snapshots,
                                                            tmp_path: Path) -> None:
    files, _bad = snapshots
    g = find_preset("6205")
    healthy = list(route(RouteSpec(g, 1800.0, days=0.05, seed=3)))[3:5]
    fault = list(route(RouteSpec(g, 1800.0, days=0.05, seed=3, fault="outer_race",
                                 onset_day=0.0, start_db=3.0, end_db=6.0)))[:4]
    trail = tmp_path / "route"
    trail.mkdir()
    stamps = [f"2004.02.12.{10 + i:02d}.00.00" for i in range(6)]
    for stamp, s in reversed(list(zip(stamps, healthy + fault, strict=True))):
        _write(trail / f"{stamp}.parquet", s.x)
    window = make_window()
    window.settings.model = ""
    _learn(qtbot, window, files).close()
    assert window.act_route_trend.shortcut().toString() == "Ctrl+Shift+T"
    window.act_route_trend.trigger()
    dialog = window.route_trend_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.machine.currentData() == MACHINE
    dialog.set_folder(trail)
    assert dialog.start() is not None
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=90_000)
    assert dialog.result is not None, dialog.status.text()
    rows = dialog.table_rows()
    assert len(rows) == 6
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # time order, not listing
    assert rows[0][3] == "ok" and rows[-1][3] == "alarm"
    assert "first ALARM" in dialog.status.text() and "outer_race" in dialog.status.text()
    assert {"acc_rms", "vel_rms", "env_bpfo"} <= set(dialog.plots)
    # each plot: the alert and alarm limits, the values; the first alarm marked
    assert len(dialog.plots["env_bpfo"].listDataItems()) == 3
    assert any(m.label is not None and "first alarm" in m.label.toPlainText()
               for m in dialog.markers)
    dialog.close()


def test_a_too_short_snapshot_is_one_line_in_the_dialog_and_status_bar(
        qtbot, make_window, snapshots, tmp_path: Path) -> None:
    files, _bad = snapshots
    short = _write(tmp_path / "short.parquet", np.zeros(int(0.2 * FS)))
    window = make_window()
    window.settings.model = ""
    dialog = _learn(qtbot, window, [*files, short])
    assert dialog.result is None
    text = dialog.status.text()
    assert text.startswith("⚠ short.parquet: a snapshot needs at least 0.5 s"), text
    assert "\n" not in text
    assert window.statusBar().currentMessage().startswith("Baseline: short.parquet")
    assert not BaselineStore().exists(MACHINE)
    dialog.close()
