"""Open set: when a fault model should answer ``unknown`` instead of one of its classes.

A classifier always names one of its classes, even for a 100 Hz temperature log or an
unplugged sensor. Three checks, in this order, each with the reason the verdict carries:

1. ``no signal`` — the window's standard deviation is below the card's ``no_signal_std``
   (1 % of the quietest training window's, in the model's units): a flat line has no
   waveform to classify.
2. ``out of band`` — less than ``min_band_share`` of the window's power lies in the band
   the model uses (``band_hz``): a slow signal resampled up to the model's rate (a
   temperature log) has its power where the model never looks.
3. ``unlike training data`` — the out-of-distribution score :func:`ood_scores` is above 0.
   It joins two measurements, each with its own threshold from held-out validation
   windows (clean and noisy, the card's ``domain.ood`` says which):
   the *energy* of the classifier's logits (Liu et al. 2020), ``-logsumexp(logits)``
   averaged over ensemble members, which catches broadband noise; and the squared
   Mahalanobis distance of the window's vibration features
   (:func:`desktop.analysis.features.vibration_features`) to the nearest class mean
   (class means, one shared shrunk covariance, fitted on noise-augmented training
   windows), which catches signals with another spectral shape (speech, hum, slow
   process signals). ``ood_score = max(energy - t_energy, log(distance / t_distance))``.
   Why both: on synthetic out-of-domain windows neither alone separated every family
   (docs/ml.md, "Open set").

Everything here reads the card's ``domain`` object; a card without one (older models,
fine-tuned user models) gets no ``unknown`` verdicts, only ``ood_score``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

UNKNOWN = "unknown"
NO_SIGNAL = "no signal"
OUT_OF_BAND = "out of band"
UNLIKE_TRAINING = "unlike training data"


def band_share(windows: np.ndarray, rate: float, band_hz: tuple[float, float]) -> np.ndarray:
    """Share of each (mean-removed) window's power between ``band_hz`` (n,)."""
    w = np.asarray(windows, dtype=np.float64)
    w = w - w.mean(axis=-1, keepdims=True)
    power = np.abs(np.fft.rfft(w, axis=-1)) ** 2
    freqs = np.fft.rfftfreq(w.shape[-1], 1.0 / rate)
    inside = (freqs >= band_hz[0]) & (freqs <= band_hz[1])
    total = power.sum(axis=-1)
    return np.where(total > 0, power[:, inside].sum(axis=-1) / np.maximum(total, 1e-300), 0.0)


def feature_distance(windows: np.ndarray, density: Mapping[str, Any]) -> np.ndarray:
    """Squared Mahalanobis distance of each window's features to the nearest class mean."""
    from desktop.analysis.features import vibration_features

    means = np.asarray(density["means"], dtype=np.float64)
    precision = np.asarray(density["precision"], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = vibration_features(windows, int(density["n_bands"]))
    f = np.nan_to_num(f, nan=-50.0, neginf=-50.0, posinf=50.0)
    d = f[:, None, :] - means[None]
    return np.einsum("ncj,jk,nck->nc", d, precision, d).min(axis=1)


def ood_scores(windows: np.ndarray, energy: np.ndarray, domain: Mapping[str, Any]
               ) -> np.ndarray:
    """The open-set score (> 0: unlike training data) of raw windows at the model's rate
    and their energy scores; without calibration in the card, the energy itself."""
    ood = domain.get("ood") if domain else None
    if not ood or ood.get("energy_threshold") is None:
        return np.asarray(energy, dtype=np.float64)
    score = np.asarray(energy, dtype=np.float64) - float(ood["energy_threshold"])
    density = ood.get("density")
    if density and ood.get("distance_threshold"):
        dist = feature_distance(windows, density)
        score = np.maximum(score, np.log(np.maximum(dist, 1e-300)
                                         / float(ood["distance_threshold"])))
    return score


def reasons(windows: np.ndarray, ood: np.ndarray, domain: Mapping[str, Any],
            rate: float) -> list[str | None]:
    """The ``unknown`` reason of every raw window at the model's rate, or None (known)."""
    w = np.asarray(windows, dtype=np.float64)
    out: list[str | None] = [None] * w.shape[0]
    if not domain or w.shape[0] == 0:
        return out
    std = w.std(axis=-1)
    flat = std < float(domain.get("no_signal_std", 0.0))
    band = domain.get("band_hz")
    share = (band_share(w, rate, (float(band[0]), float(band[1]))) if band
             else np.ones(w.shape[0]))
    off_band = share < float(domain.get("min_band_share", 0.0))
    calibrated = domain.get("ood", {}).get("energy_threshold") is not None
    unlike = (ood > 0) if calibrated else np.zeros(w.shape[0], bool)
    for i in range(w.shape[0]):
        if flat[i]:
            out[i] = NO_SIGNAL
        elif off_band[i]:
            out[i] = OUT_OF_BAND
        elif unlike[i]:
            out[i] = UNLIKE_TRAINING
    return out


def check_rate(domain: Mapping[str, Any], rate: float, model: str) -> str | None:
    """Why a model cannot judge input at ``rate`` Hz (one line), or None when it can.

    The input's Nyquist frequency (rate / 2) must reach the top of the band the model
    uses: resampling a slower signal up to the model's rate invents no content there.
    """
    if not domain:
        return None
    band = domain.get("band_hz")
    if band and rate / 2 < float(band[1]):
        return (f"model {model} needs the {float(band[0]):g}-{float(band[1]):g} Hz band "
                f"(sample rate >= {2 * float(band[1]):g} Hz), but the input is sampled at "
                f"{rate:g} Hz (Nyquist {rate / 2:g} Hz); --force judges it anyway")
    limits = domain.get("sample_rate_hz", {})
    top = limits.get("max")
    if top is not None and rate > float(top):
        return (f"model {model} accepts sample rates up to {float(top):g} Hz, the input is "
                f"{rate:g} Hz; --force judges it anyway")
    return None
