"""The window's actions, menus, shortcuts, toolbar and status bar.

A mixin of :class:`~desktop.ui.main_window.MainWindow`: every action is made here once,
with its shortcut in its tooltip, and placed in the toolbar and the menus.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QStatusBar,
    QToolBar,
)

from desktop.session.file import FileSession


class ActionsMixin:
    """Actions and the status bar (long-job progress with Cancel)."""

    # -- actions, menus, shortcuts ---------------------------------------------------------
    def _action(self, text: str, shortcut: str | None, slot: Callable[..., object],
                checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else (tip or text))
        (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.act_connect = self._action("Connect", "F5", self._toggle_connect,
                                        tip="Connect / disconnect the source")
        self.act_record = self._action("● Record", "Ctrl+R", self.toggle_recording,
                                       tip="Start / stop recording to the recordings folder")
        self.act_record.setEnabled(False)
        self.act_pause = self._action("Pause view", "Space", self._pause, checkable=True,
                                      tip="Freeze the plots; acquisition and recording go on")
        self.act_follow = self._action("Follow live", "L", self.plot.set_follow,
                                       checkable=True)
        self.act_follow.setChecked(True)
        self.act_fit = self._action("Zoom to fit", "Ctrl+0", self._zoom_fit)
        self.act_cursors = self._action("Cursors", "C", self.plot.set_cursors, checkable=True,
                                        tip="Two measurement cursors: Δt, 1/Δt, values")
        self.act_overlay = self._action("Overlay channels", "O", self._set_overlay,
                                        checkable=True, tip="All channels in one lane")
        self.act_autoscale = self._action("Autoscale Y", "A", self.plot.set_autoscale,
                                          checkable=True)
        self.act_autoscale.setChecked(True)

        self.act_label_mode = self._action("Label mode", "E", self.plot.set_label_mode,
                                           checkable=True,
                                           tip="Drag across a lane to label an event")
        self.act_undo = self.undo_stack.createUndoAction(self, "Undo")
        self.act_undo.setShortcut(QKeySequence.StandardKey.Undo)
        self.act_redo = self.undo_stack.createRedoAction(self, "Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for action in (self.act_undo, self.act_redo):
            self.addAction(action)
        self.act_delete_label = self._action("Delete label", "Del",
                                             lambda: self.selected_label is not None
                                             and self.delete_label(self.selected_label))
        for k in range(1, 10):
            self._action(f"Quick class {k}", str(k), lambda _=False, k=k: self.quick_class(k))

        toolbar = QToolBar("Main", self)
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        for action in (self.act_connect, self.act_record, self.act_pause, self.act_follow,
                       self.act_fit, self.act_cursors, self.act_overlay, self.act_autoscale,
                       self.act_label_mode):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Span "))
        self.span = QDoubleSpinBox()
        self.span.setRange(0.01, 3600.0)
        self.span.setDecimals(2)
        self.span.setSuffix(" s")
        self.span.setValue(10.0)
        self.span.setToolTip("Visible time span while following live")
        self.span.valueChanged.connect(self._span_changed)
        toolbar.addWidget(self.span)
        toolbar.addWidget(QLabel(" History "))
        self.history = QDoubleSpinBox()
        self.history.setRange(1.0, 3600.0)
        self.history.setDecimals(0)
        self.history.setSuffix(" s")
        self.history.setValue(self.settings.history_seconds)
        self.history.setToolTip("Seconds kept in memory per channel (applies on next connect)")
        self.history.valueChanged.connect(self._history_changed)
        toolbar.addWidget(self.history)
        self.addToolBar(toolbar)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self._action("Open recording…", "Ctrl+O", self._open_recording,
                                         tip="Open a recording (CSV, Parquet, .mat, WAV, "
                                         "TDMS, .xlsx, Arrow) to view, label and judge"))
        file_menu.addAction(self._action("Choose recordings folder…", None,
                                         self._choose_folder))
        file_menu.addAction(self._action(
            "Clear cache", None, self.clear_file_cache,
            tip="Delete the cached copies of opened files (rebuilt when a file is opened "
                "again); the cache keeps itself under 4 GB (LINEWATCH_CACHE_GB)"))
        file_menu.addSeparator()
        file_menu.addAction(self._action("Quit", "Ctrl+Q", self.close))
        acq_menu = menu.addMenu("&Acquisition")
        for action in (self.act_connect, self.act_record):
            acq_menu.addAction(action)
        edit_menu = menu.addMenu("&Edit")
        for action in (self.act_undo, self.act_redo, self.act_label_mode,
                       self.act_delete_label):
            edit_menu.addAction(action)
        view_menu = menu.addMenu("&View")
        for action in (self.act_pause, self.act_follow, self.act_fit, self.act_cursors,
                       self.act_overlay, self.act_autoscale):
            view_menu.addAction(action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("Diagnostics (5 s measurement)", None,
                                         lambda: self.start_measure(5.0, show_dialog=True)))
        help_menu.addAction(self._action("About Linewatch", None, self.show_about))

    def _build_status_bar(self) -> None:
        bar = QStatusBar(self)
        self.state_label = QLabel("not connected")
        self.rate_label = QLabel("")
        self.counter_label = QLabel("")
        self.record_label = QLabel("")
        for w in (self.state_label, self.rate_label, self.counter_label):
            bar.addWidget(w)
        # Long jobs of the session (opening a file, judging a whole file): progress + Cancel.
        self.job_progress = QProgressBar()
        self.job_progress.setRange(0, 1000)
        self.job_progress.setMaximumWidth(220)
        self.job_progress.setTextVisible(True)
        self.job_cancel = QPushButton("Cancel")
        self.job_cancel.setToolTip("Cancel the running job (Esc)")
        self.job_cancel.clicked.connect(self.cancel_job)
        for w in (self.job_progress, self.job_cancel):
            w.setVisible(False)
            bar.addPermanentWidget(w)
        bar.addPermanentWidget(self.record_label)
        self.setStatusBar(bar)

    def _job_progress(self, fraction: float, message: str) -> None:
        session = self.session
        if isinstance(session, FileSession) and not session.busy and fraction > 0:
            return  # progress queued before a Cancel or the end: the job is over
        done = fraction >= 1.0
        self.job_progress.setVisible(not done)
        self.job_cancel.setVisible(not done)
        self.job_progress.setValue(int(fraction * 1000))
        self.job_progress.setFormat(f"{message} %p%")

    def _job_done(self) -> None:
        self.job_progress.setVisible(False)
        self.job_cancel.setVisible(False)

    def cancel_job(self) -> None:
        """Cancel the session's running job (indexing a file, or whole-file verdicts)."""
        if isinstance(self.session, FileSession) and self.session.indexing:
            self.session.cancel_indexing()
        elif isinstance(self.session, FileSession):
            self.session.cancel_verdicts()
            self.model_panel.set_status("whole-file verdicts cancelled")
        self._job_done()
