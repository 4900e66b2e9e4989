"""The workbench window: source panel, plots, channel list, labels, model, status bar.

It draws and forwards what the user asks; it holds no acquisition, inference or recording
state. A :class:`~desktop.session.base.Session` owns that — a
:class:`~desktop.session.live.LiveSession` for a source, a
:class:`~desktop.session.file.FileSession` for an opened recording — and the window
listens to its signals. The one QTimer here draws from the session's buffer, targeting
60 Hz and backing off to 20 Hz when frames get expensive.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QMainWindow,
    QVBoxLayout,
    QWidget,
)

from desktop.core.errors import LinewatchError
from desktop.core.settings import Settings, save_settings
from desktop.core.types import SourceState, describe_malformed
from desktop.session.base import Session
from desktop.session.file import FileSession
from desktop.session.live import LiveSession
from desktop.session.types import ModelInfo, Verdict, verdict_rows
from desktop.streams.acquisition import Acquisition, RecordingResult
from desktop.ui.alarm_banner import AlarmBanner
from desktop.ui.alarms_panel import install_alarms
from desktop.ui.analysis_panel import install_analysis
from desktop.ui.baseline_panel import install_baseline
from desktop.ui.diagnosis_panel import install_diagnosis
from desktop.ui.frame_stats import FrameStats
from desktop.ui.label_editing import LabelHistory
from desktop.ui.live_plot import LivePlot
from desktop.ui.model_panel import ModelPanel
from desktop.ui.source_panel import SourcePanel
from desktop.ui.window_actions import ActionsPart, Placement
from desktop.ui.window_baseline_ack import BaselineAckPart
from desktop.ui.window_context import WindowContext, WindowServices
from desktop.ui.window_files import FilesPart
from desktop.ui.window_files import recording_filter as recording_filter  # its old home
from desktop.ui.window_frames import FrameClock
from desktop.ui.window_labels import LabelsPart
from desktop.ui.window_models import ModelDialogsPart
from desktop.ui.window_parts import PartsDockPart
from desktop.ui.window_recording import RecordingPart
from desktop.ui.window_status import StatusPart
from desktop.ui.window_view import ViewPart
from desktop.ui.workspace_actions import WorkspacePart

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The window a plant engineer keeps open beside the line or at a desk.

    Composed of parts (``ui/window_*.py``), each built here with one
    :class:`~desktop.ui.window_context.WindowContext`: :class:`ViewPart` (channels, view
    actions), :class:`LabelsPart`, :class:`FilesPart` (open, recent, cache, overview),
    :class:`PartsDockPart`, :class:`ModelDialogsPart`, :class:`RecordingPart`,
    :class:`StatusPart`, :class:`FrameClock` (the timer, ``--measure``) and
    :class:`ActionsPart` (toolbar and menus). The window keeps the session and draws.
    """

    measure_finished = Signal(dict)
    source_failed = Signal(str)  # the session's source or file failed to open: its message

    def __init__(self, settings: Settings, services: WindowServices,
                 started: float | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.services = services
        self.setWindowTitle("Linewatch")
        self.resize(1200, 760)
        self.session: Session | None = None
        self._retired: list[Session] = []
        self._before_open: tuple[Path, float | None, str | None] | None = None
        self._closing = False
        self.state = SourceState.CLOSED.value
        self.state_detail = ""
        self.errors: list[str] = []
        self.workspace_rules = ""  # the alarm rules a saved workspace names

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
        ctx = WindowContext(parent=self, host=self, plot=self.plot, settings=settings,
                            services=services, errors=self.errors)

        self.source_panel = SourcePanel()
        self.source_panel.connect_requested.connect(self.connect_source)
        self.source_panel.disconnect_requested.connect(self.disconnect_source)
        self.source_panel.refresh_ports_requested.connect(self.refresh_ports)
        dock = QDockWidget("Source", self)
        dock.setObjectName("source-dock")
        dock.setWidget(self.source_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.view = ViewPart(ctx)  # the Channels dock and the view actions
        self.channel_list = self.view.channel_list
        (self.act_pause, self.act_follow, self.act_fit, self.act_cursors, self.act_overlay,
         self.act_autoscale) = self.view.actions
        self.span, self.history = self.view.span, self.view.history

        self.model_panel = ModelPanel(services.list_models(), settings)
        self.model_panel.model_changed.connect(self._model_changed)
        self.model_panel.alarm_times_changed.connect(self._alarm_times_changed)
        self.model_panel.finetune_requested.connect(self.open_finetune)
        self.model_panel.versions_requested.connect(self.open_versions)
        self.model_panel.calibrate_requested.connect(self.open_calibrate)
        self.model_dialogs = ModelDialogsPart(ctx)
        dock = QDockWidget("Model", self)
        dock.setObjectName("model-dock")
        dock.setWidget(self.model_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.labels = LabelsPart(ctx)  # the Labels dock, label mode, undo/redo
        self.undo_stack, self.act_label_mode = self.labels.undo_stack, self.labels.act_label_mode
        self.labels_panel, self.labels_dock = self.labels.labels_panel, self.labels.labels_dock
        self.parts_table = PartsDockPart(ctx)  # the Parts dock of a table model
        self.parts_panel, self.parts_dock = (self.parts_table.parts_panel,
                                             self.parts_table.parts_dock)
        # The plots get the space: the labels list starts a few rows high.
        self.resizeDocks([self.labels_dock], [150], Qt.Orientation.Vertical)
        self.files = FilesPart(ctx, column)  # open, recent, cache, drops, overview strip
        self.overview, self.recent_menu = self.files.overview, self.files.recent_menu
        self.recording = RecordingPart(ctx)  # ● Record and the recording's life
        # File → Open/Save workspace… (source, model, view, layout; --workspace FILE).
        self.workspace = WorkspacePart(ctx, self.source_panel, self.model_panel)
        self.menus = ActionsPart(
            ctx, Placement(record=self.recording.act_record, view=self.view.actions,
                           label_mode=self.labels.act_label_mode, edit=self.labels.edit_actions,
                           view_widgets=[(" Span ", self.span), (" History ", self.history)],
                           file_top=self.workspace.actions, file=self.files.file_menu(),
                           view_menu_extra=[self.files.act_goto]),
            toggle_connect=self._toggle_connect,
            diagnostics=lambda: self.start_measure(5.0, show_dialog=True))
        self.act_connect, self.act_record = self.menus.act_connect, self.recording.act_record
        self.status_part = StatusPart(ctx, self.cancel_job)
        self.baseline_ack = BaselineAckPart(ctx, self.statusBar())
        s = self.status_part
        self.state_label, self.rate_label, self.counter_label, self.record_label = (
            s.state_label, s.rate_label, s.counter_label, s.record_label)
        self.job_progress, self.job_cancel = s.job_progress, s.job_cancel
        self.recording.active_changed.connect(s.set_recording)
        self.recording.failed.connect(s.recording_failed)
        self.recording.started.connect(self.labels.recording_started)
        self.refresh_ports()
        # The Analysis dock (spectra, bearing markers, ISO severity, trend) and [ / ] alarms.
        install_analysis(self)
        # Machine profiles (Ctrl+M), fault-frequency evidence (F7), the lane's policy.
        install_diagnosis(self)
        # Machine baselines: Learn baseline… (Ctrl+Shift+B), the level in the dock.
        install_baseline(self)
        # The Alarm log dock (Ctrl+Shift+L): logged alarms, acknowledge, show in signal.
        install_alarms(self)

        self.frames = FrameClock(ctx, self._draw, self._update_status, started)
        self.frames.measured.connect(self.measure_finished)
        self.frames.timer.start()
        if settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(settings.window_geometry.encode()))
        self.labels.open_store()

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

    # -- the parts' public surface (for panels, tests and tools) ---------------------------
    def label_history(self) -> LabelHistory:
        return self.labels.label_history()

    def _label_anchor(self) -> tuple[str, float] | None:
        return self.labels.label_anchor()

    def _ask_label(self, start: float, end: float) -> None:
        self.labels.ask_label(start, end)

    def use_rules(self, rules: str) -> None:
        """A workspace's alarm rules file: remembered, and run by the Alarm log dock."""
        self.workspace_rules = rules
        live_rules = getattr(self, "alarm_rules", None)  # set by install_alarms
        if live_rules is not None and rules:
            live_rules.set_rules(rules)

    def model_classes(self) -> list[str]:
        """The running model's classes (offered in the label dialog)."""
        classes = self.model_info.get("classes", [])
        return [str(c) for c in classes] if isinstance(classes, (list, tuple)) else []

    def _reconfigure(self) -> None:
        self.view.reconfigure()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.files.drag_enter(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.files.drop(event)

    def open_finetune(self) -> QDialog | None:
        return self.model_dialogs.open_finetune()

    def open_versions(self) -> QDialog | None:
        return self.model_dialogs.open_versions()

    def open_calibrate(self) -> QDialog | None:
        return self.model_dialogs.open_calibrate()

    def open_parts_finetune(self) -> QDialog | None:
        return self.parts_table.open_parts_finetune()

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
        # settings.last_source is set once the source opened (_opened): a spec that fails
        # must not become every later start's source.
        session = LiveSession(spec, lambda: self.services.make_source(spec, options),
                              self.settings.history_seconds)
        self._begin(session)
        self.source_panel.set_connected(True)
        self.menus.set_connected(True)
        self.view.set_live(True)
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
        self._begin(session)  # Open recent gets the file once it opened (_opened)
        # The panel names the file; Connect stays the live source last used (a plant
        # engineer opens a file to look at it, and Connect means "go live"), never a
        # silent replay of the file (that is still there: Replay file, Connect).
        self.source_panel.show_spec(self.settings.last_source or "demo", {})
        self.source_panel.show_file(Path(path).name, "opening…")
        self.source_panel.set_connected(False)
        self.menus.set_connected(False)
        self.view.set_live(False)  # a file is not live
        self._job_progress(0.0, f"opening {Path(path).name}")
        session.start()

    def _begin(self, session: Session) -> None:
        """Make ``session`` the window's session: the old one is stopped and retired."""
        self._end_session()
        self.session = session
        self.files.closed()
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
        session.baseline_alarm.connect(self._baseline_alarm)
        self.baseline_ack.reset()
        session.rows.connect(self.parts_table.add_rows)
        session.recording_started.connect(self.recording.on_started)
        session.recording_stopped.connect(self.recording.on_stopped)
        session.recording_failed.connect(self.recording.on_failed)
        model = self.settings.model
        self.model_panel.set_status("" if model else "inference off")
        session.set_machine(self.machine_for_session())  # its baseline judges verdicts
        session.set_model(self.model_ref(model), self.settings.alarm_raise_s,
                          self.settings.alarm_clear_s)

    def _job_progress(self, fraction: float, message: str) -> None:
        self.status_part.job_progress_changed(fraction, message)

    def _job_done(self) -> None:
        self.status_part.job_done()

    def cancel_job(self) -> None:
        """Cancel the session's running job (indexing a file, or whole-file verdicts)."""
        session = self.session
        if isinstance(session, FileSession) and session.indexing:
            session.cancel_indexing()
        elif isinstance(session, FileSession):
            session.cancel_verdicts()
            self.model_panel.set_status("whole-file verdicts cancelled")
        self._job_done()

    def _end_session(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        session.stop()
        for signal in (session.opened, session.open_failed, session.state_changed,
                       session.source_finished, session.progress, session.model_loaded,
                       session.model_failed, session.verdicts, session.alarm, session.rows,
                       session.baseline_alarm, session.recording_started,
                       session.recording_failed):
            signal.disconnect()
        # recording_stopped stays connected: the file is finalised after the stop.
        self._retired = [s for s in self._retired if not s.closed or s is session] + [session]
        self._job_done()

    def disconnect_source(self) -> None:
        had = self.session is not None
        self._end_session()
        self.recording.set_available(False)
        self.source_panel.set_connected(False)
        self.menus.set_connected(False)
        if had:
            self._set_state(SourceState.CLOSED.value, "")
        self.source_panel.clear_file()
        self.recording.show(False)

    def _opened(self) -> None:
        session = self.session
        if self._closing or session is None:
            return
        self.recording.set_available(session.kind == "live")
        if isinstance(session, LiveSession):
            self.settings.last_source = session.spec  # remembered only once it opened
        if isinstance(session, FileSession):
            self.files.remember_recent(session.path)
        if session.kind == "file":
            self._job_done()
            self.view.configure_plot()
            self.plot.zoom_to_fit(session.buffer)
            self.files.file_opened()
            if getattr(session, "indexing", False):  # drawn early: progress and Cancel stay
                self.status_part.show_job()
            self._show_file_in_panel()
            self.labels.file_opened()  # its labels, then an event asked for before

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
        self.source_failed.emit(message)
        self._job_done()
        self.source_panel.clear_file()
        self.source_panel.set_connected(False)
        self.menus.set_connected(False)
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
            self.menus.set_connected(False)
            self._set_state(SourceState.CLOSED.value, "")
        self.statusBar().showMessage(message, 15000)

    # -- inference ---------------------------------------------------------------------------
    def _model_loaded(self, info: ModelInfo) -> None:
        self.model_info = info.as_dict()  # the docks read the announced dict
        self.parts_table.model_loaded(info)
        reason = f" ({info.channel_reason})" if info.channel_reason else ""
        where = "whole file" if isinstance(self.session, FileSession) else "live"
        self.model_panel.set_status(f"{info.name} on {info.device.upper()}, "
                                    f"{where}, channel '{info.channel}'{reason}")
        if isinstance(self.session, FileSession):
            self._job_done()

    def _model_failed(self, message: str) -> None:
        self.errors.append(message)
        self._job_done()
        self.model_panel.set_status(f"⚠ {message}")

    def _verdicts(self, verdicts: list[Verdict]) -> None:
        rows = verdict_rows(verdicts)
        self.plot.add_verdicts(rows)  # the lanes keep (and export) dicts
        self._pending_arrivals.extend(v.arrived for v in verdicts if v.arrived)
        live_rules = getattr(self, "alarm_rules", None)  # class/score rules, live only
        if live_rules is not None and self.session is not None and self.session.kind == "live":
            live_rules.feed_verdicts(rows, str(self.model_info.get("channel") or ""))

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
            self.view.reconfigure()
        self._restart_model()

    def _alarm_times_changed(self, raise_s: float, clear_s: float) -> None:
        self.settings.alarm_raise_s, self.settings.alarm_clear_s = raise_s, clear_s
        self._restart_model()

    def _restart_model(self) -> None:
        self.plot.clear_verdicts()
        self.parts_table.model_changed(self.settings.model)
        self._set_alarm(False, "")
        model = self.settings.model
        self.model_panel.set_status(f"loading {model}…" if model else "inference off")
        if self.session is not None:
            if isinstance(self.session, FileSession) and model and self.session.loaded:
                self._job_progress(0.0, f"judging with {model}")
            self.session.set_machine(self.machine_for_session())
            self.session.set_model(self.model_ref(model), self.settings.alarm_raise_s,
                                   self.settings.alarm_clear_s)

    def _baseline_alarm(self, row: dict) -> None:
        """A machine baseline's alarm rose (latched until acknowledged): say which."""
        self.baseline_ack.raised(row)

    def machine_for_session(self) -> str:
        """The machine chosen for this file or source in the Diagnosis dock ("" none)."""
        if self.session is None:
            return ""
        from desktop.ui.diagnosis_panel import source_key

        return self.settings.machine_by_source.get(source_key(self.session), "")

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
        self.status_part.show_state(state, detail)

    # -- recording (RecordingPart) ----------------------------------------------------------
    def toggle_recording(self) -> None:
        self.recording.toggle()

    def start_recording(self, backfill_from: float | None = None) -> None:
        self.recording.start(backfill_from)

    @property
    def last_recording(self) -> RecordingResult | None:
        return self.recording.last_recording

    # -- new model versions ----------------------------------------------------------------
    def model_saved(self, name: str) -> None:
        """A new version exists: list it, keep the model that runs."""
        self.model_panel.set_models(self.services.list_models(), self.settings.model)

    def model_promoted(self, name: str) -> None:
        """A new or rolled-back version is active: run it live from now on."""
        self.model_panel.set_models(self.services.list_models(), name)
        self._model_changed(name)

    # -- the frame (paced and measured by FrameClock) -----------------------------------------
    def _draw(self) -> bool:
        """Draw one frame from the session's buffer; True when anything was drawn."""
        session = self.session
        buffer = session.buffer if session is not None else None
        if session is None or buffer is None:
            return False
        if buffer.channels != self.plot.channels:
            self.view.configure_plot()
        drew = self.plot.draw(buffer)
        if drew:
            session.frame_drawn()  # a live session loads its model after this
        self.files.tick()
        if drew and self._pending_arrivals:
            self.frames.verdicts_drawn(self._pending_arrivals)
            self._pending_arrivals.clear()
        return drew

    def _update_status(self) -> None:
        self.labels.tick()  # redraw labels when the recording shown changed
        self.status_part.update()

    @property
    def stats(self) -> FrameStats:
        return self.frames.stats

    def start_measure(self, seconds: float, show_dialog: bool = False,
                      started: float | None = None) -> None:
        """Measure frames for ``seconds`` and emit :attr:`measure_finished` with the figures.

        ``started`` (a perf_counter time) lets ``first_draw_s`` count from program start.
        """
        self.frames.start_measure(seconds, show_dialog, started)

    def measurement(self) -> dict[str, object]:
        """Figures for ``--measure`` and Diagnostics; strict JSON (None, never NaN)."""
        return self.frames.measurement()

    # -- closing -----------------------------------------------------------------------------
    def closeEvent(self, event: object) -> None:
        self._closing = True  # late signals from winding-down workers are ignored from here
        self.frames.timer.stop()
        self.disconnect_source()
        for session in self._retired:
            session.wait(30_000)
        self.files.shutdown(30_000)
        self.settings.window_geometry = bytes(
            self.saveGeometry().toBase64().data()).decode()
        try:
            save_settings(self.settings)
        except OSError as exc:
            log.warning("could not save settings: %s", exc)
        super().closeEvent(event)  # type: ignore[arg-type]
