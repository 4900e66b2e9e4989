"""File → Save workspace… / Open workspace… (and ``linewatch --workspace FILE``).

:meth:`WorkspacePart.capture` reads what the window shows into a
:class:`~desktop.core.workspace.Workspace` (the source panel's spec and options, or the open
file; the model; the machine chosen for it; the plot's view of that source: lanes/overlay,
visible channels, colours, span; the dock layout and window size);
:meth:`WorkspacePart.apply` puts one back: layout first, then the model, then the machine and
the view (into the per-source settings the plot and the Diagnosis dock read when the source
opens), then it connects the source or opens the file.

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext` and the Source and Model panels it reads
and sets). :func:`capture`, :func:`apply` and :func:`open_workspace` take the window (app.py,
tests) and forward to its ``workspace`` part.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QFileDialog

from desktop.core.errors import LinewatchError
from desktop.core.workspace import Workspace, load_workspace, save_workspace
from desktop.session.file import FileSession
from desktop.ui.diagnosis_panel import source_key
from desktop.ui.model_panel import ModelPanel
from desktop.ui.source_panel import SourcePanel
from desktop.ui.window_context import WindowContext
from desktop.ui.window_view import SPAN_RANGE_S

FILTER = "Linewatch workspaces (*.lwspace.json *.json)"


def _b64(data: QByteArray) -> str:
    return bytes(data.toBase64().data()).decode("ascii")


def machine_problem(name: str) -> str | None:
    """Why the workspace's machine ``name`` is not applied (no such profile in the machine
    store, or not a profile name at all: the known machines listed), or None."""
    from desktop.diagnosis.profiles import ProfileStore

    store = ProfileStore()
    try:
        store.load(name)
    except LinewatchError:  # absent, a bad name ("../../etc/passwd") or a damaged file
        known = ", ".join(store.names()) or "none yet"
        return (f"the workspace's machine {name!r} is not a machine profile here "
                f"(machines: {known}); it is left out (linewatch machine add NAME)")
    return None


def checked_view(view: dict[str, object]) -> tuple[dict[str, object], str | None]:
    """A copy of a workspace's ``view`` without a ``span_s`` outside the Span box's range
    (:data:`~desktop.ui.window_view.SPAN_RANGE_S`; not a number, ≤ 0, absurd), and the line
    saying so (None when it is fine)."""
    view = dict(view)
    if "span_s" not in view:
        return view, None
    raw = view["span_s"]
    low, high = SPAN_RANGE_S
    if isinstance(raw, int | float) and not isinstance(raw, bool) and low <= raw <= high:
        return view, None
    del view["span_s"]
    return view, (f"the workspace's span_s {raw!r} is not a time span of {low:g}-{high:g} s;"
                  " ignored")


class WorkspacePart:
    """Open/Save workspace… in the File menu, and the capture/apply behind them."""

    def __init__(self, ctx: WindowContext, source_panel: SourcePanel,
                 model_panel: ModelPanel) -> None:
        self.ctx = ctx
        self.source_panel, self.model_panel = source_panel, model_panel
        #: File menu, first (ActionsPart places them)
        self.actions = [ctx.action("Open workspace…", "Ctrl+Shift+O", self.open_dialog),
                        ctx.action("Save workspace…", "Ctrl+Shift+S", self.save_dialog)]

    def capture(self, rules: str = "") -> Workspace:
        """The window's workspace now (``rules``: the rules file to name in it)."""
        ctx = self.ctx
        session = ctx.session()
        options: dict[str, object]
        if isinstance(session, FileSession):
            source, options, file = "", {}, str(session.path)
            view_key = session.spec
        else:
            source, options = self.source_panel.spec_and_options()
            file = ""
            view_key = ctx.host.spec or source
        view = dict(ctx.settings.views.get(view_key, {}))
        machine = ctx.settings.machine_by_source.get(source_key(session), "") if session \
            is not None else ""
        return Workspace(source=source, source_options=dict(options), file=file,
                         model=str(ctx.settings.model or ""), rules=rules, view=view,
                         layout=_b64(ctx.parent.saveState()),
                         geometry=_b64(ctx.parent.saveGeometry()), machine=machine)

    def apply(self, ws: Workspace) -> list[str]:
        """Show ``ws`` in the window (see the module doc). What it names but cannot be used
        here (a model not installed, a machine with no profile, a span out of range) is
        left out, shown in one status-bar line and returned (one line each)."""
        ctx, window = self.ctx, self.ctx.parent
        notes: list[str] = []
        if ws.geometry:
            window.restoreGeometry(QByteArray.fromBase64(ws.geometry.encode()))
        if ws.layout:
            window.restoreState(QByteArray.fromBase64(ws.layout.encode()))
        if ws.model is not None:
            combo = self.model_panel.model
            index = combo.findData(ws.model)
            if index >= 0:
                combo.setCurrentIndex(index)
            else:
                notes.append(f"the workspace's model {ws.model!r} is not installed here; "
                             "the current one is kept")
        ctx.host.use_rules(ws.rules)
        machine_note = machine_problem(ws.machine) if ws.machine else None
        if machine_note:
            notes.append(machine_note)
        elif ws.machine:  # the Diagnosis dock and the session's baseline use it
            key = str(Path(ws.file).resolve()) if ws.file else ws.source
            ctx.settings.machine_by_source[key] = ws.machine
        view, span_note = checked_view(ws.view)
        if span_note:
            notes.append(span_note)
        if ws.file:
            if view:
                ctx.settings.views[f"file:{ws.file}"] = view
            ctx.host.open_file(ws.file)
        elif ws.source:
            if view:
                ctx.settings.views[ws.source] = view
            ctx.host.connect_source(ws.source, dict(ws.source_options))
        if notes:
            ctx.status("; ".join(notes), 15000)
        return notes

    def open(self, path: str | Path) -> None:
        """Load and apply a workspace file; a bad file is one line in the status bar."""
        try:
            ws = load_workspace(path)
        except LinewatchError as exc:
            self.ctx.status(str(exc), 10000)
            return
        self.ctx.host.disconnect_source()
        notes = self.apply(ws)
        self.ctx.status("; ".join([f"workspace {Path(path).name} opened", *notes]),
                        15000 if notes else 5000)

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.ctx.parent, "Open workspace", "", FILTER)
        if path:
            self.open(path)

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.ctx.parent, "Save workspace",
                                              "workspace.lwspace.json", FILTER)
        if not path:
            return
        try:
            save_workspace(self.capture(self.ctx.host.workspace_rules), path)
        except LinewatchError as exc:
            self.ctx.status(str(exc), 10000)
            return
        self.ctx.status(f"workspace saved to {path}", 5000)


class HasWorkspace(Protocol):
    """A window with a :class:`WorkspacePart` (the MainWindow)."""

    @property
    def workspace(self) -> WorkspacePart: ...


def capture(window: HasWorkspace, rules: str = "") -> Workspace:
    """The window's workspace now (``rules``: the rules file to name in it)."""
    return window.workspace.capture(rules)


def apply(window: HasWorkspace, ws: Workspace) -> list[str]:
    """Show ``ws`` in ``window`` (see the module doc); what was left out, one line each."""
    return window.workspace.apply(ws)


def open_workspace(window: HasWorkspace, path: str | Path) -> None:
    """Load and apply a workspace file; a bad file is one line in the status bar."""
    window.workspace.open(path)
