"""The Diagnosis dock: the machine for the opened file or source, the fault-frequency
evidence for it, and the verdict lane fed from it.

- **Machine.** A machine profile is chosen per opened file or source and remembered in
  the settings (``machine_by_source``); Analysis → Machine… (Ctrl+M) opens the
  :class:`~desktop.ui.machine_dialog.MachineDialog`. Without a machine the bearing is the
  Analysis dock's (``diagnosis_controls``).
- **Evidence.** For an opened file the whole file is diagnosed once it is indexed (F7:
  again, or the visible span) by :func:`desktop.ui.diagnosis_run.diagnose_buffer`, a plain
  function run by a :class:`~desktop.workers.job_runner.JobRunner` (progress and Cancel in
  the dock; a newer diagnosis cancels the older): the verdict (location, shaft speed and
  where it came from, ``diagnosis_view``) and a table of the lines searched (fault,
  harmonic order, frequency, SNR, present; ``diagnosis_table``). The lines found are
  starred on the Analysis dock's envelope spectrum, beside its BPFO/BPFI markers.
- **Verdict lane.** The per-window verdicts (1 s) fill the verdict lane under the signal
  lanes, merged with the fault model's by the verdict policy (``diagnosis_lane``): the
  model's location only where the evidence agrees (or the model was adapted to the
  machine); elsewhere the evidence's, with the model's answer as a suggestion. On a
  machine with a profile a model alarm the evidence does not back is shown as a
  suggestion (amber), not as a red fault banner.

The UI thread only draws; a QTimer looks for a new session, a file that finished
indexing, new model verdicts and the alarm banner (:data:`POLL_MS`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.analysis.errors import AnalysisError
from desktop.diagnosis.profiles import MachineProfile, ProfileStore
from desktop.ui.diagnosis_controls import NO_MACHINE, VISIBLE, WHOLE, DiagnosisControls
from desktop.ui.diagnosis_lane import BannerPolice, LaneFeeder
from desktop.ui.diagnosis_run import (
    LOCATION_TEXT,
    DiagnosisOutcome,
    DiagnosisRequest,
    check_size,
    diagnose_buffer,
)
from desktop.ui.diagnosis_table import EvidenceTable
from desktop.ui.diagnosis_view import EvidenceStars, VerdictView
from desktop.ui.dock_context import DiagnosisHost, DockContext, dock_context
from desktop.ui.machine_dialog import MachineDialog
from desktop.workers.job_runner import JobRunner
from desktop.workers.jobs import Job

log = logging.getLogger(__name__)

POLL_MS = 250


def source_key(session: Any) -> str:
    """The settings key of a session's machine: a file's resolved path, else its spec."""
    path = getattr(session, "path", None)
    if path is not None:
        try:
            return str(Path(path).resolve())
        except OSError:
            return str(path)
    return str(getattr(session, "spec", "") or "")


class DiagnosisPanel(QWidget):
    """The dock's widget, given what it needs of the window (``ctx``, ``host``) and the
    Analysis dock (``analysis``, None: none)."""

    diagnosed = Signal(object)  # DiagnosisOutcome, drawn

    def __init__(self, ctx: DockContext, host: DiagnosisHost, analysis: Any = None,
                 store: ProfileStore | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.host, self.analysis = ctx, host, analysis
        self.settings = ctx.settings
        self.store = store or ProfileStore()
        self.outcome: DiagnosisOutcome | None = None
        self._session: Any = None
        self._auto_done = False
        self.runner = JobRunner(self, name="diagnosis", replace=True)
        self.runner.progress.connect(self._on_progress)
        self.runner.succeeded.connect(self._on_result)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.finished.connect(self._on_finished)
        self.lane = LaneFeeder(ctx.plot, host.reconfigure)
        self.police = BannerPolice(host.banner)
        self.stars = EvidenceStars(self._analysis_plot)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.controls = c = DiagnosisControls(self.store, lambda: self.analysis, ctx.session,
                                              self._say, ctx.parent, self)
        c.machine_chosen.connect(self._machine_chosen)
        c.machine_saved.connect(self._dialog_saved)
        c.run_requested.connect(self.diagnose)
        c.cancel_requested.connect(self.cancel)
        self.machine, self.span, self.progress = c.machine, c.span, c.progress
        self.machine_button, self.run_button, self.cancel_button = \
            c.machine_button, c.run_button, c.cancel_button
        self.view = VerdictView()
        self.verdict, self.speed, self.policy = self.view.verdict, self.view.speed, \
            self.view.policy
        self.table = EvidenceTable()
        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.setSpacing(3)
        column.addLayout(c.grid)
        column.addWidget(c.progress)
        column.addWidget(self.verdict)  # the baseline view goes under it (baseline_panel)
        column.addWidget(self.speed)
        column.addWidget(self.policy)
        column.addWidget(self.table, 1)
        column.addWidget(self.status)
        c.reload_machines()
        self.poller = QTimer(self)
        self.poller.setInterval(POLL_MS)
        self.poller.timeout.connect(self._poll)
        self.poller.start()
        ctx.parent.installEventFilter(self)

    # -- the parts, as the window, the baseline view and tests read them ---------------
    @property
    def profile(self) -> MachineProfile | None:
        return self.controls.profile

    @property
    def dialog(self) -> MachineDialog | None:
        return self.controls.dialog

    def reload_machines(self, select: str | None = None) -> None:
        """Refill the machine list (after the dialog saved or removed one)."""
        self.controls.reload_machines(select)

    def open_machines(self) -> MachineDialog:
        """Show the Machine dialog (one at a time), with the recording's channels."""
        return self.controls.open_machines()

    def table_rows(self) -> list[tuple[str, ...]]:
        """The table's text, row by row (for tests and tools)."""
        return self.table.rows()

    def lane_rows(self) -> list[dict]:
        """The verdict lane's rows now (for tests and tools)."""
        return list(self.ctx.plot.verdicts)

    def star_names(self) -> list[str]:
        """The faults whose found lines are starred on the envelope spectrum."""
        return self.stars.names()

    def busy(self) -> bool:
        """A diagnosis is running (its answer has not been drawn or reported yet)."""
        return self.runner.running

    def _analysis_plot(self) -> Any:
        return getattr(self.analysis, "splot", None)

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)

    # -- machines ----------------------------------------------------------------------------
    def _machine_chosen(self) -> None:
        """A machine picked for this file or source: remember it and diagnose again."""
        session = self.ctx.session()
        if session is not None:
            self.settings.machine_by_source[source_key(session)] = str(
                self.machine.currentData() or NO_MACHINE)
            session.set_machine(str(self.machine.currentData() or NO_MACHINE))  # baseline
            if self.settings.model == "diagnosis":  # the diagnosis model runs for it
                self.host.restart_model()
            if self.outcome is not None or self._auto_done:
                self.diagnose()

    def _dialog_saved(self, name: str) -> None:
        current = self.machine.currentData()
        self.controls.reload_machines(current if current else name)
        if self.machine.currentData() == NO_MACHINE and self.ctx.session() is not None:
            self.machine.setCurrentIndex(self.machine.findData(name))  # use the new one
        elif current == name and self.outcome is not None:
            self.diagnose()  # the machine in use changed

    # -- the session -------------------------------------------------------------------------
    def _poll(self) -> None:
        session = self.ctx.session()
        if session is not self._session:
            self._new_session(session)
        if session is not None and session.kind == "file" and not self._auto_done \
                and not self.runner.running and getattr(session, "loaded", None) is not None:
            self._auto_done = True
            self._auto_diagnose(session)
        self._feed_lane()
        self.police.police(self.host.banner_class(), self.outcome, self.host.model_info())

    def _new_session(self, session: Any) -> None:
        """A new file or source: forget the old verdicts, pick its remembered machine."""
        self.runner.abandon()  # its answer is for the last session: never drawn
        self._session = session
        self.outcome = None
        self._auto_done = False
        self.lane.reset()
        self.stars.clear()
        self._show_nothing("Open a recording (Ctrl+O): its evidence shows here once indexed")
        self.police.restore()
        self.controls.running(False)
        if session is None:
            return
        remembered = self.settings.machine_by_source.get(source_key(session), NO_MACHINE)
        self.controls.choose(remembered)
        self.span.setCurrentIndex(self.span.findData(WHOLE if session.kind == "file"
                                                     else VISIBLE))

    def _auto_diagnose(self, session: Any) -> None:
        """Diagnose a file once it is indexed, when it is short enough to read whole;
        a longer one waits for F7 on the visible span (said in the dock)."""
        buffer = session.buffer
        rate = session.sample_rate()
        try:
            if not rate:
                raise AnalysisError("the recording does not say its sample rate")
            check_size(int(buffer.written), len(buffer.channels), rate)
        except AnalysisError as exc:
            self.span.setCurrentIndex(self.span.findData(VISIBLE))
            self._say(f"Not diagnosed on opening: {exc}")
            return
        self.diagnose(whole=True)

    def _show_nothing(self, text: str) -> None:
        self.view.show_nothing()
        self.table.setRowCount(0)
        self._say(text)

    # -- running -----------------------------------------------------------------------------
    def request(self, whole: bool | None = None) -> DiagnosisRequest | str:
        """The diagnosis the controls ask for, or a one-line reason there is none."""
        session = self.ctx.session()
        buffer = session.buffer if session is not None else None
        if buffer is None or buffer.written == 0:
            return "Open a recording (Ctrl+O) or connect a source to diagnose it"
        if whole is None:
            whole = self.span.currentData() == WHOLE and session.kind == "file"
        t0 = t1 = None
        analysis = self.analysis
        if not whole:
            span = analysis.span() if analysis is not None else None
            if span is None:
                return "Nothing drawn yet"
            t0, t1 = span[0], span[1]
        geometry = analysis.geometry() if analysis is not None else None
        channel = analysis.channel.currentData() if analysis is not None else None
        profile = self.controls.profile
        if profile is not None:
            try:
                profile.sensor_for(channel)
            except AnalysisError:
                channel = None  # the profile's first sensor
        bearing = "Analysis dock" if geometry is not None else ""
        return DiagnosisRequest(t0, t1, channel, geometry, profile, session.sample_rate(),
                                dict(getattr(buffer, "metadata", {}) or {}), bearing)

    def diagnose(self, *_: object, whole: bool | None = None) -> Job | None:
        """Diagnose now (F7); a running diagnosis is cancelled first."""
        request = self.request(whole if isinstance(whole, bool) else None)
        if isinstance(request, str):
            self._say(request)
            return None
        job = self.runner.start(diagnose_buffer, self.ctx.session().buffer, request)
        self.controls.running(True)
        where = "whole file" if request.t0 is None else \
            f"{request.t1 - request.t0:.2f} s span"  # type: ignore[operator]
        self._say(f"diagnosing the {where}…")
        return job

    def cancel(self) -> None:
        """Stop the running diagnosis (its verdicts are not drawn)."""
        self.runner.cancel()

    def _on_progress(self, fraction: float, message: str, _info: dict) -> None:
        self.controls.show_progress(fraction, message)

    def _on_finished(self) -> None:
        self.controls.running(False)

    def _on_cancelled(self) -> None:
        self._say("diagnosis cancelled")

    def _on_failed(self, message: str) -> None:
        first = message.splitlines()[0] if message else ""
        self._say(f"⚠ {first or 'diagnosis failed'}")
        self.ctx.status(f"Diagnosis: {first}" if first else "Diagnosis failed", 8000)

    def _on_result(self, outcome: object) -> None:
        if not isinstance(outcome, DiagnosisOutcome):
            return
        self.outcome = outcome
        self._draw(outcome)
        self.lane.reset(forget_model=False)
        self._feed_lane()
        self.stars.draw(outcome, getattr(self.analysis, "result", None))
        self.diagnosed.emit(outcome)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Cancel the diagnosis and wait for its thread (the window is closing)."""
        self.poller.stop()
        if not self.runner.shutdown(wait_ms):
            log.error("diagnosis job did not stop within %d ms", wait_ms)
        self.controls.close_dialog()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.ctx.parent and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    # -- drawing -----------------------------------------------------------------------------
    def _draw(self, outcome: DiagnosisOutcome) -> None:
        self.view.draw(outcome, self.ctx.plot.x_offset)
        self._draw_policy()
        self.table.fill(outcome)
        v = outcome.overall
        notes = "; ".join(v.notes)
        self._say(f"diagnosed {outcome.channel}: {LOCATION_TEXT.get(v.location, v.location)}"
                  f"{' — ' + notes if notes else ''}")

    def _draw_policy(self) -> None:
        self.view.draw_policy(self.outcome, self.ctx.plot.verdicts, self.lane.model_verdicts,
                              self.host.model_info(), self.settings.model)

    def _feed_lane(self) -> None:
        """The evidence windows in the verdict lane, merged with the model's verdicts."""
        if self.lane.feed(self.outcome, self.host.model_info()):
            self._draw_policy()

    def _analysed(self, result: object) -> None:
        self.stars.draw(self.outcome, result)


