"""The live workbench window: source panel, live plots, channel list, status bar.

It only wires workers to panels. Everything that touches a device, a file or a recording
runs in :class:`~desktop.workers.acquisition_worker.AcquisitionWorker` on its own thread;
the one QTimer here draws from ring-buffer snapshots, targeting 60 Hz and backing off to
20 Hz when frames get expensive.
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

from PySide6.QtCore import QByteArray, QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPixmap, QUndoStack
from PySide6.QtWidgets import (
    QColorDialog,
    QDialog,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStatusBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.core import paths
from desktop.core.errors import LinewatchError
from desktop.core.settings import Settings, save_settings
from desktop.core.types import SourceState
from desktop.labels.event import LabelEvent
from desktop.labels.store import LabelStore
from desktop.sources.base import SampleSource
from desktop.streams.acquisition import Acquisition, RecordingResult
from desktop.ui.frame_stats import FrameStats
from desktop.ui.label_editing import AddLabel, DeleteLabel, EditLabel, LabelDialog, LabelHistory
from desktop.ui.labels_panel import LabelsPanel
from desktop.ui.live_plot import LivePlot
from desktop.ui.model_panel import ModelPanel
from desktop.ui.source_panel import SourcePanel
from desktop.workers.acquisition_worker import AcquisitionThread, AcquisitionWorker
from desktop.workers.inference_worker import InferenceThread, InferenceWorker

log = logging.getLogger(__name__)

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


class MainWindow(QMainWindow):
    """The window a plant engineer keeps open beside the line."""

    measure_finished = Signal(dict)

    def __init__(self, settings: Settings, services: WindowServices,
                 started: float | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.setWindowTitle("Linewatch")
        self.resize(1200, 760)
        self.stats = FrameStats(started)
        self.acq: Acquisition | None = None
        self._thread: AcquisitionThread | None = None
        self._retired: list[AcquisitionThread] = []
        self._closing = False
        self.spec = ""
        self.state = SourceState.CLOSED.value
        self.state_detail = ""
        self.recording_path: Path | None = None
        self.last_recording: RecordingResult | None = None
        self._rec_clock = QElapsedTimer()
        self._rate_mark: tuple[float, int] | None = None
        self._rate_hz = 0.0
        self._status_tick = 0.0
        self._slow_frames = 0
        self._measure_deadline: float | None = None
        self.errors: list[str] = []

        self.plot = LivePlot()
        self.plot.show_verdicts = bool(settings.model)
        self.banner = QLabel("")
        self.banner.setVisible(False)
        self.banner.setStyleSheet("background: #c62828; color: white; font-weight: bold; "
                                  "font-size: 14pt; padding: 6px;")
        central = QWidget()
        column = QVBoxLayout(central)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self.banner)
        column.addWidget(self.plot, 1)
        self.setCentralWidget(central)
        self._inference: InferenceThread | None = None
        self._retired_inference: list[InferenceThread] = []
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
        self.finetune_dialog: QDialog | None = None
        dock = QDockWidget("Model", self)
        dock.setObjectName("model-dock")
        dock.setWidget(self.model_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.undo_stack = QUndoStack(self)
        self._labels: LabelHistory | None = None
        self._anchor: tuple[str, float] | None = None  # (recording, its first sample's time)
        self._pending_span: tuple[float, float] | None = None
        self._shown_anchor: tuple[str, float] | None = None
        self.selected_label: int | None = None
        self.labels_panel = LabelsPanel()
        self.labels_panel.jump_requested.connect(self.jump_to_label)
        self.labels_panel.delete_requested.connect(self.delete_label)
        dock = QDockWidget("Labels", self)
        dock.setObjectName("labels-dock")
        dock.setWidget(self.labels_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.plot.label_span_drawn.connect(self._span_drawn)
        self.plot.label_edited.connect(self._label_edited)
        self.plot.label_selected.connect(self._label_selected)

        self._build_actions()
        self._build_status_bar()
        self.refresh_ports()

        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TARGET_INTERVAL_MS)
        self.timer.timeout.connect(self._frame)
        self.timer.start()
        if settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(settings.window_geometry.encode()))

    # -- actions, menus, shortcuts ---------------------------------------------------------
    def _action(self, text: str, shortcut: str | None, slot: Callable[..., object],
                checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else (tip or text))
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.act_connect = self._action("Connect", "F5", self._toggle_connect,
                                        tip="Connect / disconnect the source")
        self.act_record = self._action("● Record", "Ctrl+R", self.toggle_recording,
                                       tip="Start / stop recording to the recordings folder")
        self.act_record.setEnabled(False)
        self.act_pause = self._action("Pause view", "Space", self._pause, checkable=True,
                                      tip="Freeze the plots; acquisition and recording go on")
        self.act_follow = self._action("Follow live", "L", self.plot.set_follow,
                                       checkable=True)
        self.act_follow.setChecked(True)
        self.act_fit = self._action("Zoom to fit", "Ctrl+0", self._zoom_fit)
        self.act_cursors = self._action("Cursors", "C", self.plot.set_cursors, checkable=True,
                                        tip="Two measurement cursors: Δt, 1/Δt, values")
        self.act_overlay = self._action("Overlay channels", "O", self._set_overlay,
                                        checkable=True, tip="All channels in one lane")
        self.act_autoscale = self._action("Autoscale Y", "A", self.plot.set_autoscale,
                                          checkable=True)
        self.act_autoscale.setChecked(True)

        self.act_label_mode = self._action("Label mode", "E", self.plot.set_label_mode,
                                           checkable=True,
                                           tip="Drag across a lane to label an event")
        self.act_undo = self.undo_stack.createUndoAction(self, "Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_redo = self.undo_stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for action in (self.act_undo, self.act_redo):
            self.addAction(action)
        self.act_delete_label = self._action("Delete label", "Del",
                                             lambda: self.selected_label is not None
                                             and self.delete_label(self.selected_label))
        for k in range(1, 10):
            self._action(f"Quick class {k}", str(k), lambda _=False, k=k: self.quick_class(k))

        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        for action in (self.act_connect, self.act_record, self.act_pause, self.act_follow,
                       self.act_fit, self.act_cursors, self.act_overlay, self.act_autoscale,
                       self.act_label_mode):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Span "))
        self.span = QDoubleSpinBox()
        self.span.setRange(0.01, 3600.0)
        self.span.setDecimals(2)
        self.span.setSuffix(" s")
        self.span.setValue(10.0)
        self.span.setToolTip("Visible time span while following live")
        self.span.valueChanged.connect(self._span_changed)
        toolbar.addWidget(self.span)
        toolbar.addWidget(QLabel(" History "))
        self.history = QDoubleSpinBox()
        self.history.setRange(1.0, 3600.0)
        self.history.setDecimals(0)
        self.history.setSuffix(" s")
        self.history.setValue(self.settings.history_seconds)
        self.history.setToolTip("Seconds kept in memory per channel (applies on next connect)")
        self.history.valueChanged.connect(self._history_changed)
        toolbar.addWidget(self.history)
        self.addToolBar(toolbar)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self._action("Open recording…", "Ctrl+O", self._open_recording))
        file_menu.addAction(self._action("Choose recordings folder…", None,
                                         self._choose_folder))
        file_menu.addSeparator()
        file_menu.addAction(self._action("Quit", "Ctrl+Q", self.close))
        acq_menu = menu.addMenu("&Acquisition")
        for action in (self.act_connect, self.act_record):
            acq_menu.addAction(action)
        edit_menu = menu.addMenu("&Edit")
        for action in (self.act_undo, self.act_redo, self.act_label_mode,
                       self.act_delete_label):
            edit_menu.addAction(action)
        view_menu = menu.addMenu("&View")
        for action in (self.act_pause, self.act_follow, self.act_fit, self.act_cursors,
                       self.act_overlay, self.act_autoscale):
            view_menu.addAction(action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("Diagnostics (5 s measurement)", None,
                                         lambda: self.start_measure(5.0, show_dialog=True)))
        help_menu.addAction(self._action("About Linewatch", None, self.show_about))

    def _build_status_bar(self) -> None:
        bar = QStatusBar(self)
        self.state_label = QLabel("not connected")
        self.rate_label = QLabel("")
        self.counter_label = QLabel("")
        self.record_label = QLabel("")
        for w in (self.state_label, self.rate_label, self.counter_label):
            bar.addWidget(w)
        bar.addPermanentWidget(self.record_label)
        self.setStatusBar(bar)

    # -- connecting ------------------------------------------------------------------------
    def refresh_ports(self) -> None:
        self.source_panel.set_ports(self.services.list_ports())

    def _toggle_connect(self) -> None:
        if self._thread is not None:
            self.disconnect_source()
        else:
            spec, options = self.source_panel.spec_and_options()
            self.connect_source(spec, options)

    def connect_source(self, spec: str, options: dict[str, object] | None = None,
                       whole_file: bool = False) -> None:
        """Start acquiring from ``spec``; the worker builds and opens it off this thread."""
        self.disconnect_source()
        options = dict(options or {})
        self.spec = spec
        self._anchor = None
        self.source_panel.show_spec(spec, options)
        self.settings.last_source = spec
        worker = AcquisitionWorker(lambda: self.services.make_source(spec, options),
                                   None if whole_file else self.settings.history_seconds)
        worker.opened.connect(self._opened)
        worker.open_failed.connect(self._open_failed)
        worker.state_changed.connect(self._state_changed)
        worker.recording_started.connect(self._recording_started)
        worker.recording_stopped.connect(self._recording_stopped)
        worker.recording_failed.connect(self._recording_failed)
        self._thread = AcquisitionThread(worker)
        self._set_state(SourceState.CONNECTING.value, spec)
        self.source_panel.set_connected(True)
        self.act_connect.setText("Disconnect")
        self._rate_mark = None
        self._thread.start()

    def _release_thread(self) -> AcquisitionThread | None:
        """Stop the acquisition thread; keep a reference until it has really ended
        (a QThread destroyed while running aborts the whole program)."""
        thread, self._thread = self._thread, None
        if thread is not None and not thread.stop():
            log.warning("acquisition thread is slow to stop; keeping it until it ends")
            self._retired.append(thread)
        self._retired = [t for t in self._retired if t.thread.isRunning()]
        return thread

    def disconnect_source(self) -> None:
        self._stop_inference()
        thread = self._release_thread()
        self.acq = None
        self.act_record.setEnabled(False)
        self.source_panel.set_connected(False)
        self.act_connect.setText("Connect")
        if thread is not None:
            self._set_state(SourceState.CLOSED.value, "")
        self._set_recording_ui(False)

    def _opened(self, acq: Acquisition) -> None:
        if self._closing or self._thread is None or self._thread.worker.acquisition is not acq:
            return  # a worker that was already replaced or stopped: not ours any more
        self.acq = acq
        self.act_record.setEnabled(True)
        self._start_inference()

    # -- inference ---------------------------------------------------------------------------
    def _start_inference(self) -> None:
        """(Re)start the model on the current source; the old worker winds down by itself."""
        self._stop_inference()
        self.plot.clear_verdicts()
        self._set_alarm(False, "")
        model = self.settings.model
        if self._closing:
            return
        if not model or self.acq is None:
            self.model_panel.set_status("inference off" if not model else "")
            return
        acq = self.acq
        worker = InferenceWorker(model, lambda: acq.buffer, None, self.settings.alarm_raise_s,
                                 self.settings.alarm_clear_s)
        worker.loaded.connect(self._model_loaded)
        worker.failed.connect(self._model_failed)
        worker.verdicts.connect(self._verdicts)
        worker.alarm.connect(self._set_alarm)
        self._inference = InferenceThread(worker)
        self.model_panel.set_status(f"loading {model}…")
        self._inference.start()

    def _stop_inference(self) -> None:
        thread, self._inference = self._inference, None
        if thread is not None:
            for signal in (thread.worker.verdicts, thread.worker.alarm, thread.worker.loaded,
                           thread.worker.failed):
                signal.disconnect()
            thread.request_stop()  # no wait: it ends within one pacing period
            self._retired_inference.append(thread)
        self._retired_inference = [t for t in self._retired_inference if t.running]

    def _model_loaded(self, info: dict[str, object]) -> None:
        self.model_info = info
        self.model_panel.set_status(f"{info['name']} on {str(info['device']).upper()}, "
                                    f"channel '{info['channel']}'")

    def _model_failed(self, message: str) -> None:
        self.errors.append(message)
        self.model_panel.set_status(f"⚠ {message}")

    def _verdicts(self, verdicts: list[dict]) -> None:
        self.plot.add_verdicts(verdicts)
        self._pending_arrivals.extend(v["arrived"] for v in verdicts if v.get("arrived"))

    def _set_alarm(self, active: bool, label: str) -> None:
        if active:
            where = self.model_info.get("name", "model")
            self.banner.setText(f"⚠ FAULT: {label} — held for ≥ {self.settings.alarm_raise_s:g} s"
                                f" ({where})")
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
        self._start_inference()

    def _alarm_times_changed(self, raise_s: float, clear_s: float) -> None:
        self.settings.alarm_raise_s, self.settings.alarm_clear_s = raise_s, clear_s
        self._start_inference()

    def _open_failed(self, message: str) -> None:
        self.errors.append(message)
        self._release_thread()
        self.source_panel.set_connected(False)
        self.act_connect.setText("Connect")
        self._set_state("failed", message)
        self.statusBar().showMessage(message, 15000)

    def _state_changed(self, state: str, detail: str) -> None:
        self._set_state(state, detail)

    def _set_state(self, state: str, detail: str) -> None:
        self.state, self.state_detail = state, detail
        colours = {"connected": "#2e7d32", "lost": "#c62828", "reconnecting": "#ef6c00",
                   "failed": "#c62828", "connecting": "#ef6c00", "finished": "#1565c0"}
        text = {"closed": "not connected", "failed": "could not connect"}.get(state, state)
        if detail and state in ("lost", "failed", "reconnecting", "finished"):
            text += f": {detail}"
        colour = colours.get(state)
        style = f"color: white; background: {colour}; padding: 1px 6px;" if colour else ""
        self.state_label.setStyleSheet(style)
        self.state_label.setText(f"{self.spec}  {text}" if self.spec else text)

    # -- per-source view settings ------------------------------------------------------------
    def _view_state(self) -> dict[str, object]:
        return self.settings.views.setdefault(self.spec, {})

    def _configure_plot(self) -> None:
        assert self.acq is not None and self.acq.buffer is not None
        view = self._view_state()
        mode = str(view.get("mode", self.settings.plot_mode))
        self.plot.sample_rate = self.acq.buffer.sample_rate
        self.plot.configure(self.acq.buffer.channels, mode,
                            dict(view.get("colours", {})),  # type: ignore[arg-type]
                            dict(view.get("visible", {})))  # type: ignore[arg-type]
        self.act_overlay.blockSignals(True)
        self.act_overlay.setChecked(self.plot.mode == "overlay")
        self.act_overlay.blockSignals(False)
        if "span_s" in view:
            self.span.setValue(float(view["span_s"]))  # type: ignore[arg-type]
        self._fill_channel_list()

    def _fill_channel_list(self) -> None:
        self.channel_list.blockSignals(True)
        self.channel_list.clear()
        for ch in self.plot.channels:
            item = QListWidgetItem(f"{ch.name} [{ch.unit}]" if ch.unit else ch.name)
            item.setData(Qt.ItemDataRole.UserRole, ch.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if self.plot.visible[ch.name]
                               else Qt.CheckState.Unchecked)
            pix = QPixmap(12, 12)
            pix.fill(QColor(self.plot.colours[ch.name]))
            item.setIcon(QIcon(pix))
            self.channel_list.addItem(item)
        self.channel_list.blockSignals(False)

    def _channel_toggled(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        visible = dict(self.plot.visible)
        visible[name] = item.checkState() == Qt.CheckState.Checked
        self._view_state()["visible"] = visible
        self._reconfigure()

    def set_channel_colour(self, name: str, colour: str) -> None:
        colours = dict(self.plot.colours)
        colours[name] = colour
        self._view_state()["colours"] = colours
        self._reconfigure()

    def _pick_colour(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        colour = QColorDialog.getColor(QColor(self.plot.colours.get(name, "#ffffff")), self)
        if colour.isValid():
            self.set_channel_colour(name, colour.name())

    def _set_overlay(self, on: bool) -> None:
        mode = "overlay" if on else "lanes"
        self.settings.plot_mode = mode
        self._view_state()["mode"] = mode
        self._reconfigure()

    def _reconfigure(self) -> None:
        if self.acq is not None and self.acq.buffer is not None:
            self._configure_plot()

    def _span_changed(self, value: float) -> None:
        self.plot.span_s = value
        if self.spec:
            self._view_state()["span_s"] = value

    def _history_changed(self, value: float) -> None:
        self.settings.history_seconds = float(value)

    def _follow_changed(self, on: bool) -> None:
        self.act_follow.blockSignals(True)
        self.act_follow.setChecked(on)
        self.act_follow.blockSignals(False)

    def _pause(self, on: bool) -> None:
        self.plot.paused = on
        self.statusBar().showMessage(
            "View paused: acquisition and recording continue" if on else "", 4000)

    def _zoom_fit(self) -> None:
        self.plot.set_follow(False)
        self.plot.zoom_to_fit()

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
        if self._thread is None or self.acq is None:
            return
        worker = self._thread.worker
        if self.recording_path is not None:
            worker.request_stop_recording()
            self.act_record.setEnabled(False)  # until the file is finalised
            return
        self.start_recording()

    def start_recording(self, backfill_from: float | None = None) -> None:
        if self._thread is None:
            return
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", self.spec).strip("_") or "source"
        path = self.recordings_folder() / f"{safe}-{stamp}.parquet"
        self._thread.worker.request_recording(path, backfill_from)

    def _recording_started(self, path: str) -> None:
        self.recording_path = Path(path)
        self._rec_clock.start()
        self._set_recording_ui(True)
        self._anchor = None
        if self._pending_span is not None:
            start, end = self._pending_span
            self._pending_span = None
            self._ask_label(start, end)

    def _recording_stopped(self, result: RecordingResult) -> None:
        self.last_recording = result
        self._anchor = None  # new labels need a new recording
        self.recording_path = None
        self._set_recording_ui(False)
        self.act_record.setEnabled(self.acq is not None)
        note = f"Saved {result.samples:,} samples to {result.out}"
        self.statusBar().showMessage(result.error or note, 10000)

    def _recording_failed(self, message: str) -> None:
        self.errors.append(message)
        self.recording_path = None
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
    def open_finetune(self) -> QDialog:
        """The fine-tune dialog (non-modal: the live view keeps running beside it)."""
        # Imported here: it pulls in torch, which would add seconds to every start-up.
        from desktop.ui.finetune_dialog import FinetuneDialog

        events = self.label_history().store.list()
        models = [m for m in self.services.list_models() if m]
        dialog = FinetuneDialog(models, events, self.settings.model or "fault-cwru", self)
        dialog.promoted.connect(self._model_promoted)
        dialog.show()
        self.finetune_dialog = dialog
        return dialog

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

    def _model_promoted(self, name: str) -> None:
        """A new or rolled-back version is active: run it live from now on."""
        self.model_panel.set_models(self.services.list_models(), name)
        self._model_changed(name)

    # -- labels ------------------------------------------------------------------------------
    def label_history(self) -> LabelHistory:
        """The label store, opened on first use (a damaged file is reported, not raised)."""
        if self._labels is None:
            self._labels = LabelHistory(LabelStore(), self.refresh_labels)
        return self._labels

    def _label_anchor(self) -> tuple[str, float] | None:
        """(recording, time of its first sample): labels store times from the recording's
        start, so they stay valid when the file is replayed or opened elsewhere."""
        if self._anchor is not None:
            return self._anchor
        acq = self.acq
        if acq is None:
            return None
        rec = acq.recording
        if rec is not None and self.recording_path is not None and rec.first_time is not None:
            self._anchor = (str(self.recording_path), rec.first_time)
        elif self.spec.startswith("replay:") and acq.buffer is not None:
            first = acq.buffer.sample_at(float("-inf"))
            if first is not None and acq.buffer.written == (acq.source.total_samples or -1):
                self._anchor = (self.spec.partition(":")[2], first[0])
        return self._anchor

    def _span_drawn(self, start: float, end: float) -> None:
        if self._label_anchor() is not None:
            self._ask_label(start, end)
            return
        if self.acq is None:
            return
        answer = QMessageBox.question(
            self, "Start recording?",
            "A label without its signal is useless for training: labels are kept with the "
            "recording they describe.\n\nStart recording now? (The history still in memory "
            "from just before this event is saved too.)")
        if answer == QMessageBox.StandardButton.Yes:
            self._pending_span = (start, end)
            self.start_recording(backfill_from=start - 1.0)
        else:
            self.statusBar().showMessage("Not labelled: start recording to label live events",
                                         8000)

    def _ask_label(self, start: float, end: float) -> None:
        classes = list(dict.fromkeys(
            [name for name, _ in self.label_history().store.labels()]
            + list(self.model_info.get("classes", []))))  # type: ignore[arg-type]
        dialog = LabelDialog(classes, start, end, self)
        if dialog.exec() == LabelDialog.DialogCode.Accepted and dialog.label.currentText():
            self.create_label(start, end, dialog.label.currentText().strip(),
                              dialog.note.text().strip())

    def create_label(self, start: float, end: float, label: str, note: str = "",
                     channel: str = "") -> LabelEvent | None:
        """Label ``[start, end]`` (signal times of this window) in the current recording."""
        anchor = self._label_anchor()
        if anchor is None:
            self.statusBar().showMessage("Labels need a recording: press Record first", 8000)
            return None
        recording, t0 = anchor
        try:
            event = LabelEvent(id=None, recording=recording, start_s=start - t0,
                               end_s=end - t0, label=label, channel=channel, note=note,
                               source=self.spec)
        except LinewatchError as exc:
            self.statusBar().showMessage(str(exc), 8000)
            return None
        command = AddLabel(self.label_history(), event)
        self.undo_stack.push(command)
        self.selected_label = command.event.id
        return command.event

    def delete_label(self, event_id: int) -> None:
        self.undo_stack.push(DeleteLabel(self.label_history(), event_id))
        self.selected_label = None

    def quick_class(self, k: int) -> None:
        """Keys 1–9: give the selected event the k-th most used class."""
        if self.selected_label is None:
            return
        ranked = [name for name, _ in self.label_history().store.labels()]
        if k <= len(ranked):
            self.undo_stack.push(EditLabel(self.label_history(), self.selected_label,
                                           label=ranked[k - 1]))

    def _label_edited(self, event_id: int, start: float, end: float) -> None:
        anchor = self._label_anchor()
        t0 = anchor[1] if anchor else 0.0
        self.undo_stack.push(EditLabel(self.label_history(), event_id, start_s=start - t0,
                                       end_s=end - t0))

    def _label_selected(self, event_id: int) -> None:
        self.selected_label = event_id

    def refresh_labels(self) -> None:
        """Redraw regions for this recording and the panel's list of all events."""
        store = self.label_history().store
        events = store.list()
        self.labels_panel.set_events(events)
        anchor = self._label_anchor()
        shown = {}
        if anchor is not None:
            recording, t0 = anchor
            shown = {int(e.id): (e.start_s + t0, e.end_s + t0, e.label)
                     for e in events if e.recording == recording}
        self.plot.labels.set_events(shown)

    def jump_to_label(self, event_id: int) -> None:
        event = self.label_history().store.get(self.label_history().resolve(event_id))
        self.selected_label = event.id
        anchor = self._label_anchor()
        if anchor is not None and anchor[0] == event.recording:
            self.plot.show_span(event.start_s + anchor[1], event.end_s + anchor[1])
            return
        if Path(event.recording).exists():
            self.open_file(event.recording)
            QTimer.singleShot(800, lambda: self.jump_to_label(int(event.id)))
        else:
            self.statusBar().showMessage(f"{event.recording} is not on this PC", 8000)

    # -- the frame ---------------------------------------------------------------------------
    def _frame(self) -> None:
        started = time.perf_counter()
        drew = False
        acq = self.acq
        buffer = acq.buffer if acq is not None else None
        if buffer is not None:
            if buffer.channels != self.plot.channels:
                self._configure_plot()
            drew = self.plot.draw(buffer)
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

    def _update_status(self) -> None:
        if self._labels is not None and self._label_anchor() != self._shown_anchor:
            self._shown_anchor = self._label_anchor()
            self.refresh_labels()
        acq = self.acq
        if acq is None:
            self.rate_label.setText("")
            self.counter_label.setText("")
            return
        counters = acq.counters
        now = time.perf_counter()
        if self._rate_mark is not None and now > self._rate_mark[0]:
            inst = (counters.received - self._rate_mark[1]) / (now - self._rate_mark[0])
            self._rate_hz = inst if self._rate_hz == 0 else 0.7 * self._rate_hz + 0.3 * inst
        self._rate_mark = (now, counters.received)
        n_ch = len(acq.buffer.channels) if acq.buffer is not None else 0
        self.rate_label.setText(f"{self._rate_hz:,.0f} Hz × {n_ch} ch")
        bad = ", ".join(f"{k} {v}" for k, v in sorted(counters.malformed_by_kind.items()))
        self.counter_label.setText(
            f"received {counters.received:,} · malformed {counters.malformed:,}"
            + (f" ({bad})" if bad else "") + f" · dropped {counters.dropped:,}")
        rec = acq.recording
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
        self._measure_deadline = (started or time.perf_counter()) + seconds
        if show_dialog:
            self.statusBar().showMessage(f"Measuring for {seconds:g} s…", int(seconds * 1000))

    def measurement(self) -> dict[str, object]:
        result: dict[str, object] = dict(self.stats.summary())
        counters = self.acq.counters if self.acq is not None else None
        result.update({
            "received": counters.received if counters else 0,
            "dropped": counters.dropped if counters else 0,
            "malformed": counters.malformed if counters else 0,
            "source": self.spec,
            "model": self.settings.model or None,
            "timer_interval_ms": self.timer.interval(),
        })
        return result

    def _finish_measure(self) -> None:
        self._measure_deadline = None
        result = self.measurement()
        self.measure_finished.emit(result)
        if getattr(self, "_measure_dialog", False):
            QMessageBox.information(self, "Diagnostics", json.dumps(result, indent=2))

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
                                              "Recordings (*.parquet *.csv *.tsv *.txt)")
        if path:
            self.open_file(path)

    def open_file(self, path: str) -> None:
        """Load a whole recording for viewing: replayed flat out into a big enough history."""
        self.connect_source(f"replay:{path}", {"speed": "max"}, whole_file=True)
        self.plot.set_follow(False)
        QTimer.singleShot(500, self._zoom_fit)

    # -- closing -----------------------------------------------------------------------------
    def closeEvent(self, event: object) -> None:
        self._closing = True  # late signals from winding-down workers are ignored from here
        self.timer.stop()
        self.disconnect_source()
        # An inference thread may still be importing torch or loading weights; Qt aborts the
        # process if a running QThread is destroyed, so wait for each one to wind down.
        for thread in self._retired_inference:
            if not thread.wait(30_000):
                log.error("inference thread did not stop within 30 s")
        self.settings.window_geometry = bytes(
            self.saveGeometry().toBase64().data()).decode()
        try:
            save_settings(self.settings)
        except OSError as exc:
            log.warning("could not save settings: %s", exc)
        super().closeEvent(event)  # type: ignore[arg-type]
