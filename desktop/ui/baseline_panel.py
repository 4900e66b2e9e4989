"""The machine baseline in the Diagnosis dock, Analysis → Learn baseline…
(Ctrl+Shift+B) and Analysis → Route trend… (Ctrl+Shift+T,
:mod:`desktop.ui.baseline_trend`).

For a machine with a stored baseline (``linewatch baseline`` or
:class:`~desktop.ui.baseline_dialog.LearnBaselineDialog`), each time the dock diagnoses
the opened file or the visible span the same span is judged against the baseline of the
diagnosed channel's sensor (:func:`judge_buffer` on the view's
:class:`~desktop.workers.job_runner.JobRunner`, as one ``linewatch trend`` row: the median
indicators of up to 10 one-second windows).
The dock shows the level (``ok`` / ``alert`` / ``alarm``) with the location, how many
windows were at alert or alarm on their own, a small table of the indicators against
their limits, and "thin baseline (n snapshots)" when the baseline is thin.

``desktop.baseline`` pulls in scipy: imported only inside functions (the window's first
draw imports neither scipy nor torch).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.analysis.errors import AnalysisError
from desktop.core.tasks import TaskState
from desktop.streams.sample_view import SampleView
from desktop.ui.baseline_dialog import (
    INDICATOR_TEXT,
    THIN_STYLE,
    LearnBaselineDialog,
    fmt,
    thin_text,
)
from desktop.workers.job_runner import JobRunner
from desktop.workers.jobs import Job

log = logging.getLogger(__name__)

LEVEL_COLOURS = {"ok": "#2e7d32", "alert": "#b26a00", "alarm": "#c62828"}
POLL_MS = 500


@dataclass(frozen=True)
class BaselineRequest:
    """The span to judge: ``channel`` of the buffer over ``t0``..``t1`` signal seconds at
    ``rate`` Hz, for ``machine``; ``metadata``: the file's (its RPM variable)."""

    machine: str
    channel: str
    t0: float
    t1: float
    rate: float
    metadata: dict[str, Any]


@dataclass(frozen=True)
class StoredSensor:
    """What the dock says of a stored sensor baseline: its snapshots, and thin or not."""

    snapshots: int
    thin: bool