def install_diagnosis(window: QMainWindow) -> DiagnosisPanel:
    """Add the Diagnosis dock, Analysis → Machine… (Ctrl+M) and Diagnose (F7) to
    ``window`` (after :func:`desktop.ui.analysis_panel.install_analysis`)."""
    panel = DiagnosisPanel(dock_context(window), DiagnosisHost.of_window(window),
                           getattr(window, "analysis_panel", None))
    dock = QDockWidget("Diagnosis", window)
    dock.setObjectName("diagnosis-dock")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    analysis_dock = getattr(window, "analysis_dock", None)
    if analysis_dock is not None:
        window.splitDockWidget(analysis_dock, dock, Qt.Orientation.Vertical)
        window.resizeDocks([analysis_dock], [500], Qt.Orientation.Horizontal)
        window.resizeDocks([analysis_dock, dock], [600, 330], Qt.Orientation.Vertical)
    analysis = getattr(window, "analysis_panel", None)
    if analysis is not None:
        analysis.analysed.connect(panel._analysed)

    machine = QAction("Machine…", window)
    machine.setShortcut(QKeySequence("Ctrl+M"))
    machine.setToolTip("Machine profiles: bearing, speed, sensors (Ctrl+M)")
    machine.triggered.connect(panel.open_machines)
    run = QAction("Diagnose", window)
    run.setShortcut(QKeySequence("F7"))
    run.setToolTip("Bearing fault-frequency evidence for the file or the visible span (F7)")

    def diagnose_now() -> None:
        dock.show()  # a closed dock's verdict would land out of sight
        dock.raise_()
        panel.diagnose()

    run.triggered.connect(diagnose_now)
    toggle = dock.toggleViewAction()
    toggle.setText("Diagnosis dock")
    toggle.setShortcut(QKeySequence("Ctrl+Shift+D"))
    toggle.setToolTip("Machine, fault-frequency evidence and verdict (Ctrl+Shift+D)")
    for act in (machine, run, toggle):
        window.addAction(act)
    menu = next((a.menu() for a in window.menuBar().actions()
                 if a.text() == "A&nalysis"), None)
    if isinstance(menu, QMenu):
        menu.addSeparator()
        for act in (machine, run, toggle):
            menu.addAction(act)
    window.diagnosis_panel = panel  # type: ignore[attr-defined]
    window.diagnosis_dock = dock  # type: ignore[attr-defined]
    window.act_machine, window.act_diagnose = machine, run  # type: ignore[attr-defined]
    return panel
