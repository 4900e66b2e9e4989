"""The ``diagnosis`` model kind: fault-frequency evidence (:mod:`desktop.diagnosis`) run
where a model runs — ``linewatch predict --model diagnosis``, the live inference worker,
an opened file's whole-file verdicts and ``linewatch report``.

No weights: :class:`DiagnosisPredictor` judges each window (default 1 s) at the input's
own rate (:meth:`DiagnosisPredictor.for_rate` binds the card to it, so the live engine
cuts windows of one second and never resamples). Each window's verdict is
:func:`desktop.diagnosis.verdict.diagnose_span`'s location: a fault location only when
that fault's evidence is ``present`` (so an alarm always has evidence), ``normal``,
``not_running``, or ``unknown`` (speed not found; an ``unknown`` window never holds an
alarm up or down).

**Bearing**: from the machine profile (``options["machine"]``, or the reference
``diagnosis:MACHINE``; the sensor on the judged channel, else the first), or
``options["bearing"]`` (a designation or ``N,d,D,ANGLE``). Without either the model
refuses to load, saying how to name a machine.

**Speed**, in the order of ``linewatch diagnose``: ``options["rpm"]``; the profile's fixed
speed; the RPM the file stores (a CWRU ``.mat`` file's ``X106RPM``, told through
:meth:`with_metadata`); else estimated from the spectrum within the profile's
``rpm_range`` (or 300–6000 r/min) — over the whole input for a file (then used for every
window), per window live. Speed and tacho channels of a profile are not read here (the
model sees one channel): ``linewatch diagnose`` and the Diagnosis dock read them.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.diagnosis.stored_speed import file_rpm
from desktop.ml.errors import ModelError
from desktop.ml.inference.diagnosis_card import WINDOW_S, make_card
from desktop.ml.inference.open_set import UNKNOWN
from desktop.ml.inference.predictors import Predictor, WindowVerdict
from desktop.ml.model_files.registry import ModelEntry


class DiagnosisPredictor(Predictor):
    """Per-window bearing verdicts from envelope-spectrum evidence (module docstring)."""

    def __init__(self, entry: ModelEntry, machine: str | None = None,
                 bearing: str | None = None, rpm: float | None = None,
                 channel: str | None = None, window_s: float = WINDOW_S) -> None:
        from desktop.diagnosis.errors import DiagnosisError
        from desktop.diagnosis.profiles import ProfileStore, resolve_bearing

        super().__init__(make_card(window_s=window_s), entry.folder)
        self.device = "cpu"
        self.threads: int | None = None
        self.window_s = window_s
        self.machine = machine or None
        self.profile = None
        self.bearing_source = ""
        self.metadata: dict[str, Any] = {}
        self.last_result: dict[str, Any] | None = None
        try:
            if self.machine:
                self.profile = ProfileStore().load(self.machine)
            if bearing:
                self.geometry = resolve_bearing(str(bearing))
                self.bearing_source = "given"
            elif self.profile is not None:
                sensor = self.profile.sensor_for(channel)
                self.geometry = sensor.geometry()
                self.bearing_source = (f"machine {self.profile.name}" + (
                    f", sensor {sensor.channel}" if sensor.channel != "*" else ""))
                if sensor.channel != "*":
                    self.card.input_channels = [sensor.channel]
            else:
                raise ModelError("the diagnosis model needs the bearing: choose a machine "
                                 "(Analysis > Machine..., Ctrl+M, or `linewatch machine add "
                                 "NAME --bearing B`) and give --machine NAME")
        except DiagnosisError as exc:
            raise ModelError(f"diagnosis: {exc}") from None
        if rpm is not None and not (math.isfinite(float(rpm)) and float(rpm) > 0):
            raise ModelError(f"diagnosis: the speed must be positive, got {rpm}")
        self.rpm = float(rpm) if rpm is not None else None

    # -- the hooks of a rate-free kind ---------------------------------------------------
    def for_rate(self, rate: float) -> DiagnosisPredictor:
        """A copy whose card runs at ``rate`` Hz (windows of ``window_s`` seconds)."""
        if not (math.isfinite(rate) and rate > 0):
            raise InputError(f"invalid sample rate {rate!r}")
        if self.card.sample_rate == rate:
            return self
        twin = copy.copy(self)
        twin.card = make_card(rate, self.window_s)
        twin.card.input_channels = list(self.card.input_channels)
        return twin

    def with_metadata(self, metadata: dict[str, Any] | None) -> DiagnosisPredictor:
        twin = copy.copy(self)
        twin.metadata = dict(metadata or {})
        twin.last_result = None
        return twin

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"machine": self.machine, "bearing": self.geometry.designation,
                               "bearing_source": self.bearing_source}
        if self.last_result is not None:
            out.update({k: self.last_result[k] for k in ("location", "rpm", "rpm_source")})
        return out

    # -- speed ------------------------------------------------------------------------
    def _rpm_range(self) -> tuple[float, float] | None:
        spec = self.profile.speed if self.profile is not None else None
        if spec is not None and spec.kind == "rpm_range" and spec.rpm_range:
            return (float(spec.rpm_range[0]), float(spec.rpm_range[1]))
        return None

    def known_speed(self) -> Any:
        """The speed that needs no spectrum (``ShaftSpeed``), or None."""
        from desktop.diagnosis.speed import ShaftSpeed

        if self.rpm is not None:
            return ShaftSpeed(self.rpm, "--rpm")
        spec = self.profile.speed if self.profile is not None else None
        if spec is not None and spec.kind == "rpm" and spec.rpm:
            return ShaftSpeed(float(spec.rpm), f"machine {self.profile.name}")  # type: ignore[union-attr]
        stored = file_rpm(self.metadata)
        if stored is not None:
            return ShaftSpeed(stored[0], stored[1])
        return None

    # -- verdicts -----------------------------------------------------------------------
    def predict_windows(self, windows: np.ndarray) -> np.ndarray:
        """One-hot "probabilities" of the windows' locations (evidence is no probability)."""
        out = np.zeros((len(windows), len(self.card.classes)))
        for i, v in enumerate(self.judge_windows(windows)):
            out[i, self.card.classes.index(v.location)] = 1.0
        return out

    def _verdict(self, w: Any) -> WindowVerdict:
        present = [f for f in w.faults if f.present]
        score = round(max(f.score for f in present), 3) if present else 0.0
        extra = {"rpm": None if w.rpm is None else round(float(w.rpm), 2),
                 "rpm_source": w.rpm_source,
                 "present": [f.name for f in present],
                 "faults": [f.to_json() for f in w.faults]}
        if w.location == UNKNOWN:
            return WindowVerdict(w.start_s, w.end_s, UNKNOWN, 1.0, UNKNOWN, score,
                                 reason="shaft speed not found", best_class=UNKNOWN,
                                 extra=extra)
        return WindowVerdict(w.start_s, w.end_s, w.location, 1.0, w.location, score,
                             extra=extra)

    def judge_windows(self, windows: np.ndarray) -> list[WindowVerdict]:
        """Verdicts (times 0) for windows at the bound rate (the live engine's call)."""
        from desktop.diagnosis.verdict import DEFAULT_RPM_RANGE, diagnose_span

        w = self._check_windows(windows)
        speed = self.known_speed()
        out = []
        for row in w:
            v = diagnose_span(np.asarray(row, dtype=np.float64), self.card.sample_rate,
                              self.geometry, speed,
                              rpm_range=self._rpm_range() or DEFAULT_RPM_RANGE)
            out.append(self._verdict(v))
        return [WindowVerdict(0.0, 0.0, v.label, v.probability, v.location, v.score,
                              reason=v.reason, best_class=v.best_class, extra=v.extra)
                for v in out]

    def predict_signal(self, x: np.ndarray, rate: float, hop: int | None = None,
                       start_s: float = 0.0, task: TaskState | None = None
                       ) -> list[WindowVerdict]:
        """Verdicts for every whole window of ``x`` at its own ``rate`` (``hop`` in
        samples, default one window). The speed and mains are settled once over the
        whole signal (its finite part) and handed to every window; windows that touch a
        gap are skipped (:attr:`last_skipped`). The whole-span verdict is kept in
        :attr:`last_result` (``diagnose --json``'s top-level keys)."""
        from desktop.diagnosis.speed import ShaftSpeed
        from desktop.diagnosis.verdict import MIN_SPAN_S, diagnose_span

        task = task or TaskState()
        me = self.for_rate(rate)
        card = me.card
        a = np.asarray(x, dtype=np.float64)
        if a.ndim != 1:
            raise InputError("predict_signal takes one channel (a 1-D signal)")
        if a.size < card.window:
            raise InputError(f"the signal is {a.size / rate:.3f} s long; model "
                             f"'{card.name}' needs at least {card.window / rate:.3f} s")
        hop = hop or card.hop
        finite = np.isfinite(a)
        task.report(0.0, "diagnosing the whole signal")
        speed = self.known_speed()
        whole = a[finite] if not finite.all() else a
        overall = None
        if whole.size >= max(MIN_SPAN_S * rate, 4096):
            overall = diagnose_span(whole, rate, self.geometry, speed,
                                    rpm_range=self._rpm_range(), start_s=start_s)
            if speed is None and overall.rpm is not None:
                speed = ShaftSpeed(overall.rpm, overall.rpm_source or "spectrum",
                                   overall.rpm_confidence or 0.0)
        starts = range(0, a.size - card.window + 1, hop)
        out: list[WindowVerdict] = []
        skipped = 0
        n = len(starts)
        for k, i0 in enumerate(starts):
            task.report(k / max(1, n), f"window {k + 1:,} of {n:,}")
            seg = a[i0:i0 + card.window]
            if not np.isfinite(seg).all():
                skipped += 1
                continue
            v = diagnose_span(seg, rate, self.geometry, speed, rpm_range=self._rpm_range(),
                              mains_hz=overall.mains_hz if overall is not None else None,
                              start_s=start_s + i0 / rate)
            out.append(self._verdict(v))
        self.last_skipped = skipped
        if overall is not None:
            self.last_result = {**overall.to_json(), "bearing": self.geometry.to_json(),
                                "bearing_source": self.bearing_source,
                                "machine": self.machine}
        return out
