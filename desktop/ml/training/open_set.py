"""Calibrating a fault model's domain: the band it needs, the open-set threshold, and the
synthetic out-of-domain signals both are judged with (numpy + torch, no Qt).

The out-of-domain families are the inputs issue 12 met in the field or that a plant
produces: a slow process signal (a 100 Hz temperature log resampled up to the model's
rate), a flat line (unplugged sensor, constant or with 1-LSB dither), pure white noise,
speech-like audio (voiced pulse trains through formant resonances, syllable rhythm,
hiss), and mains hum with harmonics. They are generated, not recorded: the AUROC they give
is a check that the score separates what it must, not a field figure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.signal import lfilter

from desktop.analysis.windows import frame, resample
from desktop.ml.inference.open_set import band_share

FAMILIES = ("temperature_log", "flat", "white_noise", "speech_like", "mains_hum")


def synthetic_ood(family: str, n_windows: int, window: int, rate: float,
                  rng: np.random.Generator) -> np.ndarray:
    """``(n_windows, window)`` raw windows at ``rate`` of one out-of-domain family."""
    n = n_windows * window
    t = np.arange(n) / rate
    if family == "temperature_log":
        slow_rate = 100.0
        m = int(np.ceil(n * slow_rate / rate)) + 8
        walk = np.cumsum(rng.standard_normal(m)) * 0.02
        drift = 0.5 * np.sin(2 * np.pi * 0.05 * np.arange(m) / slow_rate)
        log = 20 + rng.uniform(0, 60) + walk + drift
        log = np.round(log, 1)  # a logger's 0.1 degC resolution
        x = resample(log, slow_rate, rate)[:n]
    elif family == "flat":
        x = np.full(n, rng.uniform(-1, 3))
        if rng.random() < 0.5:  # 1-LSB dither of a 16-bit converter over +-5 V
            x = x + rng.integers(-1, 2, n) * (10 / 65536)
    elif family == "white_noise":
        x = rng.standard_normal(n) * rng.uniform(0.01, 2)
    elif family == "speech_like":
        x = _speech_like(n, rate, rng)
    elif family == "mains_hum":
        f0 = rng.choice([50.0, 60.0])
        x = sum(rng.uniform(0.05, 1) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3))
                for k in range(1, 8))
        x = x + 0.01 * rng.standard_normal(n)
    else:
        raise ValueError(f"unknown out-of-domain family {family!r}")
    return np.array(frame(np.asarray(x, dtype=np.float64), window, window))[:n_windows]


def _speech_like(n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Voiced glottal pulses (f0 90-250 Hz, drifting) through three formant resonators,
    amplitude-modulated at a syllable rate of ~4 Hz, with unvoiced hiss between."""
    f0 = rng.uniform(90, 250) * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * np.arange(n) / rate))
    phase = np.cumsum(f0 / rate)
    pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
    voiced = pulses
    for fc, bw in ((rng.uniform(400, 800), 80), (rng.uniform(1000, 2000), 120),
                   (rng.uniform(2200, 3000), 160)):
        r = np.exp(-np.pi * bw / rate)
        theta = 2 * np.pi * fc / rate
        voiced = voiced + lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], pulses) * 5
    syll = 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(3, 5) * np.arange(n) / rate))
    hiss = lfilter([1, -0.9], [1], rng.standard_normal(n)) * 0.05
    return voiced * syll + hiss * (1 - syll)


