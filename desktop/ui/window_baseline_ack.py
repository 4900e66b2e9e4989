"""The status bar's "Acknowledge baseline alarm" button (issue 22): a machine baseline's
alarm latches until someone acknowledges it; this is where they do, in the window.

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext`). The window calls :meth:`raised` when
the session's ``baseline_alarm`` fires; the button then shows, naming sensor, indicator and
location in its tooltip, and a click calls the session's ``acknowledge_baseline``: the
latch takes the level active now (``ok`` once the condition has cleared; a fault that
persists stays raised, marked acknowledged, and does not ask again until it worsens).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QPushButton, QStatusBar

from desktop.ui.window_context import WindowContext


def describe(row: dict[str, Any]) -> str:
    """``Baseline ALARM on de: env_bpfo, outer_race`` from a ``baseline_alarm`` row."""
    ev = row.get("event") or {}
    return (f"Baseline {str(ev.get('level', '')).upper()} on {ev.get('sensor')}: "
            f"{ev.get('indicator')}, {ev.get('location')}")


class BaselineAckPart:
    """The button and what it does (see the module docstring)."""

    def __init__(self, ctx: WindowContext, bar: QStatusBar) -> None:
        self.ctx = ctx
        self.button = QPushButton("Acknowledge baseline alarm")
        self.button.setVisible(False)
        self.button.clicked.connect(self.acknowledge)
        bar.addPermanentWidget(self.button)

    def raised(self, row: dict[str, Any]) -> None:
        text = describe(row)
        self.button.setToolTip(text + " — latched until acknowledged")
        self.button.setVisible(True)
        self.ctx.status(f"{text} (latched until acknowledged)", 0)

    def acknowledge(self) -> None:
        session = self.ctx.session()
        level = session.acknowledge_baseline() if session is not None else ""
        self.button.setVisible(False)
        self.ctx.status(f"Baseline alarm acknowledged; level now: {level or 'not judged'}",
                        8000)

    def reset(self) -> None:
        """A new session: nothing latched yet."""
        self.button.setVisible(False)
