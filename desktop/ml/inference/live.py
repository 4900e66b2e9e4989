"""Verdicts on a live stream: windowing across chunk edges, pacing, alarm hysteresis.

Qt-free, so the same code runs in the inference worker, in tests and in benchmarks. The
stream arrives in chunks of any size at the source's rate; windows are cut in the
source's own samples (``window × rate / model rate``) and each is resampled to the
model's rate on its own, so no chunk edge ever falls inside a window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from desktop.ml.inference.open_set import UNKNOWN
from desktop.ml.inference.predictors import Predictor, WindowVerdict


@dataclass
class LiveVerdict:
    """A window verdict plus where it sits in the stream (for the timeline and latency)."""

    verdict: WindowVerdict
    end_index: int  # absolute index of the sample after the window's last sample


class LiveInference:
    """Feeds a 1-channel stream to a predictor and returns verdicts as windows complete."""

    def __init__(self, predictor: Predictor, rate: float, max_batch: int = 64) -> None:
        card = predictor.card
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"invalid sample rate {rate!r}")
        self.predictor = predictor
        self.rate = float(rate)
        self.max_batch = max_batch
        self.window_src = max(1, round(card.window * rate / card.sample_rate))
        self.hop_src = max(1, round(card.hop * rate / card.sample_rate))
        ratio = Fraction(card.sample_rate / rate).limit_denominator(1000)
        self._up, self._down = ratio.numerator, ratio.denominator
        self._x = np.empty(0, dtype=np.float64)
        self._t = np.empty(0, dtype=np.float64)
        self._first_index = 0  # absolute index of self._x[0]
        self.skipped = 0  # windows not judged because they held a gap (NaN)

    @property
    def pending_windows(self) -> int:
        """Whole windows waiting (more than ``max_batch`` means inference is behind)."""
        if self._x.size < self.window_src:
            return 0
        return 1 + (self._x.size - self.window_src) // self.hop_src

    def reset(self, first_index: int) -> None:
        """Forget the pending samples (after a jump in the stream) and restart there."""
        self._x = np.empty(0, dtype=np.float64)
        self._t = np.empty(0, dtype=np.float64)
        self._first_index = first_index

    def feed(self, times: np.ndarray, x: np.ndarray, first_index: int) -> list[LiveVerdict]:
        """Append samples (absolute index ``first_index`` onwards) and judge up to
        ``max_batch`` complete windows; the rest wait for the next call."""
        if x.size:
            if first_index != self._first_index + self._x.size:
                self.reset(first_index)  # the reader fell behind: start again cleanly
            self._x = np.concatenate([self._x, np.asarray(x, dtype=np.float64)])
            self._t = np.concatenate([self._t, np.asarray(times, dtype=np.float64)])
        n = min(self.pending_windows, self.max_batch)
        if n == 0:
            return []
        starts = np.arange(n) * self.hop_src
        segments = np.lib.stride_tricks.sliding_window_view(self._x, self.window_src)[starts]
        ok = np.isfinite(segments).all(axis=1)
        self.skipped += int((~ok).sum())
        out: list[LiveVerdict] = []
        if ok.any():
            windows = self._to_model_rate(segments[ok])
            judged = self.predictor.judge_windows(windows)
            step = 1.0 / self.rate
            for k, start in enumerate(starts[ok]):
                t0 = float(self._t[start])
                t1 = float(self._t[start + self.window_src - 1]) + step
                out.append(LiveVerdict(replace(judged[k], start_s=t0, end_s=t1),
                                       self._first_index + int(start) + self.window_src))
        consumed = n * self.hop_src
        self._x, self._t = self._x[consumed:], self._t[consumed:]
        self._first_index += consumed
        return out

    def _to_model_rate(self, segments: np.ndarray) -> np.ndarray:
        window = self.predictor.card.window
        if self._up == self._down == 1 and segments.shape[1] == window:
            return segments
        y = resample_poly(segments, self._up, self._down, axis=1)
        if y.shape[1] >= window:
            return y[:, :window]
        return np.pad(y, ((0, 0), (0, window - y.shape[1])), mode="edge")


class AlarmHysteresis:
    """Raise after a fault class holds ``raise_after_s``; clear after normal holds
    ``clear_after_s``. One odd window never flips the alarm either way.

    While the alarm is up, :attr:`label` names the fault class being held: when another
    fault class has itself held for ``raise_after_s`` (consecutive windows of that one
    class), the alarm is renamed to it and :meth:`update` says ``"changed"``. One odd
    window of another class never renames it.
    """

    def __init__(self, raise_after_s: float = 2.0, clear_after_s: float = 5.0,
                 normal_labels: frozenset[str] = frozenset({"normal"})) -> None:
        self.raise_after_s = raise_after_s
        self.clear_after_s = clear_after_s
        self.normal_labels = normal_labels
        self.active = False
        self.label = ""
        self._fault_since: float | None = None
        self._normal_since: float | None = None
        self._run_label = ""  # the fault class of the current run of consecutive windows
        self._run_since: float | None = None

    def held_s(self, now_s: float) -> float:
        since = self._fault_since if self.active else self._normal_since
        return 0.0 if since is None else max(0.0, now_s - since)

    def update(self, verdict: WindowVerdict) -> str | None:
        """Feed one verdict (in time order); returns ``"raised"``, ``"changed"`` (the alarm
        now names another fault class, see :attr:`label`), ``"cleared"`` or None."""
        if verdict.label == UNKNOWN:
            self._fault_since = None
            self._normal_since = None
            self._run_since = None
            self._run_label = ""
            return None
        if verdict.label in self.normal_labels:
            self._fault_since = None
            self._run_since = None
            self._run_label = ""
            if self._normal_since is None:
                self._normal_since = verdict.start_s
            if self.active and verdict.end_s - self._normal_since >= self.clear_after_s:
                self.active = False
                return "cleared"
            return None
        self._normal_since = None
        if self._fault_since is None:
            self._fault_since = verdict.start_s
        if self._run_since is None or verdict.label != self._run_label:
            self._run_label = verdict.label
            self._run_since = verdict.start_s
        if self.active:
            if (verdict.label != self.label
                    and verdict.end_s - self._run_since >= self.raise_after_s):
                self.label = verdict.label
                return "changed"
            return None
        if verdict.end_s - self._fault_since >= self.raise_after_s:
            self.active = True
            self.label = verdict.label
            return "raised"
        return None
