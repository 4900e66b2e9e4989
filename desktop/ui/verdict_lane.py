"""The verdict lane: the model's answers as coloured spans under the signal lanes.

One BarGraphItem holds every visible span (one item, not one per verdict, so a long
session does not fill the scene with thousands of items); colour says where the fault is,
opacity says how sure the model is, and hovering shows the detail.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QBrush, QColor

LOCATION_COLOURS = {"normal": "#2e7d32", "inner_race": "#c62828", "outer_race": "#ef6c00",
                    "ball": "#8e24aa", "anomaly": "#c62828",
                    # the model declined to answer (no signal, out of band, unlike its
                    # training data): grey, never a fault colour
                    "unknown": "#9e9e9e",
                    # the envelope evidence's own locations (desktop/ui/diagnosis_run.py)
                    "cage": "#6d4c41", "not_running": "#546e7a"}
MAX_VERDICTS = 20_000


class VerdictLane:
    """Draws verdict spans in a PlotItem that shares the signal lanes' time axis."""

    def __init__(self, plot: pg.PlotItem, verdicts: list[dict]) -> None:
        self.plot = plot
        self.verdicts = verdicts  # owned by LivePlot; survives a rebuild of the lanes
        plot.hideAxis("left")
        plot.setMaximumHeight(70)
        plot.setMinimumHeight(56)
        plot.setMouseEnabled(x=True, y=False)
        plot.setYRange(0, 1, padding=0)
        plot.hideButtons()
        plot.setMenuEnabled(False)
        self.bars = pg.BarGraphItem(x0=[], x1=[], y0=[], height=[], pen=None)
        plot.addItem(self.bars)
        self.latest = pg.TextItem("", color="#ffffff", anchor=(1, 0))
        self.hover = pg.TextItem("", color="#ffffff", anchor=(0, 0))
        for text in (self.latest, self.hover):
            plot.addItem(text, ignoreBounds=True)
        self._brushes: dict[tuple[str, int], QBrush] = {}
        plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self._offset = 0.0

    def _brush(self, location: str, probability: float) -> QBrush:
        if location == "unknown":
            probability = 0.6  # how sure the network was is beside the point
        alpha = int(np.clip(probability, 0.3, 1.0) * 5)
        key = (location, alpha)
        brush = self._brushes.get(key)
        if brush is None:
            colour = QColor(LOCATION_COLOURS.get(location, "#1565c0"))
            colour.setAlpha(55 + alpha * 40)
            brush = self._brushes[key] = QBrush(colour)
        return brush

    def draw(self, offset: float, x0: float, x1: float) -> None:
        """Show the verdicts overlapping ``[x0, x1]`` (plot coordinates = time - offset)."""
        self._offset = offset
        verdicts = self.verdicts
        if not verdicts:
            self.bars.setOpts(x0=[], x1=[], y0=[], height=[], brushes=[])
            self.latest.setText("")
            return
        starts = np.fromiter((v["start_s"] for v in verdicts), float, len(verdicts)) - offset
        ends = np.fromiter((v["end_s"] for v in verdicts), float, len(verdicts)) - offset
        ends[:-1] = np.minimum(ends[:-1], starts[1:])  # overlapping windows: show each hop
        lo = int(np.searchsorted(ends, x0))
        hi = int(np.searchsorted(starts, x1, side="right"))
        shown = verdicts[lo:hi]
        self.bars.setOpts(
            x0=starts[lo:hi], x1=ends[lo:hi], y0=np.full(hi - lo, 0.1),
            height=np.full(hi - lo, 0.8),
            brushes=[self._brush(v["location"], v["probability"]) for v in shown])
        last = verdicts[-1]
        self.latest.setText(f"{last['class']} (evidence)" if last.get("source") == "evidence"
                            else f"unknown: {last.get('reason') or 'unlike training data'}"
                            if last["class"] == "unknown"
                            else f"{last['class']} {last['probability']:.0%}")
        self.latest.setPos(x1, 1.0)
        self.hover.setPos(x0, 1.0)

    def verdict_at(self, x: float) -> dict | None:
        """The verdict under plot position ``x`` (newest first: hover is about now)."""
        t = x + self._offset
        for v in reversed(self.verdicts[-2000:]):
            if v["start_s"] <= t < v["end_s"]:
                return v
        return None

    def _mouse_moved(self, pos: object) -> None:
        view = self.plot.getViewBox()
        if not self.plot.sceneBoundingRect().contains(pos):  # type: ignore[arg-type]
            if self.hover.toPlainText():
                self.hover.setText("")
            return
        x = view.mapSceneToView(pos).x()  # type: ignore[arg-type]
        verdict = self.verdict_at(x)
        self.hover.setText("" if verdict is None else hover_text(verdict))


def hover_text(verdict: dict) -> str:
    """One verdict for the hover line; ``unknown`` says why and what the network thought."""
    times = f"{verdict['start_s']:.3f}–{verdict['end_s']:.3f} s"
    if verdict.get("detail"):  # merged with the evidence (desktop/ui/diagnosis_run.py)
        return f"{verdict['detail']}  {times}"
    if verdict.get("class") == "unknown":
        return (f"unknown ({verdict.get('reason') or 'unlike training data'}; the network "
                f"would say {verdict.get('best_class')} {verdict['probability']:.0%})  {times}")
    return (f"{verdict['class']} ({verdict['location']}) {verdict['probability']:.1%}  "
            f"{times}")
