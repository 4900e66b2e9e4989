"""Training windows from labelled spans of recordings: what a fine-tune learns from.

A label is a span of one recording (``start_s``–``end_s`` from the recording's first sample),
a class name and optionally a channel. This module turns a list of such spans into model
windows at the base model's rate and window length, and keeps with every window the index
of the span (the *event*) it was cut from.

Why the event index matters: windows are cut with a hop of a quarter window inside a span,
so neighbouring windows share three quarters of their samples. A validation split by
window would put near-copies of training windows into validation and report accuracy on
memorised signal. :func:`split_by_event` therefore assigns whole events to one side.

Labels are :class:`~desktop.labels.event.LabelEvent` objects, as the label store holds them,
or a label file read by :func:`desktop.labels.io.import_file` (CSV or JSON; a relative
``recording`` path in a label file is relative to the label file's folder).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from desktop.analysis.channels import pick_channel
from desktop.analysis.windows import frame, resample
from desktop.core.errors import InputError, LinewatchError
from desktop.core.tasks import TaskState
from desktop.core.types import Recording
from desktop.labels.event import LabelEvent
from desktop.labels.io import import_file
from desktop.recording.readers import read_recording


def read_label_file(path: Path | str) -> list[LabelEvent]:
    """Every labelled event of a ``.csv`` or ``.json`` label file (via :mod:`desktop.labels.io`,
    the one reader); raises :class:`~desktop.labels.event.LabelError` naming bad rows, or
    :class:`InputError` when the file holds no rows."""
    events = import_file(Path(path))
    if not events:
        raise InputError(f"{path} holds no label rows")
    return events


@dataclass
class WindowSet:
    """Raw windows ``(n, window)`` at the model's rate, each with its class and event."""

    windows: np.ndarray
    labels: np.ndarray  # (n,) index into ``classes``
    events: np.ndarray  # (n,) index into ``spans``
    classes: list[str]
    spans: list[LabelEvent]
    #: per span: windows it gave (0 when too short or all touching gaps)
    windows_per_span: list[int] = field(default_factory=list)
    skipped_windows: int = 0  # windows dropped because they touch a NaN gap

    def __len__(self) -> int:
        return int(self.windows.shape[0])

    def subset(self, index: np.ndarray) -> WindowSet:
        return WindowSet(self.windows[index], self.labels[index], self.events[index],
                         self.classes, self.spans, self.windows_per_span, 0)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts, strict=True) if n}

    def event_counts(self) -> dict[str, int]:
        """How many spans of each class gave at least one window."""
        out: dict[str, set[int]] = {}
        for lab, ev in zip(self.labels.tolist(), self.events.tolist(), strict=True):
            out.setdefault(self.classes[lab], set()).add(ev)
        return {c: len(v) for c, v in out.items()}

    @property
    def recordings(self) -> list[str]:
        used = {int(e) for e in np.unique(self.events)}
        return sorted({self.spans[i].recording for i in used})


def class_list(base_classes: Sequence[str], spans: Iterable[LabelEvent]) -> list[str]:
    """The base model's classes in their order, then new ones in order of first appearance.

    Why keep the base order: the fine-tuned head copies the base rows by position, so the
    known classes keep their index and their learned weights.
    """
    classes = list(base_classes)
    for s in spans:
        if s.label not in classes:
            classes.append(s.label)
    return classes


