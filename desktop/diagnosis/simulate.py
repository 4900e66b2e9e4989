"""A bearing-vibration simulator for tests and the evaluation.

Model (the standard one of the bearing-diagnostics literature):

- **Fault impacts.** A local defect strikes once per fault period; each strike excites
  the structure's resonances, modelled as decaying sinusoids ``e^{-ζω_n t} sin(ω_d t)``
  (P. D. McFadden & J. D. Smith, "Model for the vibration produced by a single point
  defect in a rolling element bearing", J. Sound Vib. 96 (1984) 69–82). The strikes are
  placed in shaft *angle* at the fault order, with a random jitter of 1–2 % of the period
  between strikes ("random slip": J. Antoni & R. B. Randall, "A stochastic model for
  simulation and diagnostics of rolling element bearings with localized faults", J. Vib.
  Acoust. 125 (2003) 282–289) and a mean rate up to 1 % below the kinematic one.
- **Modulation** (Randall & Antoni, "Rolling element bearing diagnostics — A tutorial",
  MSSP 25 (2011) 485–520, section 2): outer race — fixed load zone, constant amplitude;
  inner race — the defect turns through the load zone once a revolution (amplitude
  modulated at 1X, Stribeck-like ``max(0, cos θ)^1.5`` plus a floor); ball — strikes
  both races, alternately on the inner and outer race (2 × BSF, unequal amplitudes), and
  is carried through the load zone at the cage rate (AM at FTF); cage — one strike per
  cage revolution.
- **Machine**: shaft harmonics 1X–4X (1X, 2X strong), a gear mesh ``z·1X`` with ±1X
  sidebands, mains pickup (50 or 60 Hz and odd/even harmonics), a housing resonance
  excited by broadband noise (no impacts), white and pink noise.
- **Healthy**: all of the machine, no fault impacts. **Stopped**: noise and mains only.

Signals are in g (any unit: only ratios matter to the diagnosis). A linear speed ramp
(``rpm_end``) and a once-per-revolution tacho channel are available for order tracking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from desktop.analysis.bearings import BearingGeometry, fault_frequencies
from desktop.diagnosis.errors import DiagnosisError

#: Fault kinds of the simulator (plus ``healthy`` and ``stopped``).
FAULTS = ("healthy", "outer_race", "inner_race", "ball", "cage", "stopped")


@dataclass(frozen=True)
class SimSpec:
    """One simulated record. ``fault`` in :data:`FAULTS`; ``fault_db`` is the RMS of
    the fault impacts over the RMS of the broadband background (noise + noise-excited
    resonance), dB; ``rpm_end`` (None: constant speed) makes a linear ramp."""

    geometry: BearingGeometry
    rpm: float
    fs: float
    duration_s: float
    fault: str = "healthy"
    seed: int = 0
    fault_db: float = -6.0
    rpm_end: float | None = None
    mains_hz: float = 50.0
    options: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class SimRecord:
    """``x`` ``(n,)`` g, ``tacho`` ``(n,)`` (0/5 V, one pulse a revolution), ``speed``
    ``(n,)`` r/min, ``fs`` Hz, the ``spec`` and the fault ``rate_hz`` used (0 if none)."""

    x: np.ndarray
    tacho: np.ndarray
    speed: np.ndarray
    fs: float
    spec: SimSpec
    rate_hz: float


def _resonator(x: np.ndarray, fs: float, fn: float, zeta: float) -> np.ndarray:
    """``x`` through a unit-peak two-pole resonance at ``fn`` Hz, damping ``zeta``: the
    impulse response is ``e^{-ζω_n t}·sin(ω_d t)`` (impulse invariance)."""
    wn = 2 * math.pi * fn
    wd = wn * math.sqrt(1 - zeta**2)
    r = math.exp(-zeta * wn / fs)
    b = [0.0, r * math.sin(wd / fs)]
    a = [1.0, -2 * r * math.cos(wd / fs), r * r]
    return signal.lfilter(b, a, x)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    out = np.fft.irfft(spec / np.sqrt(f), n)
    return out / (np.std(out) + 1e-12)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) + 1e-15


def simulate(spec: SimSpec) -> SimRecord:
    """Simulate ``spec`` (module docstring). Raises :class:`DiagnosisError` for an unknown
    fault or a rate too low for a 2 kHz resonance."""
    if spec.fault not in FAULTS:
        raise DiagnosisError(f"unknown simulated fault '{spec.fault}'")
    fs = float(spec.fs)
    if fs < 6000:
        raise DiagnosisError("simulate wants fs >= 6 kHz (resonances from 2 kHz)")
    rng = np.random.default_rng(spec.seed)
    n = round(spec.duration_s * fs)
    t = np.arange(n) / fs
    rpm0 = spec.rpm
    rpm1 = spec.rpm if spec.rpm_end is None else spec.rpm_end
    speed = rpm0 + (rpm1 - rpm0) * t / max(spec.duration_s, 1e-9)
    revs = np.cumsum(speed / 60.0) / fs  # shaft angle in revolutions
    fr = rpm0 / 60
    opt = spec.options

    # background: white + pink noise and a noise-excited housing resonance
    hi_res = min(15000.0, 0.4 * fs)
    housing_fn = rng.uniform(2000.0, hi_res)
    background = (rng.uniform(0.3, 1.0) * rng.standard_normal(n)
                  + rng.uniform(0.3, 1.5) * _pink(n, rng))
    hous = _resonator(rng.standard_normal(n), fs, housing_fn, rng.uniform(0.02, 0.06))
    background += rng.uniform(0.5, 2.0) * hous / _rms(hous)
    if spec.fault != "stopped":
        # shaft rotation modulates the housing response slightly (unbalance, misalignment)
        background *= 1 + 0.1 * np.sin(2 * math.pi * revs + rng.uniform(0, 6.3))
    noise_rms = _rms(background)
    x = background.copy()

    rate = 0.0
    if spec.fault not in ("healthy", "stopped"):
        ff = fault_frequencies(spec.geometry, rpm0)
        order = {"outer_race": ff.bpfo, "inner_race": ff.bpfi, "ball": 2 * ff.bsf,
                 "cage": ff.ftf}[spec.fault] / fr
        order *= 1 - rng.uniform(0.0, 0.01)
        rate = order * fr
        slip = opt.get("slip", rng.uniform(0.01, 0.02))
        steps = (1 / order) * (1 + slip * rng.standard_normal(int(revs[-1] * order) + 8))
        hits = np.cumsum(steps) + rng.uniform(0, 1 / order)
        hits = hits[hits < revs[-1]]
        idx = np.searchsorted(revs, hits)
        idx = idx[idx < n]
        amp = np.ones(idx.size) * (1 + 0.1 * rng.standard_normal(idx.size))
        phase = rng.uniform(0, 2 * math.pi)
        if spec.fault == "inner_race":
            q = np.maximum(0.0, np.cos(2 * math.pi * revs[idx] + phase)) ** 1.5
            amp *= 0.25 + q
        elif spec.fault == "ball":
            amp[1::2] *= rng.uniform(0.3, 0.8)
            cage = ff.ftf / fr
            q = np.maximum(0.0, np.cos(2 * math.pi * cage * revs[idx] + phase)) ** 1.5
            amp *= 0.3 + q
        impulses = np.zeros(n)
        np.add.at(impulses, idx, amp)
        fault = np.zeros(n)
        for _ in range(int(rng.integers(1, 3))):
            fn = rng.uniform(2000.0, hi_res)
            fault += rng.uniform(0.5, 1.0) * _resonator(impulses, fs, fn,
                                                        rng.uniform(0.02, 0.08))
        fault *= noise_rms * 10 ** (spec.fault_db / 20) / _rms(fault)
        x += fault

    if spec.fault != "stopped":
        level = noise_rms * opt.get("shaft", rng.uniform(1.0, 4.0))
        for k, g in ((1, 1.0), (2, rng.uniform(0.3, 1.0)), (3, rng.uniform(0.05, 0.3)),
                     (4, rng.uniform(0.02, 0.2))):
            x += level * g * np.sin(2 * math.pi * k * revs + rng.uniform(0, 6.3))
        z = int(rng.integers(17, 61))
        while z * fr * 2.2 > fs / 2 and z > 5:
            z //= 2
        gear = noise_rms * opt.get("gear", rng.uniform(0.5, 2.0))
        am = 1 + rng.uniform(0.1, 0.4) * np.cos(2 * math.pi * revs)
        x += gear * am * (np.sin(2 * math.pi * z * revs)
                          + 0.4 * np.sin(4 * math.pi * z * revs + 1.0))
    mains = noise_rms * opt.get("mains", rng.uniform(0.2, 2.0))
    for k, g in ((1, 1.0), (2, rng.uniform(0.1, 0.6)), (3, rng.uniform(0.1, 0.8)),
                 (4, rng.uniform(0.05, 0.5)), (5, rng.uniform(0.05, 0.5))):
        x += mains * g * np.sin(2 * math.pi * k * spec.mains_hz * t + rng.uniform(0, 6.3))

    frac = revs % 1.0
    tacho = np.where(frac < 0.05, 5.0, 0.0) if spec.fault != "stopped" else np.zeros(n)
    if spec.fault == "stopped":
        speed = np.zeros(n)
    return SimRecord(x, tacho, speed, fs, spec, rate)
