"""The source panel: pick a serial port, a replay file, a Modbus device or the demo rig,
then connect.

It only builds a source *spec* (``serial:/dev/ttyUSB0``) and options; the window hands
those to the acquisition worker, which opens the source off the UI thread.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

BAUDS = ["9600", "19200", "38400", "57600", "115200", "230400", "460800", "921600"]
SPEEDS = ["1", "2", "5", "10", "max"]
KINDS = [("Demo rig", "demo"), ("Serial port", "serial"), ("Replay file", "replay"),
         ("Synthetic", "synth"), ("Modbus", "modbus")]
MODBUS_BAUDS = ["9600", "19200", "38400", "57600", "115200"]


class SourcePanel(QWidget):
    """Emits ``connect_requested(spec, options)`` / ``disconnect_requested()``."""

    connect_requested = Signal(str, dict)
    disconnect_requested = Signal()
    refresh_ports_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind = QComboBox()
        for label, key in KINDS:
            self.kind.addItem(label, key)
        self.stack = QStackedWidget()

        demo = QWidget()
        about_demo = QLabel("Real bearing vibration (CWRU data, 12 kHz, drive-end and "
                            "fan-end accelerometers), looping from a healthy bearing into "
                            "inner-race, ball and outer-race faults. No hardware needed.")
        about_demo.setWordWrap(True)
        QVBoxLayout(demo).addWidget(about_demo)

        serial = QWidget()
        form = QFormLayout(serial)
        self.port = QComboBox()
        self.port.setEditable(True)
        self.port.setToolTip("Pick a port or type a path (e.g. /dev/serial/by-id/…, COM3)")
        refresh = QPushButton("Refresh")
        refresh.setToolTip("List the serial ports again")
        refresh.clicked.connect(self.refresh_ports_requested.emit)
        row = QHBoxLayout()
        row.addWidget(self.port, 1)
        row.addWidget(refresh)
        form.addRow("Port", row)
        self.baud = QComboBox()
        self.baud.setEditable(True)
        self.baud.addItems(BAUDS)
        self.baud.setCurrentText("115200")
        form.addRow("Baud", self.baud)
        self.line_format = QComboBox()
        self.line_format.setEditable(True)  # a typed binary:SPEC is taken as it is
        self.line_format.addItem("Auto-detect", "auto")
        self.line_format.addItem("ASCII lines", "ascii")
        self.line_format.addItem("ASCII lines, decimal comma", "ascii:decimal=,")
        self.line_format.setToolTip("Or type binary frames, e.g. "
                                    "binary:sync=AA55,ch=4xi16le,crc=ccitt")
        form.addRow("Format", self.line_format)

        replay = QWidget()
        form = QFormLayout(replay)
        self.file = QLineEdit()
        self.file.setPlaceholderText("recording.parquet or .csv")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.file, 1)
        row.addWidget(browse)
        form.addRow("File", row)
        self.speed = QComboBox()
        self.speed.setEditable(True)
        self.speed.addItems(SPEEDS)
        form.addRow("Speed", self.speed)

        synth = QWidget()
        form = QFormLayout(synth)
        self.synth_spec = QLineEdit("8x2000")
        self.synth_spec.setToolTip("CHANNELSxRATE, e.g. 16x20000")
        form.addRow("Channels×rate", self.synth_spec)

        modbus = self._modbus_page()

        for page in (demo, serial, replay, synth, modbus):
            self.stack.addWidget(page)
        self.kind.currentIndexChanged.connect(self.stack.setCurrentIndex)

        self.connect_button = QPushButton("Connect")
        self.connect_button.setCheckable(True)
        self.connect_button.clicked.connect(self._toggle)
        # An opened file is named here; Connect stays the live source's (see show_file).
        self.file_info = QLabel("")
        self.file_info.setWordWrap(True)
        self.file_info.setVisible(False)
        self.file_info.setStyleSheet("background: rgba(21, 101, 192, 60); padding: 4px;")

        layout = QVBoxLayout(self)
        layout.addWidget(self.file_info)
        layout.addWidget(self.kind)
        layout.addWidget(self.stack)
        layout.addWidget(self.connect_button)
        layout.addStretch(1)

    def _modbus_page(self) -> QWidget:
        """Modbus TCP (host:port) or RTU (serial port + line settings), unit, map file."""
        page = QWidget()
        form = QFormLayout(page)
        self.modbus_transport = QComboBox()
        self.modbus_transport.addItem("TCP (Ethernet)", "modbus-tcp")
        self.modbus_transport.addItem("RTU (RS-485 serial)", "modbus-rtu")
        form.addRow("Transport", self.modbus_transport)
        self.modbus_target = QLineEdit()
        self.modbus_target.setPlaceholderText("192.168.0.10:502")
        self.modbus_target.setToolTip("TCP: HOST:PORT (port 502 if left out); "
                                      "RTU: the serial port, e.g. /dev/ttyUSB0 or COM3")
        form.addRow("Host or port", self.modbus_target)
        self.modbus_unit = QSpinBox()
        self.modbus_unit.setRange(0, 247)
        self.modbus_unit.setValue(1)
        form.addRow("Unit id", self.modbus_unit)
        self.modbus_map = QLineEdit()
        self.modbus_map.setPlaceholderText("register map .csv")
        self.modbus_map.setToolTip("name,function,address,type,scale,offset,unit,period_s,"
                                   "word_order (see the README)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_map)
        row = QHBoxLayout()
        row.addWidget(self.modbus_map, 1)
        row.addWidget(browse)
        form.addRow("Map file", row)
        self.modbus_baud = QComboBox()
        self.modbus_baud.setEditable(True)
        self.modbus_baud.addItems(MODBUS_BAUDS)
        self.modbus_baud.setCurrentText("19200")
        form.addRow("RTU baud", self.modbus_baud)
        self.modbus_parity = QComboBox()
        self.modbus_parity.addItems(["none", "even", "odd"])
        form.addRow("RTU parity", self.modbus_parity)
        self.modbus_stopbits = QComboBox()
        self.modbus_stopbits.addItems(["1", "2"])
        form.addRow("RTU stop bits", self.modbus_stopbits)
        return page

    def _browse_map(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Modbus register map",
                                              self.modbus_map.text(), "Register maps (*.csv)")
        if path:
            self.modbus_map.setText(path)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open recording", self.file.text(),
                                              "Recordings (*.parquet *.csv *.tsv *.txt)")
        if path:
            self.file.setText(path)

    def set_ports(self, ports: list[tuple[str, str]]) -> None:
        current = self.port.currentText()
        self.port.clear()
        for device, description in ports:
            self.port.addItem(f"{device}", device)
            self.port.setItemData(self.port.count() - 1, description)
        if current:
            self.port.setEditText(current)

    def spec_and_options(self) -> tuple[str, dict[str, object]]:
        """The spec string and options for the chosen kind (validated by the factory)."""
        key = self.kind.currentData()
        options: dict[str, object] = {}
        if key == "serial":
            options = {"baud": self.baud.currentText(), "line_format": self.format_spec()}
            return f"serial:{self.port.currentText().strip()}", options
        if key == "replay":
            return f"replay:{self.file.text().strip()}", {"speed": self.speed.currentText()}
        if key == "synth":
            return f"synth:{self.synth_spec.text().strip()}", {}
        if key == "modbus":
            options = {"map": self.modbus_map.text().strip(), "unit": self.modbus_unit.value(),
                       "baud": self.modbus_baud.currentText(),
                       "parity": self.modbus_parity.currentText(),
                       "stopbits": self.modbus_stopbits.currentText()}
            return (f"{self.modbus_transport.currentData()}:"
                    f"{self.modbus_target.text().strip()}", options)
        return "demo", {}

    def format_spec(self) -> str:
        """The chosen line format: a listed one's key, or the typed text (``binary:…``)."""
        text = self.line_format.currentText().strip()
        index = self.line_format.findText(text)
        if index >= 0:
            return str(self.line_format.itemData(index))
        return text or "auto"

    def show_spec(self, spec: str, options: dict[str, object]) -> None:
        """Reflect a spec chosen elsewhere (command line, remembered settings)."""
        kind, _, arg = spec.partition(":")
        page = "modbus" if kind in ("modbus-tcp", "modbus-rtu") else kind
        index = next((i for i, (_, k) in enumerate(KINDS) if k == page), 0)
        self.kind.setCurrentIndex(index)
        if kind == "serial":
            self.port.setEditText(arg)
            if "baud" in options:
                self.baud.setCurrentText(str(options["baud"]))
            fmt = str(options.get("line_format", "auto"))
            index = self.line_format.findData(fmt)
            if index >= 0:
                self.line_format.setCurrentIndex(index)
            else:
                self.line_format.setEditText(fmt)
        elif kind == "replay":
            self.file.setText(arg)
            if "speed" in options:
                self.speed.setCurrentText(str(options["speed"]))
        elif kind == "synth":
            self.synth_spec.setText(arg)
        elif page == "modbus":
            self.modbus_transport.setCurrentIndex(self.modbus_transport.findData(kind))
            self.modbus_target.setText(arg)
            self.modbus_map.setText(str(options.get("map", "")))
            with contextlib.suppress(ValueError):
                self.modbus_unit.setValue(int(str(options.get("unit", 1))))
            for combo, key in ((self.modbus_baud, "baud"), (self.modbus_parity, "parity"),
                               (self.modbus_stopbits, "stopbits")):
                if key in options:
                    combo.setCurrentText(str(options[key]))

    def _toggle(self, checked: bool) -> None:
        if checked:
            spec, options = self.spec_and_options()
            self.connect_requested.emit(spec, options)
        else:
            self.disconnect_requested.emit()

    def show_file(self, name: str, detail: str) -> None:
        """Say that a file is open (``detail``: its rate, channels, length). Connect then
        means the live source chosen below (which closes the file), never a replay of it."""
        self.file_info.setText(f"<b>File open:</b> {name}<br>{detail}<br>"
                               "<span style='color:#888'>not live · Connect below starts "
                               "the live source instead</span>")
        self.file_info.setToolTip(name)
        self.file_info.setVisible(True)
        self.connect_button.setToolTip("Close the file and connect the source chosen above "
                                       "(F5)")

    def clear_file(self) -> None:
        """No file is open (a live source was connected, or the file was closed)."""
        self.file_info.setVisible(False)
        self.file_info.setText("")
        self.connect_button.setToolTip("Connect / disconnect the source chosen above (F5)")

    def set_connected(self, connected: bool) -> None:
        self.connect_button.blockSignals(True)
        self.connect_button.setChecked(connected)
        self.connect_button.setText("Disconnect" if connected else "Connect")
        self.connect_button.blockSignals(False)
        for w in (self.kind, self.stack):
            w.setEnabled(not connected)
