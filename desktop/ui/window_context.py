"""What the window's parts share: :class:`WindowContext`, and the window's small public
surface they may call (:class:`WindowHost`).

The window is composed of parts (``ui/window_*.py``: view, labels, files, parts dock, model
dialogs, status bar, actions), each a plain class built by
:class:`~desktop.ui.main_window.MainWindow` with one :class:`WindowContext`. A part never
reads another part's attributes; where it needs behaviour that lives elsewhere it calls one
of the :class:`WindowHost` methods (the window forwards to the part that owns it). mypy
checks the parts against this protocol, so a part cannot quietly grow a dependency on the
whole window again (docs/architecture.md, "Where a new piece goes").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMainWindow

from desktop.core import paths
from desktop.core.settings import Settings
from desktop.session.base import Session
from desktop.sources.base import SampleSource

if TYPE_CHECKING:
    from desktop.ui.label_editing import LabelHistory
    from desktop.ui.live_plot import LivePlot


@dataclass
class WindowServices:
    """What the composition root (app.py) gives the window: factories, not classes."""

    make_source: Callable[[str, dict[str, object]], SampleSource]
    list_ports: Callable[[], list[tuple[str, str]]]
    versions: Callable[[], dict[str, str]]
    list_models: Callable[[], list[str]] = lambda: []
    #: Remembers the live model where `linewatch models promote --live` also writes it.
    remember_model: Callable[[str | None], None] = lambda _name: None


class WindowHost(Protocol):
    """The window's public methods a part may call (each forwards to its owner)."""

    @property
    def session(self) -> Session | None: ...

    @property
    def spec(self) -> str: ...

    #: the alarm rules file a saved workspace names (the Alarm log dock sets it)
    workspace_rules: str

    def connect_source(self, spec: str, options: dict[str, object] | None = None) -> None: ...

    def disconnect_source(self) -> None: ...

    def open_file(self, path: str | Path, rate: float | None = None,
                  decimal: str | None = None) -> None: ...

    def start_recording(self, backfill_from: float | None = None) -> None: ...

    def label_history(self) -> LabelHistory: ...

    def model_classes(self) -> list[str]: ...

    def open_parts_finetune(self) -> QDialog | None: ...

    def model_saved(self, name: str) -> None: ...

    def model_promoted(self, name: str) -> None: ...

    def use_rules(self, rules: str) -> None: ...


@dataclass(frozen=True)
class WindowContext:
    """What every part gets. ``parent`` is the QMainWindow as Qt sees it (the parent of
    dialogs, docks and actions; its Qt API only), ``host`` the window's small public
    surface, ``errors`` the window's list of error lines (``--measure``, the self-test)."""

    parent: QMainWindow
    host: WindowHost
    plot: LivePlot
    settings: Settings
    services: WindowServices
    errors: list[str]

    def session(self) -> Session | None:
        """The window's current session (None before the first connect/open)."""
        return self.host.session

    def status(self, message: str, ms: int = 0) -> None:
        """A message in the status bar for ``ms`` milliseconds (0: until replaced)."""
        self.parent.statusBar().showMessage(message, ms)

    def recordings_folder(self) -> Path:
        """Where recordings go: the chosen folder, else the default (core/paths)."""
        folder = self.settings.recordings_folder
        return Path(folder) if folder else paths.recordings_dir()

    def action(self, text: str, shortcut: str | None, slot: Callable[..., object],
               checkable: bool = False, tip: str = "") -> QAction:
        """A window-wide action (its shortcut works anywhere in the window, and is named in
        its tooltip); ``slot`` gets ``toggled(bool)`` when checkable, else ``triggered``."""
        action = QAction(text, self.parent)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.setToolTip(f"{tip or text} ({shortcut})" if shortcut else (tip or text))
        (action.toggled if checkable else action.triggered).connect(slot)
        self.parent.addAction(action)
        return action
