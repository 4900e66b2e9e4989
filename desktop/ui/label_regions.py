"""Labelled events drawn over the lanes, and the drag gesture that creates them.

In label mode a left-drag across any lane marks a span (instead of panning). Each event
is a LinearRegionItem per lane, tinted by class; dragging its edges edits it, and the
edit is reported once, on ``sigRegionChangeFinished``, so the store is written once per
gesture, not per mouse move.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from desktop.ui.verdict_lane import LOCATION_COLOURS


class LabellingViewBox(pg.ViewBox):
    """A ViewBox that, in label mode, turns a left-drag into a new span."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.label_mode = False
        self.on_span: Callable[[float, float], None] | None = None
        self._rubber: pg.LinearRegionItem | None = None
        self._x0 = 0.0

    def mouseDragEvent(self, ev: object, axis: int | None = None) -> None:
        if not self.label_mode or ev.button() != Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()  # type: ignore[attr-defined]
        x = self.mapSceneToView(ev.scenePos()).x()  # type: ignore[attr-defined]
        if ev.isStart():  # type: ignore[attr-defined]
            self._x0 = self.mapSceneToView(ev.buttonDownScenePos()).x()  # type: ignore[attr-defined]
            self._rubber = pg.LinearRegionItem((self._x0, x), movable=False,
                                               brush=QColor(255, 255, 255, 50))
            self.addItem(self._rubber, ignoreBounds=True)
        elif self._rubber is not None:
            self._rubber.setRegion((self._x0, x))
        if ev.isFinish() and self._rubber is not None:  # type: ignore[attr-defined]
            self.removeItem(self._rubber)
            self._rubber = None
            lo, hi = sorted((self._x0, x))
            if hi > lo and self.on_span is not None:
                self.on_span(lo, hi)


def label_colour(label: str, alpha: int = 60) -> QColor:
    """Known fault classes keep the verdict lane's colours; other labels get a stable hue."""
    location = {"normal": "normal", "inner": "inner_race", "outer": "outer_race",
                "ball": "ball"}.get(label.split("_")[0])
    colour = (QColor(LOCATION_COLOURS[location]) if location
              else QColor.fromHsv(zlib.crc32(label.encode()) % 360, 160, 230))
    colour.setAlpha(alpha)
    return colour


class LabelRegions:
    """Keeps one region per (event, lane) in step with the events and the x offset."""

    def __init__(self, on_edited: Callable[[int, float, float], None],
                 on_selected: Callable[[int], None]) -> None:
        self._on_edited = on_edited
        self._on_selected = on_selected
        self._items: dict[int, list[pg.LinearRegionItem]] = {}
        self._events: dict[int, tuple[float, float, str]] = {}
        self._lanes: list[pg.PlotItem] = []
        self._offset = 0.0
        self.selected: int | None = None

    def attach(self, lanes: list[pg.PlotItem]) -> None:
        """New lanes (after a rebuild): recreate every region on them."""
        self._lanes = lanes
        self._items = {}
        for event_id in list(self._events):
            self._create(event_id)

    def count(self) -> int:
        """Label regions drawn in the view (events of the shown recording)."""
        return len(self._items) if self._lanes else 0

    def set_events(self, events: dict[int, tuple[float, float, str]]) -> None:
        for event_id in [e for e in self._items if e not in events]:
            for plot, item in zip(self._lanes, self._items.pop(event_id), strict=False):
                plot.removeItem(item)
        changed = [e for e, v in events.items() if self._events.get(e) != v]
        self._events = dict(events)
        for event_id in changed:
            if event_id in self._items:
                for plot, item in zip(self._lanes, self._items.pop(event_id), strict=False):
                    plot.removeItem(item)
            self._create(event_id)

    def _create(self, event_id: int) -> None:
        start, end, label = self._events[event_id]
        items = []
        for plot in self._lanes:
            item = pg.LinearRegionItem((start - self._offset, end - self._offset),
                                       brush=label_colour(label),
                                       hoverBrush=label_colour(label, 110))
            item.setZValue(-10)
            item.setToolTip(label)
            item.sigRegionChangeFinished.connect(
                lambda it, eid=event_id: self._finished(eid, it))
            item.sigRegionChanged.connect(lambda it, eid=event_id: self._mirror(eid, it))
            plot.addItem(item, ignoreBounds=True)
            items.append(item)
        self._items[event_id] = items

    def _mirror(self, event_id: int, moved: pg.LinearRegionItem) -> None:
        """Dragging an edge in one lane moves the region in every lane."""
        self.selected = event_id
        region = moved.getRegion()
        for item in self._items.get(event_id, []):
            if item is not moved:
                item.blockSignals(True)
                item.setRegion(region)
                item.blockSignals(False)

    def _finished(self, event_id: int, item: pg.LinearRegionItem) -> None:
        lo, hi = item.getRegion()
        start, end = lo + self._offset, hi + self._offset
        old = self._events.get(event_id)
        self._on_selected(event_id)
        if old is not None and (abs(old[0] - start) > 1e-9 or abs(old[1] - end) > 1e-9):
            self._events[event_id] = (start, end, old[2])
            self._on_edited(event_id, start, end)

    def follow(self, offset: float) -> None:
        """Keep regions on their signal times while the x axis scrolls."""
        if offset == self._offset:
            return
        self._offset = offset
        for event_id, items in self._items.items():
            start, end, _ = self._events[event_id]
            for item in items:
                item.blockSignals(True)
                item.setRegion((start - offset, end - offset))
                item.blockSignals(False)
