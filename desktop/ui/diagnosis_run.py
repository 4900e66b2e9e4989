"""Diagnose what the window holds: the long job behind the Diagnosis dock, and the verdict
policy that decides what the verdict lane shows (no Qt here: it runs and is tested
headless; the dock runs :func:`diagnose_buffer` in a :class:`~desktop.workers.jobs.Job`).

This is a thin adapter over :mod:`desktop.diagnosis` (the same functions as
``linewatch diagnose``) for a session's buffer instead of a file path:

- **Samples** come from the session's buffer (a file's :class:`FileView` or the live ring
  buffer) for the whole file or the visible span, never from disk a second time.
- **Shaft speed**, in the order ``linewatch diagnose`` uses (its ``_speed`` lives in the
  CLI layer, which the window may not import, so it is mirrored here): the machine
  profile's fixed speed, speed channel or tacho; the RPM stored in the file (a ``.mat``
  file's ``X106RPM``, kept in the buffer's metadata); a channel named like rpm/speed;
  else estimated from the spectrum within the profile's range (or 300–6000 r/min).
- **Per-window verdicts** are computed here one window at a time (as
  :func:`desktop.diagnosis.run.diagnose` does) so that each window is a progress report
  and a cancellation point.

**Verdict policy** (issue 21, item 5; :func:`lane_rows`): on a machine with a profile the
fault model's location is shown only where the envelope evidence agrees, or where the
model was adapted (calibrated or fine-tuned) for that machine; elsewhere the lane shows
the evidence's verdict and keeps the model's answer as a *suggestion* in the hover text.
Without a profile the evidence still fills the lane (it is physics, not a guess) and the
model's answer is shown beside it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from desktop.analysis.bearings import BearingGeometry
from desktop.analysis.errors import AnalysisError
from desktop.analysis.workbench import is_speed_channel, read_indices, read_span, trim_gaps
from desktop.core.tasks import TaskState
from desktop.diagnosis.errors import DiagnosisError
from desktop.diagnosis.profiles import MachineProfile
from desktop.diagnosis.stored_speed import file_rpm as file_speed
from desktop.streams.sample_view import SampleView

if TYPE_CHECKING:
    # Imported where used: these pull in scipy.signal (~1-3 s of import), and this module
    # is imported on the way to the window's first draw (bench/check_speed.py guards it).
    from desktop.core.heavy_imports import import_scientific_stack

    import_scientific_stack()  # one thread at a time (desktop/core/heavy_imports.py)
    from desktop.diagnosis.run import Diagnosis
    from desktop.diagnosis.speed import ShaftSpeed
    from desktop.diagnosis.verdict import Verdict

#: The most values (rows × channels) read for one diagnosis (≈ 190 MB of float64): the
#: span is read whole, every channel; longer: zoom in and diagnose the visible span.
MAX_VALUES = 24_000_000
#: Per-window verdicts cover this many seconds each (``diagnose --window``).
WINDOW_S = 1.0
#: Locations a red fault colour stands for (the rest: normal, not running, unknown).
FAULT_LOCATIONS = ("outer_race", "inner_race", "ball", "cage")
LOCATION_TEXT = {"normal": "normal", "outer_race": "outer race", "inner_race": "inner race",
                 "ball": "ball (rolling element)", "cage": "cage", "not_running":
                 "not running", "unknown": "unknown (speed not found)"}


@dataclass(frozen=True)
class DiagnosisRequest:
    """What to diagnose: signal seconds ``t0``..``t1`` (None, None: everything the buffer
    holds), the vibration ``channel`` (None: the profile's sensor, else the first channel
    that is not a speed channel), the ``geometry`` (None: the profile sensor's bearing),
    the machine ``profile`` (None: none chosen), the buffer's ``rate`` Hz and ``metadata``
    (a file's ``scalars``), and a ``bearing_source`` text for the report."""

    t0: float | None
    t1: float | None
    channel: str | None
    geometry: BearingGeometry | None
    profile: MachineProfile | None
    rate: float | None
    metadata: dict[str, Any] = field(default_factory=dict)
    bearing_source: str = ""
    window_s: float = WINDOW_S


@dataclass(frozen=True)
class DiagnosisOutcome:
    """The verdicts (``diagnosis.overall`` and ``.windows``) for ``channel`` at ``rate``
    over ``start_s``..``end_s`` (signal seconds), with the bearing used."""

    diagnosis: Diagnosis
    channel: str
    rate: float
    start_s: float
    end_s: float
    geometry: BearingGeometry
    bearing_source: str
    machine: str | None

    @property
    def overall(self) -> Verdict:
        return self.diagnosis.overall


def pick_channel(names: list[str], wanted: str | None, units: list[str]) -> int:
    """Index of ``wanted`` (exact, case-insensitive, unique substring; ``*`` or None:
    the first channel that is not a speed channel). One-line error otherwise."""
    if wanted is None or wanted == "*":
        for i, (n, u) in enumerate(zip(names, units, strict=True)):
            if not is_speed_channel(n, u):
                return i
        raise DiagnosisError("no vibration channel: every channel is a speed channel")
    if wanted in names:
        return names.index(wanted)
    same = [i for i, n in enumerate(names) if n.lower() == wanted.lower()]
    hits = same or [i for i, n in enumerate(names) if wanted.lower() in n.lower()]
    if len(hits) == 1:
        return hits[0]
    raise DiagnosisError(f"no channel '{wanted}' (channels: {', '.join(names)})")


def settle_speed(values: np.ndarray, names: list[str], units: list[str], column: int,
                 fs: float, profile: MachineProfile | None, metadata: dict[str, Any] | None
                 ) -> tuple[ShaftSpeed | None, tuple[float, float] | None, np.ndarray | None]:
    """``(speed | None, rpm_range | None, shaft angle | None)`` for ``values`` ``(n, c)``
    (module docstring: the order of ``linewatch diagnose``)."""
    from desktop.diagnosis.order_tracking import angle_from_edges, angle_from_speed
    from desktop.diagnosis.speed import (
        ShaftSpeed,
        speed_from_channel,
        speed_from_tacho,
        tacho_edges,
    )

    spec = profile.speed if profile is not None else None
    rpm_range = spec.rpm_range if spec is not None and spec.kind == "rpm_range" else None
    if spec is not None and spec.kind == "rpm" and spec.rpm:
        return ShaftSpeed(float(spec.rpm), f"machine {profile.name}"), rpm_range, None  # type: ignore[union-attr]
    n = values.shape[0]
    if spec is not None and spec.kind == "tacho" and spec.channel:
        j = pick_channel(names, spec.channel, units)
        pulses = np.asarray(values[:, j], dtype=np.float64)
        speed = speed_from_tacho(pulses, fs, spec.pulses_per_rev, names[j])
        theta = angle_from_edges(tacho_edges(pulses, fs), spec.pulses_per_rev, n, fs)
        return speed, rpm_range, theta
    speed_cols: list[int] = []
    if spec is not None and spec.kind == "rpm_channel" and spec.channel:
        speed_cols = [pick_channel(names, spec.channel, units)]
    else:
        stored = file_speed(metadata)
        if stored is not None:
            return ShaftSpeed(stored[0], stored[1]), rpm_range, None
        speed_cols = [j for j, (nm, u) in enumerate(zip(names, units, strict=True))
                      if j != column and is_speed_channel(nm, u)]
    for j in speed_cols:
        v = np.asarray(values[:, j], dtype=np.float64)
        if np.isfinite(v).any():
            speed = speed_from_channel(v, fs, names[j])
            filled = np.where(np.isfinite(v), v, speed.rpm)
            return speed, rpm_range, angle_from_speed(filled, fs)
    return None, rpm_range, None


def _window_speed(speed: ShaftSpeed | None, t0: float, t1: float) -> ShaftSpeed | None:
    """The part of a measured speed profile inside one window (as diagnose does)."""
    from desktop.diagnosis.speed import ShaftSpeed
    if speed is None or speed.rpm_profile.size == 0:
        return speed
    sel = (speed.times_s >= t0) & (speed.times_s < t1)
    if not sel.any():
        return speed
    prof = speed.rpm_profile[sel]
    return ShaftSpeed(float(np.median(prof)), speed.rpm_source, speed.confidence,
                      speed.times_s[sel], prof)


def check_size(rows: int, channels: int, fs: float) -> None:
    """One-line :class:`AnalysisError` when ``rows`` × ``channels`` exceed
    :data:`MAX_VALUES` (the longest span diagnosed at once)."""
    if rows * max(1, channels) > MAX_VALUES:
        longest = MAX_VALUES / max(1, channels) / fs
        raise AnalysisError(f"{rows / fs:,.0f} s is too long to diagnose at once (at most "
                            f"{longest:,.0f} s of these {channels} channels): zoom in and "
                            "diagnose the visible span (F7)")


def diagnose_buffer(buffer: SampleView, request: DiagnosisRequest,
                    task: TaskState | None = None) -> DiagnosisOutcome:
    """The verdict for the request's span and per window (module docstring).

    Raises :class:`~desktop.analysis.errors.AnalysisError` (one line) for what the user
    can fix: no bearing, a span too short or too long, a gap in the span, an unknown
    channel; :class:`~desktop.core.tasks.Cancelled` when cancelled.
    """
    from desktop.diagnosis.run import Diagnosis
    from desktop.diagnosis.speed import ShaftSpeed
    from desktop.diagnosis.verdict import DEFAULT_RPM_RANGE, MIN_SPAN_S, diagnose_span
    task = task or TaskState()
    fs = request.rate
    if not fs:
        raise AnalysisError("the recording does not say its sample rate: reopen it with one")
    task.report(0.0, "reading the span")
    if request.t0 is None or request.t1 is None:
        first = max(0, int(buffer.written) - int(getattr(buffer, "capacity", 0) or 0)) \
            if getattr(buffer, "capacity", None) else 0
        n = int(buffer.written) - first
        check_size(n, len(buffer.channels), fs)
        times, values = read_indices(buffer, first, int(buffer.written))
    else:
        check_size(round((request.t1 - request.t0) * fs), len(buffer.channels), fs)
        times, values = read_span(buffer, request.t0, request.t1)
    if times.size == 0:
        raise AnalysisError("nothing to diagnose in this span")
    channels = list(buffer.channels)
    names = [c.name for c in channels]
    units = [c.unit for c in channels]
    profile = request.profile
    wanted = request.channel
    sensor = None
    if profile is not None:
        try:
            sensor = profile.sensor_for(wanted)
        except DiagnosisError:
            sensor = profile.sensor_for(None) if wanted is None else None
        if wanted is None and sensor is not None and sensor.channel != "*":
            wanted = sensor.channel
    column = pick_channel(names, wanted, units)
    geometry = request.geometry
    bearing_source = request.bearing_source
    if sensor is not None:
        geometry = sensor.geometry()
        bearing_source = f"machine {profile.name}, sensor {sensor.channel}"  # type: ignore[union-attr]
    if geometry is None:
        raise AnalysisError("diagnosis needs the bearing: choose a machine (Ctrl+M) or a "
                            "bearing in the Analysis dock")
    x, lead = trim_gaps(np.asarray(values[:, column], dtype=np.float64))
    values = values[lead:lead + x.size]
    start_s = float(times[lead])
    need = max(MIN_SPAN_S, 4096 / fs)
    if x.size / fs < need:
        raise AnalysisError(f"the span is too short to diagnose: {x.size / fs:.3f} s "
                            f"(need {need:.2f} s); zoom out")
    speed, rpm_range, theta = settle_speed(values, names, units, column, fs, profile,
                                           request.metadata)
    task.report(0.05, f"diagnosing {names[column]}: whole span")
    overall = diagnose_span(x, fs, geometry, speed, rpm_range=rpm_range, theta=theta,
                            start_s=start_s)
    if speed is None and overall.rpm is not None:
        speed = ShaftSpeed(overall.rpm, overall.rpm_source or "spectrum",
                           overall.rpm_confidence or 0.0)
    step = max(1, round(request.window_s * fs))
    bounds = list(range(0, x.size, step))
    if len(bounds) > 1 and x.size - bounds[-1] < step / 2:
        bounds.pop()
    windows: list[Verdict] = []
    need_n = max(MIN_SPAN_S * fs, 4096)
    for i, i0 in enumerate(bounds):
        task.report(0.1 + 0.9 * i / max(1, len(bounds)),
                    f"diagnosing {names[column]}: window {i + 1} of {len(bounds)}")
        i1 = bounds[i + 1] if i + 1 < len(bounds) else x.size
        if i1 - i0 < need_n:
            continue
        windows.append(diagnose_span(
            x[i0:i1], fs, geometry, _window_speed(speed, i0 / fs, i1 / fs),
            rpm_range=rpm_range or DEFAULT_RPM_RANGE, mains_hz=overall.mains_hz,
            theta=None if theta is None else theta[i0:i1], start_s=start_s + i0 / fs))
    task.finish("diagnosed")
    return DiagnosisOutcome(Diagnosis(overall, tuple(windows)), names[column], float(fs),
                            start_s, start_s + x.size / fs, geometry, bearing_source,
                            profile.name if profile is not None else None)


# ---------------------------------------------------------------------------- policy
def model_adapted(model_info: dict[str, Any], machine: str | None) -> bool:
    """Whether the selected model was calibrated or fine-tuned for ``machine`` (its card
    names the machine under ``machine`` or ``adapted_for``)."""
    if not machine:
        return False
    for key in ("machine", "adapted_for", "calibrated_for", "finetuned_for"):
        if str(model_info.get(key) or "") == machine:
            return True
    return False


def present_text(verdict: Verdict) -> str:
    """``BPFI 3 lines, best 36.9 dB`` for the present faults; ``no bearing line`` else."""
    parts = []
    for f in verdict.faults:
        if not f.present:
            continue
        found = [h for h in f.harmonics if h.found]
        best = max((h.snr_db for h in found), default=float("nan"))
        parts.append(f"{f.name} {len(found)} line{'s' if len(found) != 1 else ''}, "
                     f"best {best:.1f} dB")
    return "; ".join(parts) or "no bearing line above its floor"


def _overlapping(model: list[dict], t0: float, t1: float) -> dict | None:
    """The model verdict covering most of ``[t0, t1)`` (None when none overlaps)."""
    best, best_cover = None, 0.0
    for v in model:
        cover = min(t1, float(v["end_s"])) - max(t0, float(v["start_s"]))
        if cover > best_cover:
            best, best_cover = v, cover
    return best


def lane_rows(outcome: DiagnosisOutcome, model: list[dict], *, adapted: bool = False
              ) -> list[dict]:
    """The verdict lane's rows for ``outcome``'s windows under the policy (module
    docstring): where the model's overlapping verdict names the same location as the
    evidence (or ``adapted``), the model's row is shown with "evidence agrees"; elsewhere
    the evidence's location, the model's answer kept as ``suggestion``."""
    rows = []
    model = sorted(model, key=lambda v: float(v["start_s"]))
    for w in outcome.diagnosis.windows:
        guess = _overlapping(model, w.start_s, w.end_s)
        rpm = "" if w.rpm is None else f", {w.rpm:.0f} rpm"
        evidence = f"evidence: {LOCATION_TEXT.get(w.location, w.location)} " \
                   f"({present_text(w)}{rpm})"
        if guess is not None and (adapted or guess.get("location") == w.location):
            why = "model adapted to this machine" if adapted and \
                guess.get("location") != w.location else "evidence agrees"
            rows.append({**guess, "start_s": w.start_s, "end_s": w.end_s, "source": "model",
                         "detail": f"{guess.get('class')} {float(guess['probability']):.0%}"
                                   f" — {why}; {evidence}"})
            continue
        suggestion = None
        detail = evidence
        declined = guess is not None and guess.get("location") == "unknown"
        if declined:  # the model declined to answer: nothing to suggest
            detail += f"; model declined ({guess.get('reason') or 'unknown'})"  # type: ignore[union-attr]
        elif guess is not None:
            suggestion = f"{guess.get('class')} {float(guess['probability']):.0%}"
            detail += f"; model suggests {suggestion} (suggestion: no bearing evidence " \
                      "for it)" if guess.get("location") in FAULT_LOCATIONS else \
                      f"; model says {suggestion} (suggestion: the evidence disagrees)"
        rows.append({"start_s": w.start_s, "end_s": w.end_s, "class": w.location,
                     "location": w.location, "probability": 0.9, "source": "evidence",
                     "suggestion": suggestion, "model_declined": declined,
                     "detail": detail})
    return rows


def banner_text(label: str, outcome: DiagnosisOutcome | None, machine: str | None,
                adapted: bool) -> tuple[str, bool] | None:
    """For a model alarm on ``label``: ``(text, red)`` when the policy changes the banner,
    None when the model's banner stands (no profile, an adapted model, or no diagnosis
    yet). On a machine with a profile a red alarm needs evidence."""
    if outcome is None or not machine or adapted:
        return None
    loc = outcome.overall.location
    low = label.lower()
    agrees = any(k in low for k in {"outer_race": ("outer",), "inner_race": ("inner",),
                                     "ball": ("ball",), "cage": ("cage",)}.get(loc, ()))
    if agrees:
        return None
    return (f"Evidence on {machine}: {LOCATION_TEXT.get(loc, loc)} — the model's "
            f"{label} is a suggestion (no bearing evidence for it)", False)


__all__ = ["DiagnosisOutcome", "DiagnosisRequest", "banner_text", "diagnose_buffer",
           "file_speed", "lane_rows", "model_adapted", "present_text"]