def build_windows(spans: Sequence[LabelEvent], classes: Sequence[str], sample_rate: float,
                  window: int, hop: int | None = None, channel_hints: Sequence[str] = (),
                  rate: float | None = None, task: TaskState | None = None) -> WindowSet:
    """Cut every span into windows of ``window`` samples at ``sample_rate`` Hz.

    Each recording is read once and each used channel resampled once (resampling a whole
    channel avoids filter transients at every span edge). The channel is the span's own,
    else the first of ``channel_hints`` found, else the recording's first. ``rate`` stands
    in for recordings that do not state theirs. ``hop`` defaults to ``window // 4``: the
    overlap multiplies the few labelled seconds into many slightly shifted windows.
    Windows touching a non-finite sample are dropped, as at inference. ``task`` gets a
    report (a cancellation point) before each recording. Returns windows ``(n, window)``
    float64; raises :class:`InputError` for unknown labels, bad spans, unreadable
    recordings, a missing rate, or when no span gives a whole window.
    """
    hop = hop or max(1, window // 4)
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({s.label for s in spans} - set(index))
    if unknown:
        raise InputError(f"labels {unknown} are not in the class list")
    for i, s in enumerate(spans):
        if not (math.isfinite(s.start_s) and math.isfinite(s.end_s)) or s.end_s <= s.start_s:
            raise InputError(f"label {i + 1} ({s.label} in {s.recording}): end_s must be "
                             f"after start_s (got {s.start_s}–{s.end_s})")
        if s.start_s < 0:
            raise InputError(f"label {i + 1} ({s.label}): start_s is negative")
    by_recording: dict[str, list[int]] = {}
    for i, s in enumerate(spans):
        by_recording.setdefault(s.recording, []).append(i)
    out_w: list[np.ndarray] = []
    out_y: list[np.ndarray] = []
    out_e: list[np.ndarray] = []
    per_span = [0] * len(spans)
    skipped = 0
    for done, (path, idxs) in enumerate(by_recording.items()):
        if task is not None:
            task.report(done / len(by_recording), f"reading {Path(path).name}")
        try:
            rec = read_recording(path, rate)
        except InputError:
            raise
        except LinewatchError as exc:
            raise InputError(f"label recording {path}: {exc}") from exc
        src_rate = rec.effective_rate()
        if not src_rate:
            raise InputError(f"{path} does not say its sample rate: give the rate (--rate HZ)")
        channels: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for i in idxs:
            s = spans[i]
            ch = pick_channel([c.name for c in rec.channels], s.channel or None,
                              channel_hints, wanted_from="the label's channel").index
            if ch not in channels:
                x = rec.values[:, ch]
                bad = ~np.isfinite(x)
                y = resample(np.where(bad, 0.0, x), src_rate, sample_rate)
                channels[ch] = (y, np.concatenate([[0], np.cumsum(bad)]))
            y, bad_cum = channels[ch]
            lo, hi = _span_indices(rec, s, src_rate)
            scale = sample_rate / src_rate
            m_lo, m_hi = round(lo * scale), min(round(hi * scale), y.shape[0])
            if m_hi - m_lo < window:
                continue
            w = frame(y[m_lo:m_hi], window, hop)
            starts = m_lo + np.arange(w.shape[0]) * hop
            n_src = bad_cum.shape[0] - 1
            s_lo = np.clip(np.floor(starts / scale).astype(int), 0, n_src)
            s_hi = np.clip(np.ceil((starts + window) / scale).astype(int), 0, n_src)
            keep = (bad_cum[s_hi] - bad_cum[s_lo]) == 0
            skipped += int((~keep).sum())
            w = np.array(w[keep], dtype=np.float64)
            per_span[i] = int(w.shape[0])
            if w.shape[0]:
                out_w.append(w)
                out_y.append(np.full(w.shape[0], index[s.label], dtype=np.int64))
                out_e.append(np.full(w.shape[0], i, dtype=np.int64))
    if not out_w:
        need = window / sample_rate
        raise InputError(f"no label span gives a whole window: spans must be at least "
                         f"{need:.3f} s long (and free of gaps)")
    return WindowSet(np.concatenate(out_w), np.concatenate(out_y), np.concatenate(out_e),
                     list(classes), list(spans), per_span, skipped)


def _span_indices(rec: Recording, s: LabelEvent, rate: float) -> tuple[int, int]:
    """Sample indices of a span: by timestamps when the recording has them, else by rate."""
    n = rec.samples
    if rec.timestamps is not None and rec.timestamps.shape[0] == n and n > 1:
        t = rec.timestamps - rec.timestamps[0]
        lo, hi = np.searchsorted(t, [s.start_s, s.end_s])
        return int(lo), int(hi)
    return min(n, round(s.start_s * rate)), min(n, round(s.end_s * rate))


def split_by_event(data: WindowSet, val_fraction: float, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Window indices ``(train, validation)``; every event lies wholly on one side.

    Per class, ``round(val_fraction × events)`` events (at least one when the class has two
    or more) go to validation, chosen at random with ``seed``. A class with a single event
    stays in training only: holding out its only example would leave nothing to learn from.
    """
    if not 0 <= val_fraction < 1:
        raise InputError(f"val_fraction must be in [0, 1), got {val_fraction}")
    rng = np.random.default_rng(seed)
    val_events: set[int] = set()
    for c in np.unique(data.labels):
        events = np.unique(data.events[data.labels == c])
        if val_fraction == 0 or events.shape[0] < 2:
            continue
        k = min(events.shape[0] - 1, max(1, round(val_fraction * events.shape[0])))
        val_events.update(int(e) for e in rng.choice(events, size=k, replace=False))
    is_val = np.isin(data.events, np.fromiter(val_events, dtype=np.int64, count=len(val_events)))
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)
