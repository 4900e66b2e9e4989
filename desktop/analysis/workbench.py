"""What the window's Analysis dock shows, computed off the UI thread.

Two long jobs (plain functions taking a :class:`~desktop.core.tasks.TaskState`, run by
``desktop.workers.jobs.Job``):

- :func:`analyse_span`: one channel over one time span (the visible range or the A–B
  cursor selection) → amplitude spectrum, spectrogram or envelope spectrum, the strongest
  peaks, bearing fault-frequency markers for the shaft speed, and the ISO 20816-3 velocity
  RMS and zone of the span;
- :func:`trend_of`: the whole kept signal of one channel in blocks → RMS, peak, crest
  factor, kurtosis (and velocity RMS where the unit allows) per block.

Both read samples from a session's buffer (anything with ``index_at_time``,
``written``/``capacity`` and ``between(i0, i1)`` or ``since(i0)``, as
:class:`~desktop.streams.ring.RingBuffer`), a block at a time, so a long file is never
copied whole. The signal processing is :mod:`desktop.analysis.spectrum`, ``envelope``,
``bearings``, ``severity`` and ``trend``; this module only picks spans and parameters and
says, in one line, why a span cannot be analysed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from desktop.analysis.bearings import (
    BearingGeometry,
    FaultFrequencies,
    Marker,
    fault_frequencies,
    fault_markers,
)
from desktop.analysis.errors import AnalysisError
from desktop.core.tasks import TaskState

MODES = ("spectrum", "envelope", "spectrogram")
#: Fewest samples worth a spectrum (a 64-point FFT is already coarse).
MIN_SAMPLES = 64
#: The automatic (spectral kurtosis) band needs 8 windows of 512 samples.
MIN_SAMPLES_KURTOGRAM = 8 * 512
#: Channels whose median over a span is a shaft speed in r/min.
SPEED_CHANNEL = re.compile(r"rpm|speed|tacho", re.IGNORECASE)
SPEED_UNITS = ("rpm", "r/min", "1/min")
#: Samples read at a time by :func:`trend_of`.
READ_CHUNK = 1 << 20


class SampleBuffer(Protocol):
    """What the jobs read (a :class:`~desktop.streams.ring.RingBuffer` or a file view)."""

    @property
    def written(self) -> int: ...

    def index_at_time(self, t: float, side: str = "left") -> int: ...


def is_speed_channel(name: str, unit: str) -> bool:
    return unit.strip().lower() in SPEED_UNITS or bool(SPEED_CHANNEL.search(name))


def kept_range(buffer: Any) -> tuple[int, int]:
    """Absolute indices ``[first, end)`` of the samples the buffer still holds."""
    end = int(buffer.written)
    capacity = getattr(buffer, "capacity", None)
    return (max(0, end - int(capacity)) if capacity else 0), end


def read_indices(buffer: Any, i0: int, i1: int) -> tuple[np.ndarray, np.ndarray]:
    """``(times (n,), values (n, channels))`` of absolute samples ``[i0, i1)``."""
    between = getattr(buffer, "between", None)
    if between is not None:
        snap = between(i0, i1)
        return snap.times, snap.values
    snap = buffer.since(i0)  # older buffers: everything from i0 on, cut to i1
    keep = max(0, i1 - snap.first_index)
    return snap.times[:keep], snap.values[:keep]


def read_span(buffer: Any, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
    """Raw samples with ``t0 <= time <= t1`` (signal seconds)."""
    first, end = kept_range(buffer)
    i0 = max(first, int(buffer.index_at_time(t0)))
    i1 = min(end, int(buffer.index_at_time(t1, side="right")))
    if i1 <= i0:
        return np.empty(0), np.empty((0, len(buffer.channels)))
    return read_indices(buffer, i0, i1)


def trim_gaps(x: np.ndarray) -> tuple[np.ndarray, int]:
    """``x`` without leading/trailing NaN and the number of leading samples dropped;
    a gap inside raises :class:`AnalysisError` in one line."""
    finite = np.flatnonzero(np.isfinite(x))
    if finite.size == 0:
        raise AnalysisError("the channel has no values in this span")
    lead, trail = int(finite[0]), int(finite[-1]) + 1
    x = x[lead:trail]
    gaps = x.size - finite.size
    if gaps:
        raise AnalysisError(f"the span has a gap ({gaps} missing samples): select a span "
                            "without one")
    return x, lead


@dataclass(frozen=True)
class SpanRequest:
    """One analysis of the dock. ``t0``/``t1`` are signal seconds; ``column`` the channel's
    index in the buffer; ``rate`` Hz (None: the channel has no rate); ``rpm`` typed shaft
    speed (None: none) or ``rpm_column`` a speed channel to take its median from."""

    t0: float
    t1: float
    column: int
    channel: str
    unit: str
    rate: float | None
    mode: str = "envelope"
    band: tuple[float, float] | None = None  # None: by spectral kurtosis
    rpm: float | None = None
    rpm_column: int | None = None
    geometry: BearingGeometry | None = None
    harmonics: int = 3
    group: int = 2
    foundation: str = "rigid"
    peaks: int = 12


@dataclass
class SpanResult:
    """What the dock draws for a :class:`SpanRequest`."""

    request: SpanRequest
    samples: int
    start_s: float  # time of the first analysed sample (signal seconds)
    duration_s: float
    freqs_hz: np.ndarray | None = None
    amplitude: np.ndarray | None = None
    resolution_hz: float = 0.0
    band_hz: tuple[float, float] | None = None
    band_source: str = ""
    kurtosis: float = math.nan
    image: np.ndarray | None = None  # spectrogram amplitude (freqs, times)
    image_times: np.ndarray | None = None  # signal seconds of its columns
    peaks: list[tuple[float, float]] = field(default_factory=list)
    rpm: float | None = None
    rpm_source: str = ""
    faults: FaultFrequencies | None = None
    markers: list[Marker] = field(default_factory=list)
    display_fmax: float = 0.0
    velocity_mm_s: float | None = None
    zone: str = ""
    limits_mm_s: tuple[float, float, float] | None = None
    severity_note: str = ""
    notes: list[str] = field(default_factory=list)


def _spectrogram_segment(n: int) -> int:
    """About 60 columns across the span, 64…4096 samples per column."""
    return int(min(4096, max(64, 2 ** math.floor(math.log2(max(n / 30, 64))))))


def analyse_span(buffer: Any, request: SpanRequest,
                 task: TaskState | None = None) -> SpanResult:
    """Spectrum/envelope/spectrogram, markers and severity of ``request``'s span.

    Raises :class:`AnalysisError` (one line) for a span too short, a channel without a
    rate, a gap, a bad band; the severity part only leaves a note when it cannot be done.
    """
    from desktop.core.heavy_imports import import_scientific_stack

    import_scientific_stack()  # one thread at a time (desktop/core/heavy_imports.py)
    # scipy (~0.9 s to import) is loaded by the first analysis, on the job's thread, not
    # by the window's start-up (it delayed the live window's first draw).
    from desktop.analysis.envelope import envelope_spectrum
    from desktop.analysis.spectrum import amplitude_spectrum, find_spectral_peaks, spectrogram
    task = task or TaskState()
    req = request
    if req.mode not in MODES:
        raise AnalysisError(f"unknown analysis mode '{req.mode}'")
    fs = req.rate
    if not fs or not math.isfinite(fs) or fs <= 0:
        raise AnalysisError(f"channel {req.channel} has no sample rate: open the file with "
                            "a rate (linewatch FILE --rate HZ)")
    t0, t1 = sorted((req.t0, req.t1))
    task.report(0.05, f"reading {req.channel}")
    times, values = read_span(buffer, t0, t1)
    if values.ndim != 2 or req.column >= values.shape[1]:
        raise AnalysisError(f"channel {req.channel} is not in the buffer")
    if times.size == 0:
        raise AnalysisError("span too short: no samples in it")
    x, lead = trim_gaps(np.asarray(values[:, req.column], dtype=np.float64))
    need = MIN_SAMPLES_KURTOGRAM if (req.mode == "envelope" and req.band is None) \
        else MIN_SAMPLES
    if x.size < need:
        why = " for an automatic band (or type a band)" if need > MIN_SAMPLES else ""
        raise AnalysisError(f"span too short: {x.size / fs:.3g} s ({x.size} samples); "
                            f"select at least {need / fs:.3g} s{why}")
    start_s = float(times[lead])
    result = SpanResult(req, int(x.size), start_s, x.size / fs)

    # Shaft speed: typed, else the median of a speed channel over the span.
    rpm, source = req.rpm, "typed" if req.rpm else ""
    if rpm is None and req.rpm_column is not None and req.rpm_column < values.shape[1]:
        speed = np.asarray(values[:, req.rpm_column], dtype=np.float64)
        speed = speed[np.isfinite(speed)]
        if speed.size and float(np.median(speed)) > 0:
            rpm, source = float(np.median(speed)), "median of the speed channel"
        else:
            result.notes.append("the speed channel has no positive values in this span")
    result.rpm, result.rpm_source = rpm, source
    if rpm and req.geometry is not None:
        result.faults = fault_frequencies(req.geometry, rpm)

    task.report(0.2, f"{req.mode} of {req.channel}")
    if req.mode == "spectrogram":
        seg = _spectrogram_segment(x.size)
        sg = spectrogram(x, fs, nperseg=seg)
        result.freqs_hz, result.image = sg.freqs_hz, sg.amplitude
        result.image_times = sg.times_s + start_s
        result.resolution_hz = fs / seg
        result.display_fmax = fs / 2
    elif req.mode == "envelope":
        if req.band is None:
            faults = result.faults
            min_bw = min(4 * faults.bpfi if faults else 1000.0, fs / 8)
            env = envelope_spectrum(x, fs, min_bandwidth_hz=min_bw)
            result.kurtosis = env.band.kurtosis
        else:
            env = envelope_spectrum(x, fs, req.band)
        result.band_hz, result.band_source = env.band.band_hz, env.band.source
        result.freqs_hz, result.amplitude = env.spectrum.freqs_hz, env.spectrum.amplitude
        result.resolution_hz = env.spectrum.resolution_hz
        width = env.band.band_hz[1] - env.band.band_hz[0]
        top = 3.3 * result.faults.bpfi + 20 if result.faults else 500.0
        result.display_fmax = float(min(width, fs / 2, max(top, 100.0)))
    else:
        spec = amplitude_spectrum(x, fs)
        result.freqs_hz, result.amplitude = spec.freqs_hz, spec.amplitude
        result.resolution_hz = spec.resolution_hz
        result.display_fmax = fs / 2
    task.report(0.7, "peaks and markers")
    if result.amplitude is not None and result.freqs_hz is not None \
            and result.freqs_hz.size >= 3:
        fmax = result.display_fmax
        if req.mode == "envelope" and result.band_hz is not None:
            fmax = min(result.band_hz[1] - result.band_hz[0], fs / 2)
        peaks = find_spectral_peaks(result.freqs_hz, result.amplitude, count=req.peaks,
                                    fmin=2 * result.resolution_hz, fmax=fmax)
        result.peaks = [(p.freq_hz, p.amplitude) for p in peaks]
    if rpm:
        fmax = result.display_fmax
        if req.geometry is not None:
            result.markers = fault_markers(req.geometry, rpm, req.harmonics, fmax=fmax)
        else:
            result.markers = [Marker(f"{k}X", k * rpm / 60)
                              for k in range(1, req.harmonics + 1) if k * rpm / 60 <= fmax]

    task.report(0.85, "severity")
    _severity(result, x, fs)
    task.finish("analysed")
    return result


def _severity(result: SpanResult, x: np.ndarray, fs: float) -> None:
    from desktop.analysis.severity import parse_unit, velocity_rms, zone_limits, zone_of

    req = result.request
    try:
        parse_unit(req.unit)
        limits = zone_limits(req.group, req.foundation)
        v = velocity_rms(x, fs, req.unit)
    except AnalysisError as exc:
        result.severity_note = str(exc).replace("give it with --unit g|m/s2|mm/s",
                                                "pick the unit in the dock")
        return
    result.velocity_mm_s, result.limits_mm_s, result.zone = v, limits, zone_of(v, limits)


# ---------------------------------------------------------------------------- trend
@dataclass(frozen=True)
class TrendRow:
    """One block: signal seconds, indicators in the channel's unit, velocity RMS (mm/s)
    and zone when the unit allows."""

    start_s: float
    end_s: float
    rms: float
    peak: float
    crest_factor: float
    kurtosis: float
    velocity_mm_s: float = math.nan
    zone: str = ""


@dataclass
class TrendResult:
    channel: str
    unit: str
    block_s: float
    rows: list[TrendRow]
    note: str = ""

    def column(self, name: str) -> np.ndarray:
        return np.array([getattr(r, name) for r in self.rows], dtype=np.float64)


def trend_of(buffer: Any, column: int, channel: str, unit: str, rate: float | None,
             block_s: float, group: int = 2, foundation: str = "rigid",
             task: TaskState | None = None) -> TrendResult:
    """RMS, peak, crest factor, kurtosis (and ISO velocity RMS and zone, where the unit is
    an acceleration or velocity) per ``block_s`` block of everything the buffer keeps of
    ``column``, read :data:`READ_CHUNK` samples at a time. Blocks follow
    :func:`~desktop.analysis.trend.block_bounds`, so their count is the duration over the
    block length (a short remainder joins the last block).
    """
    from desktop.analysis.severity import (
        ISO_BAND_HZ,
        parse_unit,
        velocity_rms,
        zone_limits,
        zone_of,
    )
    from desktop.analysis.trend import block_bounds, block_stats

    task = task or TaskState()
    if not rate or not math.isfinite(rate) or rate <= 0:
        raise AnalysisError(f"channel {channel} has no sample rate: open the file with a "
                            "rate (linewatch FILE --rate HZ)")
    first, end = kept_range(buffer)
    bounds = block_bounds(end - first, rate, block_s)
    if not bounds:
        raise AnalysisError("no samples to trend")
    try:
        parse_unit(unit)
        limits: tuple[float, float, float] | None = zone_limits(group, foundation)
        note = ""
    except AnalysisError as exc:
        limits, note = None, str(exc).replace("give it with --unit g|m/s2|mm/s",
                                              "pick the unit in the dock")
    if limits is not None and block_s < 2 / ISO_BAND_HZ[0]:
        limits, note = None, f"velocity needs blocks of at least {2 / ISO_BAND_HZ[0]:g} s"
    rows: list[TrendRow] = []
    per_read = max(1, READ_CHUNK // max(1, bounds[0][1] - bounds[0][0]))
    for k in range(0, len(bounds), per_read):
        group_bounds = bounds[k:k + per_read]
        task.report(k / len(bounds), f"trend of {channel}: block {k + 1} of {len(bounds)}")
        c0, c1 = first + group_bounds[0][0], first + group_bounds[-1][1]
        times, values = read_indices(buffer, c0, c1)
        if values.ndim != 2 or column >= values.shape[1]:
            raise AnalysisError(f"channel {channel} is not in the buffer")
        x = np.asarray(values[:, column], dtype=np.float64)
        for i0, i1 in group_bounds:
            a, b = i0 + first - c0, i1 + first - c0
            if b <= a or a >= x.size:
                continue
            t_start = float(times[a])
            t_end = float(times[min(b, x.size) - 1]) + 1.0 / rate
            s = block_stats(x[a:b], rate, t_start, t_end)
            v, zone = math.nan, ""
            block = x[a:b]
            if limits is not None and np.isfinite(block).all():
                try:
                    v = velocity_rms(block, rate, unit)
                    zone = zone_of(v, limits)
                except AnalysisError:
                    pass
            rows.append(TrendRow(t_start, t_end, s.rms, s.peak, s.crest_factor, s.kurtosis,
                                 v, zone))
    task.finish(f"trend of {channel}: {len(rows)} blocks")
    return TrendResult(channel, unit, block_s, rows, note)
