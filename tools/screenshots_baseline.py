"""Screenshots of the window half of issue 22 (machine baselines), from the real window:

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshots_baseline.py

- ``baseline-learn.png``: Learn baseline… after learning from 3 one-second snapshots
  (the summary and the thin-baseline warning);
- ``baseline-dock.png``: an outer-race fault file opened on that machine: the Diagnosis
  dock's baseline level, its indicators against their limits, "thin baseline";
- ``baseline-trend.png``: Route trend… over a simulated route (when the dialog exists).

Data: simulated snapshots of one machine (:mod:`desktop.baseline.routes`), in a temporary
LINEWATCH_HOME, so the user's machines and baselines are never touched.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LINEWATCH_HOME", tempfile.mkdtemp(prefix="lw-shots-"))

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.analysis.bearings import find_preset  # noqa: E402
from desktop.app import model_names, source_from_options, versions  # noqa: E402
from desktop.baseline.routes import RouteSpec, route  # noqa: E402
from desktop.core.settings import Settings  # noqa: E402
from desktop.diagnosis.profiles import MachineProfile, ProfileStore, Sensor, SpeedSpec  # noqa: E402
from desktop.sources.serial_port import available_ports  # noqa: E402
from desktop.ui.main_window import MainWindow, WindowServices  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
FS = 12000.0
MACHINE = "Pump 7"


def pump(app: QApplication, seconds: float, until: object = None) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if callable(until) and until():
            return
        time.sleep(0.005)


def write(path: Path, x: np.ndarray) -> Path:
    t = np.arange(x.size) / FS
    pq.write_table(pa.table({"time_s": t, "DE": x}), path)
    return path


def data(folder: Path) -> tuple[list[Path], Path, Path]:
    """3 healthy snapshots, a 4-s outer-race file and a route folder (healthy → fault)."""
    g = find_preset("6205")
    ProfileStore().save(MachineProfile(MACHINE, (Sensor("DE", "6205"),),
                                       SpeedSpec("rpm_range", rpm_range=(1500.0, 1900.0)),
                                       2, "rigid", "g"))
    healthy = list(route(RouteSpec(g, 1800.0, days=0.05, seed=3)))[:3]
    fault = list(route(RouteSpec(g, 1800.0, days=0.05, seed=3, fault="outer_race",
                                 onset_day=0.0, start_db=3.0, end_db=6.0)))[:4]
    base = folder / "healthy"
    base.mkdir(parents=True, exist_ok=True)
    files = [write(base / f"2026.11.30.{10 + i:02d}.00.00.parquet", s.x)
             for i, s in enumerate(healthy)]
    bad = write(folder / "pump7-2026.12.07.parquet", np.concatenate([s.x for s in fault]))
    trail = folder / "route"
    trail.mkdir(exist_ok=True)
    spec = RouteSpec(g, 1800.0, days=3.0, seed=3, fault="outer_race", onset_day=1.0,
                     start_db=-20.0, end_db=6.0)
    for s in route(spec, step=9):  # one snapshot every 90 minutes
        stamp = time.strftime("%Y.%m.%d.%H.%M.%S", time.gmtime(1764000000 + s.t_s))
        write(trail / f"{stamp}.parquet", s.x)
    return files, bad, trail


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lw-baseline-"))
    files, bad, trail = data(work)
    app = QApplication(sys.argv[:1])
    window = MainWindow(Settings(model=""), WindowServices(source_from_options,
                                                           available_ports, versions,
                                                           model_names))
    window.resize(1560, 960)
    window.show()
    pump(app, 1.0)

    view = window.baseline_view  # type: ignore[attr-defined]
    window.act_learn_baseline.trigger()  # type: ignore[attr-defined]
    dialog = view.dialog
    dialog.machine.setCurrentIndex(dialog.machine.findData(MACHINE))
    dialog.add_paths(files)
    dialog.start()
    pump(app, 60.0, until=lambda: not dialog.busy())
    pump(app, 0.5)
    path = OUT / "baseline-learn.png"
    dialog.grab().save(str(path), "PNG")
    print(f"wrote {path}")
    dialog.close()

    window.settings.machine_by_source[str(bad.resolve())] = MACHINE
    window.open_file(str(bad))
    pump(app, 90.0, until=lambda: view.judgement is not None and not view.busy())
    pump(app, 1.5)
    path = OUT / "baseline-dock.png"
    window.grab().save(str(path), "PNG")
    print(f"wrote {path}")

    act = getattr(window, "act_route_trend", None)
    if act is not None:
        act.trigger()
        trend = window.route_trend_dialog  # type: ignore[attr-defined]
        trend.machine.setCurrentIndex(trend.machine.findData(MACHINE))
        trend.set_folder(trail)
        trend.start()
        pump(app, 120.0, until=lambda: not trend.busy())
        pump(app, 1.0)
        path = OUT / "baseline-trend.png"
        trend.grab().save(str(path), "PNG")
        print(f"wrote {path}")
        trend.close()
    window.close()


if __name__ == "__main__":
    main()
