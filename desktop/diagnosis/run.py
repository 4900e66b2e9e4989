"""Diagnose a span and its windows: the whole-span verdict and one per window (default
1 s), as ``linewatch diagnose`` reports them.

The shaft speed is settled once for the span (measured, given, or estimated from the
whole span's spectrum, which resolves lines better than one window) and handed to every
window; a measured profile (speed channel, tacho) gives each window its own median.
Mains found over the whole span is masked in every window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from desktop.analysis.bearings import BearingGeometry
from desktop.core.tasks import TaskState
from desktop.diagnosis.errors import DiagnosisError
from desktop.diagnosis.speed import ShaftSpeed
from desktop.diagnosis.verdict import (
    DEFAULT_RPM_RANGE,
    MIN_SPAN_S,
    Verdict,
    diagnose_span,
)


@dataclass(frozen=True)
class Diagnosis:
    """The whole-span verdict ``overall`` and the per-window ``windows``."""

    overall: Verdict
    windows: tuple[Verdict, ...]

    def to_json(self) -> dict[str, object]:
        """The ``diagnose --json`` object: the overall verdict's keys plus ``windows``
        (each with ``start_s``/``end_s``)."""
        doc = self.overall.to_json()
        doc["windows"] = [w.to_json() for w in self.windows]
        return doc


def _window_speed(speed: ShaftSpeed | None, t0: float, t1: float) -> ShaftSpeed | None:
    if speed is None or speed.rpm_profile.size == 0:
        return speed
    sel = (speed.times_s >= t0) & (speed.times_s < t1)
    if not sel.any():
        return speed
    prof = speed.rpm_profile[sel]
    return ShaftSpeed(float(np.median(prof)), speed.rpm_source, speed.confidence,
                      speed.times_s[sel], prof)


def diagnose(x: np.ndarray, fs: float, geometry: BearingGeometry,
             speed: ShaftSpeed | None, *, window_s: float = 1.0,
             rpm_range: tuple[float, float] | None = None,
             band: tuple[float, float] | None = None, theta: np.ndarray | None = None,
             start_s: float = 0.0, task: TaskState | None = None) -> Diagnosis:
    """Verdicts for ``x`` ``(n,)`` at ``fs`` Hz as a whole and per ``window_s`` seconds
    (a last window shorter than half a window joins the one before). ``start_s`` is the
    span's offset in the file (for the reported times; a speed profile's ``times_s`` are
    relative to the span). ``theta`` ``(n,)`` is the shaft angle in revolutions (order
    tracking). ``task`` (the long-job protocol, :mod:`desktop.core.tasks`) gets progress
    per window and may cancel (:class:`~desktop.core.tasks.Cancelled`). Raises
    :class:`DiagnosisError` as :func:`desktop.diagnosis.verdict.diagnose_span`, or for
    ``window_s`` ≤ 0.
    """
    task = task or TaskState()
    task.report(0.0, "diagnosing the whole span")
    if not window_s > 0:
        raise DiagnosisError(f"--window must be positive, got {window_s:g}")
    a = np.asarray(x, dtype=np.float64)
    overall = diagnose_span(a, fs, geometry, speed, rpm_range=rpm_range, band=band,
                            theta=theta, start_s=start_s)
    if speed is None and overall.rpm is not None:
        speed = ShaftSpeed(overall.rpm, overall.rpm_source or "spectrum",
                           overall.rpm_confidence or 0.0)
    step = max(1, round(window_s * fs))
    bounds = list(range(0, a.size, step))
    if len(bounds) > 1 and a.size - bounds[-1] < step / 2:
        bounds.pop()
    windows = []
    need = max(MIN_SPAN_S * fs, 4096)
    for i, i0 in enumerate(bounds):
        i1 = bounds[i + 1] if i + 1 < len(bounds) else a.size
        if i1 - i0 < need:
            continue
        task.report((i + 1) / (len(bounds) + 1), f"window {i + 1} of {len(bounds)}")
        ws = _window_speed(speed, i0 / fs, i1 / fs)
        w = diagnose_span(a[i0:i1], fs, geometry, ws,
                          rpm_range=rpm_range or DEFAULT_RPM_RANGE, band=band,
                          mains_hz=overall.mains_hz,
                          theta=None if theta is None else theta[i0:i1],
                          start_s=start_s + i0 / fs)
        windows.append(w)
    return Diagnosis(overall, tuple(windows))


def verdict_rows(result: Diagnosis) -> list[dict[str, object]]:
    """The per-window verdicts in the shape of a whole-file model verdict
    (:func:`desktop.ml.inference.file_verdicts.judge_recording`'s ``verdicts``):
    ``start_s``, ``end_s``, ``class`` and ``location`` (the location), ``probability``
    (1.0: evidence is not a probability; the window's verdict is what its lines say) and
    ``score`` (the largest present fault score in dB, 0 when none) — what a verdict lane
    needs to draw ``diagnose`` beside a model."""
    rows = []
    for w in result.windows:
        present = [f.score for f in w.faults if f.present]
        rows.append({"start_s": round(w.start_s, 6), "end_s": round(w.end_s, 6),
                     "class": w.location, "probability": 1.0, "location": w.location,
                     "score": round(max(present), 3) if present else 0.0})
    return rows
