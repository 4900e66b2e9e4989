"""Analysis → Learn baseline… (Ctrl+Shift+B): learn a machine's healthy baseline from its
own snapshot files, as ``linewatch baseline NAME FILES…`` does.

Choose the machine (a profile from the Machine dialog), the healthy snapshots (files, a
folder, or the opened file) and Learn: :func:`desktop.baseline.learn.learn_baseline` runs
on the dialog's :class:`~desktop.workers.job_runner.JobRunner` (progress and Cancel) and
stores the baseline where the CLI stores it
(:class:`~desktop.baseline.store.BaselineStore`), so ``linewatch trend --machine`` and
the window share it. The summary says, per sensor, how many snapshots and seconds back
it, the main limits (acceleration and velocity RMS, the envelope lines) and, when it is
thin (fewer than 30 snapshots), says so in amber.

``desktop.baseline`` pulls in scipy: it is imported on the job's thread when a run starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.diagnosis.profiles import ProfileStore
from desktop.workers.job_runner import JobRunner
from desktop.workers.jobs import Job

#: Indicators shown in the summary, in this order (the rest are in the stored file).
MAIN_INDICATORS = ("acc_rms", "vel_rms", "env_bpfo", "env_bpfi", "env_bsf", "env_ftf")
INDICATOR_TEXT = {"acc_rms": "acc RMS", "vel_rms": "vel RMS (mm/s)", "env_bpfo": "env BPFO",
                  "env_bpfi": "env BPFI", "env_bsf": "env BSF", "env_ftf": "env FTF",
                  "peak": "peak", "crest": "crest factor", "kurtosis": "kurtosis"}
THIN_STYLE = ("background: #8d6e00; color: white; font-weight: bold; padding: 4px;")


def thin_text(snapshots: int) -> str:
    """The one-line thin-baseline warning the dialog and the dock show."""
    return f"thin baseline ({snapshots} snapshots)"


def fmt(v: float) -> str:
    """A limit or value with 4 significant digits."""
    return f"{v:.4g}"


def learn_job(machine: str, paths: list[Path], *, task: Any, profiles: Any) -> Any:
    """:func:`desktop.baseline.learn.learn_baseline`, imported on the job's thread (it
    pulls in scipy: seconds the UI thread must not wait)."""
    from desktop.core.heavy_imports import import_scientific_stack

    import_scientific_stack()  # one thread at a time (desktop/core/heavy_imports.py)
    from desktop.baseline.learn import learn_baseline

    return learn_baseline(machine, paths, task=task, profiles=profiles)


class LearnBaselineDialog(QDialog):
    """The dialog (module docstring). ``opened_file``: the window's opened file (None:
    "the opened file" is disabled). Emits ``learnt(machine)`` after a baseline is stored."""

    learnt = Signal(str)
    failed = Signal(str)  # the one-line error, for the window's status bar

    def __init__(self, settings: Any, store: ProfileStore | None = None,
                 machine: str | None = None, opened_file: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Learn baseline")
        self.setMinimumWidth(640)
        self.settings = settings
        self.store = store or ProfileStore()
        self.opened_file = opened_file
        self.result: Any = None
        self.runner = JobRunner(self, name="baseline", replace=False)
        self.runner.progress.connect(self._progress)
        self.runner.succeeded.connect(self._succeeded)
        self.runner.failed.connect(self._failed)
        self.runner.cancelled.connect(self._cancelled)

        self.machine = QComboBox()
        self.machine.setToolTip("The machine profile whose healthy baseline is learnt "
                                "(create one with Machine…, Ctrl+M)")
        for name in self._names():
            self.machine.addItem(name, name)
        if machine:
            self.machine.setCurrentIndex(max(0, self.machine.findData(machine)))

        self.files = QListWidget()
        self.files.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.files.setToolTip("Healthy snapshots: each file (≥ 0.5 s), or each second of a "
                              "longer one, is one snapshot; at least 3, 30 or more for "
                              "statistical limits")
        self.files.setMinimumHeight(80)
        self.files.setMaximumHeight(120)
        self.add_files_button = QPushButton("Add files…")
        self.add_files_button.clicked.connect(self.choose_files)
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.add_opened_button = QPushButton("Add the opened file")
        self.add_opened_button.setEnabled(opened_file is not None)
        self.add_opened_button.setToolTip(str(opened_file) if opened_file else
                                          "No file is opened")
        self.add_opened_button.clicked.connect(self.add_opened)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected files from the list")
        self.remove_button.clicked.connect(self.remove_selected)
        file_buttons = QHBoxLayout()
        for b in (self.add_files_button, self.add_folder_button, self.add_opened_button,
                  self.remove_button):
            file_buttons.addWidget(b)
        file_buttons.addStretch(1)

        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.status = QLabel("Choose the machine and its healthy snapshots, then Learn.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.thin = QLabel("")
        self.thin.setWordWrap(True)
        self.thin.setStyleSheet(THIN_STYLE)
        self.thin.setVisible(False)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["Sensor", "Indicator", "Centre", "Alert",
                                              "Alarm"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setToolTip("The learnt limits: alert = centre × max(e^(3·c·s), floor), "
                              "alarm with 6·c·s (docs/baseline.md); a thin baseline's are "
                              "the floors (×2 / ×4)")
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setMinimumHeight(170)

        self.learn_button = QPushButton("Learn")
        self.learn_button.setDefault(True)
        self.learn_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.learn_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)

        form = QFormLayout()
        form.addRow("Machine", self.machine)
        form.addRow("Snapshots", self.files)
        form.addRow("", file_buttons)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(self.bar)
        column.addWidget(self.status)
        column.addWidget(self.thin)
        column.addWidget(self.summary)
        column.addWidget(self.table, 1)
        column.addLayout(buttons)
        if self.machine.count() == 0:
            self.status.setText("No machine profile yet: create one with Machine… (Ctrl+M) "
                                "first.")
            self.learn_button.setEnabled(False)

    def _names(self) -> list[str]:
        try:
            return self.store.names()
        except OSError:
            return []

    # -- the files ---------------------------------------------------------------------------
    def paths(self) -> list[Path]:
        """The files and folders listed, in order."""
        return [Path(self.files.item(i).text()) for i in range(self.files.count())]

    def add_paths(self, paths: list[str | Path]) -> None:
        """Add files or folders to the list (each once)."""
        have = {str(p) for p in self.paths()}
        for p in paths:
            if str(p) not in have:
                self.files.addItem(str(p))
                have.add(str(p))

    def _folder(self) -> str:
        folder = self.settings.baseline_folder
        if folder and Path(folder).is_dir():
            return folder
        return str(Path.home())

    def choose_files(self) -> None:
        """Add files from a file dialog (multi-select); remembers their folder."""
        from desktop.recording.registry import open_filter

        paths, _ = QFileDialog.getOpenFileNames(self, "Healthy snapshots", self._folder(),
                                                open_filter())
        if paths:
            self.settings.baseline_folder = str(Path(paths[0]).parent)
            self.add_paths(list(paths))

    def choose_folder(self) -> None:
        """Add a folder (its files, not recursing); remembers it."""
        folder = QFileDialog.getExistingDirectory(self, "Folder of healthy snapshots",
                                                  self._folder())
        if folder:
            self.settings.baseline_folder = folder
            self.add_paths([folder])

    def add_opened(self) -> None:
        if self.opened_file is not None:
            self.add_paths([self.opened_file])

    def remove_selected(self) -> None:
        for item in self.files.selectedItems():
            self.files.takeItem(self.files.row(item))

    # -- the job -----------------------------------------------------------------------------
    def start(self) -> Job | None:
        """Learn from the listed files (one run at a time)."""
        if self.runner.running:
            return None
        name = self.machine.currentData()
        if not name:
            self.status.setText("⚠ choose a machine (create one with Machine…, Ctrl+M)")
            return None
        paths = self.paths()
        if not paths:
            self.status.setText("⚠ add the healthy snapshots: files, a folder or the "
                                "opened file")
            return None
        self.result = None
        self.learn_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.bar.setValue(0)
        self.thin.setVisible(False)
        self.summary.setText("")
        self.table.setRowCount(0)
        self.status.setText(f"learning the baseline of {name}…")
        return self.runner.start(learn_job, str(name), paths, profiles=self.store)

    def cancel(self) -> None:
        """Stop the run: nothing is stored."""
        if self.runner.running:
            self.runner.cancel()
            self.status.setText("cancelling…")

    def busy(self) -> bool:
        return self.runner.running

    def _progress(self, fraction: float, message: str, _info: dict) -> None:
        self.bar.setValue(int(fraction * 1000))
        self.status.setText(message)

    def _failed(self, message: str) -> None:
        line = message.splitlines()[0] if message else "learning failed"
        self._ended(f"⚠ {line}")
        self.failed.emit(line)

    def _cancelled(self) -> None:
        self._ended("Cancelled: the stored baseline was not changed.")

    def _succeeded(self, result: Any) -> None:
        self.result = result
        self.bar.setValue(1000)
        self._ended(f"Learnt the baseline of {result.machine} from {len(result.files)} "
                    f"file(s); stored in {result.path}.")
        self._summarise(result)
        self.learnt.emit(result.machine)

    def _ended(self, text: str) -> None:
        self.status.setText(text)
        self.learn_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # -- the summary -------------------------------------------------------------------------
    def _summarise(self, result: Any) -> None:
        lines = []
        thin = []
        rows: list[tuple[str, str, float, float, float]] = []
        for name, sb in result.sensors.items():
            lines.append(f"<b>{name}</b>: {sb.snapshots} snapshots, {sb.seconds:.1f} s at "
                         f"{sb.rate:g} Hz ({sb.unit}), {len(sb.limits)} indicators"
                         + (" — <b>THIN</b>" if sb.thin else ""))
            lines.extend(f"&nbsp;&nbsp;note: {n}" for n in sb.notes if not n.startswith("thin"))
            if sb.thin:
                thin.append(f"{name}: {sb.snapshots}")
            for k in MAIN_INDICATORS:
                if k in sb.limits:
                    lim = sb.limits[k]
                    rows.append((name, k, lim.centre, lim.alert, lim.alarm))
        self.summary.setText("<br>".join(lines + [f"note: {n}" for n in result.notes]))
        if thin:
            n = min(sb.snapshots for sb in result.sensors.values())
            which = f" ({'; '.join(thin)} snapshots)" if len(result.sensors) > 1 else ""
            self.thin.setText(f"⚠ {thin_text(n)}{which}: the limits are the floors (alert "
                              "×2, alarm ×4 the baseline level). Learn at least 30 healthy "
                              "snapshots for statistical limits.")
        self.thin.setVisible(bool(thin))
        self.table.setRowCount(len(rows))
        for r, (sensor, k, centre, alert, alarm) in enumerate(rows):
            cells = (sensor, INDICATOR_TEXT.get(k, k), fmt(centre), fmt(alert), fmt(alarm))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c >= 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)

    def table_rows(self) -> list[tuple[str, ...]]:
        """The summary table's text, row by row (for tests and tools)."""
        return [tuple(item.text() if (item := self.table.item(r, c)) else ""
                      for c in range(self.table.columnCount()))
                for r in range(self.table.rowCount())]

    def closeEvent(self, event: Any) -> None:
        """Closing while a run is under way cancels it and waits for the thread."""
        self.runner.shutdown(60_000)
        super().closeEvent(event)
