"""A live-plot lane's curve whose data bounds come with its data.

pyqtgraph's :class:`~pyqtgraph.PlotCurveItem` finds its bounds again after every
``setData`` (``dataBounds``: ``np.nanmin``/``np.nanmax``, each a copy of the data, through a
Python path called from the scene while it paints). The live plot sets the data of every
curve on every frame and needs the same minimum and maximum for its own y autoscale, so
:meth:`LaneCurve.set_lane_data` finds them once, with NaN-skipping reductions that copy
nothing (``np.fmin.reduce``/``np.fmax.reduce``: a gap is NaN), and hands them to both.
With 64 lanes this was a tenth of the UI thread's frame (py-spy).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg


class LaneCurve(pg.PlotCurveItem):  # type: ignore[misc]
    """A :class:`pyqtgraph.PlotCurveItem` that knows its bounds after :meth:`set_lane_data`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._known: tuple[tuple[float, float], tuple[float, float]] | None = None
        super().__init__(*args, **kwargs)

    def setData(self, *args: Any, **kwargs: Any) -> None:
        self._known = None  # data set another way: pyqtgraph finds the bounds
        super().setData(*args, **kwargs)

    def set_lane_data(self, x: np.ndarray, y: np.ndarray, **kwargs: Any
                      ) -> tuple[float, float] | None:
        """``setData(x, y, **kwargs)`` and remember the bounds; returns ``(y_min, y_max)``
        over the finite samples, or None when there is none. ``x``, ``y``: shape ``(n,)``."""
        self.setData(x, y, **kwargs)
        if x.size == 0:
            return None
        xb = (float(np.fmin.reduce(x)), float(np.fmax.reduce(x)))
        yb = (float(np.fmin.reduce(y)), float(np.fmax.reduce(y)))
        if all(math.isfinite(v) for v in (*xb, *yb)):
            self._known = (xb, yb)
            return yb
        return None  # all NaN, or ±inf in the data: pyqtgraph's own path decides

    def dataBounds(self, ax: int, frac: float = 1.0,
                   orthoRange: Any = None) -> Any:
        if self._known is not None and frac >= 1.0 and orthoRange is None and ax in (0, 1):
            return self._known[ax]
        return super().dataBounds(ax, frac, orthoRange)
