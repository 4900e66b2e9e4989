"""The Diagnosis dock: the machine for the opened file or source, the fault-frequency
evidence for it, and the verdict lane fed from it.

- **Machine.** A machine profile is chosen per opened file or source and remembered in
  the settings (``machine_by_source``); Analysis → Machine… (Ctrl+M) opens the
  :class:`~desktop.ui.machine_dialog.MachineDialog`. Without a machine the bearing is the
  Analysis dock's.
- **Evidence.** For an opened file the whole file is diagnosed once it is indexed (F7:
  again, or the visible span) by :func:`desktop.ui.diagnosis_run.diagnose_buffer` in a
  :class:`~desktop.workers.jobs.Job` (progress and Cancel in the dock): the verdict
  (location, shaft speed and where it came from) and a table of the lines searched
  (fault, harmonic order, frequency, SNR, present). The lines found are starred on the
  Analysis dock's envelope spectrum, beside its BPFO/BPFI markers.
- **Verdict lane.** The per-window verdicts (1 s) fill the verdict lane under the signal
  lanes, merged with the fault model's by the verdict policy
  (:func:`desktop.ui.diagnosis_run.lane_rows`): the model's location only where the
  evidence agrees (or the model was adapted to the machine); elsewhere the evidence's,
  with the model's answer as a suggestion. On a machine with a profile a model alarm the
  evidence does not back is shown as a suggestion (amber), not as a red fault banner.

The UI thread only draws; a QTimer looks for a new session, a file that finished
indexing, new model verdicts and the alarm banner (:data:`POLL_MS`).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QGridLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.analysis.errors import AnalysisError
from desktop.diagnosis.profiles import MachineProfile, ProfileStore
from desktop.ui.diagnosis_run import (
    LOCATION_TEXT,
    DiagnosisOutcome,
    DiagnosisRequest,
    banner_text,
    check_size,
    diagnose_buffer,
    lane_rows,
    model_adapted,
)
from desktop.ui.machine_dialog import MachineDialog
from desktop.ui.verdict_lane import LOCATION_COLOURS
from desktop.workers.jobs import Job

log = logging.getLogger(__name__)

POLL_MS = 250
NO_MACHINE = ""
WHOLE, VISIBLE = "whole", "visible"
#: Star colours of the lines found, as the Analysis dock's marker families.
FAULT_COLOURS = {"BPFO": "#E69F00", "BPFI": "#FB8072", "BSF": "#CC79A7", "FTF": "#8DD3C7"}
POLICY_TIP = ("Verdict policy: the envelope evidence (bearing fault frequencies with their "
              "harmonics above the local noise floor) is the judge. On a machine with a "
              "profile the fault model's location is shown only where the evidence agrees, "
              "or where the model was calibrated or fine-tuned for that machine; otherwise "
              "the evidence's verdict is shown and the model's answer is marked as a "
              "suggestion. A red alarm needs evidence.")
BANNER_RED = ("background: #c62828; color: white; font-weight: bold; font-size: 14pt; "
              "padding: 6px;")
BANNER_AMBER = ("background: #8d6e00; color: white; font-weight: bold; font-size: 12pt; "
                "padding: 6px;")


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
    """The dock's widget for ``window`` (the MainWindow: its session, plot, settings,
    banner and ``analysis_panel``)."""

    diagnosed = Signal(object)  # DiagnosisOutcome, drawn
    _job_result = Signal(object, object)
    _job_failed = Signal(object, str)
    _job_cancelled = Signal(object)
    _job_progress = Signal(object, float, str)

    def __init__(self, window: Any, store: ProfileStore | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.settings = window.settings
        self.store = store or ProfileStore()
        self.outcome: DiagnosisOutcome | None = None
        self.profile: MachineProfile | None = None
        self.dialog: MachineDialog | None = None
        self._job: Job | None = None
        self._jobs: list[Job] = []
        self._session: Any = None
        self._auto_done = False
        self._model_verdicts: list[dict] = []
        # (len, id of the last) of plot.verdicts as written here; None: write them again
        self._fed: tuple[int, int] | None = None
        self._banner_override: tuple[str, str] | None = None  # the model's text, style
        self._stars: list[pg.PlotDataItem] = []
        #: The Analysis dock's bearing before a machine set it: (data, figures).
        self._bearing_before: tuple[Any, tuple[float, ...]] | None = None
        for sig, slot in ((self._job_result, self._on_result),
                          (self._job_failed, self._on_failed),
                          (self._job_cancelled, self._on_cancelled),
                          (self._job_progress, self._on_progress)):
            sig.connect(slot)
        self._build()
        self.poller = QTimer(self)
        self.poller.setInterval(POLL_MS)
        self.poller.timeout.connect(self._poll)
        self.poller.start()
        window.installEventFilter(self)

    # -- building --------------------------------------------------------------------------
    def _build(self) -> None:
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        self.machine = QComboBox()
        self.machine.setToolTip("The machine this recording comes from (remembered per file "
                                "or source); none: the Analysis dock's bearing")
        self.machine.currentIndexChanged.connect(self._machine_chosen)
        self.machine_button = QPushButton("Machine…")
        self.machine_button.setToolTip("Create or edit machine profiles (Ctrl+M)")
        self.machine_button.clicked.connect(self.open_machines)
        grid.addWidget(QLabel("Machine"), 0, 0)
        grid.addWidget(self.machine, 0, 1, 1, 2)
        grid.addWidget(self.machine_button, 0, 3)
        self.span = QComboBox()
        self.span.addItem("whole file", WHOLE)
        self.span.addItem("visible span", VISIBLE)
        self.span.setToolTip("Diagnose the whole opened file, or the span the plot shows")
        self.run_button = QPushButton("Diagnose")
        self.run_button.setToolTip("Fault-frequency evidence for the span (F7)")
        self.run_button.clicked.connect(self.diagnose)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the diagnosis")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        grid.addWidget(QLabel("Span"), 1, 0)
        grid.addWidget(self.span, 1, 1)
        grid.addWidget(self.run_button, 1, 2)
        grid.addWidget(self.cancel_button, 1, 3)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)

        self.verdict = QLabel("—")
        self.verdict.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.verdict.setToolTip(POLICY_TIP)
        self.verdict.setStyleSheet("font-weight: bold; font-size: 13pt; padding: 4px;")
        self.speed = QLabel("")
        self.speed.setWordWrap(True)
        self.speed.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.speed.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.policy = QLabel("")
        self.policy.setWordWrap(True)
        self.policy.setToolTip(POLICY_TIP)
        self.policy.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Fault", "Order", "Freq Hz", "SNR dB",
                                              "Present"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setToolTip("Every harmonic searched (±2 % slip) in the envelope "
                              "spectrum: a line counts when it stands its threshold above "
                              "the local noise floor; a fault is present with ≥ 2 lines "
                              "(or one strong line with its sideband)")
        self.table.setMinimumHeight(120)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        column = QVBoxLayout(self)
        column.setContentsMargins(4, 4, 4, 4)
        column.setSpacing(3)
        column.addLayout(grid)
        column.addWidget(self.progress)
        column.addWidget(self.verdict)
        column.addWidget(self.speed)
        column.addWidget(self.policy)
        column.addWidget(self.table, 1)
        column.addWidget(self.status)
        self.reload_machines()

    # -- machines ----------------------------------------------------------------------------
    def reload_machines(self, select: str | None = None) -> None:
        """Refill the machine list (after the dialog saved or removed one)."""
        wanted = select if select is not None else self.machine.currentData()
        self.machine.blockSignals(True)
        self.machine.clear()
        self.machine.addItem("— none (the Analysis dock's bearing)", NO_MACHINE)
        try:
            names = self.store.names()
        except OSError as exc:
            names = []
            self._say(f"⚠ cannot list the machines: {exc}")
        for name in names:
            self.machine.addItem(name, name)
        self.machine.setCurrentIndex(max(0, self.machine.findData(wanted or NO_MACHINE)))
        self.machine.blockSignals(False)
        self._load_profile()

    def _load_profile(self) -> None:
        name = self.machine.currentData() or NO_MACHINE
        self.profile = None
        if name:
            try:
                self.profile = self.store.load(name)
            except AnalysisError as exc:
                self._say(f"⚠ {exc}")
        self._bearing_to_analysis()
        panel = getattr(self.window, "analysis_panel", None)
        speed = getattr(panel, "speed", None)
        if speed is not None:
            p = self.profile
            fixed = p.speed.rpm if p is not None and p.speed.kind == "rpm" else None
            speed.set_machine(self.window.session, p.name if p is not None else None, fixed)

    def _bearing_to_analysis(self) -> None:
        """The Analysis dock's markers follow the machine's bearing (the sensor on the
        analysed channel, else the first), as a preset or as its own geometry."""
        panel = getattr(self.window, "analysis_panel", None)
        if panel is None:
            return
        if self.profile is None or not self.profile.sensors:
            self._bearing_back(panel)  # no machine: the user's own choice again
            return
        if self._bearing_before is None:
            self._bearing_before = (panel.bearing.currentData(), (
                panel.balls.value(), panel.ball_d.value(), panel.pitch_d.value(),
                panel.angle.value()))
        try:
            try:
                sensor = self.profile.sensor_for(panel.channel.currentData())
            except AnalysisError:
                sensor = self.profile.sensors[0]
            g = sensor.geometry()
        except AnalysisError as exc:
            self._say(f"⚠ {exc}")
            return
        index = panel.bearing.findData(g.designation)
        if index < 0:
            panel._loading, was = True, panel._loading
            for box, value in ((panel.balls, g.balls), (panel.ball_d, g.ball_diameter),
                               (panel.pitch_d, g.pitch_diameter),
                               (panel.angle, g.contact_angle_deg)):
                box.setValue(value)
            panel._loading = was
            index = panel.bearing.findData("custom")
        panel.bearing.setCurrentIndex(index)
        panel.bearing.setToolTip(f"{panel.bearing.toolTip()} — from machine "
                                 f"{self.profile.name}")

    def _bearing_back(self, panel: Any) -> None:
        """Give the Analysis dock back the bearing it had before a machine set it."""
        if self._bearing_before is None:
            return
        data, figures = self._bearing_before
        self._bearing_before = None
        panel._loading, was = True, panel._loading
        for box, value in zip((panel.balls, panel.ball_d, panel.pitch_d, panel.angle),
                              figures, strict=True):
            box.setValue(value)
        panel._loading = was
        panel.bearing.setCurrentIndex(max(0, panel.bearing.findData(data)))

    def _machine_chosen(self, *_: object) -> None:
        """A machine picked for this file or source: remember it and diagnose again."""
        self._load_profile()
        session = self.window.session
        if session is not None:
            self.settings.machine_by_source[source_key(session)] = str(
                self.machine.currentData() or NO_MACHINE)
            if self.settings.model == "diagnosis":  # the diagnosis model runs for it
                self.window._restart_model()
            if self.outcome is not None or self._auto_done:
                self.diagnose()

    def open_machines(self) -> MachineDialog:
        """Show the Machine dialog (one at a time), with the recording's channels."""
        if self.dialog is None:
            session = self.window.session
            buffer = session.buffer if session is not None else None
            channels = [c.name for c in buffer.channels] if buffer is not None else []
            self.dialog = MachineDialog(self.store, channels,
                                        self.machine.currentData() or None, self.window)
            self.dialog.saved.connect(self._dialog_saved)
            self.dialog.removed.connect(self._dialog_removed)
            self.dialog.finished.connect(self._dialog_closed)
        if self.dialog.isVisible():
            self.dialog.activateWindow()  # already open: bring it forward
        self.dialog.show()
        return self.dialog

    def _dialog_saved(self, name: str) -> None:
        current = self.machine.currentData()
        self.reload_machines(current if current else name)
        if self.machine.currentData() == NO_MACHINE and self.window.session is not None:
            self.machine.setCurrentIndex(self.machine.findData(name))  # use the new one
        elif current == name and self.outcome is not None:
            self.diagnose()  # the machine in use changed

    def _dialog_removed(self, name: str) -> None:
        self.reload_machines()

    def _dialog_closed(self, *_: object) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None

    # -- the session -------------------------------------------------------------------------
    def _poll(self) -> None:
        session = self.window.session
        if session is not self._session:
            self._new_session(session)
        if session is not None and session.kind == "file" and not self._auto_done \
                and self._job is None and getattr(session, "loaded", None) is not None:
            self._auto_done = True
            self._auto_diagnose(session)
        self._feed_lane()
        self._police_banner()

    def _new_session(self, session: Any) -> None:
        """A new file or source: forget the old verdicts, pick its remembered machine."""
        if self._job is not None:
            self._job.cancel()
            self._job = None
        self._session = session
        self.outcome = None
        self._auto_done = False
        self._model_verdicts = []
        self._fed = None
        self._clear_stars()
        self._show_nothing("Open a recording (Ctrl+O): its evidence shows here once indexed")
        self._restore_banner()
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        if session is None:
            return
        remembered = self.settings.machine_by_source.get(source_key(session), NO_MACHINE)
        self.machine.blockSignals(True)
        self.machine.setCurrentIndex(max(0, self.machine.findData(remembered)))
        self.machine.blockSignals(False)
        self._load_profile()
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
        self.verdict.setText("—")
        self.verdict.setStyleSheet("font-weight: bold; font-size: 13pt; padding: 4px;")
        self.speed.setText("")
        self.policy.setText("")
        self.table.setRowCount(0)
        self._say(text)

    # -- running -----------------------------------------------------------------------------
    def request(self, whole: bool | None = None) -> DiagnosisRequest | str:
        """The diagnosis the controls ask for, or a one-line reason there is none."""
        window = self.window
        session = window.session
        buffer = session.buffer if session is not None else None
        if buffer is None or buffer.written == 0:
            return "Open a recording (Ctrl+O) or connect a source to diagnose it"
        if whole is None:
            whole = self.span.currentData() == WHOLE and session.kind == "file"
        t0 = t1 = None
        if not whole:
            span = window.analysis_panel.span() if hasattr(window, "analysis_panel") else None
            if span is None:
                return "Nothing drawn yet"
            t0, t1 = span[0], span[1]
        analysis = getattr(window, "analysis_panel", None)
        geometry = analysis.geometry() if analysis is not None else None
        channel = analysis.channel.currentData() if analysis is not None else None
        if self.profile is not None:
            try:
                self.profile.sensor_for(channel)
            except AnalysisError:
                channel = None  # the profile's first sensor
        bearing = "Analysis dock" if geometry is not None else ""
        return DiagnosisRequest(t0, t1, channel, geometry, self.profile,
                                session.sample_rate(),
                                dict(getattr(buffer, "metadata", {}) or {}), bearing)

    def diagnose(self, *_: object, whole: bool | None = None) -> Job | None:
        """Diagnose now (F7); a running diagnosis is cancelled first."""
        request = self.request(whole if isinstance(whole, bool) else None)
        if isinstance(request, str):
            self._say(request)
            return None
        if self._job is not None:
            self._job.cancel()
        session = self.window.session
        job = Job(diagnose_buffer, session.buffer, request, name="diagnosis")
        job.worker.succeeded.connect(lambda r, job=job: self._job_result.emit(job, r))
        job.worker.failed.connect(lambda m, job=job: self._job_failed.emit(job, m))
        job.worker.cancelled.connect(lambda job=job: self._job_cancelled.emit(job))
        job.worker.progress.connect(
            lambda f, m, _i, job=job: self._job_progress.emit(job, f, m))
        self._jobs = [j for j in self._jobs if j.running] + [job]
        self._job = job
        self.progress.setValue(0)
        self.progress.setFormat("diagnosing… %p%")
        self.progress.setVisible(True)
        self.cancel_button.setEnabled(True)
        where = "whole file" if request.t0 is None else \
            f"{request.t1 - request.t0:.2f} s span"  # type: ignore[operator]
        self._say(f"diagnosing the {where}…")
        job.start()
        return job

    def cancel(self) -> None:
        """Stop the running diagnosis (its verdicts are not drawn)."""
        if self._job is not None:
            self._job.cancel()

    def busy(self) -> bool:
        """A diagnosis is running (its answer has not been drawn or reported yet)."""
        return self._job is not None

    def _finish(self, job: Job) -> bool:
        if job is not self._job:
            return False
        self._job = None
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        return True

    def _on_progress(self, job: Job, fraction: float, message: str) -> None:
        if job is self._job:
            self.progress.setValue(int(fraction * 1000))
            self.progress.setFormat(f"{message} %p%")

    def _on_cancelled(self, job: Job) -> None:
        if self._finish(job):
            self._say("diagnosis cancelled")

    def _on_failed(self, job: Job, message: str) -> None:
        if self._finish(job):
            self._say(f"⚠ {message.splitlines()[0] if message else 'diagnosis failed'}")
            self.window.statusBar().showMessage(f"Diagnosis: {message.splitlines()[0]}"
                                                if message else "Diagnosis failed", 8000)

    def _on_result(self, job: Job, outcome: object) -> None:
        if not self._finish(job) or not isinstance(outcome, DiagnosisOutcome):
            return
        self.outcome = outcome
        self._draw(outcome)
        self._fed = None
        self._feed_lane()
        result = getattr(getattr(self.window, "analysis_panel", None), "result", None)
        self._draw_stars(result)
        self.diagnosed.emit(outcome)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Cancel the diagnosis and wait for its thread (the window is closing)."""
        self.poller.stop()
        for job in self._jobs:
            job.request_stop()
        for job in self._jobs:
            if not job.wait(wait_ms):
                log.error("diagnosis job did not stop within %d ms", wait_ms)
        self._jobs = []
        if self.dialog is not None:
            self.dialog.close()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)

    # -- drawing -----------------------------------------------------------------------------
    def _draw(self, outcome: DiagnosisOutcome) -> None:
        v = outcome.overall
        loc = v.location
        colour = LOCATION_COLOURS.get(loc, "#546e7a")
        self.verdict.setText(LOCATION_TEXT.get(loc, loc).upper())
        self.verdict.setStyleSheet(f"background: {colour}; color: white; font-weight: bold;"
                                   " font-size: 13pt; padding: 4px;")
        if v.rpm is None:
            speed = "speed unknown: no 1X line found (choose a machine with its speed)"
        else:
            conf = "" if v.rpm_confidence in (None, 1.0) else \
                f", confidence {v.rpm_confidence:.2f}"
            speed = f"<b>{v.rpm:.0f} rpm</b> from {v.rpm_source}{conf}"
        offset = self.window.plot.x_offset
        machine = f"machine {outcome.machine}" if outcome.machine else "no machine"
        mains = f" · mains {v.mains_hz:g} Hz masked" if v.mains_hz else ""
        bearing_from = outcome.bearing_source or machine
        self.speed.setText(
            f"{speed} · bearing {outcome.geometry.designation} ({bearing_from}) · "
            f"{outcome.channel} {outcome.start_s - offset:.2f}–"
            f"{outcome.end_s - offset:.2f} s · {len(outcome.diagnosis.windows)} windows"
            f"{mains}")
        self.speed.setToolTip(outcome.geometry.source)
        self._draw_policy()
        self._fill_table(outcome)
        notes = "; ".join(v.notes)
        self._say(f"diagnosed {outcome.channel}: {LOCATION_TEXT.get(loc, loc)}"
                  f"{' — ' + notes if notes else ''}")

    def _draw_policy(self) -> None:
        """One line under the verdict: what the fault model said and how the policy shows
        it (the rows of the verdict lane inside the diagnosed span)."""
        outcome = self.outcome
        if outcome is None:
            self.policy.setText("")
            return
        info = getattr(self.window, "model_info", {}) or {}
        model = str(info.get("name") or self.settings.model or "the fault model")
        rows = [v for v in self.window.plot.verdicts if v.get("source")]
        agreed = sum(1 for v in rows if v["source"] == "model")
        suggested = [v["suggestion"] for v in rows if v.get("suggestion")]
        declined = sum(1 for v in rows if v.get("model_declined"))
        if not self._model_verdicts:
            text = "Evidence verdict (no fault-model verdicts for this span)."
        elif declined and not suggested:
            text = (f"Model {model} declined (unknown) in {declined} of {len(rows)} windows: "
                    "the lane shows the evidence.")
        elif not suggested:
            text = (f"Model {model} agrees with the evidence in all {agreed} windows."
                    if not model_adapted(info, outcome.machine) else
                    f"Model {model} was adapted to {outcome.machine}: its location is shown.")
        else:
            text = (f"Model {model} disagrees in {len(suggested)} of {len(rows)} windows "
                    f"(e.g. {suggested[0]}): shown as a <i>suggestion</i>, the lane shows "
                    "the evidence (hover it).")
        self.policy.setText(f"{text} <span style='color:#888'>(policy: evidence first)"
                            "</span>")

    def _fill_table(self, outcome: DiagnosisOutcome) -> None:
        faults = sorted(outcome.overall.faults, key=lambda f: (not f.present, -f.score))
        rows = [(f, h) for f in faults for h in f.harmonics]
        self.table.setRowCount(len(rows))
        grey = QBrush(QColor("#8a8a8a"))
        for r, (f, h) in enumerate(rows):
            snr = "—" if not math.isfinite(h.snr_db) else f"{h.snr_db:.1f}"
            if h.claimed_by:
                snr += f" ({h.claimed_by})"
            cells = (f.name, f"{h.order}×", f"{h.freq_hz:.2f}", snr,
                     ("PRESENT" if f.present else "absent") if h.order == 1 else "")
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                if h.found:
                    item.setForeground(QBrush(QColor(FAULT_COLOURS.get(f.name, "#ffffff"))))
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                else:
                    item.setForeground(grey)
                item.setToolTip(f"{f.name} {h.order}× expected {h.expected_hz:.2f} Hz, peak "
                                f"{h.freq_hz:.2f} Hz, {snr} dB over the local floor "
                                f"(threshold {h.threshold_db:.1f} dB); fault score "
                                f"{f.score:.1f}")
                self.table.setItem(r, c, item)

    def table_rows(self) -> list[tuple[str, ...]]:
        """The table's text, row by row (for tests and tools)."""
        return [tuple(self.table.item(r, c).text() for c in range(self.table.columnCount()))
                for r in range(self.table.rowCount())]

    # -- the verdict lane --------------------------------------------------------------------
    def _feed_lane(self) -> None:
        """Put the evidence windows in the verdict lane, merged with the model's verdicts
        under the policy; runs again when the model adds or clears verdicts."""
        outcome = self.outcome
        if outcome is None or not outcome.diagnosis.windows:
            return
        plot = self.window.plot
        verdicts = plot.verdicts
        state = (len(verdicts), id(verdicts[-1]) if verdicts else 0)
        if state == self._fed and plot.verdict_lane is not None:
            return
        if not verdicts:
            self._model_verdicts = []  # the model restarted (or none): forget its answers
        else:
            self._model_verdicts += [v for v in verdicts if "source" not in v]
        info = getattr(self.window, "model_info", {}) or {}
        rows = lane_rows(outcome, self._model_verdicts,
                         adapted=model_adapted(info, outcome.machine))
        t0, t1 = outcome.start_s, outcome.end_s
        outside = [v for v in self._model_verdicts
                   if float(v["end_s"]) <= t0 or float(v["start_s"]) >= t1]
        merged = sorted(outside + rows, key=lambda v: float(v["start_s"]))
        if not plot.show_verdicts or plot.verdict_lane is None:
            plot.show_verdicts = True
            self.window._reconfigure()
        verdicts[:] = merged
        self._fed = (len(verdicts), id(verdicts[-1]) if verdicts else 0)
        self._draw_policy()

    def lane_rows(self) -> list[dict]:
        """The verdict lane's rows now (for tests and tools)."""
        return list(self.window.plot.verdicts)

    # -- the alarm banner --------------------------------------------------------------------
    def _police_banner(self) -> None:
        """On a machine with a profile a model alarm without evidence is a suggestion."""
        banner = self.window.banner
        label = getattr(self.window, "banner_class", "")
        if not banner.isVisible() or not label:
            self._restore_banner()
            return
        info = getattr(self.window, "model_info", {}) or {}
        machine = self.outcome.machine if self.outcome is not None else None
        verdict = banner_text(label, self.outcome, machine, model_adapted(info, machine))
        if verdict is None:
            self._restore_banner()
            return
        text = f"⚠ {verdict[0]}"
        if banner.text() == text:
            return
        if self._banner_override is None:
            self._banner_override = (banner.text(), banner.styleSheet())
        else:  # the window named another class meanwhile: that is the text to give back
            self._banner_override = (banner.text(), self._banner_override[1])
        banner.setText(text)
        banner.setStyleSheet(BANNER_AMBER)
        banner.setToolTip(POLICY_TIP)

    def _restore_banner(self) -> None:
        """Give the banner back to the window: its style, and its text if ours shows."""
        if self._banner_override is None:
            return
        text, style = self._banner_override
        self._banner_override = None
        banner = self.window.banner
        banner.setStyleSheet(style or BANNER_RED)
        if banner.text().startswith("⚠ Evidence on "):
            banner.setText(text)
        banner.setToolTip("")

    # -- stars on the envelope spectrum ------------------------------------------------------
    def _clear_stars(self) -> None:
        panel = getattr(self.window, "analysis_panel", None)
        for item in self._stars:
            if panel is not None:
                panel.splot.removeItem(item)
        self._stars = []

    def _draw_stars(self, result: Any) -> None:
        """Star the lines the evidence found on the Analysis dock's envelope spectrum."""
        self._clear_stars()
        panel = getattr(self.window, "analysis_panel", None)
        outcome = self.outcome
        if panel is None or outcome is None or result is None or result.image is not None \
                or result.request.mode != "envelope" or result.freqs_hz is None:
            return
        freqs, amp = result.freqs_hz, result.amplitude
        for f in outcome.overall.faults:
            if not f.present:
                continue  # a stray line of an absent fault is no evidence: no star
            found = [h for h in f.harmonics if h.found and h.freq_hz <= freqs[-1]]
            if not found:
                continue
            xs = np.array([h.freq_hz for h in found])
            idx = np.clip(np.searchsorted(freqs, xs), 0, freqs.size - 1)
            lo = np.clip(idx - 2, 0, freqs.size - 1)
            ys = np.array([float(np.max(amp[a:b + 3])) for a, b in zip(lo, idx, strict=True)])
            colour = FAULT_COLOURS.get(f.name, "#ffffff")
            item = pg.PlotDataItem(xs, ys * 1.08, pen=None, symbol="star", symbolSize=15,
                                   symbolBrush=pg.mkBrush(colour),
                                   symbolPen=pg.mkPen("#000000", width=0.5),
                                   name=f"{f.name} found")
            item.setZValue(10)
            item.setToolTip(f"{f.name}: lines found by the evidence "
                            f"({', '.join(f'{h.order}× {h.freq_hz:.1f} Hz' for h in found)})")
            panel.splot.addItem(item)
            self._stars.append(item)

    def star_names(self) -> list[str]:
        """The faults whose found lines are starred on the envelope spectrum."""
        return [str(item.name()).split()[0] for item in self._stars]

    def _analysed(self, result: object) -> None:
        self._draw_stars(result)


def install_diagnosis(window: QMainWindow) -> DiagnosisPanel:
    """Add the Diagnosis dock, Analysis → Machine… (Ctrl+M) and Diagnose (F7) to
    ``window`` (after :func:`desktop.ui.analysis_panel.install_analysis`)."""
    panel = DiagnosisPanel(window)
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
    run.triggered.connect(panel.diagnose)
    toggle = dock.toggleViewAction()
    toggle.setText("Diagnosis dock")
    toggle.setShortcut(QKeySequence("Ctrl+Shift+D"))
    toggle.setToolTip("Machine, fault-frequency evidence and verdict (Ctrl+Shift+D)")
    for act in (machine, run, toggle):
        window.addAction(act)
    menu = next((a.menu() for a in window.menuBar().actions()
                 if a.text() == "A&nalysis"), None)
    if menu is not None:
        menu.addSeparator()
        for act in (machine, run, toggle):
            menu.addAction(act)
    window.diagnosis_panel = panel  # type: ignore[attr-defined]
    window.diagnosis_dock = dock  # type: ignore[attr-defined]
    window.act_machine, window.act_diagnose = machine, run  # type: ignore[attr-defined]
    return panel
