"""The Alarm log dock: every logged alarm, filtered, acknowledged, and shown in its signal.

It reads the alarm log (:class:`desktop.alarms.log.AlarmLog`, SQLite: a few milliseconds a
query) on the UI thread when shown and every few seconds while visible, so alarms logged by
``linewatch record --rules`` in another process appear here too. **Acknowledge…** asks for
a comment and logs who (the login name) and when; **Show in signal** frames the alarm's
moment in its recording, opening the file first when another one is shown.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.alarms.log import Alarm, AlarmLog, AlarmLogError

COLUMNS = ("#", "Raised (UTC)", "Severity", "Rule", "Channel", "Value", "State",
           "Acknowledged", "Comment")
REFRESH_MS = 3000
#: seconds of signal shown either side of an alarm's moment
CONTEXT_S = 5.0


class AlarmsPanel(QWidget):
    """The alarm list; emits ``jump_requested(recording, time_s)``."""

    jump_requested = Signal(str, float)

    def __init__(self, log_path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log_path = log_path
        self._log: AlarmLog | None = None
        self.alarms: list[Alarm] = []
        self.error = ""
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: rule, channel, severity or comment")
        self.filter.textChanged.connect(self.refresh)
        self.active_only = QCheckBox("Active")
        self.active_only.setToolTip("Only alarms whose condition has not cleared")
        self.active_only.toggled.connect(self.refresh)
        self.unacked_only = QCheckBox("Unacknowledged")
        self.unacked_only.toggled.connect(self.refresh)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.cellDoubleClicked.connect(lambda *_: self.jump())
        self.ack_button = QPushButton("Acknowledge…")
        self.ack_button.clicked.connect(self.acknowledge_selected)
        self.jump_button = QPushButton("Show in signal")
        self.jump_button.clicked.connect(self.jump)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.active_only)
        top.addWidget(self.unacked_only)
        buttons = QHBoxLayout()
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.jump_button)
        buttons.addStretch(1)
        buttons.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self._selection_changed()

    # -- the log ------------------------------------------------------------------------
    def log(self) -> AlarmLog:
        if self._log is None:
            self._log = AlarmLog(self.log_path)
        return self._log

    def close_log(self) -> None:
        self.timer.stop()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _tick(self) -> None:
        if self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        """Read the log again and show what the filters let through."""
        try:
            alarms = self.log().alarms(active_only=self.active_only.isChecked(),
                                       unacknowledged_only=self.unacked_only.isChecked())
            self.error = ""
        except AlarmLogError as exc:
            self.error = str(exc)
            self.table.setToolTip(self.error)
            return
        needle = self.filter.text().strip().casefold()
        if needle:
            alarms = [a for a in alarms if needle in " ".join(
                (a.rule, a.channel, a.severity, a.comment)).casefold()]
        alarms.reverse()  # newest first
        selected = self.selected()
        self.alarms = alarms
        self.table.setRowCount(len(alarms))
        for row, a in enumerate(alarms):
            state = "ACTIVE" if a.active else f"cleared {a.cleared}"
            ack = "" if a.needs_ack else f"{a.acknowledged_by} {a.acknowledged}"
            value = "" if a.value is None else f"{a.value:g}"
            for col, text in enumerate((str(a.id), a.raised, a.severity, a.rule, a.channel,
                                        value, state, ack, a.comment)):
                item = QTableWidgetItem(text)
                if a.needs_ack and col in (0, 3):
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.table.setItem(row, col, item)
            if selected is not None and a.id == selected.id:
                self.table.selectRow(row)
        self._selection_changed()

    def selected(self) -> Alarm | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.alarms):
            return None
        return self.alarms[rows[0].row()]

    def _selection_changed(self) -> None:
        alarm = self.selected()
        self.ack_button.setEnabled(alarm is not None and alarm.needs_ack)
        self.jump_button.setEnabled(alarm is not None and bool(alarm.recording)
                                    and alarm.time_s is not None)

    # -- actions ------------------------------------------------------------------------
    def acknowledge(self, alarm_id: int, comment: str, user: str | None = None) -> None:
        """Log the acknowledgement of ``alarm_id`` by ``user`` (default: the login name)."""
        self.log().acknowledge(alarm_id, user or getpass.getuser(), comment)
        self.refresh()

    def acknowledge_selected(self) -> None:
        alarm = self.selected()
        if alarm is None:
            return
        comment, ok = QInputDialog.getText(
            self, "Acknowledge alarm", f"#{alarm.id} {alarm.rule} on {alarm.channel}\n"
            "Comment (what was seen or done):")
        if ok:
            try:
                self.acknowledge(alarm.id, comment)
            except AlarmLogError as exc:
                self.error = str(exc)
                self.refresh()

    def jump(self) -> None:
        alarm = self.selected()
        if alarm is not None and alarm.recording and alarm.time_s is not None:
            self.jump_requested.emit(alarm.recording, float(alarm.time_s))


def install_alarms(window: Any) -> AlarmsPanel:
    """Add the Alarm log dock to ``window`` (a :class:`~desktop.ui.main_window.MainWindow`)
    with its toggle (Ctrl+Shift+L); **Show in signal** frames the moment in its recording."""
    panel = AlarmsPanel()
    dock = QDockWidget("Alarm log", window)
    dock.setObjectName("alarm-log-dock")
    dock.setWidget(panel)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    dock.hide()  # shown on demand: most sessions have no alarm rules
    dock.visibilityChanged.connect(lambda visible: panel.refresh() if visible else None)
    toggle = dock.toggleViewAction()
    toggle.setText("Alarm log dock")
    toggle.setShortcut("Ctrl+Shift+L")
    window.addAction(toggle)
    window.alarms_panel = panel
    window.alarms_dock = dock

    tries = [0]

    def show_moment(recording: str, time_s: float) -> None:
        from desktop.ui.window_labels import _same_file

        anchor = window._label_anchor()
        if anchor is not None and _same_file(anchor[0])(recording):
            t = time_s + anchor[1]  # as labels: the recording's seconds on the plot's axis
            window.plot.show_span(t - CONTEXT_S, t + CONTEXT_S)
            tries[0] = 0
            return
        if not Path(recording).exists():
            window.statusBar().showMessage(f"{recording} is not on this PC", 8000)
            return
        if tries[0] == 0:
            window.open_file(recording)
        if tries[0] < 40:  # the file session anchors its labels once it has opened
            tries[0] += 1
            QTimer.singleShot(250, lambda: show_moment(recording, time_s))
        else:
            tries[0] = 0

    panel.jump_requested.connect(show_moment)
    return panel
