"""The contribution plot of a process monitor: which variables push one sample's score.

Horizontal bars, strongest on top, for the sample selected in the parts table — or, with
nothing selected, the newest alarmed sample — from the row's ``contributors`` and
``contributions`` (each variable's summed T² terms and flatline score, in units of the
detectors' limits; see :mod:`desktop.ml.tabular.process`). The UI thread only draws: the
figures come with the rows from the table-model worker.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg

BAR_COLOUR = "#E69F00"


class ContributionPlot(pg.PlotWidget):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(120)
        item = self.getPlotItem()
        item.setMenuEnabled(False)
        item.setMouseEnabled(x=False, y=False)
        item.hideButtons()
        item.showGrid(x=True, y=False, alpha=0.25)
        item.setLabel("bottom", "contribution (× limit)")
        item.getAxis("bottom").enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[],
                                    brush=pg.mkBrush(BAR_COLOUR))
        item.addItem(self.bars)
        self.names: list[str] = []
        self.row: dict[str, Any] | None = None
        self.show_row(None)

    def show_row(self, row: dict[str, Any] | None) -> None:
        """Draw ``row``'s contributions (None: an empty plot saying what it will show)."""
        self.row = row
        item = self.getPlotItem()
        names = list(row.get("contributors", [])) if row else []
        values = list(row.get("contributions", [])) if row else []
        values = values[:len(names)] + [0.0] * (len(names) - len(values))
        self.names = names
        n = len(names)
        self.bars.setOpts(x0=[0.0] * n, y=list(range(n - 1, -1, -1)), width=values,
                          height=0.7)
        item.getAxis("left").setTicks([[(n - 1 - i, name) for i, name in enumerate(names)]])
        if row is None:
            item.setTitle("contribution plot: select a sample (or wait for an alarm)",
                          size="9pt")
        else:
            what = "ALARM" if row.get("alarm") else "no alarm"
            index = row.get("index")
            label = f"sample #{index + 1}" if isinstance(index, int) else "sample"
            item.setTitle(f"contribution plot, {label}: score {row.get('score', 0):.2f}, "
                          f"{what}" + (f", likely {row['fault']}" if row.get("fault") else ""),
                          size="9pt")
        if n:
            item.setXRange(0, max(max(values), 1e-9) * 1.05, padding=0)
            item.setYRange(-0.6, n - 0.4, padding=0)
