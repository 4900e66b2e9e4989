"""The Alarm log dock: every logged alarm, filtered, acknowledged, and shown in its signal.

It reads the alarm log (:class:`desktop.alarms.log.AlarmLog`, SQLite: a few milliseconds a
query) on the UI thread when shown and every few seconds while visible, so alarms logged by
``linewatch record --rules`` in another process appear here too. **Acknowledge…** asks for
a comment and logs who (the login name) and when; **Show in signal** frames the alarm's
moment in its recording, opening the file first when another one is shown.

**Rules…** loads an alarm rules file (:mod:`desktop.alarms.rules`; also a workspace's
rules): :class:`LiveRules` judges the live source's new samples four times a second on
the UI thread (vectorised: microseconds per rule for a few thousand samples), logs every
raise and clear with the recording and the seconds into it (as labels), beeps and says it
in the status bar on a raise. A file opened in the window is judged whole in a job
(:func:`desktop.alarms.filecheck.check_file`) and its alarms logged once.

**Actions…** (off until an actions file is chosen; :mod:`desktop.alarms.actions`) runs
each live raise's per-rule actions — write a Modbus coil, run a configured command (its
``argv`` list, never a shell) — on the actions' own thread; each outcome is one status-bar
line. A file's alarms run no actions (they are history). Clicking it again stops them.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSystemTrayIcon,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.alarms.actions import ActionRunner, ActionsError, read_actions
from desktop.alarms.filecheck import FileCheck, check_file, log_file_events
from desktop.alarms.live import RuleWatcher
from desktop.alarms.log import Alarm, AlarmLog, AlarmLogError
from desktop.alarms.rules import Rule, RuleEvent
from desktop.core.errors import LinewatchError
from desktop.workers.job_runner import JobRunner

COLUMNS = ("#", "Raised (UTC)", "Severity", "Rule", "Channel", "Value", "State",
           "Acknowledged", "Comment")
REFRESH_MS = 3000
#: the newest alarms listed (the whole log: `linewatch alarms list|export`)
MAX_SHOWN = 2000
#: seconds of signal shown either side of an alarm's moment
CONTEXT_S = 5.0


class AlarmsPanel(QWidget):
    """The alarm list; emits ``jump_requested(recording, time_s)``."""

    jump_requested = Signal(str, float)
    rules_requested = Signal(str)  # a rules file chosen with Rules…
    actions_requested = Signal(str)  # an actions file chosen with Actions… ("" stops)
    edit_rules_requested = Signal()

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
        self.rules_button = QPushButton("Rules…")
        self.rules_button.setToolTip("Judge the live signal with an alarm rules file "
                                     "(name,channel,kind,limit,delay_s,hysteresis,severity,"
                                     "latch)")
        self.rules_button.clicked.connect(self._choose_rules)
        self.rules_label = QLabel("no alarm rules")
        self.actions_button = QPushButton("Actions…")
        self.actions_button.setToolTip("Per-rule actions on a live raise (write a Modbus "
                                       "coil, run a configured command, never a shell): "
                                       "off until you choose an actions file (JSON)")
        self.actions_button.clicked.connect(self._choose_actions)
        self.edit_rules_button = QPushButton("Edit rules…")
        self.edit_rules_button.setToolTip("Edit the rules in use in a table (or write new "
                                          "ones); saved rules are checked, then used")
        self.edit_rules_button.clicked.connect(self.edit_rules_requested.emit)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        top.addWidget(self.active_only)
        top.addWidget(self.unacked_only)
        buttons = QHBoxLayout()
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.jump_button)
        buttons.addStretch(1)
        buttons.addWidget(self.rules_label)
        buttons.addWidget(self.rules_button)
        buttons.addWidget(self.actions_button)
        buttons.addWidget(self.edit_rules_button)
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
                                       unacknowledged_only=self.unacked_only.isChecked(),
                                       limit=MAX_SHOWN)
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
            state = ("ACTIVE" if a.cleared is None else
                     f"LATCHED, cleared {a.cleared}" if a.latched else f"cleared {a.cleared}")
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

    def _choose_rules(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Alarm rules", "", "Alarm rules (*.csv)")
        if path:
            self.rules_requested.emit(path)

    def _choose_actions(self) -> None:
        if self.actions_button.text() != "Actions…":  # on: the click stops them
            self.actions_requested.emit("")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Alarm actions", "",
                                              "Alarm actions (*.json)")
        if path:
            self.actions_requested.emit(path)

    def jump(self) -> None:
        alarm = self.selected()
        if alarm is not None and alarm.recording and alarm.time_s is not None:
            self.jump_requested.emit(alarm.recording, float(alarm.time_s))


class LiveRules(QObject):
    """Judges a window's live source with alarm rules (see the module doc)."""

    action_done = Signal(str)  # one line per action run (from the actions' thread)

    def __init__(self, window: Any, panel: AlarmsPanel) -> None:
        super().__init__(window)
        self.window = window
        self.panel = panel
        self.path = ""
        self.rules: tuple[Rule, ...] = ()
        self.watcher: RuleWatcher | None = None
        self._buffer: Any = None
        self._checked: tuple[str, str] | None = None  # (file, rules) judged or running
        self.runner = JobRunner(self, name="alarm-rules", replace=False)
        self.runner.succeeded.connect(self._file_checked)
        self.runner.failed.connect(self._error)
        self.tray: QSystemTrayIcon | None = None
        self.actions_path = ""
        self.actions: ActionRunner | None = None
        self.action_done.connect(self._error)  # queued to the UI thread
        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.tick)
        window.installEventFilter(self)  # a closing window first ends a running file check

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Close:
            self.timer.stop()
            self.runner.shutdown(30_000)
            self.set_actions("")
        return False

    def set_actions(self, path: str) -> None:
        """Run the per-rule actions of ``path`` on live raises from now on ("" stops them);
        a bad file, or one naming a rule the rules in use lack, is one status-bar line and
        changes nothing."""
        if not path:
            if self.actions is not None:
                self.actions.close(5.0)
            self.actions_path, self.actions = "", None
            self.panel.actions_button.setText("Actions…")
            return
        try:
            actions = read_actions(path)
            unknown = sorted(set(actions) - {r.name for r in self.rules})
            if unknown:
                raise ActionsError(f"actions {path}: no rule named {unknown[0]!r} in the "
                                   "rules in use; load the rules first (Rules…)")
        except LinewatchError as exc:
            self.window.statusBar().showMessage(str(exc), 10000)
            return
        if self.actions is not None:
            self.actions.close(5.0)
        self.actions_path = path
        self.actions = ActionRunner(actions, self.action_done.emit)
        self.panel.actions_button.setText(f"Stop actions ({Path(path).name})")

    def set_rules(self, path: str) -> None:
        """Use the rules in ``path`` from now on ("" stops judging); a bad file is one line
        in the status bar and the rules in use are kept."""
        if not path:
            self.path, self.rules, self.watcher = "", (), None
            self.timer.stop()
            self.set_actions("")
            self.panel.rules_label.setText("no alarm rules")
            self.window.workspace_rules = ""
            return
        try:
            # the rules file reader pulls in scipy (ISO zones): not on the way to the first draw
            from desktop.alarms.rulefile import read_rules

            rules = read_rules(path)
        except LinewatchError as exc:
            self.window.statusBar().showMessage(str(exc), 10000)
            return
        self.path, self.rules, self.watcher, self._buffer = path, rules, None, None
        self._checked = None
        self.window.workspace_rules = path
        self.panel.rules_label.setText(f"{len(rules)} rules: {Path(path).name}")
        self.timer.start()

    def edit(self) -> None:
        """Edit the rules in use (or a new rules file) in :class:`RulesDialog`; the saved
        rules are used at once."""
        from desktop.ui.rules_dialog import RulesDialog

        path = self.path
        if not path:
            path, _ = QFileDialog.getSaveFileName(self.window, "New alarm rules",
                                                  "rules.csv", "Alarm rules (*.csv)")
            if not path:
                return
        if RulesDialog(path, self.window).exec():
            self.set_rules(path)

    def tick(self) -> None:
        session = self.window.session
        buffer = getattr(session, "buffer", None) if session is not None else None
        if not self.rules or buffer is None:
            return
        if not hasattr(buffer, "since"):  # an opened file: judged whole, once
            self._check_file(session)
            return
        if buffer is not self._buffer:  # a new source: judge from its next sample on
            self._buffer = buffer
            self.watcher = RuleWatcher(self.rules, self.panel.log(), source=self.window.spec,
                                       on_event=self._event, anchor=self.window._label_anchor,
                                       cursor=int(buffer.written))
            self.watcher.on_error = self._error
            self.watcher.rules_source = self.path
        assert self.watcher is not None
        try:
            self.watcher.poll(buffer)
        except LinewatchError as exc:  # the log stayed busy or the disk is full
            self._error(str(exc))

    def feed_verdicts(self, rows: list[dict[str, Any]], channel: str) -> None:
        """The live model's new verdicts on ``channel``: the rules of kind ``class`` and
        ``score`` judge them (sample rules are judged by :meth:`tick`). A class rule naming
        none of the loaded model's classes or locations is refused (the status bar)."""
        if self.watcher is None or not rows:
            return
        info = getattr(self.window, "model_info", {})  # the announced dict (model_loaded)
        known = [[str(c) for c in n] if isinstance(n, list | tuple) else None
                 for n in (info.get("classes"), info.get("locations"))]
        try:
            self.watcher.feed_verdicts(rows, channel, known[0], known[1] or [])
        except LinewatchError as exc:  # the log stayed busy or the disk is full
            self._error(str(exc))

    def _check_file(self, session: Any) -> None:
        path = str(getattr(session, "path", ""))
        if not path or self._checked == (path, self.path) or self.runner.running:
            return
        self._checked = (path, self.path)
        # class/score rules judge a model's verdicts (predict --rules): skipped here, and
        # the status line names them
        self.runner.start(check_file, path, self.rules, skip_model_rules=True)

    def _file_checked(self, check: FileCheck) -> None:
        try:
            added = log_file_events(self.panel.log(), check)
        except LinewatchError as exc:
            self._error(str(exc))
            return
        self.window.statusBar().showMessage(
            f"alarm rules on {check.path.name}: {check.raised} alarms"
            + (f", {added} newly logged" if added else "")
            + (f"; not judged here (model rules, use predict --rules): "
               f"{', '.join(check.skipped)}" if check.skipped else ""), 10000)
        if added:
            QApplication.beep()
        self.panel.refresh()

    def _event(self, event: RuleEvent) -> None:
        if self.actions is not None:
            self.actions(event)  # raises only; queued to the actions' thread
        if event.kind == "raise":
            QApplication.beep()
            text = f"{event.rule}: {event.channel} = {event.value:g}"
            self.window.statusBar().showMessage(f"ALARM [{event.severity}] {text}", 15000)
            self._notify(f"Linewatch alarm [{event.severity}]", text)
        self.panel.refresh()

    def _notify(self, title: str, text: str) -> None:
        """A desktop notification where the desktop has a notification area."""
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return
        if self.tray is None:
            self.tray = QSystemTrayIcon(self.window.windowIcon(), self)
            self.tray.show()
        self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 10000)

    def _error(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 15000)


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
    live = LiveRules(window, panel)
    panel.rules_requested.connect(live.set_rules)
    panel.edit_rules_requested.connect(live.edit)
    panel.actions_requested.connect(live.set_actions)
    window.alarm_rules = live
    return panel
