"""Where the Analysis dock's shaft speed comes from, file by file.

The dock's speed row is a number and a source: *typed*, *from a speed channel* (its
median over the span), or — new — **from the file** (the RPM a recording stores, a CWRU
``.mat`` file's ``X106RPM``; :func:`desktop.ui.diagnosis_run.file_speed`, the same rule as
``linewatch spectrum`` and ``diagnose``). Rules:

- **A new file or source never inherits a typed speed.** When the session changes the
  typed speed is reset to none, so a speed typed for one file can never label a line
  "≈ BPFO" in the next.
- **The file's own speed wins.** A file that stores its RPM selects "from the file"
  (shown in the number box, greyed: it is not typed); else a remembered speed channel
  if the file has it; else a speed channel of the file; else typed (empty).
- The source is shown: the combo names the file variable, the number box's tooltip and
  the dock's status line say where the speed came from.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from desktop.analysis.workbench import SpanRequest, SpanResult
from desktop.ui.diagnosis_run import file_speed

#: The speed source combo's entry for the RPM stored in the file.
FILE_SPEED = "@file"


class SpeedControl:
    """Keeps ``panel.rpm`` (the number) and ``panel.rpm_source`` (the combo) true to the
    session's file (module docstring). ``panel`` is the AnalysisPanel."""

    def __init__(self, panel: Any) -> None:
        self.panel = panel
        self.typed = float(panel.rpm.value())  # the speed typed for this file (0: none)
        self.stored: tuple[float, str] | None = None  # the file's own (rpm, source)
        self._session: Any = None
        self._metadata_seen = False
        panel.rpm_source.currentIndexChanged.connect(self._source_changed)
        panel.rpm.valueChanged.connect(self._typed_changed)

    # -- what the panel asks -------------------------------------------------------------------
    def typed_rpm(self) -> float:
        """The typed speed to remember (never the file's, which is not typed)."""
        return self.typed

    def request_rpm(self) -> float | None:
        """The speed to hand the analysis when no speed channel is picked."""
        if self.panel.rpm_source.currentData() == FILE_SPEED and self.stored is not None:
            return self.stored[0]
        return self.typed or None

    def label(self, result: SpanResult) -> None:
        """Name the file's variable as the source of a result computed with its speed."""
        req: SpanRequest = result.request
        if self.stored is not None and req.rpm_column is None and req.rpm is not None \
                and req.rpm == self.stored[0] \
                and self.panel.rpm_source.currentData() == FILE_SPEED:
            result.rpm_source = self.stored[1]

    # -- following the session ---------------------------------------------------------------
    def sync(self, session: Any, buffer: Any) -> None:
        """Call before each request: a new session resets the typed speed; the file's
        metadata (complete once indexed) adds and selects "from the file"."""
        new = session is not self._session
        metadata = getattr(buffer, "metadata", None) or {}
        if not new and (self._metadata_seen or not metadata):
            return
        if new:
            self._session = session
            self.typed = 0.0
        self._metadata_seen = bool(metadata)
        self.stored = file_speed(metadata)
        self.channels_rebuilt(select=True)

    def channels_rebuilt(self, select: bool = False) -> None:
        """Put "from the file" in the source combo (after the panel refilled it); with
        ``select``, choose the source by the rules of the module docstring."""
        panel = self.panel
        combo = panel.rpm_source
        was = panel._loading
        panel._loading = True
        combo.blockSignals(True)
        index = combo.findData(FILE_SPEED)
        if index >= 0:
            combo.removeItem(index)
        if self.stored is not None:
            rpm, source = self.stored
            combo.insertItem(1, f"from the file ({source.split()[-1]})", FILE_SPEED)
            combo.setItemData(1, f"{rpm:g} rpm stored in the file as {source.split()[-1]}",
                              Qt.ItemDataRole.ToolTipRole)
        if select:
            remembered = panel.settings.analysis_rpm_channel
            channels = [combo.itemData(i) for i in range(combo.count())
                        if combo.itemData(i) not in ("", FILE_SPEED)]
            if self.stored is not None:
                wanted = FILE_SPEED
            elif remembered in channels:
                wanted = remembered
            else:
                wanted = channels[0] if channels else ""
            combo.setCurrentIndex(max(0, combo.findData(wanted)))
        combo.blockSignals(False)
        panel._loading = was
        self._show()

    # -- the controls ------------------------------------------------------------------------
    def _typed_changed(self, value: float) -> None:
        if self.panel.rpm.isEnabled():
            self.typed = float(value)

    def _source_changed(self, *_: object) -> None:
        self._show()

    def _show(self) -> None:
        """The number box shows the speed in use; greyed when it is not typed."""
        panel = self.panel
        data = panel.rpm_source.currentData()
        box = panel.rpm
        box.blockSignals(True)
        if data == FILE_SPEED and self.stored is not None:
            box.setEnabled(False)
            box.setValue(self.stored[0])
            box.setToolTip(f"Shaft speed stored in the file ({self.stored[1]}); pick "
                           "'typed' to override it for this file")
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

