"""File → Save workspace… / Open workspace… (and ``linewatch --workspace FILE``).

:func:`capture` reads what the window shows into a :class:`~desktop.core.workspace.Workspace`
(the source panel's spec and options, or the open file; the model; the plot's view of that
source: lanes/overlay, visible channels, colours, span; the dock layout and window size);
:func:`apply` puts one back: layout first, then the model, then the view (into the
per-source view settings the plot reads when the source opens), then it connects the
source or opens the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from desktop.core.errors import LinewatchError
from desktop.core.workspace import Workspace, load_workspace, save_workspace
from desktop.session.file import FileSession

FILTER = "Linewatch workspaces (*.lwspace.json *.json)"


def _b64(data: QByteArray) -> str:
    return bytes(data.toBase64().data()).decode("ascii")


def capture(window: Any, rules: str = "") -> Workspace:
    """The window's workspace now (``rules``: the rules file to name in it)."""
    session = window.session
    if isinstance(session, FileSession):
        source, options, file = "", {}, str(session.path)
        view_key = session.spec
    else:
        source, options = window.source_panel.spec_and_options()
        file = ""
        view_key = window.spec or source
    view = dict(window.settings.views.get(view_key, {}))
    return Workspace(source=source, source_options=dict(options), file=file,
                     model=str(window.settings.model or ""), rules=rules, view=view,
                     layout=_b64(window.saveState()), geometry=_b64(window.saveGeometry()))


def apply(window: Any, ws: Workspace) -> None:
    """Show ``ws`` in ``window`` (see the module doc)."""
    if ws.geometry:
        window.restoreGeometry(QByteArray.fromBase64(ws.geometry.encode()))
    if ws.layout:
        window.restoreState(QByteArray.fromBase64(ws.layout.encode()))
    if ws.model is not None:
        combo = window.model_panel.model
        index = combo.findData(ws.model)
        if index >= 0:
            combo.setCurrentIndex(index)
        else:
            window.statusBar().showMessage(f"the workspace's model {ws.model!r} is not "
                                           "installed here; the current one is kept", 10000)
    window.workspace_rules = ws.rules
    live_rules = getattr(window, "alarm_rules", None)  # the Alarm log dock's live rules
    if live_rules is not None and ws.rules:
        live_rules.set_rules(ws.rules)
    if ws.file:
        if ws.view:
            window.settings.views[f"file:{ws.file}"] = dict(ws.view)
        window.open_file(ws.file)
    elif ws.source:
        if ws.view:
            window.settings.views[ws.source] = dict(ws.view)
        window.connect_source(ws.source, dict(ws.source_options))


def open_workspace(window: Any, path: str | Path) -> None:
    """Load and apply a workspace file; a bad file is one line in the status bar."""
    try:
        ws = load_workspace(path)
    except LinewatchError as exc:
        window.statusBar().showMessage(str(exc), 10000)
        return
    window.disconnect_source()
    apply(window, ws)
    window.statusBar().showMessage(f"workspace {Path(path).name} opened", 5000)


def install_workspace(window: Any) -> None:
    """Add File → Open workspace… (Ctrl+Shift+O) and Save workspace… (Ctrl+Shift+S)."""
    window.workspace_rules = ""

    def open_dialog() -> None:
        path, _ = QFileDialog.getOpenFileName(window, "Open workspace", "", FILTER)
        if path:
            open_workspace(window, path)

    def save_dialog() -> None:
        path, _ = QFileDialog.getSaveFileName(window, "Save workspace", "workspace.lwspace.json",
                                              FILTER)
        if not path:
            return
        try:
            save_workspace(capture(window, window.workspace_rules), path)
        except LinewatchError as exc:
            window.statusBar().showMessage(str(exc), 10000)
            return
        window.statusBar().showMessage(f"workspace saved to {path}", 5000)

    actions = []
    for text, shortcut, slot in (("Open workspace…", "Ctrl+Shift+O", open_dialog),
                                 ("Save workspace…", "Ctrl+Shift+S", save_dialog)):
        act = QAction(text, window)
        act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        window.addAction(act)
        actions.append(act)
    menu = next((a.menu() for a in window.menuBar().actions() if a.text() == "&File"), None)
    if menu is not None:
        first = menu.actions()[0] if menu.actions() else None
        menu.insertActions(first, actions)
        menu.insertSeparator(first)
