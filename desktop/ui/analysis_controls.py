"""The Analysis dock's controls: channel, mode, bearing, shaft speed, band, marker families,
log axis and the ISO 20816-3 machine class; each choice is remembered in the settings.

:class:`AnalysisControls` builds the widgets and keeps them consistent (a preset bearing
shows its figures in a tooltip, editing them makes it a custom bearing; the band row shows
for the envelope only). It draws nothing and computes nothing: it says ``changed`` when a
choice that needs a new computation changed, ``markers_toggled`` / ``log_toggled`` when
only the drawing changes. The speed row's rules live in
:class:`~desktop.ui.analysis_speed.SpeedControl`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QWidget,
)

from desktop.analysis.bearings import PRESETS, BearingGeometry
from desktop.analysis.errors import AnalysisError
from desktop.analysis.workbench import is_speed_channel
from desktop.core.settings import Settings
from desktop.ui.analysis_speed import SpeedControl

CUSTOM = "custom"
MODE_NAMES = {"envelope": "Envelope spectrum", "spectrum": "Amplitude spectrum",
              "spectrogram": "Spectrogram"}
#: Marker families: (key, button text, colour, tooltip).
FAMILIES = (("1X", "1X", "#80B1D3", "Shaft speed and its harmonics"),
            ("FTF", "FTF", "#8DD3C7", "Cage (fundamental train) frequency"),
            ("BSF", "BSF", "#CC79A7", "Ball spin frequency, harmonics, ±FTF sidebands"),
            ("BPFO", "BPFO", "#E69F00", "Ball pass frequency, outer race, and harmonics"),
            ("BPFI", "BPFI", "#FB8072", "Ball pass frequency, inner race, and harmonics"),
            ("SB", "±1X", "#FB8072", "Shaft-speed sidebands of BPFI (dashed)"))


def _spin(lo: float, hi: float, decimals: int, value: float, suffix: str = "",
          tip: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setValue(value)
    box.setSuffix(suffix)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)  # recompute when the number is complete
    return box


class AnalysisControls(QObject):
    """The dock's input widgets. ``grid`` (channel … band rows), ``toggles`` (marker
    families and log) and ``severity_row`` (group, foundation, unit) are laid out by the
    panel. ``session()`` is the window's session now (for the speed's rules)."""

    changed = Signal()  # a choice that needs a new computation
    markers_toggled = Signal()
    log_toggled = Signal()

    def __init__(self, settings: Settings, session: Callable[[], Any],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        #: True while the controls are set by code, not by the user: nothing is emitted.
        self.loading = True
        self._channels: tuple[Any, ...] = ()
        self._build_grid()
        self._build_toggles()
        self._build_severity()
        # The speed's source per file: the file's own RPM, never a typed one carried over.
        self.speed = SpeedControl(self, session)
        self._bearing_changed(remember=False)
        self._band_toggled(self.band_auto.isChecked())

    # -- building --------------------------------------------------------------------------
    def _build_grid(self) -> None:
        s = self.settings
        self.grid = grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(3)

        self.channel = QComboBox()
        self.channel.setToolTip("The channel analysed")
        self.channel.currentIndexChanged.connect(self._changed)
        self.mode = QComboBox()
        for key, name in MODE_NAMES.items():
            self.mode.addItem(name, key)
        self.mode.setCurrentIndex(max(0, self.mode.findData(s.analysis_mode)))
        self.mode.setToolTip("Amplitude spectrum (Welch, RMS), envelope spectrum of a band "
                             "(bearing faults) or spectrogram")
        self.mode.currentIndexChanged.connect(self.mode_changed)
        self.refresh_button = QPushButton("⟳")
        self.refresh_button.setToolTip("Recompute now (F6)")
        self.refresh_button.setMaximumWidth(32)
        grid.addWidget(QLabel("Channel"), 0, 0)
        grid.addWidget(self.channel, 0, 1, 1, 2)
        grid.addWidget(self.mode, 0, 3, 1, 4)
        grid.addWidget(self.refresh_button, 0, 7)

        self.span_label = QLabel("")
        self.span_label.setToolTip("Turn the cursors on (C) to analyse the A–B selection; "
                                   "otherwise the visible span is analysed")
        grid.addWidget(self.span_label, 1, 0, 1, 8)

        self.bearing = QComboBox()
        for preset in PRESETS:
            self.bearing.addItem(preset.designation, preset.designation)
            self.bearing.setItemData(self.bearing.count() - 1, preset.source,
                                     Qt.ItemDataRole.ToolTipRole)
        self.bearing.addItem("Custom geometry", CUSTOM)
        index = self.bearing.findData(s.analysis_bearing)
        self.bearing.setCurrentIndex(index if index >= 0 else 0)
        self.bearing.setToolTip("Bearing by designation, or your own geometry")
        self.bearing.currentIndexChanged.connect(self._bearing_changed)
        geometry = list(s.analysis_geometry) + [9, 0.3126, 1.537, 0.0][len(s.analysis_geometry):]
        self.balls = QSpinBox()
        self.balls.setRange(1, 200)
        self.balls.setValue(int(geometry[0]))
        self.balls.setToolTip("Number of rolling elements")
        self.balls.setPrefix("n ")
        self.ball_d = _spin(0.001, 1000, 4, float(geometry[1]), "", "Ball (roller) "
                            "diameter, same unit as the pitch diameter")
        self.ball_d.setPrefix("d ")
        self.pitch_d = _spin(0.001, 5000, 4, float(geometry[2]), "", "Pitch diameter")
        self.pitch_d.setPrefix("D ")
        self.angle = _spin(0, 89.9, 1, float(geometry[3]), "°", "Contact angle")
        grid.addWidget(QLabel("Bearing"), 2, 0)
        grid.addWidget(self.bearing, 2, 1, 1, 7)
        figures = QHBoxLayout()
        figures.setSpacing(3)
        for w in (self.balls, self.ball_d, self.pitch_d, self.angle):
            figures.addWidget(w, 1)
            w.valueChanged.connect(self._geometry_edited)
        self.figures = QWidget()
        self.figures.setLayout(figures)
        figures.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.figures, 3, 1, 1, 7)

        self.rpm = _spin(0, 200_000, 1, s.analysis_rpm, " rpm",
                         "Shaft speed (0: none; then only peaks are shown)")
        self.rpm.setSpecialValueText("— rpm")
        self.rpm.valueChanged.connect(self._changed)
        self.rpm_source = QComboBox()
        self.rpm_source.setToolTip("Take the shaft speed from a speed channel of the session"
                                   " (its median over the span), or type it")
        self.rpm_source.addItem("typed", "")
        self.rpm_source.currentIndexChanged.connect(self._changed)
        grid.addWidget(QLabel("Speed"), 4, 0)
        grid.addWidget(self.rpm, 4, 1, 1, 3)
        grid.addWidget(self.rpm_source, 4, 4, 1, 4)

        self.band_auto = QCheckBox("auto")
        self.band_auto.setToolTip("Choose the demodulation band by spectral kurtosis")
        self.band_auto.setChecked(s.analysis_band_auto)
        self.band_auto.toggled.connect(self._band_toggled)
        band = list(s.analysis_band) + [2000.0, 5000.0][len(s.analysis_band):]
        self.band_lo = _spin(0.1, 1e6, 0, float(band[0]), " Hz", "Band low edge")
        self.band_hi = _spin(0.1, 1e6, 0, float(band[1]), " Hz", "Band high edge")
        for box in (self.band_lo, self.band_hi):
            box.valueChanged.connect(self._changed)
        self.band_row: list[QWidget] = [QLabel("Band"), self.band_auto, self.band_lo,
                                        QLabel("–"), self.band_hi]
        grid.addWidget(self.band_row[0], 5, 0)
        grid.addWidget(self.band_auto, 5, 1)
        grid.addWidget(self.band_lo, 5, 2, 1, 3)
        grid.addWidget(self.band_row[3], 5, 5)
        grid.addWidget(self.band_hi, 5, 6, 1, 2)

    def _build_toggles(self) -> None:
        self.toggles = toggles = QHBoxLayout()
        toggles.setSpacing(2)
        shown = set(self.settings.analysis_markers.split(","))
        self.family_buttons: dict[str, QToolButton] = {}
        for key, text, colour, tip in FAMILIES:
            button = QToolButton()
            button.setText(text)
            button.setCheckable(True)
            button.setChecked(key in shown)
            button.setToolTip(f"Show markers: {tip}")
            button.setStyleSheet(
                "QToolButton { color: #9e9e9e; padding: 1px 5px; }"
                f"QToolButton:checked {{ color: {colour}; font-weight: bold; "
                f"border: 1px solid {colour}; border-radius: 3px; }}")
            button.toggled.connect(self.markers_toggled)
            toggles.addWidget(button)
            self.family_buttons[key] = button
        toggles.addStretch(1)
        self.log_y = QCheckBox("log")
        self.log_y.setToolTip("Logarithmic amplitude axis")
        self.log_y.setChecked(self.settings.analysis_log_y)
        self.log_y.toggled.connect(self.log_toggled)
        toggles.addWidget(self.log_y)

    def _build_severity(self) -> None:
        s = self.settings
        self.group = QComboBox()
        self.group.addItem("group 1", 1)
        self.group.addItem("group 2", 2)
        self.group.setToolTip("Machine group: 1 = large machines, 300 kW – 50 MW; "
                              "2 = medium machines, 15 – 300 kW")
        self.group.setItemData(0, "large machines, 300 kW – 50 MW",
                               Qt.ItemDataRole.ToolTipRole)
        self.group.setItemData(1, "medium machines, 15 – 300 kW", Qt.ItemDataRole.ToolTipRole)
        self.group.setCurrentIndex(max(0, self.group.findData(s.analysis_group)))
        self.foundation = QComboBox()
        self.foundation.setToolTip("Foundation of the machine set")
        for name in ("rigid", "flexible"):
            self.foundation.addItem(name, name)
        self.foundation.setCurrentIndex(max(0, self.foundation.findData(
            s.analysis_foundation)))
        self.unit = QComboBox()
        self.unit.addItem("file's unit", "")
        for name in ("g", "m/s2", "mm/s"):
            self.unit.addItem(name, name)
        self.unit.setCurrentIndex(max(0, self.unit.findData(s.analysis_unit)))
        self.unit.setToolTip("The channel's unit for severity, when the file does not say")
        for box in (self.group, self.foundation, self.unit):
            box.currentIndexChanged.connect(self._changed)

    # -- settings follow the controls ----------------------------------------------------
    def remember(self) -> None:
        """Write every choice into the settings (not while the code sets the controls)."""
        if self.loading:
            return
        s = self.settings
        s.analysis_mode = str(self.mode.currentData())
        s.analysis_bearing = str(self.bearing.currentData())
        s.analysis_geometry = [float(self.balls.value()), self.ball_d.value(),
                               self.pitch_d.value(), self.angle.value()]
        s.analysis_rpm = self.rpm.value() if self.rpm.isEnabled() else self.speed.typed_rpm()
        s.analysis_rpm_channel = str(self.rpm_source.currentData() or "")
        s.analysis_band_auto = self.band_auto.isChecked()
        s.analysis_band = [self.band_lo.value(), self.band_hi.value()]
        s.analysis_markers = ",".join(k for k, b in self.family_buttons.items()
                                      if b.isChecked())
        s.analysis_log_y = self.log_y.isChecked()
        s.analysis_unit = str(self.unit.currentData() or "")
        s.analysis_group = int(self.group.currentData())
        s.analysis_foundation = str(self.foundation.currentData())

    def _changed(self, *_: object) -> None:
        if not self.loading:
            self.changed.emit()

    def mode_changed(self, *_: object) -> None:
        """Show the band row for the envelope only, markers and log for spectra only."""
        envelope = self.mode.currentData() == "envelope"
        for w in self.band_row:
            w.setVisible(envelope)
        self.band_lo.setVisible(envelope)
        self.band_hi.setVisible(envelope)
        spectrogram = self.mode.currentData() == "spectrogram"
        for button in (*self.family_buttons.values(), self.log_y):
            button.setVisible(not spectrogram)  # markers and log are for spectra
        self._changed()

    def _band_toggled(self, auto: bool) -> None:
        self.band_lo.setEnabled(not auto)
        self.band_hi.setEnabled(not auto)
        self._changed()

    def _bearing_changed(self, *_: object, remember: bool = True) -> None:
        designation = self.bearing.currentData()
        preset = next((p for p in PRESETS if p.designation == designation), None)
        if preset is not None:
            self.loading, was = True, self.loading
            self.balls.setValue(preset.balls)
            self.ball_d.setValue(preset.ball_diameter)
            self.pitch_d.setValue(preset.pitch_diameter)
            self.angle.setValue(preset.contact_angle_deg)
            self.loading = was
        # A preset's figures are in its tooltip; your own bearing shows them to edit.
        self.figures.setVisible(preset is None)
        if preset is not None:
            self.bearing.setToolTip(f"{preset.balls} balls, d {preset.ball_diameter:g}, "
                                    f"D {preset.pitch_diameter:g}, contact angle "
                                    f"{preset.contact_angle_deg:g}° ({preset.source})")
        if remember:
            self._changed()

    def _geometry_edited(self, *_: object) -> None:
        """Editing a preset's figures makes it a custom bearing."""
        if self.loading:
            return
        if self.bearing.currentData() != CUSTOM:
            self.bearing.blockSignals(True)
            self.bearing.setCurrentIndex(self.bearing.findData(CUSTOM))
            self.bearing.blockSignals(False)
        self._changed()

    def set_geometry(self, designation: str | None, figures: tuple[float, ...]) -> None:
        """Choose a bearing by code (the Diagnosis dock's machine): ``figures`` (n, d, D,
        contact angle) are set first, then the preset ``designation`` (None or unknown:
        a custom bearing with these figures)."""
        balls, ball_d, pitch_d, angle = figures
        self.loading, was = True, self.loading
        self.balls.setValue(int(balls))
        self.ball_d.setValue(ball_d)
        self.pitch_d.setValue(pitch_d)
        self.angle.setValue(angle)
        self.loading = was
        index = self.bearing.findData(designation) if designation is not None else -1
        self.bearing.setCurrentIndex(index if index >= 0 else self.bearing.findData(CUSTOM))

    def figures_now(self) -> tuple[float, ...]:
        """(n, d, D, contact angle) as the boxes show them."""
        return (float(self.balls.value()), self.ball_d.value(), self.pitch_d.value(),
                self.angle.value())

    # -- what the controls ask for ---------------------------------------------------------
    def geometry(self) -> BearingGeometry | None:
        """The chosen preset, or the typed geometry (None when it is not a bearing)."""
        designation = self.bearing.currentData()
        preset = next((p for p in PRESETS if p.designation == designation), None)
        if preset is not None:
            return preset
        try:
            return BearingGeometry(self.balls.value(), self.ball_d.value(),
                                   self.pitch_d.value(), self.angle.value())
        except AnalysisError:
            return None

    def band(self) -> tuple[float, float] | None:
        """The typed band (Hz), or None when it is chosen by spectral kurtosis."""
        if self.band_auto.isChecked():
            return None
        return (self.band_lo.value(), self.band_hi.value())

    def sync_channels(self, channels: tuple[Any, ...]) -> None:
        """Fill the channel and speed-source boxes for the session's channels (once per
        change); the remembered channel and speed channel are chosen again."""
        if channels == self._channels:
            return
        self._channels = channels
        wanted = self.channel.currentData()
        self.loading, was = True, self.loading
        self.channel.clear()
        self.rpm_source.clear()
        self.rpm_source.addItem("typed", "")
        for ch in channels:
            text = f"{ch.name} [{ch.unit}]" if ch.unit else ch.name
            self.channel.addItem(text, ch.name)
            if is_speed_channel(ch.name, ch.unit):
                self.rpm_source.addItem(f"from {ch.name}", ch.name)
        names = [ch.name for ch in channels]
        if wanted not in names:
            wanted = next((ch.name for ch in channels
                           if not is_speed_channel(ch.name, ch.unit)), names[0] if names
                          else None)
        self.channel.setCurrentIndex(max(0, self.channel.findData(wanted)))
        self.rpm_source.setCurrentIndex(max(0, self.rpm_source.findData(
            self.settings.analysis_rpm_channel)))
        self.loading = was
        self.speed.channels_rebuilt(select=True)
