"""Where the Analysis dock's shaft speed comes from, file by file.

The dock's speed row is a number and a source: *typed*, *from a speed channel* (its
median over the span), or — new — **from the file** (the RPM a recording stores, a CWRU
``.mat`` file's ``X106RPM``; :func:`desktop.ui.diagnosis_run.file_speed`, the same rule as
``linewatch spectrum`` and ``diagnose``). Rules:

- **A new file or source never inherits a typed speed.** When the session changes the
  typed speed is reset to none, so a speed typed for one file can never label a line
  "≈ BPFO" in the next.
- **A given speed wins**, in the order of ``linewatch diagnose``: the fixed speed of the
  machine chosen in the Diagnosis dock ("from machine NAME"), else the file's own RPM
  ("from the file"), both shown in the number box greyed (they are not typed); else a
  remembered speed channel if the file has it; else a speed channel of the file; else
  typed (empty).
- The source is shown: the combo names the file variable, the number box's tooltip and
  the dock's status line say where the speed came from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt

from desktop.analysis.workbench import SpanRequest, SpanResult
from desktop.ui.diagnosis_run import file_speed

#: The speed source combo's entries for a speed given by the file or by the machine.
FILE_SPEED = "@file"
MACHINE_SPEED = "@machine"


class SpeedControl:
    """Keeps ``panel.rpm`` (the number) and ``panel.rpm_source`` (the combo) true to the
    session's file and machine (module docstring). ``panel`` is the dock's
    :class:`~desktop.ui.analysis_controls.AnalysisControls`; ``session()`` the window's
    session now."""

    def __init__(self, panel: Any, session: Callable[[], Any]) -> None:
        self.panel = panel
        self._session_now = session
        self.typed = float(panel.rpm.value())  # the speed typed for this file (0: none)
        #: Speeds given, not typed: {FILE_SPEED | MACHINE_SPEED: (rpm, where from)}.
        self.given: dict[str, tuple[float, str]] = {}
        self._session: Any = None
        self._machine_session: Any = None  # the session the machine's speed was set for
        #: The session the typed speed was typed for: a speed typed after a file opened
        #: but before the dock's first request for it belongs to that file, not the last.
        self._typed_session: Any = None
        self._metadata_seen = False
        panel.rpm_source.currentIndexChanged.connect(self._source_changed)
        panel.rpm.valueChanged.connect(self._typed_changed)

    @property
    def stored(self) -> tuple[float, str] | None:
        """The file's own speed ``(rpm, "file variable X106RPM")``, or None."""
        return self.given.get(FILE_SPEED)

    # -- what the panel asks -------------------------------------------------------------------
    def typed_rpm(self) -> float:
        """The typed speed to remember (never a given one, which is not typed)."""
        return self.typed

    def request_rpm(self) -> float | None:
        """The speed to hand the analysis when no speed channel is picked."""
        given = self.given.get(str(self.panel.rpm_source.currentData()))
        if given is not None:
            return given[0]
        return self.typed or None

    def label(self, result: SpanResult) -> None:
        """Name where a given speed came from on a result computed with it."""
        req: SpanRequest = result.request
        given = self.given.get(str(self.panel.rpm_source.currentData()))
        if given is not None and req.rpm_column is None and req.rpm == given[0]:
            result.rpm_source = given[1]

    # -- following the session and the machine -----------------------------------------------
    def sync(self, session: Any, buffer: Any) -> None:
        """Call before each request: a new session resets the typed speed; the file's
        metadata (complete once indexed) adds and selects "from the file"."""
        new = session is not self._session
        metadata = getattr(buffer, "metadata", None) or {}
        if not new and (self._metadata_seen or not metadata):
            return
        if new:
            self._session = session
            if self._typed_session is not session:
                self.typed = 0.0
            if self._machine_session is not session:  # the last file's machine: gone
                self.given.pop(MACHINE_SPEED, None)
        self._metadata_seen = bool(metadata)
        stored = file_speed(metadata)
        if stored is None:
            self.given.pop(FILE_SPEED, None)
        else:
            self.given[FILE_SPEED] = stored
        self.channels_rebuilt(select=True)

    def set_machine(self, session: Any, name: str | None, rpm: float | None) -> None:
        """The machine chosen in the Diagnosis dock for ``session``, and its fixed speed
        (None: none)."""
        self._machine_session = session
        before = self.given.get(MACHINE_SPEED)
        if name and rpm:
            self.given[MACHINE_SPEED] = (float(rpm), f"machine {name}")
        else:
            self.given.pop(MACHINE_SPEED, None)
        if self.given.get(MACHINE_SPEED) != before:
            self.channels_rebuilt(select=True)
            self.panel._changed()  # recompute with the machine's speed

    def channels_rebuilt(self, select: bool = False) -> None:
        """Put the given speeds in the source combo (after the panel refilled it); with
        ``select``, choose the source by the rules of the module docstring."""
        panel = self.panel
        combo = panel.rpm_source
        was = panel.loading
        panel.loading = True
        combo.blockSignals(True)
        for key in (FILE_SPEED, MACHINE_SPEED):
            index = combo.findData(key)
            if index >= 0:
                combo.removeItem(index)
        for key in (FILE_SPEED, MACHINE_SPEED):  # the machine's ends up first
            if key in self.given:
                rpm, source = self.given[key]
                text = f"from the file ({source.split()[-1]})" if key == FILE_SPEED \
                    else f"from {source}"
                combo.insertItem(1, text, key)
                combo.setItemData(1, f"{rpm:g} rpm: {source}", Qt.ItemDataRole.ToolTipRole)
        if select:
            remembered = panel.settings.analysis_rpm_channel
            channels = [combo.itemData(i) for i in range(combo.count())
                        if combo.itemData(i) not in ("", FILE_SPEED, MACHINE_SPEED)]
            if MACHINE_SPEED in self.given:
                wanted = MACHINE_SPEED
            elif FILE_SPEED in self.given:
                wanted = FILE_SPEED
            elif remembered in channels:
                wanted = remembered
            else:
                wanted = channels[0] if channels else ""
            combo.setCurrentIndex(max(0, combo.findData(wanted)))
        combo.blockSignals(False)
        panel.loading = was
        self._show()

    # -- the controls ------------------------------------------------------------------------
    def _typed_changed(self, value: float) -> None:
        if self.panel.rpm.isEnabled():
            self.typed = float(value)
            self._typed_session = self._session_now()

    def _source_changed(self, *_: object) -> None:
        self._show()

    def _show(self) -> None:
        """The number box shows the speed in use; greyed when it is not typed."""
        panel = self.panel
        data = panel.rpm_source.currentData()
        box = panel.rpm
        box.blockSignals(True)
        given = self.given.get(str(data))
        if given is not None:
            box.setEnabled(False)
            box.setValue(given[0])
            box.setToolTip(f"Shaft speed given by the {given[1]}; pick 'typed' to "
                           "override it for this file")
        elif data:
            box.setEnabled(False)
            box.setValue(0.0)
            box.setToolTip(f"Shaft speed: median of the channel {data} over the span")
        else:
            box.setEnabled(True)
            box.setValue(self.typed)
            box.setToolTip("Shaft speed typed for this file (0: none; then only peaks are "
                           "shown). A new file starts without one.")
        box.blockSignals(False)
