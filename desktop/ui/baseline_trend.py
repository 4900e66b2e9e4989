"""Analysis → Route trend… (Ctrl+Shift+T): a route's snapshots judged against a machine's
baseline in time order, as ``linewatch trend FILES --machine NAME``.

Choose the machine and the route (a folder of snapshot files or files; the time comes
from the names, e.g. ``2004.02.12.10.32.39``, else the content or the mtime) and Run:
:func:`desktop.baseline.learn.route_trend` runs on the dialog's
:class:`~desktop.workers.job_runner.JobRunner` (progress, Cancel). The Chart tab draws
each main indicator over time with its alert (amber) and alarm (red) limits as dashed
lines (they move with the drift rule), each snapshot's dot coloured by the indicator
against its limits, and the first latched alert and alarm marked; the Table tab lists the
rows (one per file per sensor).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.diagnosis.profiles import ProfileStore
from desktop.ui.baseline_dialog import INDICATOR_TEXT
from desktop.workers.job_runner import JobRunner
from desktop.workers.jobs import Job

#: Indicators drawn (those the baseline has), in this order.
CHART_INDICATORS = ("acc_rms", "vel_rms", "crest", "kurtosis", "env_bpfo", "env_bpfi",
                    "env_bsf", "env_ftf")
LEVEL_COLOURS = {"ok": "#66bb6a", "alert": "#ffa726", "alarm": "#ef5350"}
ALERT_PEN = pg.mkPen("#ffa726", width=1.5, style=Qt.PenStyle.DashLine)
ALARM_PEN = pg.mkPen("#ef5350", width=1.5, style=Qt.PenStyle.DashLine)
TABLE_COLUMNS = ("Time", "File", "Sensor", "Level", "State", "Location", "Anomaly",
                 "Worst indicator")


def _time(label: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(label)
    except ValueError:
        return None


def hours_axis(rows: list[dict[str, Any]]) -> tuple[np.ndarray, str]:
    """Each row's time as hours from the first row's (or the row index when times are
    unreadable), and the axis label."""
    times = [_time(str(r["time"])) for r in rows]
    if not rows or any(t is None for t in times):
        return np.arange(len(rows), dtype=float), "snapshot"
    t0 = min(t for t in times if t is not None)
    hours = np.array([(t - t0).total_seconds() / 3600.0 for t in times if t is not None])
    return hours, f"hours from {t0.isoformat(sep=' ', timespec='seconds')}"


def first_events(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The first latched ``alert`` and ``alarm`` events of ``rows`` (one sensor)."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        e = r.get("event")
        if e and e.get("level") in ("alert", "alarm") and e["level"] not in out:
            out[e["level"]] = {**e, "row": r}
    return out


def trend_job(machine: str, paths: list[Path], *, task: Any, profiles: Any) -> Any:
    """:func:`desktop.baseline.learn.route_trend`, imported on the job's thread (scipy)."""
    from desktop.core.heavy_imports import import_scientific_stack

    import_scientific_stack()  # one thread at a time (desktop/core/heavy_imports.py)
    from desktop.baseline.learn import route_trend

    return route_trend(machine, paths, task=task, profiles=profiles)


