"""A stream or a whole file judged against a machine's baseline, second by second, with
the alarm latch: what the live inference worker and the file session's whole-file
verdicts add to their verdicts when a machine is chosen (issue 22, item 2).

- :class:`BaselineTrack`: samples of one channel fed in time order (any chunk sizes) are
  cut into consecutive 1-s snapshots (:data:`~desktop.baseline.model.WINDOW_S`, the
  length the limits were learnt on; resampled to the baseline's rate when faster), each
  judged (:func:`~desktop.baseline.judge.judge`) and fed to the sensor's
  :class:`~desktop.baseline.alarms.AlarmLatch`: an alert or alarm needs 3 snapshots in a
  row, **latches until** :meth:`BaselineTrack.acknowledge`, and names the sensor, the
  indicator and the evidence (:class:`~desktop.baseline.alarms.AlarmEvent`).
  No drift here: the drift rule's time constant is counted in route snapshots (10 min
  apart); a stream's 1-s snapshots would move the baseline 600 times faster.
- :meth:`BaselineTrack.annotate`: adds :data:`VERDICT_KEYS` to model verdicts (dicts with
  ``start_s``/``end_s``): the snapshot holding the verdict's centre when it has been
  judged, else the latest one (live: at most 1 s behind).
- :func:`track_for`: the track of a machine's sensor on a channel, or None (with the
  reason) when the machine has no baseline for it.
- :func:`judge_file_channel`: a whole channel of a file through a track (at most
  :data:`MAX_FILE_SNAPSHOTS` snapshots, evenly spaced runs of them over a longer file).
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from desktop.baseline.alarms import AlarmEvent
from desktop.baseline.indicators import MIN_SNAPSHOT_S
from desktop.baseline.model import WINDOW_S, SensorBaseline
from desktop.baseline.monitor import SensorMonitor, SensorSetup
from desktop.core.tasks import TaskState

#: Keys added to a verdict: the snapshot's level, location, indicators and anomaly (as
#: ``predict --machine``'s rows), and the sensor's latched state after it.
VERDICT_KEYS = ("level", "evidence_location", "indicators", "anomaly", "baseline_state")
#: Snapshots a whole-file verdict judges at most (about an hour of signal).
MAX_FILE_SNAPSHOTS = 3600


@dataclass
class BaselineTrack:
    """One sensor's baseline judging a stream (module docstring). ``fs``: the stream's
    rate, Hz; ``offset_s``: stream time of the first sample fed (when :meth:`feed` is
    given no times). Thread-safe: :meth:`acknowledge` may come from another thread."""

    monitor: SensorMonitor
    fs: float
    machine: str = ""
    _pending: list[np.ndarray] = field(default_factory=list)
    _pending_n: int = 0
    _t0: float | None = None
    _starts: list[float] = field(default_factory=list)
    _rows: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def sensor(self) -> str:
        return self.monitor.setup.sensor

    @property
    def size(self) -> int:
        """Samples per snapshot at the stream's rate."""
        return max(1, round(WINDOW_S * self.fs))

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every snapshot judged so far, in time order (see :meth:`_judge`)."""
        return list(self._rows)

    @property
    def state(self) -> str:
        """The latched level (``ok``, ``alert``, ``alarm``)."""
        return self.monitor.latch.latched

    @property
    def events(self) -> list[AlarmEvent]:
        return list(self.monitor.latch.events)

    def feed(self, x: np.ndarray, t0: float) -> list[dict[str, Any]]:
        """Feed consecutive samples ``x`` ``(n,)`` whose first is at stream time ``t0``
        seconds; returns the rows of the snapshots completed by them. NaN samples are
        dropped. A gap in time (``t0`` later than the end of the pending samples by more
        than a snapshot) starts a new snapshot there."""
        a = np.asarray(x, dtype=np.float64).reshape(-1)
        a = a[np.isfinite(a)]
        if a.size == 0:
            return []
        if self._t0 is None or t0 > self._t0 + (self._pending_n + self.size) / self.fs:
            self._pending, self._pending_n, self._t0 = [], 0, float(t0)
        self._pending.append(a)
        self._pending_n += a.size
        out: list[dict[str, Any]] = []
        while self._pending_n >= self.size:
            buf = np.concatenate(self._pending)
            snap, rest = buf[:self.size], buf[self.size:]
            start = self._t0
            self._t0 = start + self.size / self.fs
            self._pending, self._pending_n = [rest], rest.size
            out.append(self._judge(snap, start))
        return out

    def _judge(self, snap: np.ndarray, start: float) -> dict[str, Any]:
        from desktop.baseline.learn import resampled

        base = self.monitor.baseline
        y, f = resampled(snap, self.fs, base.rate)
        ind = self.monitor.setup.indicators(y, f)
        with self._lock:
            row = self.monitor.feed_indicators(ind, f"{start:.3f}")
            latch = self.monitor.latch
            j = row.judgement
            out: dict[str, Any] = {
                "start_s": start, "end_s": start + snap.size / self.fs,
                "sensor": self.sensor, "level": j.level, "evidence_location": j.location,
                "indicators": j.indicators, "anomaly": round(j.anomaly, 4),
                "anomaly_method": j.anomaly_method,
                "state": row.state, "acknowledged": latch.acknowledged,
                "state_location": latch.location or None, "evidence": j.evidence,
                "event": row.event.to_json() if row.event else None}
        self._starts.append(start)
        self._rows.append(out)
        return out

    def row_at(self, t: float) -> dict[str, Any] | None:
        """The judged snapshot holding stream time ``t``, else the latest one before it
        (None before the first)."""
        k = bisect_right(self._starts, t) - 1
        return self._rows[k] if k >= 0 else None

    def annotate(self, verdicts: list[dict[str, Any]]) -> None:
        """Add :data:`VERDICT_KEYS` to each verdict in place (nothing before the first
        judged snapshot)."""
        for v in verdicts:
            row = self.row_at((float(v["start_s"]) + float(v["end_s"])) / 2)
            if row is None:
                continue
            v.update({"level": row["level"], "evidence_location": row["evidence_location"],
                      "indicators": row["indicators"], "anomaly": row["anomaly"],
                      "baseline_state": row["state"]})

    def acknowledge(self) -> str:
        """Acknowledge the sensor's alarm: the latched level becomes the one active now
        (``ok`` when the condition has cleared; a persisting fault stays raised, marked
        acknowledged); returns it."""
        with self._lock:
            return self.monitor.latch.acknowledge()


def track_for(machine: str, channel: str, fs: float, *, store: Any = None,
              profiles: Any = None) -> tuple[BaselineTrack | None, str]:
    """``(track, "")`` for machine profile ``machine``'s sensor on stream column
    ``channel`` at ``fs`` Hz, or ``(None, reason)`` — one line saying why not (no
    baseline learnt, no sensor on that channel, no profile, rate too low). Never
    raises for a user-fixable problem."""
    from desktop.analysis.errors import AnalysisError
    from desktop.baseline.hooks import setup_for
    from desktop.baseline.rows import MachineRows
    from desktop.baseline.store import BaselineStore
    from desktop.diagnosis.profiles import ProfileStore

    try:
        st = store or BaselineStore()
        if not st.exists(machine):
            return None, (f"machine '{machine}' has no learnt baseline; learn one with "
                          f"linewatch baseline {machine} FILES")
        profile = (profiles or ProfileStore()).load(machine)
        base = st.load(machine)
    except AnalysisError as exc:
        return None, str(exc)
    sensor = MachineRows(machine, base, profile).sensor_of(channel)
    if sensor is None:
        known = ", ".join(base.sensors) or "none"
        return None, (f"machine '{machine}' has no baseline for channel {channel} "
                      f"(sensors with one: {known})")
    sb: SensorBaseline = base.sensors[sensor]
    if fs * 1.001 < sb.rate:
        return None, (f"the stream is at {fs:g} Hz, the baseline of {sensor} was learnt at "
                      f"{sb.rate:g} Hz: its band and envelope indicators are not comparable")
    setup: SensorSetup = setup_for(profile, sensor)
    return BaselineTrack(SensorMonitor(setup, sb, drift=False), float(fs), machine), ""


def judge_file_channel(track: BaselineTrack, x: np.ndarray, first_time: float = 0.0,
                       task: TaskState | None = None,
                       max_snapshots: int = MAX_FILE_SNAPSHOTS) -> list[dict[str, Any]]:
    """Feed a whole channel ``x`` ``(n,)`` (first sample at ``first_time`` s) through
    ``track``: every 1-s snapshot, or for a longer file ``max_snapshots`` of them taken
    as runs of 10 consecutive seconds evenly spread (the latch needs consecutive
    snapshots). A tail under 0.5 s is left out. ``task``: progress per run and the
    cancellation point. Returns the rows."""
    task = task or TaskState()
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    size = track.size
    count = a.size // size + (1 if a.size % size >= MIN_SNAPSHOT_S * track.fs else 0)
    run = 10
    if count <= max_snapshots:
        starts = [0]
        run = count
    else:
        n_runs = max(1, max_snapshots // run)
        starts = np.linspace(0, count - run, n_runs).round().astype(int).tolist()
    rows: list[dict[str, Any]] = []
    for i, k in enumerate(starts):
        task.report(i / len(starts), f"baseline: seconds {k}–{k + run} of {count}")
        lo = k * size
        hi = min(a.size, (k + run) * size)
        rows.extend(track.feed(a[lo:hi], first_time + k * size / track.fs))
        # a short last piece joined to nothing: judge it when it is long enough
        tail = track._pending_n
        if tail and tail >= MIN_SNAPSHOT_S * track.fs and hi == a.size:
            rows.append(track._judge(np.concatenate(track._pending), track._t0 or 0.0))
            track._pending, track._pending_n = [], 0
    return rows


def add_file_baseline(result: dict[str, Any], machine: str, recording: Any,
                      first_time: float = 0.0, task: TaskState | None = None) -> None:
    """Judge the channel of a whole-file verdict ``result`` (``judge_recording``'s:
    ``info.channel``, ``verdicts``) against ``machine``'s baseline and add to it, in
    place: :data:`VERDICT_KEYS` on each verdict, ``result["baseline"]`` = ``{"machine",
    "sensor", "state", "acknowledged", "events", "snapshots", "track"}`` (``track``: the
    :class:`BaselineTrack`, to acknowledge), or ``info["baseline_note"]`` saying why the
    file was not judged. ``recording``: a ``Recording`` or a reader with ``channel(i)``
    (the opened file's view)."""
    info = result.setdefault("info", {})
    channel = str(info.get("channel", ""))
    names = [c.name for c in recording.channels]
    rate = recording.effective_rate()
    if channel not in names or not rate:
        info["baseline_note"] = "no channel or no sample rate to judge against the baseline"
        return
    track, why = track_for(machine, channel, float(rate))
    if track is None:
        info["baseline_note"] = why
        return
    idx = names.index(channel)
    getter = getattr(recording, "channel", None)
    x = getter(idx) if callable(getter) else np.asarray(recording.values[:, idx])
    rows = judge_file_channel(track, x, first_time, task)
    track.annotate(result.get("verdicts", []))
    result["baseline"] = {"machine": machine, "sensor": track.sensor, "state": track.state,
                          "acknowledged": track.monitor.latch.acknowledged,
                          "events": [e.to_json() for e in track.events],
                          "snapshots": len(rows), "track": track}
    info["baseline"] = {"machine": machine, "sensor": track.sensor}
