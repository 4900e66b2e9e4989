"""The Diagnosis dock's controls: the machine (remembered per file or source), the span
(whole file or visible span), Diagnose / Cancel and the progress bar, and the machine
profile they load.

:class:`DiagnosisControls` owns the widgets and the profile chosen. A machine's bearing
goes to the Analysis dock's markers (the sensor on the analysed channel, else the first;
as a preset or as its own figures) and its fixed speed to the Analysis dock's speed row;
without a machine the Analysis dock gets back the bearing it had before. Machine…
(Ctrl+M) opens the :class:`~desktop.ui.machine_dialog.MachineDialog`, one at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QProgressBar, QPushButton, QWidget

from desktop.analysis.errors import AnalysisError
from desktop.diagnosis.profiles import MachineProfile, ProfileStore
from desktop.ui.machine_dialog import MachineDialog

NO_MACHINE = ""
WHOLE, VISIBLE = "whole", "visible"


class DiagnosisControls(QObject):
    """Widgets ``machine``, ``machine_button``, ``span``, ``run_button``,
    ``cancel_button`` (in ``grid``) and ``progress``; ``profile`` is the machine chosen
    (None: none). ``analysis()`` is the Analysis dock (None: none), ``session()`` the
    window's session, ``say(text)`` the dock's status line."""

    machine_chosen = Signal()  # the user picked a machine in the combo
    machine_saved = Signal(str)  # the dialog saved this machine
    run_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, store: ProfileStore, analysis: Callable[[], Any],
                 session: Callable[[], Any], say: Callable[[str], None],
                 dialog_parent: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._analysis, self._session, self._say = analysis, session, say
        self._dialog_parent = dialog_parent
        self.profile: MachineProfile | None = None
        self.dialog: MachineDialog | None = None
        #: The Analysis dock's bearing before a machine set it: (data, figures).
        self._bearing_before: tuple[Any, tuple[float, ...]] | None = None
        self.grid = grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        self.machine = QComboBox()
        self.machine.setToolTip("The machine this recording comes from (remembered per file "
                                "or source); none: the Analysis dock's bearing")
        self.machine.currentIndexChanged.connect(self._machine_picked)
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
        self.run_button.clicked.connect(self.run_requested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the diagnosis")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.cancel_button.setEnabled(False)
        grid.addWidget(QLabel("Span"), 1, 0)
        grid.addWidget(self.span, 1, 1)
        grid.addWidget(self.run_button, 1, 2)
        grid.addWidget(self.cancel_button, 1, 3)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)

    def running(self, on: bool, text: str = "diagnosing… %p%") -> None:
        """Show the progress bar and enable Cancel while a diagnosis runs."""
        if on:
            self.progress.setValue(0)
            self.progress.setFormat(text)
        self.progress.setVisible(on)
        self.cancel_button.setEnabled(on)

    def show_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(f"{message} %p%")

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
        self.load_profile()

    def choose(self, name: str) -> None:
        """Select ``name`` (not found: none) without the user's "machine chosen"."""
        self.machine.blockSignals(True)
        self.machine.setCurrentIndex(max(0, self.machine.findData(name)))
        self.machine.blockSignals(False)
        self.load_profile()

    def load_profile(self) -> None:
        """Load the selected machine and hand its bearing and speed to the Analysis dock."""
        name = self.machine.currentData() or NO_MACHINE
        self.profile = None
        if name:
            try:
                self.profile = self.store.load(name)
            except AnalysisError as exc:
                self._say(f"⚠ {exc}")
        self._bearing_to_analysis()
        panel = self._analysis()
        speed = getattr(panel, "speed", None)
        if speed is not None:
            p = self.profile
            fixed = p.speed.rpm if p is not None and p.speed.kind == "rpm" else None
            speed.set_machine(self._session(), p.name if p is not None else None, fixed)

    def _bearing_to_analysis(self) -> None:
        """The Analysis dock's markers follow the machine's bearing (the sensor on the
        analysed channel, else the first), as a preset or as its own geometry."""
        panel = self._analysis()
        if panel is None:
            return
        if self.profile is None or not self.profile.sensors:
            self._bearing_back(panel)  # no machine: the user's own choice again
            return
        if self._bearing_before is None:
            self._bearing_before = (panel.bearing.currentData(),
                                    panel.controls.figures_now())
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
        if index < 0:  # not a preset: the machine's own figures
            panel.controls.set_geometry(None, (float(g.balls), g.ball_diameter,
                                               g.pitch_diameter, g.contact_angle_deg))
        else:
            panel.bearing.setCurrentIndex(index)
        panel.bearing.setToolTip(f"{panel.bearing.toolTip()} — from machine "
                                 f"{self.profile.name}")

    def _bearing_back(self, panel: Any) -> None:
        """Give the Analysis dock back the bearing it had before a machine set it."""
        if self._bearing_before is None:
            return
        data, figures = self._bearing_before
        self._bearing_before = None
        panel.controls.set_geometry(data, figures)

    def _machine_picked(self, *_: object) -> None:
        self.load_profile()
        self.machine_chosen.emit()

    # -- the Machine dialog --------------------------------------------------------------
    def open_machines(self) -> MachineDialog:
        """Show the Machine dialog (one at a time), with the recording's channels."""
        if self.dialog is None:
            session = self._session()
            buffer = session.buffer if session is not None else None
            channels = [c.name for c in buffer.channels] if buffer is not None else []
            self.dialog = MachineDialog(self.store, channels,
                                        self.machine.currentData() or None,
                                        self._dialog_parent)
            self.dialog.saved.connect(self.machine_saved)
            self.dialog.removed.connect(self._dialog_removed)
            self.dialog.finished.connect(self._dialog_closed)
        if self.dialog.isVisible():
            self.dialog.activateWindow()  # already open: bring it forward
        self.dialog.show()
        return self.dialog

    def _dialog_removed(self, name: str) -> None:
        self.reload_machines()

    def _dialog_closed(self, *_: object) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None

    def close_dialog(self) -> None:
        if self.dialog is not None:
            self.dialog.close()