def ood_windows(window: int, rate: float, per_family: int, seed: int
                ) -> dict[str, np.ndarray]:
    """Every family's windows; different ``seed`` → independent sets (calibrate/report)."""
    rng = np.random.default_rng(seed)
    return {f: np.concatenate([synthetic_ood(f, 4, window, rate, rng)
                               for _ in range(max(1, per_family // 4))])
            for f in FAMILIES}


def lowpass(windows: np.ndarray, rate: float, top_hz: float) -> np.ndarray:
    spec = np.fft.rfft(windows, axis=-1)
    spec[..., np.fft.rfftfreq(windows.shape[-1], 1 / rate) > top_hz] = 0
    return np.fft.irfft(spec, n=windows.shape[-1], axis=-1)


def highpass(windows: np.ndarray, rate: float, bottom_hz: float) -> np.ndarray:
    spec = np.fft.rfft(windows, axis=-1)
    spec[..., np.fft.rfftfreq(windows.shape[-1], 1 / rate) < bottom_hz] = 0
    return np.fft.irfft(spec, n=windows.shape[-1], axis=-1)


def measure_band(predict: Callable[[np.ndarray], np.ndarray], windows: np.ndarray,
                 labels: np.ndarray, rate: float, tolerance: float = 0.01
                 ) -> dict[str, Any]:
    """The band the model needs: the narrowest ``[low, high]`` whose removal from outside
    costs at most ``tolerance`` of accuracy on ``windows`` (held-out, labelled).

    ``high`` is the lowest low-pass cut-off that keeps accuracy; an input whose Nyquist
    frequency is below it lacks content the model uses. ``low`` is the highest high-pass
    cut-off that keeps accuracy.
    """
    base = float(np.mean(predict(windows).argmax(1) == labels))
    nyq = rate / 2
    tops = [t for t in (500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 5500)
            if t < nyq]
    curve_top = {t: float(np.mean(predict(lowpass(windows, rate, t)).argmax(1) == labels))
                 for t in tops}
    high = next((t for t in tops if curve_top[t] >= base - tolerance), nyq)
    bottoms = (10, 25, 50, 100, 200, 400, 800)
    curve_bottom = {b: float(np.mean(predict(highpass(windows, rate, b)).argmax(1) == labels))
                    for b in bottoms}
    ok = [b for b in bottoms if curve_bottom[b] >= base - tolerance]
    low = max(ok) if ok else 0.0
    return {"band_hz": [float(low), float(high)], "accuracy_full_band": round(base, 4),
            "accuracy_lowpass": {str(k): round(v, 4) for k, v in curve_top.items()},
            "accuracy_highpass": {str(k): round(v, 4) for k, v in curve_bottom.items()},
            "tolerance": tolerance}


def signal_limits(train_windows: np.ndarray, rate: float, band_hz: list[float]
                  ) -> dict[str, float]:
    """``no_signal_std`` (1 % of the quietest training window's std) and
    ``min_band_share`` (a tenth of the smallest in-band power share among training
    windows)."""
    std = np.asarray(train_windows, dtype=np.float64).std(axis=-1)
    share = band_share(train_windows, rate, (band_hz[0], band_hz[1]))
    return {"no_signal_std": float(std.min() / 100),
            "min_band_share": float(share.min() / 10),
            "training_std_min": float(std.min()),
            "training_band_share_min": float(share.min())}


def fit_density(raw_windows: np.ndarray, labels: np.ndarray, n_bands: int = 10,
                shrinkage: float = 0.3) -> dict[str, Any]:
    """Class means and one shared shrunk precision of the vibration features (card JSON)."""
    from desktop.analysis.features import vibration_features

    f = vibration_features(raw_windows, n_bands)
    classes = np.unique(labels)
    means = np.stack([f[labels == c].mean(axis=0) for c in classes])
    resid = f - means[np.searchsorted(classes, labels)]
    cov = np.cov(resid, rowvar=False)
    cov = (1 - shrinkage) * cov + shrinkage * np.diag(np.diag(cov)) + 1e-9 * np.eye(f.shape[1])
    return {"n_bands": n_bands, "shrinkage": shrinkage,
            "means": np.round(means, 6).tolist(),
            "precision": np.linalg.inv(cov).tolist()}


def noisy_copies(windows_by_file: dict[str, np.ndarray], signals: dict[str, np.ndarray],
                 snrs: tuple[float, ...], seed: int) -> dict[float, np.ndarray]:
    """Windows of each region with the noise protocol (power of the region), per SNR."""
    from desktop.analysis.noise import add_noise_snr

    out = {}
    for k, snr in enumerate(snrs):
        rng = np.random.default_rng(seed + k)
        parts = []
        for name, x in signals.items():
            noisy = add_noise_snr(x, snr, rng)
            parts.append(np.array(frame(noisy, windows_by_file[name].shape[1],
                                        windows_by_file[name].shape[1] // 2)))
        out[snr] = np.concatenate(parts)
    return out


def calibrate_open_set(energy: Callable[[np.ndarray], np.ndarray],
                       validation: dict[str, np.ndarray], density: dict[str, Any],
                       distance_margin: float) -> dict[str, Any]:
    """Thresholds = the largest energy / feature distance over every validation window
    (clean and noisy); the distance's times ``distance_margin`` (chosen on the other load
    direction, docs/ml.md)."""
    from desktop.ml.inference.open_set import feature_distance

    e = np.concatenate([energy(w) for w in validation.values()])
    d = np.concatenate([feature_distance(w, density) for w in validation.values()])
    return {"score": "max(energy - energy_threshold, log(distance / distance_threshold))",
            "energy_threshold": round(float(e.max()), 6),
            "distance_threshold": round(float(d.max() * distance_margin), 6),
            "distance_margin": distance_margin, "density": density,
            "calibration": {k: int(v.shape[0]) for k, v in validation.items()}}
