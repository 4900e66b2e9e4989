"""The Machine dialog (Analysis → Machine…, Ctrl+M): list, create, edit and remove the
machine profiles that ``linewatch machine`` and ``linewatch diagnose --machine`` use.

A profile (:class:`desktop.diagnosis.profiles.MachineProfile`) says what a machine is:
its bearing (a catalogue preset or the geometry N, d, D, contact angle), how its shaft
speed is known (a fixed speed, a speed channel in r/min, a tacho channel with its pulses
per revolution, or only a range to search the spectrum in), its sensors (channel and, when
it differs, that sensor's own bearing), its ISO 20816-3 group and foundation and the
sensors' unit. Profiles are stored by :class:`~desktop.diagnosis.profiles.ProfileStore`
(one JSON file per machine in the user data folder, written atomically) — the same files
the command line reads. A problem is one line under the form, never a traceback.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.analysis.errors import AnalysisError
from desktop.diagnosis.catalogue import ALL_BEARINGS, find_bearing
from desktop.diagnosis.profiles import (
    ANY_CHANNEL,
    UNITS,
    MachineProfile,
    ProfileStore,
    Sensor,
    SpeedSpec,
)

#: The bearing combo's entry for a geometry typed by hand.
GEOMETRY = "geometry"
SPEED_CHOICES = (("unknown", "from the file, else the spectrum"),
                 ("rpm", "fixed speed"),
                 ("rpm_channel", "speed channel (r/min)"),
                 ("tacho", "tacho channel (pulses)"),
                 ("rpm_range", "search the spectrum in a range"))


def _spin(lo: float, hi: float, decimals: int, value: float, prefix: str = "",
          suffix: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(lo, hi)
    box.setDecimals(decimals)
    box.setValue(value)
    box.setPrefix(prefix)
    box.setSuffix(suffix)
    return box


class MachineDialog(QDialog):
    """Edit the profiles of ``store``. ``channels`` are the open recording's channel names
    (offered for the speed channel and the sensors); ``selected`` the machine to show
    first. Emits ``saved(name)`` and ``removed(name)``."""

    saved = Signal(str)
    removed = Signal(str)

    def __init__(self, store: ProfileStore, channels: list[str] | None = None,
                 selected: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Machines")
        self.setObjectName("machine-dialog")
        self.store = store
        self.channels = list(channels or [])
        self._loaded: str | None = None  # the stored profile the form shows; None = new

        self.list = QListWidget()
        self.list.setToolTip("Machine profiles, also used by `linewatch diagnose --machine`")
        self.list.currentTextChanged.connect(self._selected)
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("A new machine profile (Ctrl+N)")
        self.new_button.clicked.connect(self.new_profile)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Delete the selected machine profile")
        self.remove_button.clicked.connect(self.remove_profile)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.remove_button)
        left.addLayout(buttons)

        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Pump 3 drive end")
        self.name.setToolTip("1–64 letters, digits, space, '_', '-' or '.'")
        form.addRow("Name", self.name)

        self.bearing = QComboBox()
        for b in ALL_BEARINGS:
            self.bearing.addItem(b.designation, b.designation)
            self.bearing.setItemData(self.bearing.count() - 1,
                                     f"{b.balls} elements, d {b.ball_diameter:g}, D "
                                     f"{b.pitch_diameter:g}, {b.contact_angle_deg:g}° — "
                                     f"{b.source}", Qt.ItemDataRole.ToolTipRole)
        self.bearing.addItem("Geometry (N, d, D, angle)", GEOMETRY)
        self.bearing.setToolTip("The bearing under the sensors: a catalogue designation, "
                                "or your own geometry")
        self.bearing.currentIndexChanged.connect(self._bearing_changed)
        form.addRow("Bearing", self.bearing)
        self.balls = QSpinBox()
        self.balls.setRange(1, 200)
        self.balls.setValue(9)
        self.balls.setPrefix("N ")
        self.ball_d = _spin(0.001, 1000, 4, 0.3126, "d ")
        self.pitch_d = _spin(0.001, 5000, 4, 1.537, "D ")
        self.angle = _spin(0, 89.9, 1, 0.0, "", "°")
        geometry = QHBoxLayout()
        geometry.setContentsMargins(0, 0, 0, 0)
        for w in (self.balls, self.ball_d, self.pitch_d, self.angle):
            geometry.addWidget(w)
        self.geometry_row = QWidget()
        self.geometry_row.setLayout(geometry)
        self.geometry_row.setToolTip("Rolling elements, element and pitch diameter (same "
                                     "unit), contact angle")
        form.addRow("", self.geometry_row)

        self.speed_kind = QComboBox()
        for key, text in SPEED_CHOICES:
            self.speed_kind.addItem(text, key)
        self.speed_kind.setToolTip("How the shaft speed is known. 'From the file' uses the "
                                   "RPM the recording stores (a .mat file's X…RPM) or a "
                                   "channel named like rpm/speed, else finds 1X in the "
                                   "spectrum")
        self.speed_kind.currentIndexChanged.connect(self._speed_changed)
        form.addRow("Speed", self.speed_kind)
        self.rpm = _spin(1, 200_000, 1, 1800.0, "", " rpm")
        self.speed_channel = QComboBox()
        self.speed_channel.setEditable(True)
        self.speed_channel.addItems(self.channels)
        self.speed_channel.setToolTip("The channel holding the speed (r/min) or the tacho")
        self.pulses = QSpinBox()
        self.pulses.setRange(1, 1000)
        self.pulses.setPrefix("pulses/rev ")
        self.range_lo = _spin(1, 200_000, 0, 600, "", " rpm")
        self.range_hi = _spin(1, 200_000, 0, 3600, "", " rpm")
        speed = QHBoxLayout()
        speed.setContentsMargins(0, 0, 0, 0)
        self.range_dash = QLabel("–")
        for w in (self.rpm, self.speed_channel, self.pulses, self.range_lo, self.range_dash,
                  self.range_hi):
            speed.addWidget(w)
        self.speed_row = QWidget()
        self.speed_row.setLayout(speed)
        form.addRow("", self.speed_row)

        self.sensors = QTableWidget(0, 2)
        self.sensors.setHorizontalHeaderLabels(["Channel", "Bearing (blank: the machine's)"])
        self.sensors.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.sensors.verticalHeader().setVisible(False)
        self.sensors.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sensors.setMinimumHeight(90)
        self.sensors.setToolTip("One row per accelerometer: its channel in the recording and, "
                                "when it sits on another bearing, that bearing (designation "
                                "or N,d,D,angle). No rows: any channel, the machine's "
                                "bearing")
        add_sensor = QPushButton("Add sensor")
        add_sensor.clicked.connect(self._add_clicked)
        drop_sensor = QPushButton("Remove sensor")
        drop_sensor.clicked.connect(self._drop_sensor)
        sensor_buttons = QHBoxLayout()
        sensor_buttons.addWidget(add_sensor)
        sensor_buttons.addWidget(drop_sensor)
        sensor_buttons.addStretch(1)
        sensor_box = QVBoxLayout()
        sensor_box.addWidget(self.sensors)
        sensor_box.addLayout(sensor_buttons)
        form.addRow("Sensors", sensor_box)

        self.group = QComboBox()
        self.group.addItem("not given", None)
        self.group.addItem("group 1 (300 kW – 50 MW)", 1)
        self.group.addItem("group 2 (15 – 300 kW)", 2)
        self.foundation = QComboBox()
        self.foundation.addItem("not given", None)
        for name in ("rigid", "flexible"):
            self.foundation.addItem(name, name)
        iso = QHBoxLayout()
        iso.addWidget(self.group)
        iso.addWidget(self.foundation)
        form.addRow("ISO 20816-3", iso)
        self.unit = QComboBox()
        for unit in UNITS:
            self.unit.addItem(unit, unit)
        self.unit.setToolTip("The sensors' unit")
        form.addRow("Unit", self.unit)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box = QDialogButtonBox()
        self.save_button = box.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setToolTip("Save the profile (Ctrl+S)")
        self.save_button.clicked.connect(self.save_profile)
        close = box.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.close)
        QShortcut(QKeySequence.StandardKey.Save, self, activated=self.save_profile)
        QShortcut(QKeySequence.StandardKey.New, self, activated=self.new_profile)

        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.status)
        right.addWidget(box)
        row = QHBoxLayout(self)
        row.addLayout(left, 1)
        row.addLayout(right, 3)
        self.resize(820, 520)

        self._reload_list(selected)
        if self.list.count() == 0:
            self.new_profile()
        self._bearing_changed()
        self._speed_changed()

    # -- the list ----------------------------------------------------------------------------
    def _reload_list(self, select: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        try:
            names = self.store.names()
        except OSError as exc:
            names = []
            self._say(f"⚠ cannot list the machines: {exc}")
        self.list.addItems(names)
        self.list.blockSignals(False)
        target = select if select in names else (names[0] if names else None)
        if target is not None:
            self.list.setCurrentRow(names.index(target))
            self._selected(target)

    def _selected(self, name: str) -> None:
        if not name:
            return
        try:
            self.show_profile(self.store.load(name))
        except AnalysisError as exc:
            self._say(f"⚠ {exc}")

    # -- form <-> profile --------------------------------------------------------------------
    def _set_bearing(self, text: str) -> None:
        """Select ``text`` (a designation or N,d,D,ANGLE) in the bearing controls."""
        if "," in text:
            parts = [p.strip() for p in text.split(",")]
            self.bearing.setCurrentIndex(self.bearing.findData(GEOMETRY))
            try:
                self.balls.setValue(int(float(parts[0])))
                self.ball_d.setValue(float(parts[1]))
                self.pitch_d.setValue(float(parts[2]))
                self.angle.setValue(float(parts[3]) if len(parts) > 3 else 0.0)
            except (IndexError, ValueError):
                self._say(f"⚠ cannot read the geometry '{text}'")
            return
        try:
            designation = find_bearing(text).designation
        except AnalysisError as exc:
            self._say(f"⚠ {exc}")
            return
        self.bearing.setCurrentIndex(max(0, self.bearing.findData(designation)))

    def bearing_text(self) -> str:
        """The machine's bearing as the profile stores it."""
        if self.bearing.currentData() == GEOMETRY:
            return (f"{self.balls.value()},{self.ball_d.value():g},{self.pitch_d.value():g},"
                    f"{self.angle.value():g}")
        return str(self.bearing.currentData())

    def show_profile(self, profile: MachineProfile) -> None:
        """Fill the form with ``profile`` (a stored one: saving edits it)."""
        self._loaded = profile.name
        self.name.setText(profile.name)
        bearing = profile.sensors[0].bearing if profile.sensors else ""
        if bearing:
            self._set_bearing(bearing)
        self.sensors.setRowCount(0)
        for s in profile.sensors:
            if s.channel == ANY_CHANNEL and len(profile.sensors) == 1:
                continue
            self.add_sensor(s.channel, "" if s.bearing == bearing else s.bearing)
        sp = profile.speed
        self.speed_kind.setCurrentIndex(max(0, self.speed_kind.findData(sp.kind)))
        if sp.rpm:
            self.rpm.setValue(float(sp.rpm))
        if sp.channel:
            self.speed_channel.setCurrentText(sp.channel)
        self.pulses.setValue(sp.pulses_per_rev)
        if sp.rpm_range:
            self.range_lo.setValue(sp.rpm_range[0])
            self.range_hi.setValue(sp.rpm_range[1])
        self.group.setCurrentIndex(max(0, self.group.findData(profile.group)))
        self.foundation.setCurrentIndex(max(0, self.foundation.findData(profile.foundation)))
        self.unit.setCurrentIndex(max(0, self.unit.findData(profile.unit)))
        self._say("")

    def profile(self) -> MachineProfile:
        """The profile the form describes; :class:`AnalysisError` (one line) if it is not
        a valid one."""
        bearing = self.bearing_text()
        kind = str(self.speed_kind.currentData())
        channel = self.speed_channel.currentText().strip() or None
        speed = SpeedSpec(kind, rpm=self.rpm.value() if kind == "rpm" else None,
                          channel=channel if kind in ("rpm_channel", "tacho") else None,
                          pulses_per_rev=self.pulses.value() if kind == "tacho" else 1,
                          rpm_range=(self.range_lo.value(), self.range_hi.value())
                          if kind == "rpm_range" else None)
        sensors = []
        for row in range(self.sensors.rowCount()):
            ch = self._cell(row, 0)
            if not ch:
                continue
            sensors.append(Sensor(ch, self._cell(row, 1) or bearing))
        if not sensors:
            sensors = [Sensor(ANY_CHANNEL, bearing)]
        return MachineProfile(self.name.text().strip(), tuple(sensors), speed,
                              self.group.currentData(), self.foundation.currentData(),
                              str(self.unit.currentData()))

    def _cell(self, row: int, col: int) -> str:
        item = self.sensors.item(row, col)
        return item.text().strip() if item is not None else ""

    # -- actions -----------------------------------------------------------------------------
    def new_profile(self) -> None:
        """An empty form for a new machine (the bearing and speed as they are)."""
        self._loaded = None
        self.list.blockSignals(True)
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        self.list.blockSignals(False)
        self.name.clear()
        self.sensors.setRowCount(0)
        self.speed_kind.setCurrentIndex(0)
        self.group.setCurrentIndex(0)
        self.foundation.setCurrentIndex(0)
        self.unit.setCurrentIndex(0)
        self.name.setFocus()
        self._say("New machine: give it a name, its bearing and how its speed is known")

    def add_sensor(self, channel: str = "", bearing: str = "") -> None:
        """A sensor row (``channel`` defaults to the recording's next channel)."""
        row = self.sensors.rowCount()
        if not channel:
            used = {self._cell(r, 0) for r in range(row)}
            channel = next((c for c in self.channels if c not in used), "")
        self.sensors.insertRow(row)
        self.sensors.setItem(row, 0, QTableWidgetItem(str(channel or "")))
        self.sensors.setItem(row, 1, QTableWidgetItem(bearing))

    def _add_clicked(self) -> None:
        self.add_sensor()

    def _drop_sensor(self) -> None:
        rows = sorted({i.row() for i in self.sensors.selectedIndexes()}, reverse=True)
        for row in rows or ([self.sensors.rowCount() - 1] if self.sensors.rowCount() else []):
            self.sensors.removeRow(row)

    def save_profile(self) -> bool:
        """Save the form (a new profile, or the shown one; renaming replaces it)."""
        try:
            profile = self.profile()
            replacing = self._loaded is not None and self._loaded == profile.name
            if not replacing and self.store.exists(profile.name):
                raise AnalysisError(f"a machine '{profile.name}' exists: pick it in the list "
                                    "to change it, or choose another name")
            self.store.save(profile, overwrite=replacing)
            if self._loaded is not None and self._loaded != profile.name:
                self.store.remove(self._loaded)  # renamed
        except (AnalysisError, OSError) as exc:
            self._say(f"⚠ {exc}")
            return False
        self._loaded = profile.name
        self._reload_list(profile.name)
        self._say(f"Saved machine '{profile.name}'")
        self.saved.emit(profile.name)
        return True

    def remove_profile(self, confirm: bool = True) -> None:
        """Delete the selected profile (after a question unless ``confirm`` is False)."""
        item = self.list.currentItem()
        if item is None:
            self._say("Pick a machine in the list to remove it")
            return
        name = item.text()
        if confirm and QMessageBox.question(
                self, "Remove machine", f"Remove the machine profile '{name}'?") \
                != QMessageBox.StandardButton.Yes:
            return
        try:
            self.store.remove(name)
        except (AnalysisError, OSError) as exc:
            self._say(f"⚠ {exc}")
            return
        self._loaded = None
        self._reload_list()
        if self.list.count() == 0:
            self.new_profile()
        self._say(f"Removed machine '{name}'")
        self.removed.emit(name)

    # -- showing what applies ---------------------------------------------------------------
    def _bearing_changed(self, *_: object) -> None:
        self.geometry_row.setVisible(self.bearing.currentData() == GEOMETRY)

    def _speed_changed(self, *_: object) -> None:
        kind = self.speed_kind.currentData()
        self.speed_row.setVisible(kind != "unknown")
        self.rpm.setVisible(kind == "rpm")
        self.speed_channel.setVisible(kind in ("rpm_channel", "tacho"))
        self.pulses.setVisible(kind == "tacho")
        for w in (self.range_lo, self.range_dash, self.range_hi):
            w.setVisible(kind == "rpm_range")

    def _say(self, text: str) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