def stored_sensors(machine: str) -> dict[str, StoredSensor] | None:
    """The sensors of ``machine``'s stored baseline (None: none learnt), read from the
    file :meth:`desktop.baseline.store.BaselineStore.path` names, without importing
    ``desktop.baseline`` (scipy: a stall on the UI thread). :class:`AnalysisError` when
    the file cannot be read."""
    from desktop.core.jsonfile import read_json_file
    from desktop.core.paths import data_dir
    from desktop.diagnosis.profiles import check_name

    path = data_dir() / "machines" / "baselines" / f"{check_name(machine)}.json"
    if not path.is_file():
        return None
    try:
        doc = read_json_file(path, max_bytes=8 << 20)
        return {str(k): StoredSensor(int(v["snapshots"]), bool(v["thin"]))
                for k, v in dict(doc["sensors"]).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AnalysisError(f"baseline of '{machine}' cannot be read: {exc}") from None


def judge_buffer(buffer: SampleView, request: BaselineRequest, task: TaskState | None = None
                 ) -> Any:
    """Judge the request's span of ``buffer`` against the machine's stored baseline:
    a :class:`desktop.baseline.learn.SpanJudgement`. Raises :class:`AnalysisError` (one
    line) when the machine or the channel's sensor has no baseline."""
    from desktop.core.heavy_imports import import_scientific_stack

    import_scientific_stack()  # one thread at a time (desktop/core/heavy_imports.py)
    from desktop.analysis.workbench import read_span
    from desktop.baseline.hooks import setup_for
    from desktop.baseline.learn import judge_span
    from desktop.baseline.model import sensor_for_channel
    from desktop.baseline.store import BaselineStore
    from desktop.diagnosis.profiles import ProfileStore
    from desktop.ui.diagnosis_run import file_speed

    task = task or TaskState()
    task.report(0.0, "reading the baseline")
    base = BaselineStore().load(request.machine)
    sb = sensor_for_channel(base, request.channel)
    if sb is None:
        raise AnalysisError(f"machine '{request.machine}' has no baseline for "
                            f"{request.channel} (sensors with one: "
                            f"{', '.join(base.sensors) or 'none'})")
    setup = setup_for(ProfileStore().load(request.machine), sb.sensor)
    times, values = read_span(buffer, request.t0, request.t1)
    names = [c.name for c in buffer.channels]
    if request.channel not in names or times.size == 0:
        raise AnalysisError("nothing to judge in this span")
    x = np.asarray(values[:, names.index(request.channel)], dtype=np.float64)
    speed = file_speed(request.metadata)
    return judge_span(setup, sb, x[np.isfinite(x)], request.rate,
                      rpm=speed[0] if speed else None, channel=request.channel,
                      task=task.part(0.05, 1.0))


class BaselineView(QWidget):
    """The baseline part of the Diagnosis dock (module docstring), for ``panel`` (the
    :class:`~desktop.ui.diagnosis_panel.DiagnosisPanel`) in ``window``."""

    judged = Signal(object)  # SpanJudgement, drawn

    def __init__(self, window: Any, panel: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.main = window  # the MainWindow (not QWidget.window())
        self.panel = panel
        self.judgement: Any = None
        self.dialog: LearnBaselineDialog | None = None
        self.trend_dialog: Any = None
        self.runner = JobRunner(self, name="baseline-judge")  # a newer span wins
        self.runner.succeeded.connect(self._on_result)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._clear)
        self._key: tuple[int, str] | None = None

        self.info = QLabel("")
        self.info.setWordWrap(True)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.learn_button = QPushButton("Learn baseline…")
        self.learn_button.setToolTip("Learn this machine's healthy baseline from its own "
                                     "snapshots (Ctrl+Shift+B)")
        self.learn_button.clicked.connect(self.open_learn)
        self.level = QLabel("")
        self.level.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.level.setVisible(False)
        self.level.setToolTip("The span judged against the machine's baseline: alarm when "
                              "any indicator is at or over its alarm limit, alert when any "
                              "is over its alert limit (median of up to 10 one-second "
                              "windows, as linewatch trend --machine)")
        self.thin = QLabel("")
        self.thin.setStyleSheet(THIN_STYLE)
        self.thin.setVisible(False)
        self.thin.setToolTip("Fewer than 30 healthy snapshots back this baseline: its limits "
                             "are the floors (alert ×2, alarm ×4 the baseline level)")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Indicator", "Value", "Alert", "Alarm"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(96)
        self.table.setMaximumHeight(150)
        self.table.setVisible(False)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(6)
        top.addWidget(QLabel("Baseline:"))
        top.addWidget(self.info, 1)
        top.addWidget(self.learn_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addLayout(top)
        column.addWidget(self.level)
        column.addWidget(self.thin)
        column.addWidget(self.table)

        panel.diagnosed.connect(self.on_diagnosed)
        self.poller = QTimer(self)
        self.poller.setInterval(POLL_MS)
        self.poller.timeout.connect(self._poll)
        self.poller.start()
        self._poll()

    # -- which machine -----------------------------------------------------------------------
    def machine(self) -> str:
        """The machine chosen in the dock ("" for none)."""
        return str(self.panel.machine.currentData() or "")

    def _poll(self) -> None:
        key = (id(self.main.session), self.machine())
        if key != self._key:
            self._key = key
            self.refresh()

    def refresh(self) -> None:
        """Say whether the chosen machine has a baseline; forget the level shown."""
        self.runner.abandon()
        self._clear()
        name = self.machine()
        if not name:
            self.info.setText("<span style='color:#888'>choose a machine</span>")
            return
        sensors = self._stored(name)
        if sensors is None:
            self.info.setText(f"<span style='color:#888'>{name} has no baseline yet</span>")
            return
        parts = [f"{s} {sb.snapshots} snapshots" + (" (thin)" if sb.thin else "")
                 for s, sb in sensors.items()]
        self.info.setText(", ".join(parts) or "no sensors")
        outcome = self.panel.outcome
        if outcome is not None and outcome.machine == name:
            self.on_diagnosed(outcome)

    def _stored(self, name: str) -> dict[str, StoredSensor] | None:
        """The machine's stored sensors, or None (a damaged file is said)."""
        try:
            return stored_sensors(name)
        except AnalysisError as exc:
            self.info.setText(f"⚠ {exc}")
            return None

    # -- judging -----------------------------------------------------------------------------
    def on_diagnosed(self, outcome: Any) -> Job | None:
        """The dock diagnosed a span: judge the same span against the baseline."""
        name = self.machine()
        session = self.main.session
        if not name or outcome is None or outcome.machine != name or session is None \
                or session.buffer is None:
            return None
        if self._stored(name) is None:
            return None
        request = BaselineRequest(name, outcome.channel, outcome.start_s, outcome.end_s,
                                  outcome.rate, dict(getattr(session.buffer, "metadata", {})
                                                     or {}))
        self.level.setText("judging against the baseline…")
        self.level.setStyleSheet("color: #888; padding: 3px;")
        self.level.setVisible(True)
        return self.runner.start(judge_buffer, session.buffer, request)

    def busy(self) -> bool:
        return self.runner.running

    def _on_failed(self, message: str) -> None:
        line = message.splitlines()[0] if message else "judging failed"
        self._clear()
        self.level.setText(f"⚠ {line}")
        self.level.setStyleSheet("padding: 3px;")
        self.level.setVisible(True)
        self.main.statusBar().showMessage(f"Baseline: {line}", 8000)

    def _on_result(self, result: Any) -> None:
        self.judgement = result
        self._draw(result)
        self.judged.emit(result)

    def _clear(self) -> None:
        self.judgement = None
        self.level.setVisible(False)
        self.thin.setVisible(False)
        self.table.setRowCount(0)
        self.table.setVisible(False)

    def _draw(self, result: Any) -> None:
        from desktop.ui.diagnosis_run import LOCATION_TEXT

        j = result.judgement
        colour = LEVEL_COLOURS.get(j.level, "#546e7a")
        where = "" if j.location in ("normal", "") else \
            f" · {LOCATION_TEXT.get(j.location, j.location)}"
        over = sum(1 for v in result.levels if v != "ok")
        self.level.setText(f"BASELINE: {j.level.upper()}{where} · {result.sensor} · "
                           f"{over}/{result.windows} windows over a limit")
        self.level.setStyleSheet(f"background: {colour}; color: white; font-weight: bold; "
                                 "padding: 3px;")
        self.level.setVisible(True)
        sb = result.baseline
        self.thin.setText(f"⚠ {thin_text(sb.snapshots)}" if sb.thin else "")
        self.thin.setVisible(sb.thin)
        names = sorted(j.indicators, key=lambda k: (-j.ratio.get(k, 0.0), k))
        self.table.setRowCount(len(names))
        for r, k in enumerate(names):
            d = j.indicators[k]
            state = "alarm" if d["value"] >= d["alarm"] else \
                "alert" if d["value"] >= d["alert"] else "ok"
            for c, text in enumerate((INDICATOR_TEXT.get(k, k), fmt(d["value"]),
                                      fmt(d["alert"]), fmt(d["alarm"]))):
                item = QTableWidgetItem(text)
                if c >= 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if state != "ok":
                    item.setForeground(QBrush(QColor(LEVEL_COLOURS[state])))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                item.setToolTip(f"{k}: {d['value']:.4g} (alert {d['alert']:.4g}, alarm "
                                f"{d['alarm']:.4g}): {state}")
                self.table.setItem(r, c, item)
        self.table.setVisible(bool(names))

    def table_rows(self) -> list[tuple[str, ...]]:
        """The indicator table's text, row by row (for tests and tools)."""
        return [tuple(item.text() if (item := self.table.item(r, c)) else ""
                      for c in range(self.table.columnCount()))
                for r in range(self.table.rowCount())]

    # -- learning ----------------------------------------------------------------------------
    def open_learn(self) -> LearnBaselineDialog:
        """Show Learn baseline… (one at a time) for the dock's machine."""
        if self.dialog is None:
            session = self.main.session
            path = getattr(session, "path", None) if session is not None else None
            self.dialog = LearnBaselineDialog(self.main.settings, self.panel.store,
                                              self.machine() or None,
                                              Path(path) if path is not None else None,
                                              self.main)
            self.dialog.learnt.connect(self._learnt)
            self.dialog.failed.connect(self._say_failed)
            self.dialog.finished.connect(self._dialog_closed)
        if self.dialog.isVisible():
            self.dialog.activateWindow()  # already open: bring it forward
        self.dialog.show()
        return self.dialog

    def open_trend(self) -> Any:
        """Show Route trend… (one at a time) for the dock's machine."""
        from desktop.ui.baseline_trend import RouteTrendDialog

        if self.trend_dialog is None:
            self.trend_dialog = RouteTrendDialog(self.main.settings, self.panel.store,
                                                 self.machine() or None, self.main)
            self.trend_dialog.finished.connect(self._trend_closed)
            self.trend_dialog.failed.connect(self._say_failed)
        if self.trend_dialog.isVisible():
            self.trend_dialog.activateWindow()
        self.trend_dialog.show()
        self.main.route_trend_dialog = self.trend_dialog
        return self.trend_dialog

    def _trend_closed(self, *_: object) -> None:
        if self.trend_dialog is not None:
            self.trend_dialog.deleteLater()
        self.trend_dialog = None
        self.main.route_trend_dialog = None

    def _say_failed(self, line: str) -> None:
        self.main.statusBar().showMessage(f"Baseline: {line}", 8000)

    def _learnt(self, machine: str) -> None:
        self.main.statusBar().showMessage(f"Baseline of {machine} learnt", 8000)
        if machine == self.machine():
            self.refresh()

    def _dialog_closed(self, *_: object) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Cancel the judging and wait for its threads (the window is closing)."""
        self.poller.stop()
        if not self.runner.shutdown(wait_ms):
            log.error("baseline job did not stop within %d ms", wait_ms)
        for dialog in (self.dialog, self.trend_dialog):
            if dialog is not None:
                dialog.close()


class _CloseWatch(QObject):
    """Shuts the view down when the window closes (an event filter on the window)."""

    def __init__(self, view: BaselineView) -> None:
        super().__init__(view)
        self.view = view

    def eventFilter(self, watched: QObject, event: Any) -> bool:
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.Close:
            self.view.shutdown()
        return False


def install_baseline(window: QMainWindow) -> BaselineView | None:
    """Add the baseline to the Diagnosis dock (under the verdict) and Analysis → Learn
    baseline… (Ctrl+Shift+B) to ``window`` (after
    :func:`desktop.ui.diagnosis_panel.install_diagnosis`)."""
    panel = getattr(window, "diagnosis_panel", None)
    if panel is None:
        return None
    view = BaselineView(window, panel)
    layout = panel.layout()
    layout.insertWidget(layout.indexOf(panel.verdict) + 1, view)
    watch = _CloseWatch(view)
    window.installEventFilter(watch)
    act = QAction("Learn baseline…", window)
    act.setShortcut(QKeySequence("Ctrl+Shift+B"))
    act.setToolTip("Learn a machine's healthy baseline from its snapshots (Ctrl+Shift+B)")
    act.triggered.connect(view.open_learn)
    trend = QAction("Route trend…", window)
    trend.setShortcut(QKeySequence("Ctrl+Shift+T"))
    trend.setToolTip("A route's snapshots judged against the machine's baseline, over time "
                     "with the limits and the first alarm (Ctrl+Shift+T)")
    trend.triggered.connect(view.open_trend)
    menu = next((a.menu() for a in window.menuBar().actions()
                 if a.text() == "A&nalysis"), None)
    for a in (act, trend):
        window.addAction(a)
        if isinstance(menu, QMenu):
            menu.addAction(a)
    window.baseline_view = view  # type: ignore[attr-defined]
    window.act_learn_baseline = act  # type: ignore[attr-defined]
    window.act_route_trend = trend  # type: ignore[attr-defined]
    window.route_trend_dialog = None  # type: ignore[attr-defined]
    return view
