"""The workbench window: source panel, plots, channel list, labels, model, status bar.

It draws and forwards what the user asks; it holds no acquisition, inference or recording
state. A :class:`~desktop.session.base.Session` owns that — a
:class:`~desktop.session.live.LiveSession` for a source, a
:class:`~desktop.session.file.FileSession` for an opened recording — and the window
listens to its signals. The one QTimer here draws from the session's buffer, targeting
60 Hz and backing off to 20 Hz when frames get expensive.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QByteArray, QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop.core import paths
from desktop.core.errors import LinewatchError
from desktop.core.settings import Settings, save_settings
from desktop.core.types import SourceState, describe_malformed
from desktop.session.base import Session
from desktop.session.file import FileSession
from desktop.session.live import LiveSession
from desktop.sources.base import SampleSource
from desktop.streams.acquisition import Acquisition, RecordingResult
from desktop.ui.alarm_banner import AlarmBanner
from desktop.ui.alarms_panel import install_alarms
from desktop.ui.analysis_panel import install_analysis
from desktop.ui.baseline_panel import install_baseline
from desktop.ui.diagnosis_panel import install_diagnosis
from desktop.ui.frame_stats import FrameStats
from desktop.ui.label_editing import LabelHistory
from desktop.ui.labels_panel import LabelsPanel
from desktop.ui.live_plot import LivePlot
from desktop.ui.model_panel import ModelPanel
from desktop.ui.source_panel import SourcePanel
from desktop.ui.window_actions import ActionsMixin
from desktop.ui.window_files import FilesMixin
from desktop.ui.window_labels import LabelsMixin
from desktop.ui.window_parts import PartsMixin
from desktop.ui.window_view import ViewMixin
from desktop.ui.workspace_actions import install_workspace

log = logging.getLogger(__name__)


def recording_filter() -> str:
    """The Open dialog's filter, from the file-format registry (every registered format,
    a plug-in's included)."""
    from desktop.recording.registry import open_filter

    return open_filter()

TARGET_INTERVAL_MS = 16  # ~60 Hz
SLOWEST_INTERVAL_MS = 50  # 20 Hz under load


@dataclass
class WindowServices:
    """What the composition root (app.py) gives the window: factories, not classes."""

    make_source: Callable[[str, dict[str, object]], SampleSource]
    list_ports: Callable[[], list[tuple[str, str]]]
    versions: Callable[[], dict[str, str]]
    list_models: Callable[[], list[str]] = lambda: []
    #: Remembers the live model where `linewatch models promote --live` also writes it.
    remember_model: Callable[[str | None], None] = lambda _name: None