class RouteTrendDialog(QDialog):
    """The dialog (module docstring); ``failed(line)`` when a run fails."""

    failed = Signal(str)

    def __init__(self, settings: Any, store: ProfileStore | None = None,
                 machine: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Route trend")
        self.resize(1100, 760)
        self.settings = settings
        self.store = store or ProfileStore()
        self.result: Any = None
        self.plots: dict[str, pg.PlotItem] = {}
        self.markers: list[pg.InfiniteLine] = []
        self.runner = JobRunner(self, name="route-trend", replace=False)
        self.runner.progress.connect(self._progress)
        self.runner.succeeded.connect(self._succeeded)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(self._cancelled)

        self.machine = QComboBox()
        self.machine.setToolTip("The machine whose stored baseline judges the route "
                                "(Learn baseline…, Ctrl+Shift+B)")
        try:
            names = self.store.names()
        except OSError:
            names = []
        for name in names:
            self.machine.addItem(name, name)
        if machine:
            self.machine.setCurrentIndex(max(0, self.machine.findData(machine)))
        self.files = QListWidget()
        self.files.setMaximumHeight(64)
        self.files.setToolTip("The route's snapshots: folders (their files) or files; "
                              "ordered by the time in their names, their content or mtime")
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.add_files_button = QPushButton("Add files…")
        self.add_files_button.clicked.connect(self.choose_files)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.files.clear)
        self.sensor = QComboBox()
        self.sensor.setToolTip("The sensor drawn")
        self.sensor.currentIndexChanged.connect(self._redraw)
        inputs = QHBoxLayout()
        for w in (self.add_folder_button, self.add_files_button, self.clear_button):
            inputs.addWidget(w)
        inputs.addStretch(1)
        inputs.addWidget(QLabel("Sensor"))
        inputs.addWidget(self.sensor)

        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel("Choose the machine and the route's snapshots, then Run.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.chart = pg.GraphicsLayoutWidget()
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(list(TABLE_COLUMNS))
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.chart.setToolTip("Dashed: the alert (amber) and alarm (red) limits, which move "
                              "with the drift rule; dots: each snapshot's value, coloured "
                              "against its limits; vertical lines: the first latched alert "
                              "and alarm (3 snapshots in a row)")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.chart, "Chart")
        self.tabs.addTab(self.table, "Table")

        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.bar, 1)
        for b in (self.run_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)

        form = QFormLayout()
        form.addRow("Machine", self.machine)
        form.addRow("Route", self.files)
        form.addRow("", inputs)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addLayout(buttons)
        column.addWidget(self.status)
        column.addWidget(self.tabs, 1)
        legend = QLabel("<span style='color:#ffa726'>- - alert limit</span> &nbsp; "
                        "<span style='color:#ef5350'>- - alarm limit</span> &nbsp; "
                        "dots: the indicator against its limits &nbsp; "
                        "│ first latched alert / alarm")
        legend.setStyleSheet("color: #888;")
        column.addWidget(legend)

    # -- inputs ------------------------------------------------------------------------------
    def paths(self) -> list[Path]:
        return [Path(self.files.item(i).text()) for i in range(self.files.count())]

    def add_paths(self, paths: list[str | Path]) -> None:
        have = {str(p) for p in self.paths()}
        for p in paths:
            if str(p) not in have:
                self.files.addItem(str(p))
                have.add(str(p))

    def set_folder(self, folder: str | Path) -> None:
        """The route is this folder's files (replacing the list)."""
        self.files.clear()
        self.add_paths([folder])

    def _folder(self) -> str:
        folder = self.settings.baseline_folder
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of the route's snapshots",
                                                  self._folder())
        if folder:
            self.settings.baseline_folder = folder
            self.add_paths([folder])

    def choose_files(self) -> None:
        from desktop.recording.registry import open_filter

        paths, _ = QFileDialog.getOpenFileNames(self, "The route's snapshots", self._folder(),
                                                open_filter())
        if paths:
            self.settings.baseline_folder = str(Path(paths[0]).parent)
            self.add_paths(list(paths))

    # -- the job -----------------------------------------------------------------------------
    def start(self) -> Job | None:
        """Judge the route (one run at a time)."""
        if self.runner.running:
            return None
        name = self.machine.currentData()
        if not name:
            self.status.setText("⚠ choose a machine with a baseline")
            return None
        if not self.paths():
            self.status.setText("⚠ add the route: a folder of snapshots or files")
            return None
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.bar.setValue(0)
        self.status.setText(f"judging the route against the baseline of {name}…")
        return self.runner.start(trend_job, str(name), self.paths(), profiles=self.store)

    def cancel(self) -> None:
        if self.runner.running:
            self.runner.cancel()
            self.status.setText("cancelling…")

    def busy(self) -> bool:
        return self.runner.running

    def _progress(self, fraction: float, message: str, _info: dict) -> None:
        self.bar.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _failed(self, message: str) -> None:
        line = message.splitlines()[0] if message else "the trend failed"
        self._ended(f"⚠ {line}")
        self.failed.emit(line)

    def _cancelled(self) -> None:
        self._ended("Cancelled.")

    def _succeeded(self, result: Any) -> None:
        self.result = result
        self.bar.setValue(1000)
        rows = result.rows
        text = f"{len(result.files)} files, {len(rows)} rows"
        for sensor in result.sensors:
            ev = first_events([r for r in rows if r["sensor"] == sensor])
            if "alarm" in ev:
                e = ev["alarm"]
                text += (f" · {sensor}: first ALARM {e['time']} ({e['indicator']}, "
                         f"location {e['location']})")
            elif "alert" in ev:
                text += f" · {sensor}: first alert {ev['alert']['time']}"
            else:
                text += f" · {sensor}: no alarm"
        self._ended(text)
        self.sensor.blockSignals(True)
        self.sensor.clear()
        for sensor in result.sensors:
            self.sensor.addItem(sensor, sensor)
        self.sensor.blockSignals(False)
        self._fill_table(rows)
        self._redraw()

    def _ended(self, text: str) -> None:
        self.status.setText(text)
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # -- drawing -----------------------------------------------------------------------------
    def _redraw(self, *_: object) -> None:
        self.chart.clear()
        self.plots = {}
        self.markers = []
        if self.result is None:
            return
        sensor = self.sensor.currentData()
        rows = [r for r in self.result.rows if r["sensor"] == sensor]
        if not rows:
            return
        x, label = hours_axis(rows)
        names = [k for k in CHART_INDICATORS if all(k in r["indicators"] for r in rows)]
        events = first_events(rows)
        first: pg.PlotItem | None = None
        for i, k in enumerate(names):
            p = self.chart.addPlot(row=i // 2, col=i % 2)
            p.showGrid(x=True, y=True, alpha=0.2)
            p.setTitle(INDICATOR_TEXT.get(k, k), size="9pt")
            p.setLabel("bottom", label if i >= len(names) - 2 else "")
            values = np.array([r["indicators"][k]["value"] for r in rows])
            alert = np.array([r["indicators"][k]["alert"] for r in rows])
            alarm = np.array([r["indicators"][k]["alarm"] for r in rows])
            p.plot(x, alert, pen=ALERT_PEN, name="alert")
            p.plot(x, alarm, pen=ALARM_PEN, name="alarm")
            state = np.where(values >= alarm, "alarm", np.where(values >= alert, "alert", "ok"))
            p.plot(x, values, pen=pg.mkPen("#cfd8dc", width=1), symbol="o", symbolSize=5,
                   symbolPen=None, symbolBrush=[pg.mkBrush(LEVEL_COLOURS[c]) for c in state])
            for level, pen in (("alert", "#ffa726"), ("alarm", "#ef5350")):
                e = events.get(level)
                if e is None:
                    continue
                at = float(x[rows.index(e["row"])])
                line = pg.InfiniteLine(at, angle=90, pen=pg.mkPen(pen, width=2),
                                       label=f"first {level}" if i == 0 else None,
                                       labelOpts={"position": 0.93 if level == "alarm"
                                                  else 0.6, "color": pen,
                                                  "fill": pg.mkBrush(0, 0, 0, 160)})
                p.addItem(line)
                self.markers.append(line)
            if first is None:
                first = p
            else:
                p.setXLink(first)
            self.plots[k] = p

    def _fill_table(self, rows: list[dict[str, Any]]) -> None:
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            inds = row["indicators"]
            worst = max(inds, key=lambda k: inds[k]["value"] / inds[k]["alert"], default="")
            worst_text = (f"{INDICATOR_TEXT.get(worst, worst)} {inds[worst]['value']:.4g} "
                          f"(alert {inds[worst]['alert']:.4g})") if worst else ""
            event = row.get("event")
            state = row["state"] + (f" ← {event['level'].upper()}" if event else "")
            cells = (row["time"], Path(row["file"]).name, row["sensor"], row["level"],
                     state, row["location"], f"{row['anomaly']:.2f}", worst_text)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(str(text))
                if c == 3 and row["level"] != "ok":
                    item.setForeground(QBrush(QColor(LEVEL_COLOURS[row["level"]])))
                if c == 4 and event:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(r, c, item)

    def table_rows(self) -> list[tuple[str, ...]]:
        """The table's text, row by row (for tests and tools)."""
        return [tuple(item.text() if (item := self.table.item(r, c)) else ""
                      for c in range(self.table.columnCount()))
                for r in range(self.table.rowCount())]

    def closeEvent(self, event: Any) -> None:
        """Closing while a run is under way cancels it and waits for the thread."""
        self.runner.shutdown(60_000)
        super().closeEvent(event)
