"""The window's view: lanes or overlay, the channel list (visibility, colours), span and
history, follow/pause, zoom to fit, cursors, autoscale — remembered per source in the
settings (``settings.views[spec]``).

A part of :class:`~desktop.ui.main_window.MainWindow` (it gets a
:class:`~desktop.ui.window_context.WindowContext`); it owns the Channels dock and the view
actions, which :class:`~desktop.ui.window_actions.ActionsPart` places in the toolbar and
the View menu.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QDockWidget,
    QDoubleSpinBox,
    QListWidget,
    QListWidgetItem,
)

from desktop.session.live import LiveSession
from desktop.ui.window_context import WindowContext

#: The Span box's range, seconds (a workspace's span_s outside it is ignored)
SPAN_RANGE_S = (0.01, 3600.0)


class ViewPart:
    """Per-source view state and the controls that change it."""

    def __init__(self, ctx: WindowContext) -> None:
        self.ctx = ctx
        self._follow_before_pause = True
        plot = ctx.plot
        self.channel_list = QListWidget()
        self.channel_list.setToolTip("Tick to show a channel; double-click to change its colour")
        self.channel_list.itemChanged.connect(self._channel_toggled)
        self.channel_list.itemDoubleClicked.connect(self._pick_colour)
        dock = QDockWidget("Channels", ctx.parent)
        dock.setObjectName("channels-dock")
        dock.setWidget(self.channel_list)
        ctx.parent.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        act = ctx.action
        self.act_pause = act("Pause view", "Space", self.pause, checkable=True,
                             tip="Freeze the plots; acquisition and recording go on")
        self.act_follow = act("Follow live", "L", plot.set_follow, checkable=True)
        self.act_follow.setChecked(True)
        self.act_fit = act("Zoom to fit", "Ctrl+0", self.zoom_fit)
        self.act_cursors = act("Cursors", "C", plot.set_cursors, checkable=True,
                               tip="Two measurement cursors: Δt, 1/Δt, values")
        self.act_overlay = act("Overlay channels", "O", self._set_overlay, checkable=True,
                               tip="All channels in one lane")
        self.act_autoscale = act("Autoscale Y", "A", plot.set_autoscale, checkable=True)
        self.act_autoscale.setChecked(True)
        self.span = QDoubleSpinBox()
        self.span.setRange(*SPAN_RANGE_S)
        self.span.setDecimals(2)
        self.span.setSuffix(" s")
        self.span.setValue(10.0)
        self.span.setToolTip("Visible time span while following live")
        self.span.valueChanged.connect(self._span_changed)
        self.history = QDoubleSpinBox()
        self.history.setRange(1.0, 3600.0)
        self.history.setDecimals(0)
        self.history.setSuffix(" s")
        self.history.setValue(ctx.settings.history_seconds)
        self.history.setToolTip("Seconds kept in memory per channel (applies on next connect)")
        self.history.valueChanged.connect(self._history_changed)
        plot.follow_changed.connect(self._follow_changed)

    @property
    def actions(self) -> list[QAction]:
        """The view actions in toolbar and View-menu order."""
        return [self.act_pause, self.act_follow, self.act_fit, self.act_cursors,
                self.act_overlay, self.act_autoscale]

    # -- per-source view settings ------------------------------------------------------------
    def _view_state(self) -> dict[str, object]:
        return self.ctx.settings.views.setdefault(self.ctx.host.spec, {})

    def configure_plot(self) -> None:
        """Lay the plot out for the session's channels with the source's remembered view."""
        session = self.ctx.session()
        assert session is not None and session.buffer is not None
        plot = self.ctx.plot
        buffer = session.buffer
        view = self._view_state()
        mode = str(view.get("mode", self.ctx.settings.plot_mode))
        plot.sample_rate = buffer.sample_rate
        plot.wall_clock = session.wall_clock
        if session.kind == "file":
            # A file's axis: seconds from its first sample, or wall-clock time.
            anchor = session.label_anchor()
            plot.x_offset = 0.0 if session.wall_clock or anchor is None else anchor[1]
            plot.axis_title = "time (s from the start of the recording)"
        else:
            plot.axis_title = ""
        plot.configure(buffer.channels, mode,
                       dict(view.get("colours", {})),  # type: ignore[call-overload]
                       dict(view.get("visible", {})))  # type: ignore[call-overload]
        self.act_overlay.blockSignals(True)
        self.act_overlay.setChecked(plot.mode == "overlay")
        self.act_overlay.blockSignals(False)
        if "span_s" in view:
            self.span.setValue(float(view["span_s"]))  # type: ignore[arg-type]
        self._fill_channel_list()

    def _fill_channel_list(self) -> None:
        plot = self.ctx.plot
        self.channel_list.blockSignals(True)
        self.channel_list.clear()
        for ch in plot.channels:
            item = QListWidgetItem(f"{ch.name} [{ch.unit}]" if ch.unit else ch.name)
            item.setData(Qt.ItemDataRole.UserRole, ch.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if plot.visible[ch.name]
                               else Qt.CheckState.Unchecked)
            pix = QPixmap(12, 12)
            pix.fill(QColor(plot.colours[ch.name]))
            item.setIcon(QIcon(pix))
            self.channel_list.addItem(item)
        self.channel_list.blockSignals(False)

    def _channel_toggled(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        visible = dict(self.ctx.plot.visible)
        visible[name] = item.checkState() == Qt.CheckState.Checked
        self._view_state()["visible"] = visible
        self.reconfigure()

    def set_channel_colour(self, name: str, colour: str) -> None:
        """Draw channel ``name`` in ``colour`` (``#rrggbb``), remembered for this source."""
        colours = dict(self.ctx.plot.colours)
        colours[name] = colour
        self._view_state()["colours"] = colours
        self.reconfigure()

    def _pick_colour(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        colour = QColorDialog.getColor(QColor(self.ctx.plot.colours.get(name, "#ffffff")),
                                       self.ctx.parent)
        if colour.isValid():
            self.set_channel_colour(name, colour.name())

    def _set_overlay(self, on: bool) -> None:
        mode = "overlay" if on else "lanes"
        self.ctx.settings.plot_mode = mode
        self._view_state()["mode"] = mode
        self.reconfigure()

    def reconfigure(self) -> None:
        """Lay the plot out again (after a view setting changed), when it shows a buffer."""
        session = self.ctx.session()
        if session is not None and session.buffer is not None:
            self.configure_plot()

    def _span_changed(self, value: float) -> None:
        self.ctx.plot.span_s = value
        if self.ctx.host.spec:
            self._view_state()["span_s"] = value

    def _history_changed(self, value: float) -> None:
        self.ctx.settings.history_seconds = float(value)

    def _follow_changed(self, on: bool) -> None:
        self.act_follow.blockSignals(True)
        self.act_follow.setChecked(on)
        self.act_follow.blockSignals(False)

    def set_live(self, live: bool) -> None:
        """A live source follows the newest sample; a file is not live (Follow is off)."""
        self.ctx.plot.set_follow(live)
        self.act_follow.setEnabled(live)

    def pause(self, on: bool) -> None:
        """Freeze the plots (acquisition and recording go on); resuming follows again if
        the view followed before."""
        plot = self.ctx.plot
        if on:
            self._follow_before_pause = plot.follow
            if plot.follow:
                plot.set_follow(False)
        elif self._follow_before_pause and isinstance(self.ctx.session(), LiveSession):
            plot.set_follow(True)
        plot.paused = on
        self.ctx.status("View paused: acquisition and recording continue" if on else "", 4000)

    def zoom_fit(self) -> None:
        """Show the whole buffer (or file)."""
        session = self.ctx.session()
        self.ctx.plot.set_follow(False)
        self.ctx.plot.zoom_to_fit(session.buffer if session is not None else None)
