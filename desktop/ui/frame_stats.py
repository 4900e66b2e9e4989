"""Frame-interval statistics for ``--measure`` and Help → Diagnostics (no Qt needed)."""

from __future__ import annotations

import sys
import time

import numpy as np


def peak_rss_mb() -> float:
    """Peak resident memory of this process's own address space in MiB (NaN if unknown).

    Linux: ``VmHWM`` of ``/proc/self/status``. Not ``ru_maxrss``, which Linux carries over
    exec from the forked copy of the parent (a program started by a 2 GB process read
    ~2 GB). macOS: ``ru_maxrss`` (bytes there). Windows (no ``resource`` module): psutil's
    peak working set when psutil is installed.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import resource
    except ImportError:  # Windows
        try:
            import psutil

            return float(psutil.Process().memory_info().peak_wset) / 2**20
        except (ImportError, AttributeError):
            return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class FrameStats:
    """Collects the time between frames that showed data, and the time to the first one."""

    def __init__(self, started: float | None = None) -> None:
        self.started = time.perf_counter() if started is None else started
        self.first_draw: float | None = None
        self._last: float | None = None
        self.intervals_ms: list[float] = []
        self.draw_ms: list[float] = []
        self.verdict_latency_ms: list[float] = []

    def frame(self, drew_data: bool, draw_ms: float, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        if not drew_data:
            return
        if self.first_draw is None:
            self.first_draw = now
        if self._last is not None:
            self.intervals_ms.append((now - self._last) * 1000.0)
        self._last = now
        self.draw_ms.append(draw_ms)

    @property
    def frames(self) -> int:
        return len(self.draw_ms)

    def summary(self) -> dict[str, float | int | None]:
        """Strict-JSON figures: a percentile of no frames is None (``null``), never NaN."""
        iv = self.intervals_ms
        p50 = _pct(iv, 50, 2)
        return {
            "frames": self.frames,
            "frame_ms_p50": p50,
            "frame_ms_p95": _pct(iv, 95, 2),
            "frame_ms_p99": _pct(iv, 99, 2),
            "fps_p50": round(1000.0 / p50, 1) if p50 else None,
            "draw_ms_p50": _pct(self.draw_ms, 50, 2),
            "first_draw_s": (round(self.first_draw - self.started, 3)
                             if self.first_draw is not None else None),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "verdicts": len(self.verdict_latency_ms),
            "verdict_latency_ms_p50": _pct(self.verdict_latency_ms, 50),
            "verdict_latency_ms_p95": _pct(self.verdict_latency_ms, 95),
        }


def _pct(values: list[float], q: float, digits: int = 1) -> float | None:
    return round(float(np.percentile(values, q)), digits) if values else None
