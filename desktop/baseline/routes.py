"""Simulated routes: days of 1-s snapshots every 10 minutes from one machine, healthy or
with a bearing fault that grows to failure — for the tests and the evaluation.

Why not :func:`desktop.diagnosis.simulate.simulate` alone: it draws a new machine (its
resonances, levels) from each seed, while a route is one machine measured again and again.
Here the machine is drawn once per route and each snapshot only changes what changes on a
plant: speed and load, a slowly drifting healthy level, and fresh noise.

Signal model (the standard one; the same as issue 21's simulator):

- **Fault impacts** once per fault period, jittered by 1–2 % random slip, each exciting a
  decaying resonance ``e^{-ζω_n t}·sin(ω_d t)`` (P. D. McFadden & J. D. Smith, "Model for
  the vibration produced by a single point defect in a rolling element bearing", J. Sound
  Vib. 96 (1984) 69–82; J. Antoni & R. B. Randall, J. Vib. Acoust. 125 (2003) 282–289);
  inner race amplitude-modulated at 1X, ball at FTF (Randall & Antoni, "Rolling element
  bearing diagnostics — A tutorial", MSSP 25 (2011) 485–520, section 2).
- **Machine**: 1X–3X shaft lines, a housing resonance excited by broadband noise, white
  noise, mains pickup.
- **Route**: load switches among 60/80/100 % every few hours; speed follows load
  (slip of an induction motor: a few per cent), the broadband level follows load
  (``load_gain``), optional transient knocks (``knock_prob``), a slow healthy drift
  (``drift``, e.g. +30 % over the route) and a daily ±5 % cycle.
- **Degradation**: the fault's RMS relative to the background grows linearly in dB
  (exponentially in amplitude — the usual degradation model, e.g. N. Gebraeel et al.,
  IIE Trans. 37 (2005) 543–557) from ``start_db`` at ``onset_day`` to ``end_db`` at the
  end of the route, which is the simulated **failure**.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import signal

from desktop.analysis.bearings import BearingGeometry, fault_frequencies

SNAPSHOT_EVERY_S = 600.0


@dataclass(frozen=True)
class RouteSpec:
    """One route: ``geometry``, nominal ``rpm``, ``fs`` Hz, ``days`` long, snapshots of
    ``snapshot_s`` every ``every_s`` seconds; ``fault`` (``healthy``, ``outer_race``,
    ``inner_race``, ``ball``) growing from ``start_db`` at ``onset_day`` to ``end_db`` at
    the end (failure); ``drift`` the healthy level's relative change over the route;
    ``load_gain`` how much the broadband level follows load (``0.8 + load_gain·load``);
    ``knock_prob`` the chance that a snapshot holds one transient knock (a blow, a valve:
    one impact 10–30× the background RMS through the housing resonance)."""

    geometry: BearingGeometry
    rpm: float
    fs: float = 12000.0
    days: float = 10.0
    seed: int = 0
    fault: str = "healthy"
    onset_day: float = 4.0
    start_db: float = -30.0
    end_db: float = 6.0
    drift: float = 0.3
    snapshot_s: float = 1.0
    every_s: float = SNAPSHOT_EVERY_S
    load_gain: float = 0.4
    knock_prob: float = 0.0

    @property
    def failure_s(self) -> float:
        """Time of the simulated failure, s from the route's start (its end)."""
        return self.days * 86400.0


@dataclass(frozen=True)
class Snapshot:
    """``t_s`` seconds from the route's start, ``x`` ``(n,)`` in g, ``rpm``, ``load``
    (0–1), ``fault_db`` (the fault's level over the background; −inf when healthy)."""

    t_s: float
    x: np.ndarray
    rpm: float
    load: float
    fault_db: float


def _resonator(x: np.ndarray, fs: float, fn: float, zeta: float) -> np.ndarray:
    """Two-pole resonance at ``fn`` Hz with damping ``zeta`` (impulse invariance)."""
    wn = 2 * math.pi * fn
    wd = wn * math.sqrt(1 - zeta**2)
    r = math.exp(-zeta * wn / fs)
    return signal.lfilter([0.0, r * math.sin(wd / fs)], [1.0, -2 * r * math.cos(wd / fs), r * r], x)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) + 1e-15


