"""What the Analysis and Diagnosis docks need of the main window, and nothing more.

A dock used to take the whole window (``window: Any``) and reach into it. It now takes a
:class:`DockContext`: the plot (its view-range and frame signals, its cursors), the
session shown now, the settings, a status-bar message and the window as Qt parent (of the
dock's dialogs; its close event winds the dock's jobs down). The Diagnosis dock adds what
it drives in the window: :class:`DiagnosisHost`. :func:`dock_context` and
:meth:`DiagnosisHost.of_window` build them from a
:class:`~desktop.ui.main_window.MainWindow`, so the window's own code does not change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtWidgets import QLabel, QMainWindow

from desktop.core.settings import Settings
from desktop.ui.live_plot import LivePlot


class DockContext(Protocol):
    """The window as a dock sees it (the same names as the window parts'
    :class:`~desktop.ui.window_context.WindowContext`, which satisfies this protocol).

    ``parent`` is the QMainWindow (the parent of the dock's dialogs; its close event winds
    the dock's jobs down); ``session()`` the window's session now (a LiveSession, a
    FileSession or None; ``Any`` because the docks read attributes only one kind has:
    ``loaded``, ``path``, ``buffer.metadata``); ``status(message, ms)`` writes the status
    bar for ``ms`` milliseconds (0: until replaced).
    """

    @property
    def parent(self) -> QMainWindow: ...

    @property
    def plot(self) -> LivePlot: ...

    @property
    def settings(self) -> Settings: ...

    def session(self) -> Any: ...

    def status(self, message: str, ms: int = 0) -> None: ...


@dataclass(frozen=True)
class WindowDockContext:
    """A :class:`DockContext` read from a MainWindow (``plot``, ``settings``, ``session``,
    its status bar)."""

    parent: QMainWindow
    plot: LivePlot
    settings: Settings
    window: Any

    def session(self) -> Any:
        return self.window.session

    def status(self, message: str, ms: int = 0) -> None:
        self.parent.statusBar().showMessage(message, ms)


def dock_context(window: Any) -> DockContext:
    """The :class:`DockContext` of a :class:`~desktop.ui.main_window.MainWindow`."""
    return WindowDockContext(window, window.plot, window.settings, window)


@dataclass(frozen=True)
class DiagnosisHost:
    """What the Diagnosis dock drives in the window besides :class:`DockContext`.

    ``banner`` is the alarm banner (its text and style are policed, see
    ``diagnosis_lane.BannerPolice``); ``banner_class()`` the class it names now ("" when
    none); ``model_info()`` what the running model said about itself (``name``, ``kind``,
    adaptation fields); ``restart_model()`` runs the selected model again (the machine
    changed); ``reconfigure()`` rebuilds the plot's lanes (the verdict lane appears).
    """

    banner: QLabel
    banner_class: Callable[[], str]
    model_info: Callable[[], dict[str, object]]
    restart_model: Callable[[], None]
    reconfigure: Callable[[], None]

    @classmethod
    def of_window(cls, window: Any) -> DiagnosisHost:
        return cls(banner=window.banner,
                   banner_class=lambda: str(getattr(window, "banner_class", "") or ""),
                   model_info=lambda: dict(getattr(window, "model_info", {}) or {}),
                   restart_model=lambda: window._restart_model(),
                   reconfigure=lambda: window._reconfigure())
