"""The window's view settings: lanes or overlay, channel list (visibility, colours),
span and history, follow/pause, zoom to fit — remembered per source in the settings.

A mixin of :class:`~desktop.ui.main_window.MainWindow`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QColorDialog, QListWidgetItem

from desktop.session.live import LiveSession


class ViewMixin:
    """Per-source view state and the controls that change it."""

    # -- per-source view settings ------------------------------------------------------------
    def _view_state(self) -> dict[str, object]:
        return self.settings.views.setdefault(self.spec, {})

    def _configure_plot(self) -> None:
        session = self.session
        assert session is not None and session.buffer is not None
        buffer = session.buffer
        view = self._view_state()
        mode = str(view.get("mode", self.settings.plot_mode))
        self.plot.sample_rate = buffer.sample_rate
        self.plot.wall_clock = session.wall_clock
        if session.kind == "file":
            # A file's axis: seconds from its first sample, or wall-clock time.
            anchor = session.label_anchor()
            self.plot.x_offset = 0.0 if session.wall_clock or anchor is None else anchor[1]
            self.plot.axis_title = "time (s from the start of the recording)"
        else:
            self.plot.axis_title = ""
        self.plot.configure(buffer.channels, mode,
                            dict(view.get("colours", {})),  # type: ignore[arg-type]
                            dict(view.get("visible", {})))  # type: ignore[arg-type]
        self.act_overlay.blockSignals(True)
        self.act_overlay.setChecked(self.plot.mode == "overlay")
        self.act_overlay.blockSignals(False)
        if "span_s" in view:
            self.span.setValue(float(view["span_s"]))  # type: ignore[arg-type]
        self._fill_channel_list()

    def _fill_channel_list(self) -> None:
        self.channel_list.blockSignals(True)
        self.channel_list.clear()
        for ch in self.plot.channels:
            item = QListWidgetItem(f"{ch.name} [{ch.unit}]" if ch.unit else ch.name)
            item.setData(Qt.ItemDataRole.UserRole, ch.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if self.plot.visible[ch.name]
                               else Qt.CheckState.Unchecked)
            pix = QPixmap(12, 12)
            pix.fill(QColor(self.plot.colours[ch.name]))
            item.setIcon(QIcon(pix))
            self.channel_list.addItem(item)
        self.channel_list.blockSignals(False)

    def _channel_toggled(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        visible = dict(self.plot.visible)
        visible[name] = item.checkState() == Qt.CheckState.Checked
        self._view_state()["visible"] = visible
        self._reconfigure()

    def set_channel_colour(self, name: str, colour: str) -> None:
        colours = dict(self.plot.colours)
        colours[name] = colour
        self._view_state()["colours"] = colours
        self._reconfigure()

    def _pick_colour(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        colour = QColorDialog.getColor(QColor(self.plot.colours.get(name, "#ffffff")), self)
        if colour.isValid():
            self.set_channel_colour(name, colour.name())

    def _set_overlay(self, on: bool) -> None:
        mode = "overlay" if on else "lanes"
        self.settings.plot_mode = mode
        self._view_state()["mode"] = mode
        self._reconfigure()

    def _reconfigure(self) -> None:
        if self.session is not None and self.session.buffer is not None:
            self._configure_plot()

    def _span_changed(self, value: float) -> None:
        self.plot.span_s = value
        if self.spec:
            self._view_state()["span_s"] = value

    def _history_changed(self, value: float) -> None:
        self.settings.history_seconds = float(value)

    def _follow_changed(self, on: bool) -> None:
        self.act_follow.blockSignals(True)
        self.act_follow.setChecked(on)
        self.act_follow.blockSignals(False)

    def _pause(self, on: bool) -> None:
        # A paused view does not follow live; resuming follows again if it did before.
        if on:
            self._follow_before_pause = self.plot.follow
            if self.plot.follow:
                self.plot.set_follow(False)
        elif self._follow_before_pause and isinstance(self.session, LiveSession):
            self.plot.set_follow(True)
        self.plot.paused = on
        self.statusBar().showMessage(
            "View paused: acquisition and recording continue" if on else "", 4000)

    def _zoom_fit(self) -> None:
        self.plot.set_follow(False)
        self.plot.zoom_to_fit(self.session.buffer if self.session is not None else None)
