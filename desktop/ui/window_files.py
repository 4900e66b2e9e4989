"""Opening files the desk way: File → Open recording…, Open recent, Choose recordings
folder…, Clear cache, drag and drop onto the window, and the overview strip (whole file,
current view marked, click/drag/"Go to") under the plots.

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext`); the window forwards its drag-and-drop
events to :meth:`FilesPart.drag_enter`/:meth:`FilesPart.drop`, and calls
:meth:`FilesPart.file_opened` when a file session can draw, :meth:`FilesPart.closed` when
a session ends, :meth:`FilesPart.remember_recent` when a file is opened, :meth:`FilesPart.tick`
every frame and :meth:`FilesPart.shutdown` on close.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMenu, QVBoxLayout

from desktop.ui.live_plot import default_colour
from desktop.ui.overview_strip import OverviewStrip
from desktop.ui.window_context import WindowContext
from desktop.workers.job_runner import JobRunner

MAX_RECENT = 10


def recording_filter() -> str:
    """The Open dialog's filter, from the file-format registry (every registered format,
    a plug-in's included)."""
    from desktop.recording.registry import open_filter

    return open_filter()


class FilesPart:
    """Open, recent files, the recordings folder, the file cache, drops, the overview strip."""

    def __init__(self, ctx: WindowContext, column: QVBoxLayout) -> None:
        self.ctx = ctx
        self.overview = OverviewStrip()
        self.overview.setVisible(False)
        self.overview.range_requested.connect(self._show_range)
        column.addWidget(self.overview)
        ctx.parent.setAcceptDrops(True)
        self.recent_menu = QMenu("Open recent", ctx.parent)
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        self.act_open = ctx.action("Open recording…", "Ctrl+O", self.open_dialog,
                                   tip="Open a recording (CSV, Parquet, .mat, WAV, TDMS, "
                                   ".xlsx, Arrow) to view, label and judge")
        self.act_folder = ctx.action("Choose recordings folder…", None, self.choose_folder)
        self.act_clear_cache = ctx.action(
            "Clear cache", None, self.clear_file_cache,
            tip="Delete the cached copies of opened files (rebuilt when a file is opened "
                "again); the cache keeps itself under 4 GB (LINEWATCH_CACHE_GB)")
        self.act_goto = ctx.action("Go to time…", "Ctrl+G", self._focus_goto,
                                   tip="Type a time to jump to in an opened file")
        # Deleting a few GB of cache takes a while: on a Job, one at a time.
        self.cache_jobs = JobRunner(ctx.parent, name="clear-cache", replace=False)
        self.cache_jobs.succeeded.connect(self._file_cache_cleared)

    def file_menu(self) -> list[QAction | QMenu]:
        """The File menu's entries this part owns, in order (Quit follows)."""
        return [self.act_open, self.recent_menu, self.act_folder, self.act_clear_cache]

    def open_dialog(self) -> None:
        """File → Open recording…: pick a file and open it as a file session."""
        path, _ = QFileDialog.getOpenFileName(self.ctx.parent, "Open recording",
                                              str(self.ctx.recordings_folder()),
                                              recording_filter())
        if path:
            self.ctx.host.open_file(path)

    def choose_folder(self) -> None:
        """File → Choose recordings folder…"""
        folder = QFileDialog.getExistingDirectory(self.ctx.parent, "Recordings folder",
                                                  str(self.ctx.recordings_folder()))
        if folder:
            self.ctx.settings.recordings_folder = folder

    def _focus_goto(self) -> None:
        if self.overview.isVisible():
            self.overview.goto.setFocus()
            self.overview.goto.selectAll()

    # -- drag and drop ----------------------------------------------------------------------
    def drag_enter(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
        else:
            event.ignore()

    def drop(self, event: QDropEvent) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.ctx.host.open_file(paths[0])  # one file session at a time: the first one

    # -- recent files -----------------------------------------------------------------------
    def remember_recent(self, path: str | Path) -> None:
        """Put ``path`` first in File → Open recent (at most :data:`MAX_RECENT`)."""
        settings = self.ctx.settings
        text = str(Path(path).resolve()) if Path(path).exists() else str(path)
        recent = [p for p in settings.recent_files if p != text]
        settings.recent_files = [text, *recent][:MAX_RECENT]

    def fill_recent_menu(self) -> None:
        """Fill Open recent (shown each time the menu opens)."""
        recent = self.ctx.settings.recent_files
        self.recent_menu.clear()
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setEnabled(Path(path).exists())
            action.triggered.connect(lambda _=False, p=path: self.ctx.host.open_file(p))
        if not recent:
            self.recent_menu.addAction("(none yet)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self._clear_recent)

    def _clear_recent(self) -> None:
        self.ctx.settings.recent_files = []

    # -- the file cache -----------------------------------------------------------------------
    def clear_file_cache(self) -> None:
        """File → Clear cache: delete the caches of files not open now, on a Job (a few GB
        take a while to delete); the status bar says how much was freed. A second request
        while one runs is refused with a status line."""
        from desktop.streams import cache_budget

        if self.cache_jobs.running:
            self.ctx.status("The file cache is being cleared already", 5000)
            return
        session = self.ctx.session()
        view = session.buffer if session is not None and session.kind == "file" else None
        keep = [view.folder] if view is not None and hasattr(view, "folder") else []
        self.cache_jobs.start(cache_budget.clear, keep)

    def _file_cache_cleared(self, freed: int) -> None:
        from desktop.streams import cache_budget

        left, caches = cache_budget.usage()
        self.ctx.status(
            f"File cache cleared: {freed / 1e6:,.0f} MB freed ({left / 1e6:,.0f} MB "
            f"in {caches} cache{'s' if caches != 1 else ''} kept: the file open now, or one "
            f"being built)", 10_000)

    def shutdown(self, wait_ms: int) -> None:
        """Cancel and wait for a cache clearing still running (the window is closing)."""
        self.cache_jobs.shutdown(wait_ms)

    # -- overview strip ---------------------------------------------------------------------
    def file_opened(self) -> None:
        """A file session can draw: the overview strip shows the whole file."""
        session = self.ctx.session()
        if session is None or session.kind != "file" or session.buffer is None:
            return
        plot = self.ctx.plot
        colours = [plot.colours.get(ch.name, default_colour(i))
                   for i, ch in enumerate(session.buffer.channels)]
        self.overview.setVisible(True)
        self.overview.set_file(session.buffer, plot.x_offset, plot.wall_clock, colours)

    def closed(self) -> None:
        """The session ended (or another began): no overview."""
        self.overview.clear()
        self.overview.setVisible(False)

    def tick(self) -> None:
        """Each frame: mark the plot's current view on the strip."""
        plot = self.ctx.plot
        if self.overview.buffer is not None and plot.lanes:
            x0, x1 = plot.lanes[0].getViewBox().viewRange()[0]
            self.overview.tick((float(x0), float(x1)))

    def _show_range(self, x0: float, x1: float) -> None:
        self.ctx.plot.set_follow(False)
        self.ctx.plot.set_view_range(x0, x1)
