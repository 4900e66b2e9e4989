"""Opening files the desk way: drag and drop onto the window, File → Open recent, and the
overview strip (whole file, current view marked, click/drag/"Go to") under the plots.

A mixin of :class:`~desktop.ui.main_window.MainWindow`; the window calls
:meth:`_build_files` once, :meth:`_file_opened` when a file session can draw,
:meth:`_remember_recent` when a file is opened and :meth:`_files_tick` every frame.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMenu, QVBoxLayout

from desktop.ui.live_plot import default_colour
from desktop.ui.overview_strip import OverviewStrip

MAX_RECENT = 10


class FilesMixin:
    """Drag and drop, recent files and the overview strip."""

    def _build_files(self, column: QVBoxLayout) -> None:
        self.overview = OverviewStrip()
        self.overview.setVisible(False)
        self.overview.range_requested.connect(self._show_range)
        column.addWidget(self.overview)
        self.setAcceptDrops(True)
        self.recent_menu = QMenu("Open recent", self)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        menus = {a.text(): a.menu() for a in self.menuBar().actions()}
        file_menu = menus["&File"]
        file_menu.insertMenu(file_menu.actions()[1], self.recent_menu)
        self.act_goto = self._action("Go to time…", "Ctrl+G", self._focus_goto,
                                     tip="Type a time to jump to in an opened file")
        menus["&View"].addAction(self.act_goto)

    def _focus_goto(self) -> None:
        if self.overview.isVisible():
            self.overview.goto.setFocus()
            self.overview.goto.selectAll()

    # -- drag and drop ----------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_file(paths[0])  # one file session at a time: the first one dropped

    # -- recent files -----------------------------------------------------------------------
    def _remember_recent(self, path: str | Path) -> None:
        text = str(Path(path).resolve()) if Path(path).exists() else str(path)
        recent = [p for p in self.settings.recent_files if p != text]
        self.settings.recent_files = [text, *recent][:MAX_RECENT]

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setEnabled(Path(path).exists())
            action.triggered.connect(lambda _=False, p=path: self.open_file(p))
        if not self.settings.recent_files:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.recent_files = []

    # -- the file cache -----------------------------------------------------------------------
    def clear_file_cache(self) -> None:
        """File → Clear cache: delete the caches of files not open now, on a Job (a few GB
        take a while to delete); the status bar says how much was freed."""
        from desktop.streams import cache_budget
        from desktop.workers.jobs import Job

        session = self.session
        view = session.buffer if session is not None and session.kind == "file" else None
        keep = [view.folder] if view is not None and hasattr(view, "folder") else []
        job = Job(cache_budget.clear, keep, name="clear-cache")
        job.worker.succeeded.connect(self._file_cache_cleared)
        self._cache_job = job  # kept alive until it ends
        job.start()

    def _file_cache_cleared(self, freed: int) -> None:
        from desktop.streams import cache_budget

        left, caches = cache_budget.usage()
        self.statusBar().showMessage(
            f"File cache cleared: {freed / 1e6:,.0f} MB freed ({left / 1e6:,.0f} MB in "
            f"{caches} cache{'s' if caches != 1 else ''} kept: the file open now, or one "
            f"being built)", 10_000)

    # -- overview strip ---------------------------------------------------------------------
    def _file_opened(self) -> None:
        session = self.session
        if session is None or session.kind != "file" or session.buffer is None:
            return
        colours = [self.plot.colours.get(ch.name, default_colour(i))
                   for i, ch in enumerate(session.buffer.channels)]
        self.overview.setVisible(True)
        self.overview.set_file(session.buffer, self.plot.x_offset, self.plot.wall_clock, colours)
        if getattr(session, "indexing", False):  # drawn early: progress and Cancel stay
            self.job_progress.setVisible(True)
            self.job_cancel.setVisible(True)

    def _files_closed(self) -> None:
        self.overview.clear()
        self.overview.setVisible(False)

    def _files_tick(self) -> None:
        if self.overview.buffer is not None and self.plot.lanes:
            x0, x1 = self.plot.lanes[0].getViewBox().viewRange()[0]
            self.overview.tick((float(x0), float(x1)))

    def _show_range(self, x0: float, x1: float) -> None:
        self.plot.set_follow(False)
        self.plot.set_view_range(x0, x1)
