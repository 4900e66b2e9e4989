"""The report's charts, drawn without a display (matplotlib's ``Figure`` API, no pyplot:
no global state, no GUI backend, safe in a worker thread). Each function returns a
``Figure``; :mod:`desktop.fleet.report` embeds it as PNG in HTML and as a page in PDF.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: ISO 20816-3 zone colours, A (green) to D (red).
ZONE_COLOURS = {"A": "#8fd18f", "B": "#d9ef8b", "C": "#fdbf6f", "D": "#f4a3a3"}
WIDTH_IN = 10.0


def _figure(height_in: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # the frozen app may have left it out
        from desktop.core.errors import InputError

        raise InputError("reports need matplotlib: pip install matplotlib") from exc
    return Figure(figsize=(WIDTH_IN, height_in), dpi=100, layout="constrained")


def _envelope(t: np.ndarray, x: np.ndarray, columns: int = 1500
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Min/max per column: every spike of an hours-long signal stays visible."""
    n = x.shape[0]
    if n <= 2 * columns:
        return t, x, x
    edges = np.linspace(0, n, columns + 1).astype(int)
    lo = np.fmin.reduceat(x, edges[:-1])
    hi = np.fmax.reduceat(x, edges[:-1])
    return t[edges[:-1]], lo, hi


def overview(times: np.ndarray, values: np.ndarray, names: Sequence[str],
             units: Sequence[str], spans: Sequence[tuple[float, float, str]] = ()) -> Any:
    """One lane per channel (min/max envelope), labelled spans shaded across all lanes."""
    k = values.shape[1]
    fig = _figure(1.2 + 1.6 * k)
    axes = fig.subplots(k, 1, sharex=True, squeeze=False)[:, 0]
    for j, ax in enumerate(axes):
        t, lo, hi = _envelope(times, values[:, j])
        ax.fill_between(t, lo, hi, color="#1f77b4", linewidth=0.6, step="mid")
        ax.plot(t, lo, color="#1f77b4", linewidth=0.4)
        ax.set_ylabel(f"{names[j]}" + (f" [{units[j]}]" if units[j] else ""), fontsize=8)
        for s0, s1, label in spans:
            ax.axvspan(s0, s1, color="#ff7f0e", alpha=0.2)
            if j == 0:
                ax.text(s0, 1.0, label, transform=ax.get_xaxis_transform(), fontsize=7,
                        va="bottom", color="#b35806")
    axes[-1].set_xlabel("time from the first sample, s")
    fig.suptitle("Signal overview (min/max per pixel column; labels shaded)", fontsize=10)
    return fig


def spectrum(freqs: np.ndarray, amplitude: np.ndarray, markers: Sequence[Any], title: str,
             unit: str, fmax: float | None = None) -> Any:
    """Amplitude on a log scale, fault-frequency markers as named dashed lines."""
    fig = _figure(3.6)
    ax = fig.subplots()
    keep = freqs > 0
    if fmax is not None:
        keep &= freqs <= fmax
    ax.semilogy(freqs[keep], np.maximum(amplitude[keep], 1e-12), linewidth=0.7,
                color="#1f77b4")
    for i, m in enumerate(markers):
        ax.axvline(m.freq_hz, color="#d62728", linestyle="--", linewidth=0.6, alpha=0.7)
        ax.text(m.freq_hz, 0.98 - 0.08 * (i % 4), m.name, rotation=90, fontsize=6,
                transform=ax.get_xaxis_transform(), va="top", ha="right", color="#d62728")
    ax.set_xlabel("frequency, Hz")
    ax.set_ylabel(f"RMS amplitude{f' [{unit}]' if unit else ''}")
    ax.set_title(title, fontsize=10)
    return fig


def severity_trend(starts: Sequence[float], ends: Sequence[float], velocities: Sequence[float],
                   limits: tuple[float, float, float], title: str) -> Any:
    """Velocity RMS per block over the four ISO 20816-3 zones."""
    fig = _figure(3.2)
    ax = fig.subplots()
    top = max(limits[2] * 1.4, max(velocities, default=0.0) * 1.15)
    bounds = [0.0, *limits, top]
    for name, lo, hi in zip("ABCD", bounds[:-1], bounds[1:], strict=True):
        ax.axhspan(lo, hi, color=ZONE_COLOURS[name], alpha=0.6, linewidth=0)
        ax.text(1.005, (lo + hi) / 2, f"zone {name}", transform=ax.get_yaxis_transform(),
                fontsize=8, va="center")
    for s0, s1, v in zip(starts, ends, velocities, strict=True):
        ax.hlines(v, s0, s1, color="black", linewidth=2)
    ax.set_ylim(0, top)
    ax.set_xlabel("time from the first analysed sample, s")
    ax.set_ylabel("velocity RMS, mm/s")
    ax.set_title(title, fontsize=10)
    return fig


def verdicts(starts: Sequence[float], ends: Sequence[float], classes: Sequence[str],
             shares: dict[str, float]) -> Any:
    """Class shares (bars) and a timeline (one row per class, a tick per window)."""
    fig = _figure(1.4 + 0.25 * max(len(shares), 1))
    ax_share, ax_time = fig.subplots(1, 2, width_ratios=[1, 3])
    names = list(shares)
    ax_share.barh(names, [shares[c] * 100 for c in names], color="#1f77b4")
    ax_share.invert_yaxis()
    ax_share.set_xlabel("share of windows, %")
    row = {c: i for i, c in enumerate(names)}
    cmap = [f"C{i % 10}" for i in range(len(names))]
    for c in names:
        sel = [i for i, k in enumerate(classes) if k == c]
        if sel:
            ax_time.hlines([row[c]] * len(sel), [starts[i] for i in sel],
                           [ends[i] for i in sel], colors=cmap[row[c]], linewidth=8)
    ax_time.set_yticks(range(len(names)), names, fontsize=8)
    ax_time.set_ylim(len(names) - 0.5, -0.5)
    ax_time.set_xlabel("time from the first sample, s")
    fig.suptitle("Verdicts: class shares and timeline", fontsize=10)
    return fig