def fault_db_at(spec: RouteSpec, t_s: float) -> float:
    """The fault level (dB over the background) at ``t_s``; −inf before the onset."""
    if spec.fault == "healthy":
        return -math.inf
    day = t_s / 86400.0
    if day < spec.onset_day:
        return -math.inf
    frac = (day - spec.onset_day) / max(spec.days - spec.onset_day, 1e-9)
    return spec.start_db + (spec.end_db - spec.start_db) * min(frac, 1.0)


def route(spec: RouteSpec, *, step: int = 1) -> Iterator[Snapshot]:
    """The route's snapshots in time order (every ``step``-th one)."""
    rng = np.random.default_rng(spec.seed)
    fs = spec.fs
    n = round(spec.snapshot_s * fs)
    top = min(5000.0, 0.4 * fs)
    housing_fn = rng.uniform(1500.0, top)
    fault_fn = rng.uniform(2000.0, top)
    zeta_h, zeta_f = rng.uniform(0.03, 0.06), rng.uniform(0.02, 0.06)
    shaft = rng.uniform(0.5, 2.0) * np.array([1.0, rng.uniform(0.3, 0.8), rng.uniform(0.05, 0.2)])
    mains_hz = 50.0 if rng.random() < 0.5 else 60.0
    mains = rng.uniform(0.05, 0.3)
    phases = rng.uniform(0, 2 * math.pi, 4)
    count = int(spec.days * 86400.0 // spec.every_s)
    load = 1.0
    t = np.arange(n) / fs
    for i in range(count):
        if rng.random() < spec.every_s / (4 * 3600.0):  # a load change every ~4 h
            load = float(rng.choice([0.6, 0.8, 1.0]))
        if i % step:
            continue
        ts = i * spec.every_s
        rpm = spec.rpm * (1 - 0.04 * load + 0.005 * rng.standard_normal())
        fr = rpm / 60.0
        level = ((0.8 + spec.load_gain * load) * (1 + spec.drift * ts / spec.failure_s)
                 * (1 + 0.05 * math.sin(2 * math.pi * ts / 86400.0)))
        noise = rng.standard_normal(n)
        hous = _resonator(rng.standard_normal(n), fs, housing_fn, zeta_h)
        background = level * (0.5 * noise + hous / _rms(hous))
        x = background.copy()
        revs = fr * t + rng.uniform(0, 1)
        for k, a in enumerate(shaft, start=1):
            x += level * a * np.sin(2 * math.pi * k * revs + phases[k])
        x += mains * np.sin(2 * math.pi * mains_hz * t + phases[0])
        if spec.knock_prob and rng.random() < spec.knock_prob:
            kick = np.zeros(n)
            kick[int(rng.integers(0, n))] = 1.0
            ring = _resonator(kick, fs, housing_fn, zeta_h)
            x += ring / np.max(np.abs(ring)) * _rms(background) * rng.uniform(10.0, 30.0)
        fdb = fault_db_at(spec, ts)
        if math.isfinite(fdb):
            x += _impacts(spec, rng, revs, fr, fault_fn, zeta_f) * (
                _rms(background) * 10 ** (fdb / 20))
        yield Snapshot(ts, x, rpm, load, fdb)


def _impacts(spec: RouteSpec, rng: np.random.Generator, revs: np.ndarray, fr: float,
             fn: float, zeta: float) -> np.ndarray:
    """Unit-RMS fault signal: slipping impacts through the fault resonance."""
    ff = fault_frequencies(spec.geometry, fr * 60.0)
    rate = {"outer_race": ff.bpfo, "inner_race": ff.bpfi, "ball": 2 * ff.bsf}[spec.fault]
    order = rate / fr
    m = int((revs[-1] - revs[0]) * order) + 8
    steps = (1 / order) * (1 + rng.uniform(0.01, 0.02) * rng.standard_normal(m))
    hits = revs[0] + np.cumsum(steps) - rng.uniform(0, 1 / order)
    hits = hits[(hits >= revs[0]) & (hits < revs[-1])]
    idx = np.searchsorted(revs, hits)
    amp = 1 + 0.1 * rng.standard_normal(idx.size)
    if spec.fault == "inner_race":
        amp *= 0.25 + np.maximum(0.0, np.cos(2 * math.pi * revs[idx])) ** 1.5
    elif spec.fault == "ball":
        amp *= 0.3 + np.maximum(0.0, np.cos(2 * math.pi * ff.ftf / fr * revs[idx])) ** 1.5
    imp = np.zeros(revs.size)
    np.add.at(imp, idx, amp)
    out = _resonator(imp, spec.fs, fn, zeta)
    return out / _rms(out)