class MainWindow(ActionsMixin, ViewMixin, LabelsMixin, FilesMixin, PartsMixin, QMainWindow):
    """The window a plant engineer keeps open beside the line or at a desk."""

    measure_finished = Signal(dict)

    def __init__(self, settings: Settings, services: WindowServices,
                 started: float | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.setWindowTitle("Linewatch")
        self.resize(1200, 760)
        self.stats = FrameStats(started)
        self.session: Session | None = None
        self._retired: list[Session] = []
        self._before_open: tuple[Path, float | None, str | None] | None = None
        self._closing = False
        self.state = SourceState.CLOSED.value
        self.state_detail = ""
        self._rec_clock = QElapsedTimer()
        self._status_tick = 0.0
        self._slow_frames = 0
        self._measure_deadline: float | None = None
        self._measure_dialog = False
        self._pending_jump: int | None = None
        self.last_recording: RecordingResult | None = None
        self._follow_before_pause = True
        self.errors: list[str] = []

        self.plot = LivePlot()
        self.plot.show_verdicts = bool(settings.model)
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.plot, 1)
        # Across the window under the toolbar (in no layout): an alarm moves nothing.
        self.banner = AlarmBanner(self)
        self.banner.setVisible(False)
        self.banner.setStyleSheet("background: #c62828; color: white; font-weight: bold; "
                                  "font-size: 14pt; padding: 6px;")
        self.setCentralWidget(central)
        self._pending_arrivals: list[float] = []
        self.model_info: dict[str, object] = {}
        self.plot.follow_changed.connect(self._follow_changed)

        self.source_panel = SourcePanel()
        self.source_panel.connect_requested.connect(self.connect_source)
        self.source_panel.disconnect_requested.connect(self.disconnect_source)
        self.source_panel.refresh_ports_requested.connect(self.refresh_ports)
        dock = QDockWidget("Source", self)
        dock.setObjectName("source-dock")
        dock.setWidget(self.source_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.channel_list = QListWidget()
        self.channel_list.setToolTip("Tick to show a channel; double-click to change its colour")
        self.channel_list.itemChanged.connect(self._channel_toggled)
        self.channel_list.itemDoubleClicked.connect(self._pick_colour)
        dock = QDockWidget("Channels", self)
        dock.setObjectName("channels-dock")
        dock.setWidget(self.channel_list)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.model_panel = ModelPanel(services.list_models(), settings)
        self.model_panel.model_changed.connect(self._model_changed)
        self.model_panel.alarm_times_changed.connect(self._alarm_times_changed)
        self.model_panel.finetune_requested.connect(self.open_finetune)
        self.model_panel.versions_requested.connect(self.open_versions)
        self.model_panel.calibrate_requested.connect(self.open_calibrate)
        self.finetune_dialog: QDialog | None = None
        self.calibrate_dialog: QDialog | None = None
        self.process_refit_dialog: QDialog | None = None
        dock = QDockWidget("Model", self)
        dock.setObjectName("model-dock")
        dock.setWidget(self.model_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.undo_stack = QUndoStack(self)
        self._labels: LabelHistory | None = None
        self._shown_anchor: tuple[str, float] | None = None
        self._pending_span: tuple[float, float] | None = None
        self.selected_label: int | None = None
        self.labels_panel = LabelsPanel()
        self.labels_panel.jump_requested.connect(self.jump_to_label)
        self.labels_panel.delete_requested.connect(self.delete_label)
        self.labels_dock = QDockWidget("Labels", self)
        self.labels_dock.setObjectName("labels-dock")
        self.labels_dock.setWidget(self.labels_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.labels_dock)
        self._install_parts_dock()
        # The plots get the space: the labels list starts a few rows high.
        self.resizeDocks([self.labels_dock], [150], Qt.Orientation.Vertical)
        self.plot.label_span_drawn.connect(self._span_drawn)
        self.plot.label_edited.connect(self._label_edited)
        self.plot.label_selected.connect(self._label_selected)

        self._build_actions()
        self._build_files(column)  # overview strip, drag and drop, Open recent
        self._build_status_bar()
        self.refresh_ports()
        # The Analysis dock (spectra, bearing markers, ISO severity, trend) and [ / ] alarms.
        install_analysis(self)
        # Machine profiles (Ctrl+M), fault-frequency evidence (F7), the lane's policy.
        install_diagnosis(self)
        # Machine baselines: Learn baseline… (Ctrl+Shift+B), the level in the dock.
        install_baseline(self)
        # The Alarm log dock (Ctrl+Shift+L): logged alarms, acknowledge, show in signal.
        install_alarms(self)
        # File → Open/Save workspace… (source, model, view, layout; --workspace FILE).
        install_workspace(self)

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TARGET_INTERVAL_MS)
        self.timer.timeout.connect(self._frame)
        self.timer.start()
        if settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(settings.window_geometry.encode()))
        self._open_label_store()

    # -- read-only views of the session (for panels, tests and tools) --------------------
    @property
    def spec(self) -> str:
        return self.session.spec if self.session is not None else ""

    @property
    def acq(self) -> Acquisition | None:
        return self.session.acq if isinstance(self.session, LiveSession) else None

    @property
    def recording_path(self) -> Path | None:
        return self.session.recording_path if isinstance(self.session, LiveSession) else None

    # -- sessions ----------------------------------------------------------------------------
    def refresh_ports(self) -> None:
        self.source_panel.set_ports(self.services.list_ports())

    def _toggle_connect(self) -> None:
        if isinstance(self.session, LiveSession) and self.session.running:
            self.disconnect_source()
        else:
            spec, options = self.source_panel.spec_and_options()
            self.connect_source(spec, options)

    def connect_source(self, spec: str, options: dict[str, object] | None = None) -> None:
        """Start a live session on ``spec``; its worker builds and opens the source."""
        options = dict(options or {})
        self.source_panel.show_spec(spec, options)
        self.source_panel.clear_file()
        self.settings.last_source = spec
        session = LiveSession(spec, lambda: self.services.make_source(spec, options),
                              self.settings.history_seconds)
        self._begin(session)
        self.source_panel.set_connected(True)
        self.act_connect.setText("Disconnect")
        self.act_follow.setEnabled(True)
        self.plot.set_follow(True)
        session.start()

    def open_file(self, path: str | Path, rate: float | None = None,
                  decimal: str | None = None) -> None:
        """Open a recording as a file session: read in a worker, zoomed to fit when loaded,
        with its labels and (when a model is selected) whole-file verdicts."""
        session = FileSession(path, rate, decimal)
        # What a cancelled open puts back: the file shown before (reopened from its cache,
        # at once), else nothing.
        before = self.session
        self._before_open = ((before.path, before.rate, before.decimal)
                             if isinstance(before, FileSession) and before.view is not None
                             and before.view.complete else None)
        self._begin(session)
        self._remember_recent(path)
        # The panel names the file; Connect stays the live source last used (a plant
        # engineer opens a file to look at it, and Connect means "go live"), never a
        # silent replay of the file (that is still there: Replay file, Connect).
        self.source_panel.show_spec(self.settings.last_source or "demo", {})
        self.source_panel.show_file(Path(path).name, "opening…")
        self.source_panel.set_connected(False)
        self.act_connect.setText("Connect")
        self.plot.set_follow(False)
        self.act_follow.setEnabled(False)  # a file is not live
        self._job_progress(0.0, f"opening {Path(path).name}")
        session.start()

    def _begin(self, session: Session) -> None:
        """Make ``session`` the window's session: the old one is stopped and retired."""
        self._end_session()
        self.session = session
        self._files_closed()
        self.plot.clear_verdicts()
        self.plot.wall_clock = False
        self._set_alarm(False, "")
        self._set_state(SourceState.CONNECTING.value if session.kind == "live" else "loading",
                        session.spec)
        session.opened.connect(self._opened)
        session.open_failed.connect(self._open_failed)
        session.state_changed.connect(self._set_state)
        session.source_finished.connect(self._source_finished)
        session.progress.connect(self._job_progress)
        session.model_loaded.connect(self._model_loaded)
        session.model_failed.connect(self._model_failed)
        session.verdicts.connect(self._verdicts)
        session.alarm.connect(self._set_alarm)
        session.rows.connect(self._parts_rows)
        session.recording_started.connect(self._recording_started)
        session.recording_stopped.connect(self._recording_stopped)
        session.recording_failed.connect(self._recording_failed)
        model = self.settings.model
        self.model_panel.set_status("" if model else "inference off")
        session.set_model(self.model_ref(model), self.settings.alarm_raise_s,
                          self.settings.alarm_clear_s)

    def _end_session(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        session.stop()
        for signal in (session.opened, session.open_failed, session.state_changed,
                       session.source_finished, session.progress, session.model_loaded,
                       session.model_failed, session.verdicts, session.alarm, session.rows,
                       session.recording_started, session.recording_failed):
            signal.disconnect()
        # recording_stopped stays connected: the file is finalised after the stop.
        self._retired = [s for s in self._retired if not s.closed or s is session] + [session]
        self._job_done()

    def disconnect_source(self) -> None:
        had = self.session is not None
        self._end_session()
        self.act_record.setEnabled(False)
        self.source_panel.set_connected(False)
        self.act_connect.setText("Connect")
        if had:
            self._set_state(SourceState.CLOSED.value, "")
        self.source_panel.clear_file()
        self._set_recording_ui(False)

    def _opened(self) -> None:
        session = self.session
        if self._closing or session is None:
            return
        self.act_record.setEnabled(session.kind == "live")
        if session.kind == "file":
            self._job_done()
            self._configure_plot()
            self.refresh_labels()
            self.plot.zoom_to_fit(session.buffer)
            self._file_opened()
            self._show_file_in_panel()
            self._run_pending_jump()

    def _show_file_in_panel(self) -> None:
        """The Source panel names the open file: rate, channels, length."""
        session = self.session
        if not isinstance(session, FileSession) or session.view is None:
            return
        view = session.view
        rate = session.sample_rate()
        rate_text = (f"{'≈' if session.rate_is_estimate else ''}{rate:,.0f} Hz" if rate
                     else "rate unknown")
        n = len(view.channels)
        self.source_panel.show_file(session.path.name, f"{rate_text} × {n} channel"
                                    f"{'s' if n != 1 else ''} · {view.duration_s:,.1f} s")

    def _source_finished(self) -> None:
        """A replay reached its end, or a file is wholly loaded: show all of it."""
        if isinstance(self.session, LiveSession):
            self.statusBar().showMessage(f"{self.spec}: end of the recording", 8000)
        elif isinstance(self.session, FileSession):
            self._show_file_in_panel()  # the whole length, now that it is indexed
            counters = self.session.counters
            if counters is not None and counters.malformed:
                self.statusBar().showMessage(
                    f"{self.session.path.name}: skipped {counters.malformed:,} malformed "
                    f"line{'s' if counters.malformed != 1 else ''}: "
                    f"{describe_malformed(counters.malformed_by_kind)}", 15000)

    def _open_failed(self, message: str) -> None:
        session = self.session
        if isinstance(session, FileSession) and session.open_cancelled:
            self._open_cancelled(message)
            return
        self.errors.append(message)
        self._job_done()
        self.source_panel.clear_file()
        self.source_panel.set_connected(False)
        self.act_connect.setText("Connect")
        self._set_state("failed", message)
        self.statusBar().showMessage(message, 15000)

    def _open_cancelled(self, message: str) -> None:
        """Cancel before the file could be drawn: not an error; the file shown before is
        opened again (from its cache), else the window is left empty and idle."""
        self._job_done()
        before, self._before_open = self._before_open, None
        if before is not None and Path(before[0]).exists():
            self.open_file(*before)
        else:
            self._end_session()
            self.source_panel.clear_file()
            self.source_panel.set_connected(False)
            self.act_connect.setText("Connect")
            self._set_state(SourceState.CLOSED.value, "")
        self.statusBar().showMessage(message, 15000)

    # -- inference ---------------------------------------------------------------------------
    def _model_loaded(self, info: dict[str, object]) -> None:
        self.model_info = info
        self._parts_model_loaded(info)
        reason = f" ({info['channel_reason']})" if info.get("channel_reason") else ""
        where = "whole file" if isinstance(self.session, FileSession) else "live"
        self.model_panel.set_status(f"{info['name']} on {str(info['device']).upper()}, "
                                    f"{where}, channel '{info['channel']}'{reason}")
        if isinstance(self.session, FileSession):
            self._job_done()

    def _model_failed(self, message: str) -> None:
        self.errors.append(message)
        self._job_done()
        self.model_panel.set_status(f"⚠ {message}")

    def _verdicts(self, verdicts: list[dict]) -> None:
        self.plot.add_verdicts(verdicts)
        self._pending_arrivals.extend(v["arrived"] for v in verdicts if v.get("arrived"))

    def _set_alarm(self, active: bool, label: str) -> None:
        """The banner names the class being held (it follows the alarm's class)."""
        if active:
            where = self.model_info.get("name", "model")
            self.banner.setText(f"⚠ FAULT: {label} — held for ≥ {self.settings.alarm_raise_s:g} s"
                                f" ({where})" if self.model_info.get("kind") not in
                                ("quality", "process") else f"⚠ {label} ({where})")
        self.banner_class = label if active else ""
        self.banner.setVisible(active)

    def _model_changed(self, model: str) -> None:
        self.settings.model = model
        try:
            self.services.remember_model(model or None)
        except LinewatchError as exc:
            self.statusBar().showMessage(str(exc), 8000)
        if self.plot.show_verdicts != bool(model):
            self.plot.show_verdicts = bool(model)
            self._reconfigure()
        self._restart_model()

    def _alarm_times_changed(self, raise_s: float, clear_s: float) -> None:
        self.settings.alarm_raise_s, self.settings.alarm_clear_s = raise_s, clear_s
        self._restart_model()

    def _restart_model(self) -> None:
        self.plot.clear_verdicts()
        self._parts_model_changed(self.settings.model)
        self._set_alarm(False, "")
        model = self.settings.model
        self.model_panel.set_status(f"loading {model}…" if model else "inference off")
        if self.session is not None:
            if isinstance(self.session, FileSession) and model and self.session.loaded:
                self._job_progress(0.0, f"judging with {model}")
            self.session.set_model(self.model_ref(model), self.settings.alarm_raise_s,
                                   self.settings.alarm_clear_s)

    def model_ref(self, model: str) -> str:
        """The selected model as the session runs it: the built-in ``diagnosis`` model
        carries the machine chosen for this file or source (``diagnosis:MACHINE``, the
        Diagnosis dock's choice, remembered per source)."""
        if model != "diagnosis" or self.session is None:
            return model
        from desktop.ui.diagnosis_panel import source_key

        machine = self.settings.machine_by_source.get(source_key(self.session), "")
        return f"diagnosis:{machine}" if machine else model

    def _set_state(self, state: str, detail: str) -> None:
        self.state, self.state_detail = state, detail
        if isinstance(self.session, FileSession) and not self.session.busy:
            self._job_done()
        colours = {"connected": "#2e7d32", "lost": "#c62828", "reconnecting": "#ef6c00",
                   "failed": "#c62828", "connecting": "#ef6c00", "finished": "#1565c0",
                   "loading": "#ef6c00"}
        text = {"closed": "not connected", "failed": "could not open",
                "finished": "end of file" if isinstance(self.session, LiveSession)
                else "opened"}.get(state, state)
        if detail and state in ("lost", "failed", "reconnecting", "finished"):
            text += f": {detail}"
        counters = self.session.counters if isinstance(self.session, FileSession) else None
        if state == "finished" and counters is not None and counters.malformed:
            text += (f" · skipped {counters.malformed:,} malformed line"
                     f"{'s' if counters.malformed != 1 else ''}: "
                     f"{describe_malformed(counters.malformed_by_kind)}")
        colour = colours.get(state)
        style = f"color: white; background: {colour}; padding: 1px 6px;" if colour else ""
        self.state_label.setStyleSheet(style)
        shown = (Path(self.spec[5:]).name if self.spec.startswith("file:") else self.spec)
        self.state_label.setText(f"{shown}  {text}" if shown else text)
        self.state_label.setToolTip(f"{self.spec}  {text}" if self.spec else text)

    # -- recording ---------------------------------------------------------------------------
    def recordings_folder(self) -> Path:
        folder = self.settings.recordings_folder
        return Path(folder) if folder else paths.recordings_dir()

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Recordings folder",
                                                  str(self.recordings_folder()))
        if folder:
            self.settings.recordings_folder = folder

    def toggle_recording(self) -> None:
        session = self.session
        if not isinstance(session, LiveSession) or session.acq is None:
            return
        if session.recording_path is not None:
            session.stop_recording()
            self.act_record.setEnabled(False)  # until the file is finalised
            return
        self.start_recording()

    def start_recording(self, backfill_from: float | None = None) -> None:
        session = self.session
        if not isinstance(session, LiveSession):
            return
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.spec).strip("_") or "source"
        session.start_recording(self.recordings_folder() / f"{safe}-{stamp}.parquet",
                                backfill_from)

    def _recording_started(self, path: str) -> None:
        self._rec_clock.start()
        self._set_recording_ui(True)
        if self._pending_span is not None:
            start, end = self._pending_span
            self._pending_span = None
            self._ask_label(start, end)

    def _recording_stopped(self, result: RecordingResult) -> None:
        self.last_recording = result
        self._set_recording_ui(False)
        self.act_record.setEnabled(self.acq is not None)
        note = f"Saved {result.samples:,} samples to {result.out}"
        self.statusBar().showMessage(result.error or note, 10000)

    def _recording_failed(self, message: str) -> None:
        self.errors.append(message)
        self._set_recording_ui(False)
        self.act_record.setEnabled(self.acq is not None)
        self.record_label.setText(f"⚠ {message}")
        self.record_label.setStyleSheet("color: #c62828;")

    def _set_recording_ui(self, on: bool) -> None:
        self.act_record.setText("■ Stop recording" if on else "● Record")
        if on:
            self.record_label.setStyleSheet("color: white; background: #c62828; padding: 1px 6px;")
        elif not self.record_label.text().startswith("⚠"):
            self.record_label.setStyleSheet("")
            self.record_label.setText("")

    # -- fine-tuning and versions ------------------------------------------------------------
    def open_finetune(self) -> QDialog | None:
        """The fine-tune dialog (non-modal: the live view keeps running beside it). With a
        quality model selected: the parts fine-tune (from the labelled parts); with a
        process model: a status line saying why there is nothing to fine-tune."""
        # Imported on first use: the dialog and its plots are not needed at start-up.
        from desktop.ui.finetune_dialog import FinetuneDialog

        kind = self._selected_table_kind()
        if kind == "quality":
            return self.open_parts_finetune()
        if kind == "process":  # limits come from normal running data, not from labels
            return self.open_process_refit()
        events = self.label_history().store.list()
        models = [m for m in self.services.list_models() if m]
        dialog = FinetuneDialog(models, events, self.settings.model or "fault-cwru", self)
        dialog.promoted.connect(self._model_promoted)
        dialog.show()
        self.finetune_dialog = dialog
        return dialog

    def open_process_refit(self) -> QDialog:
        """Refit the selected process model on tables of this plant's normal operation."""
        from desktop.ui.process_refit_dialog import ProcessRefitDialog

        recent = self.settings.recent_files
        start = str(Path(recent[0]).parent) if recent else str(self.recordings_folder())
        dialog = ProcessRefitDialog(self.settings.model, self, start_dir=start)
        dialog.saved.connect(self._model_saved)
        dialog.promoted.connect(self._model_promoted)
        dialog.show()
        self.process_refit_dialog = dialog
        return dialog

    def _selected_table_kind(self) -> str:
        """``quality``/``process`` when the selected model is a table model, else ""."""
        from desktop.ml.model_files.registry import resolve

        name = self.settings.model
        if not name:
            return ""
        try:
            entry = resolve(name)
        except LinewatchError:
            return ""
        card = entry.card
        return card.kind if entry.tabular and card is not None else ""

    def open_versions(self) -> QDialog | None:
        from desktop.ui.versions_dialog import VersionsDialog

        name = self.settings.model
        if not name:
            self.statusBar().showMessage("Pick a model first", 5000)
            return None
        dialog = VersionsDialog(name, self)
        dialog.active_changed.connect(self._model_promoted)
        dialog.show()
        return dialog

    def open_calibrate(self) -> QDialog | None:
        """The calibrate dialog for the selected model, fed from the current source or open
        recording (non-modal; the work runs on a Job)."""
        from desktop.ml.model_files.registry import resolve
        from desktop.ui.calibrate_dialog import CalibrateDialog

        name = self.settings.model
        if not name:
            self.statusBar().showMessage("Pick a model first", 5000)
            return None
        try:
            entry = resolve(name)
        except LinewatchError as exc:
            self.statusBar().showMessage(str(exc), 8000)
            return None
        if entry.card is None or entry.card.kind != "fault":
            self.statusBar().showMessage(
                f"{name}: only fault classifiers can be calibrated (Calibrate adapts a "
                f"vibration model's normalisation to a new machine)", 8000)
            return None
        session = self.session
        where = (session.path.name if isinstance(session, FileSession)
                 else self.spec or "the window")
        dialog = CalibrateDialog(name, self._signal_reader(session, entry.card.input_channels),
                                 shipped=entry.shipped, parent=self, source=where)
        dialog.saved.connect(self._model_saved)
        dialog.promoted.connect(self._model_promoted)
        dialog.show()
        self.calibrate_dialog = dialog
        return dialog

    @staticmethod
    def _signal_reader(session: Session | None, hints: list[str]
                       ) -> Callable[[float], tuple[np.ndarray, float] | None]:
        """``read(seconds)`` → the last seconds of the model's channel (the channel rule
        of predict) and its rate, or None without signal. Called on the calibration job's
        thread: the buffer copies under its own lock, a file view reads its cache."""
        from desktop.analysis.channels import pick_channel

        def read(seconds: float) -> tuple[np.ndarray, float] | None:
            buffer = session.buffer if session is not None else None
            rate = session.sample_rate() if session is not None else None
            if buffer is None or not rate or buffer.written == 0:
                return None
            index = pick_channel([c.name for c in buffer.channels], hints=hints).index
            snap = buffer.latest(int(seconds * rate))
            return np.asarray(snap.values[:, index], dtype=np.float64), float(rate)

        return read

    def _model_saved(self, name: str) -> None:
        """A new version exists: list it, keep the model that runs."""
        self.model_panel.set_models(self.services.list_models(), self.settings.model)

    def _model_promoted(self, name: str) -> None:
        """A new or rolled-back version is active: run it live from now on."""
        self.model_panel.set_models(self.services.list_models(), name)
        self._model_changed(name)

    # -- the frame ---------------------------------------------------------------------------
    def _frame(self) -> None:
        started = time.perf_counter()
        drew = False
        buffer = self.session.buffer if self.session is not None else None
        if buffer is not None:
            if buffer.channels != self.plot.channels:
                self._configure_plot()
            drew = self.plot.draw(buffer)
            if drew and self.session is not None:
                self.session.frame_drawn()  # a live session loads its model after this
            self._files_tick()
            if drew and self._pending_arrivals:
                now = time.monotonic()
                self.stats.verdict_latency_ms.extend(
                    (now - t) * 1000.0 for t in self._pending_arrivals)
                self._pending_arrivals.clear()
        cost_ms = (time.perf_counter() - started) * 1000.0
        self.stats.frame(drew, cost_ms)
        self._adapt(cost_ms)
        if started - self._status_tick >= 0.25:
            self._status_tick = started
            self._update_status()
        if self._measure_deadline is not None and started >= self._measure_deadline:
            self._finish_measure()

    def _adapt(self, cost_ms: float) -> None:
        """60 Hz while frames are cheap; back off towards 20 Hz when they are not."""
        interval = self.timer.interval()
        if cost_ms > 0.6 * interval:
            self._slow_frames += 1
            if self._slow_frames >= 5 and interval < SLOWEST_INTERVAL_MS:
                self.timer.setInterval(min(SLOWEST_INTERVAL_MS, interval + 8))
                self._slow_frames = 0
        else:
            self._slow_frames = max(0, self._slow_frames - 1)
            if cost_ms < 0.3 * TARGET_INTERVAL_MS and interval > TARGET_INTERVAL_MS:
                self.timer.setInterval(max(TARGET_INTERVAL_MS, interval - 1))

    def rate_text(self) -> str:
        """The status bar's rate: ``12,000 Hz × 2 ch``; ``≈`` marks a measured estimate."""
        session = self.session
        if session is None or session.buffer is None:
            return ""
        rate = session.sample_rate()
        n_ch = len(session.buffer.channels)
        if not rate:
            return f"rate unknown × {n_ch} ch"
        return f"{'≈' if session.rate_is_estimate else ''}{rate:,.0f} Hz × {n_ch} ch"

    def _update_status(self) -> None:
        if self._labels is not None and self._label_anchor() != self._shown_anchor:
            self.refresh_labels()
        session = self.session
        counters = session.counters if session is not None else None
        self.rate_label.setText(self.rate_text())
        if session is not None and session.rate_is_estimate:
            self.rate_label.setToolTip("Estimated from the samples' times (the source states "
                                       "no rate)")
        if counters is None:
            self.counter_label.setText("")
            return
        bad = ", ".join(f"{k} {v}" for k, v in sorted(counters.malformed_by_kind.items()))
        self.counter_label.setText(
            f"received {counters.received:,} · malformed {counters.malformed:,}"
            + (f" ({bad})" if bad else "") + f" · dropped {counters.dropped:,}")
        acq = self.acq
        rec = acq.recording if acq is not None else None
        if rec is not None and self.recording_path is not None:
            secs = self._rec_clock.elapsed() / 1000.0
            self.record_label.setText(
                f"● REC {int(secs // 60):02d}:{secs % 60:04.1f}  "
                f"{rec.bytes_on_disk / 1e6:.1f} MB  {self.recording_path.name}")

    # -- measurement -------------------------------------------------------------------------
    def start_measure(self, seconds: float, show_dialog: bool = False,
                      started: float | None = None) -> None:
        """Measure frames for ``seconds`` and emit :attr:`measure_finished` with the figures.

        ``started`` (a perf_counter time) lets ``first_draw_s`` count from program start.
        """
        self.stats = FrameStats(started)
        self._measure_dialog = show_dialog
        # The window runs ``seconds`` from now (start-up before it is not counted twice).
        self._measure_deadline = time.perf_counter() + seconds
        if show_dialog:
            self.statusBar().showMessage(f"Measuring for {seconds:g} s…", int(seconds * 1000))

    def measurement(self) -> dict[str, object]:
        """Figures for ``--measure`` and Diagnostics; strict JSON (None, never NaN)."""
        result: dict[str, object] = dict(self.stats.summary())
        session = self.session
        counters = session.counters if session is not None else None
        rate = session.sample_rate() if session is not None else None
        result.update({
            "received": counters.received if counters else 0,
            "dropped": counters.dropped if counters else 0,
            "malformed": counters.malformed if counters else 0,
            "source": self.spec,
            "sample_rate": round(rate, 3) if rate else None,
            "labels_shown": self.plot.labels.count(),
            "model": self.settings.model or None,
            "timer_interval_ms": self.timer.interval(),
        })
        if session is not None:
            # a file's index_s, verdict_s and whole-file verdicts (a live session: none)
            result.update(session.measure_figures())
        return result

    def _finish_measure(self) -> None:
        self._measure_deadline = None
        result = self.measurement()
        self.measure_finished.emit(result)
        if self._measure_dialog:
            QMessageBox.information(self, "Diagnostics",
                                    json.dumps(result, indent=2, allow_nan=False))

    # -- help --------------------------------------------------------------------------------
    def about_text(self) -> str:
        versions = self.services.versions()
        rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in versions.items())
        return (f"<h3>Linewatch {versions.get('Linewatch', '')}</h3>"
                "<p>Live sensor feeds, recordings and fault models for plant engineers.</p>"
                f"<table>{rows}</table>")

    def show_about(self) -> None:
        QMessageBox.about(self, "About Linewatch", self.about_text())

    # -- open a file -------------------------------------------------------------------------
    def _open_recording(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", str(self.recordings_folder()),
                                              recording_filter())
        if path:
            self.open_file(path)

    # -- closing -----------------------------------------------------------------------------
    def closeEvent(self, event: object) -> None:
        self._closing = True  # late signals from winding-down workers are ignored from here
        self.timer.stop()
        self.disconnect_source()
        for session in self._retired:
            session.wait(30_000)
        self.settings.window_geometry = bytes(
            self.saveGeometry().toBase64().data()).decode()
        try:
            save_settings(self.settings)
        except OSError as exc:
            log.warning("could not save settings: %s", exc)
        super().closeEvent(event)  # type: ignore[arg-type]
