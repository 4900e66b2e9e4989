"""Screenshots of issue #24's newcomer items, from the real window (run under Xvfb).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/newcomer_shots.py

Writes ``docs/screenshots/newcomer-*.png``: an opened file in the Source panel, the
Analysis dock on the live demo, the trend's automatic block, a bad file's status line, a
UTF-8 file's counters, the label dialog after typing, the alarm banner, a PDF report page.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LINEWATCH_HOME", tempfile.mkdtemp(prefix="lw-newcomer-"))

from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.app import model_names, source_from_options  # noqa: E402
from desktop.core.settings import Settings  # noqa: E402
from desktop.sources.demo import DemoRigSource  # noqa: E402
from desktop.streams.acquisition import Acquisition  # noqa: E402
from desktop.ui.label_editing import LabelDialog  # noqa: E402
from desktop.ui.main_window import MainWindow, WindowServices  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


def pump(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def wait_idle(app: QApplication, window: MainWindow, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end and (window.session is None or window.session.busy
                                      or window.analysis_panel.busy()):
        pump(app, 0.1)
    pump(app, 0.8)


def shoot(widget: object, name: str) -> None:
    path = OUT / name
    widget.grab().save(str(path), "PNG")  # type: ignore[attr-defined]
    print(f"wrote {path}")


def demo_recording(folder: Path) -> Path:
    out = folder / "demo-rig.parquet"
    acq = Acquisition(DemoRigSource(speed=float("inf")), history_s=30)
    acq.open()
    acq.start_recording(out)
    while acq.counters.received < 12_000 * 12:
        acq.step()
    acq.close()
    return out


def text_files(folder: Path) -> tuple[Path, Path]:
    backwards = folder / "pump-7-backwards.csv"
    lines = ["time_s,temp [degC],vib [mm/s]"]
    for i in range(4000):
        t = i * 0.005 - (1.0 if i in (900, 1700, 2500, 3300) else 0.0)
        lines.append(f"{t:.3f},{20 + math.sin(i / 300):.3f},{math.sin(i / 3):.4f}")
    backwards.write_text("\n".join(lines) + "\n")
    utf8 = folder / "Halle 2 Pumpe.csv"
    rows = [f"{k * 0.01:.2f},{20 + math.sin(k / 400):.3f},{math.sin(k / 4):.4f}"
            for k in range(6000)]
    rows.insert(3000, "# Pumpe aus — Wartung bei 12,3 °C")
    utf8.write_text("\ufefftime_s,Temperatur [°C],Schwingung [µm/s]\n" + "\n".join(rows)
                    + "\n", encoding="utf-8")
    return backwards, utf8


def main() -> None:
    app = QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp(prefix="lw-newcomer-files-"))
    demo = demo_recording(tmp)
    backwards, utf8 = text_files(tmp)
    window = MainWindow(Settings(), WindowServices(source_from_options, lambda: [],
                                                   lambda: {}, model_names))
    window.settings.model = ""
    window.resize(1400, 860)
    window.show()

    # 2. The live demo: the Analysis dock draws its first spectrum by itself.
    window.connect_source("demo", {})
    end = time.monotonic() + 30
    while time.monotonic() < end and window.analysis_panel.result is None:
        pump(app, 0.1)
    pump(app, 1.0)
    shoot(window, "newcomer-analysis-live.png")
    window.disconnect_source()

    # 1. An opened file: the Source panel names it; Connect is the live source's.
    window.open_file(str(demo))
    wait_idle(app, window)
    shoot(window, "newcomer-source-file.png")

    # 3. The Trend tab: the block follows the file's length.
    window.analysis_panel.tabs.setCurrentIndex(1)
    wait_idle(app, window)
    shoot(window, "newcomer-trend-auto.png")
    window.analysis_panel.tabs.setCurrentIndex(0)

    # 7. The alarm banner: over the plots, whole text, nothing moves.
    window.resize(1200, 760)  # the window's own default size
    pump(app, 0.5)
    window.model_info = {"name": "fault-cwru-calibrated-pump-7", "kind": "fault"}
    window._set_alarm(True, "inner_race_0.014in (shaft misalignment suspected)")
    pump(app, 0.5)
    shoot(window, "newcomer-alarm-banner.png")
    window._set_alarm(False, "")
    window.resize(1400, 860)

    # 6. Labelling: typing a class replaces the pre-filled one.
    window.model_info = {"classes": ["normal", "inner_race", "ball"]}

    def typed_exec(dialog: LabelDialog) -> int:
        dialog.show()
        pump(app, 0.3)
        from PySide6.QtTest import QTest

        QTest.keyClicks(dialog.label.lineEdit(), "valve_stuck")
        pump(app, 0.2)
        shoot(dialog, "newcomer-label-class.png")
        dialog.hide()
        return LabelDialog.DialogCode.Accepted

    LabelDialog.exec = typed_exec  # type: ignore[method-assign]
    window._ask_label(window.plot.x_offset + 1.0, window.plot.x_offset + 2.0)

    # 4. A file with bad lines: one readable line in the status bar.
    window.open_file(str(backwards))
    end = time.monotonic() + 30
    while time.monotonic() < end and "skipped" not in window.statusBar().currentMessage():
        pump(app, 0.1)
    wait_idle(app, window)
    window.statusBar().clearMessage()  # the state label keeps the line; show it
    shoot(window, "newcomer-bad-file.png")

    # 5. A valid UTF-8 file (BOM, °C, µm/s, a note with an em dash): no non_utf8 count.
    window.open_file(str(utf8))
    wait_idle(app, window)
    shoot(window, "newcomer-utf8.png")
    window.close()

    # 8. The PDF report: A4 pages, the title above its first line.
    from desktop.fleet.report import ReportOptions, build_report, pdf_pages

    report = build_report(demo, ReportOptions(bearing="6205", rpm=1797.0, group=2,
                                              foundation="rigid"))
    pages = list(pdf_pages(report))
    pages[0].savefig(str(OUT / "newcomer-report-pdf.png"), dpi=90)
    pages[-1].savefig(str(OUT / "newcomer-report-pdf-charts.png"), dpi=70)
    print(f"wrote {OUT / 'newcomer-report-pdf.png'} ({len(pages)} A4 pages)")


if __name__ == "__main__":
    main()
