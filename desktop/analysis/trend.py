"""Condition indicators per time block, for long (run-to-failure) recordings.

Per block of ``block_s`` seconds: RMS, peak, crest factor and kurtosis — the classic
time-domain indicators of rolling-element bearing wear (Randall & Antoni, "Rolling element
bearing diagnostics — A tutorial", MSSP 25 (2011) 485–520, section 3.1: kurtosis and crest
factor rise while a fault is impulsive, RMS rises as damage spreads).

Definitions (all over the block's finite samples; a gap, NaN, is skipped):
- ``rms``: ``sqrt(mean((x − mean(x))²))``, the AC RMS: a sensor's DC offset is not vibration;
- ``peak``: ``max |x − mean(x)|``;
- ``crest_factor``: ``peak / rms`` (√2 for a sine, ≈ 3–4 for Gaussian noise);
- ``kurtosis``: Pearson's, :func:`scipy.stats.kurtosis` with ``fisher=False`` — 3.0 for
  Gaussian noise, 1.5 for a sine (the analyst's convention, not the "excess" one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from desktop.analysis.errors import AnalysisError


def block_bounds(n: int, fs: float, block_s: float) -> list[tuple[int, int]]:
    """Sample index ranges ``[i0, i1)`` of consecutive ``block_s``-second blocks of an
    ``n``-sample signal. A trailing remainder shorter than half a block joins the block
    before it (no data is dropped, the last block may be up to 1.5 blocks long); a longer
    one is a block of its own. A signal shorter than one block is one block.

    Raises :class:`AnalysisError` for a non-positive rate or block length.
    """
    if not (math.isfinite(fs) and fs > 0):
        raise AnalysisError(f"sample rate must be positive, got {fs}")
    if not (math.isfinite(block_s) and block_s > 0):
        raise AnalysisError(f"block length must be positive, got {block_s} s")
    if n <= 0:
        return []
    size = max(1, round(block_s * fs))
    starts = list(range(0, n, size))
    bounds = [(s, min(s + size, n)) for s in starts]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < size / 2:
        last = bounds.pop()
        bounds[-1] = (bounds[-1][0], last[1])
    return bounds


@dataclass(frozen=True)
class BlockStats:
    """Indicators of one block, times in seconds from the first analysed sample; values
    in the channel's unit (``crest_factor`` and ``kurtosis`` are ratios). NaN when the
    block has fewer than 2 finite samples or no variation."""

    start_s: float
    end_s: float
    rms: float
    peak: float
    crest_factor: float
    kurtosis: float
    samples: int

    def to_json(self) -> dict[str, float | int | None]:
        def num(v: float) -> float | None:
            return None if math.isnan(v) else round(v, 6)

        return {"start_s": round(self.start_s, 6), "end_s": round(self.end_s, 6),
                "rms": num(self.rms), "peak": num(self.peak),
                "crest_factor": num(self.crest_factor), "kurtosis": num(self.kurtosis),
                "samples": self.samples}


def block_stats(x: np.ndarray, fs: float, start_s: float = 0.0, end_s: float | None = None
                ) -> BlockStats:
    """Indicators of ``x`` ``(n,)`` taken as one block (definitions in the module
    docstring); ``start_s``/``end_s`` only label it."""
    a = np.asarray(x, dtype=np.float64).ravel()
    finite = a[np.isfinite(a)]
    end = start_s + a.shape[0] / fs if end_s is None else end_s
    if finite.shape[0] < 2:
        return BlockStats(start_s, end, math.nan, math.nan, math.nan, math.nan,
                          int(finite.shape[0]))
    ac = finite - finite.mean()
    rms = float(np.sqrt(np.mean(ac**2)))
    peak = float(np.max(np.abs(ac)))
    if rms == 0:
        return BlockStats(start_s, end, 0.0, peak, math.nan, math.nan, int(finite.shape[0]))
    kurt = float(stats.kurtosis(ac, fisher=False, bias=True))
    return BlockStats(start_s, end, rms, peak, peak / rms, kurt, int(finite.shape[0]))


def trend(x: np.ndarray, fs: float, block_s: float) -> list[BlockStats]:
    """:func:`block_stats` for each :func:`block_bounds` block of ``x`` ``(n,)`` at
    ``fs`` Hz. Raises :class:`AnalysisError` for a non-1-D signal or bad rate/block."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise AnalysisError(f"expected a 1-D signal, got shape {a.shape}")
    return [block_stats(a[i0:i1], fs, i0 / fs, i1 / fs)
            for i0, i1 in block_bounds(a.shape[0], fs, block_s)]
