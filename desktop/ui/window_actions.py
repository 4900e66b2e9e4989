"""The window's own actions (Connect, Quit, Diagnostics, About) and where every
action sits: the toolbar and the File, Acquisition, Edit, View and Help menus.

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext`). Each part makes its own actions (with
their shortcuts, named in their tooltips, via :meth:`WindowContext.action`); the window
hands them here in a :class:`Placement`, so the toolbar and menus are laid out in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMenu, QMessageBox, QToolBar, QWidget

from desktop.ui.window_context import WindowContext


@dataclass(frozen=True)
class Placement:
    """Other parts' actions, in the order they are shown."""

    record: QAction  # toolbar and Acquisition menu, after Connect
    view: list[QAction]  # toolbar and View menu: pause, follow, fit, cursors, overlay, …
    label_mode: QAction  # toolbar, after the view actions
    edit: list[QAction]  # Edit menu
    view_widgets: list[tuple[str, QWidget]]  # toolbar, after a separator: (caption, widget)
    file_top: list[QAction]  # File menu, first, then a separator (workspaces)
    file: list[QAction | QMenu]  # File menu, before Quit
    view_menu_extra: list[QAction]  # View menu, after the view actions


class ActionsPart:
    """Makes the window's own actions and lays out the toolbar and menus."""

    def __init__(self, ctx: WindowContext, placement: Placement, *,
                 toggle_connect: Callable[[], object],
                 diagnostics: Callable[[], object]) -> None:
        self.ctx = ctx
        window = ctx.parent
        act = ctx.action
        self.act_connect = act("Connect", "F5", toggle_connect,
                               tip="Connect / disconnect the source")

        toolbar = QToolBar("Main", window)
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        for action in (self.act_connect, placement.record, *placement.view,
                       placement.label_mode):
            toolbar.addAction(action)
        toolbar.addSeparator()
        for caption, widget in placement.view_widgets:
            toolbar.addWidget(QLabel(caption))
            toolbar.addWidget(widget)
        window.addToolBar(toolbar)

        menu = window.menuBar()
        file_menu = menu.addMenu("&File")
        for action in placement.file_top:
            file_menu.addAction(action)
        file_menu.addSeparator()
        for entry in placement.file:
            if isinstance(entry, QMenu):
                file_menu.addMenu(entry)
            else:
                file_menu.addAction(entry)
        file_menu.addSeparator()
        file_menu.addAction(act("Quit", "Ctrl+Q", window.close))
        acq_menu = menu.addMenu("&Acquisition")
        for action in (self.act_connect, placement.record):
            acq_menu.addAction(action)
        edit_menu = menu.addMenu("&Edit")
        for action in placement.edit:
            edit_menu.addAction(action)
        view_menu = menu.addMenu("&View")
        for action in (*placement.view, *placement.view_menu_extra):
            view_menu.addAction(action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(act("Diagnostics (5 s measurement)", None, diagnostics))
        help_menu.addAction(act("About Linewatch", None, self.show_about))

    def about_text(self) -> str:
        """Help → About: the program and the versions the services report (HTML)."""
        versions = self.ctx.services.versions()
        rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in versions.items())
        return (f"<h3>Linewatch {versions.get('Linewatch', '')}</h3>"
                "<p>Live sensor feeds, recordings and fault models for plant engineers.</p>"
                f"<table>{rows}</table>")

    def show_about(self) -> None:
        QMessageBox.about(self.ctx.parent, "About Linewatch", self.about_text())

    def set_connected(self, connected: bool) -> None:
        """Connect reads "Disconnect" while a live source runs."""
        self.act_connect.setText("Disconnect" if connected else "Connect")
