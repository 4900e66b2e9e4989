"""The source panel: pick a serial port, a replay file or the demo rig, then connect.

It only builds a source *spec* (``serial:/dev/ttyUSB0``) and options; the window hands
those to the acquisition worker, which opens the source off the UI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

BAUDS = ["9600", "19200", "38400", "57600", "115200", "230400", "460800", "921600"]
SPEEDS = ["1", "2", "5", "10", "max"]
KINDS = [("Demo rig", "demo"), ("Serial port", "serial"), ("Replay file", "replay"),
         ("Synthetic", "synth")]


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

        for page in (demo, serial, replay, synth):
            self.stack.addWidget(page)
        self.kind.currentIndexChanged.connect(self.stack.setCurrentIndex)

        self.connect_button = QPushButton("Connect")
        self.connect_button.setCheckable(True)
        self.connect_button.clicked.connect(self._toggle)

        layout = QVBoxLayout(self)
        layout.addWidget(self.kind)
        layout.addWidget(self.stack)
        layout.addWidget(self.connect_button)
        layout.addStretch(1)

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
        index = next((i for i, (_, k) in enumerate(KINDS) if k == kind), 0)
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

    def _toggle(self, checked: bool) -> None:
        if checked:
            spec, options = self.spec_and_options()
            self.connect_requested.emit(spec, options)
        else:
            self.disconnect_requested.emit()

    def set_connected(self, connected: bool) -> None:
        self.connect_button.blockSignals(True)
        self.connect_button.setChecked(connected)
        self.connect_button.setText("Disconnect" if connected else "Connect")
        self.connect_button.blockSignals(False)
        for w in (self.kind, self.stack):
            w.setEnabled(not connected)
