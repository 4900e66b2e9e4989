"""Fit a process monitor (:class:`~desktop.ml.tabular.process.ProcessModel`) on normal
running data: the shipped ``process-tep`` (``tools/train_process_tep.py``) and a plant's own
monitor (``linewatch train --normal``).

Every limit comes from the normal data only: the run is cut into ``blocks`` contiguous
blocks, each block is scored by a detector fitted without it, and a limit is the
``quantile`` of these out-of-block scores (× ``diff_limit_margin`` for the difference
window, whose 30-sample windows give few independent values). The optional fault namer is a
shrinkage LDA over labelled fault runs; a plant without fault runs gets a monitor that
names no fault (``fault`` stays null; ``contributors`` still say where to look).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.ml.tabular.card import TabularCard
from desktop.ml.tabular.process import (
    Detector,
    FaultClassifier,
    ProcessModel,
    WindowDetector,
    out_of_block_t2,
    out_of_block_window_t2,
    unchanged_runs,
)

#: The shipped model's settings (chosen on the TEP mid split, docs/quality-process.md).
DEFAULT_SETTINGS: dict[str, Any] = {
    "lags": 2, "window": 10, "diff_window": 30, "diff_limit_margin": 1.2, "flat_limit": 3,
    "quantile": 0.99, "n_of_m": [3, 5], "fault_min_probability": 0.6, "blocks": 5}
HYPER = tuple(DEFAULT_SETTINGS)


def longest_window(s: dict[str, Any]) -> int:
    """Rows the longest detector looks at (lags + 1, the window, the difference window + 1;
    a detector set to 0 is off)."""
    return max(int(s["lags"]) + 1, int(s.get("window") or 0), int(s.get("diff_window") or 0) + 1)


def min_normal_rows(s: dict[str, Any] | None = None) -> int:
    """Fewest normal rows a monitor is fitted on: every out-of-block fit must still hold two
    full difference windows (5 blocks × 2 × 31 = 310 with the default settings)."""
    s = s or DEFAULT_SETTINGS
    return int(s["blocks"]) * 2 * longest_window(s)


def fit_detectors(normal: Sequence[np.ndarray], s: dict[str, Any],
                  task: TaskState | None = None
                  ) -> tuple[Detector, WindowDetector | None, WindowDetector | None, np.ndarray]:
    """The lagged, window and difference-window detectors with their limits, and the
    flatline mask, from normal pieces (each a (rows, variables) array in time order;
    windows and lags never span two pieces)."""
    task = task or TaskState()
    parts = [np.asarray(p, dtype=np.float64) for p in normal if len(p)]
    xn = np.vstack(parts)
    q, blocks = float(s["quantile"]), int(s["blocks"])
    task.report(0.1, "lagged Mahalanobis")
    det = Detector.fit(parts, int(s["lags"]))
    det.limit = float(np.quantile(out_of_block_t2(xn, int(s["lags"]), blocks), q))
    win = dwin = None
    if s.get("window"):
        task.report(0.35, "window statistics")
        win = WindowDetector.fit(parts, int(s["window"]))
        win.limit = float(np.quantile(out_of_block_window_t2(xn, int(s["window"]), blocks), q))
    if s.get("diff_window"):
        task.report(0.6, "difference window")
        dwin = WindowDetector.fit(parts, int(s["diff_window"]), differences=True)
        dwin.limit = float(s.get("diff_limit_margin", 1.0)) * float(np.quantile(
            out_of_block_window_t2(xn, int(s["diff_window"]), blocks, differences=True), q))
    # flatline: only variables that never stay unchanged for more than one sample in normal
    flat = int(s.get("flat_limit") or 0)
    runs = np.max(np.vstack([unchanged_runs(p, flat + 1).max(axis=0) for p in parts]), axis=0)
    return det, win, dwin, runs <= 1


def fit_process_model(card: TabularCard, normal: Sequence[np.ndarray], s: dict[str, Any],
                      faults: dict[str, list[np.ndarray]] | None = None,
                      task: TaskState | None = None) -> ProcessModel:
    """A :class:`ProcessModel` whose limits come from ``normal`` only; with ``faults``
    (name → pieces of that fault's runs) a fault namer trained on them."""
    det, win, dwin, watch = fit_detectors(normal, s, task)
    clf = FaultClassifier.fit(det, faults) if faults else None
    return ProcessModel(card, det, clf, tuple(s["n_of_m"]), float(s["fault_min_probability"]),
                        win, watch, int(s.get("flat_limit") or 0), dwin)


def held_out_alarm_rate(normal: Sequence[np.ndarray], s: dict[str, Any],
                        task: TaskState | None = None) -> float:
    """Share of normal rows that alarm when each of ``blocks`` contiguous blocks of the
    (joined) normal data is judged by a monitor fitted without it: the false-alarm rate to
    expect on more of the same normal operation."""
    xn = np.vstack([np.asarray(p, dtype=np.float64) for p in normal if len(p)])
    blocks = int(s["blocks"])
    edges = np.linspace(0, len(xn), blocks + 1).astype(int)
    card = _scratch_card(xn.shape[1])
    alarms = 0
    judged = 0
    task = task or TaskState()
    for b in range(blocks):
        task.report(b / blocks, f"held-out block {b + 1} of {blocks}")
        rest = [xn[:edges[b]], xn[edges[b + 1]:]]
        model = fit_process_model(card, [p for p in rest if len(p)], s)
        a = model.analyse(xn[edges[b]:edges[b + 1]])["alarm"]
        alarms += int(a.sum())
        judged += len(a)
    return alarms / max(judged, 1)


def _scratch_card(p: int) -> TabularCard:
    return TabularCard(name="scratch", kind="process",
                       architecture="mahalanobis_window_flatline", classes=[],
                       input_columns=[f"v{i}" for i in range(p)], files=["detector.npz"])


def check_normal_rows(n: int, s: dict[str, Any] | None = None, where: str = "") -> None:
    """Refuse too little normal data, saying how much is needed.

    Raises:
        InputError: fewer than :func:`min_normal_rows` rows.
    """
    need = min_normal_rows(s)
    if n < need:
        raise InputError(f"{where or 'the normal data'} has {n} rows; a process monitor needs "
                         f"at least {need} rows of normal operation in time order (the "
                         f"limits are the 99th percentile of scores on held-out blocks)")
