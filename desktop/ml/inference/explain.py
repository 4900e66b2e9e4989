"""Why this verdict: attribution over time and over frequency bands, and the deletion test.

* Over time: integrated gradients (Sundararajan et al. 2017) of the predicted class's log
  probability with respect to the normalised window, from an all-zero baseline (the
  window's mean), 32 steps. ``saliency_peak_s`` is where the smoothed |attribution|
  (5 ms moving average) peaks.
* Over frequency: occlusion of bands — each band is removed from the window's spectrum in
  turn (the window re-normalised as the model's input path does) and the drop in the
  predicted class's probability is its attribution; ``top_bands_hz`` lists the three bands
  whose removal costs most.
* Faithfulness (:func:`deletion_test`): removing the top-attributed 10 % of a window (in
  blocks of 32 samples) must lower the predicted probability more than removing a random
  10 %; the ratio of the two mean drops is reported (docs/ml.md).

Why not captum: its IntegratedGradients is the same ~20 lines, and installing it pulls
matplotlib, pillow, fonttools, contourpy, kiwisolver and more into the application and the
installer (checked with ``pip install --dry-run -c constraints.txt captum``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from desktop.analysis.windows import zscore

IG_STEPS = 32
BAND_HZ = 500.0
SMOOTH_S = 0.005
BLOCK = 32


def _log_prob(model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    out = torch.log_softmax(model(x), dim=1)  # an ensemble's log mean probs are kept as is
    return out.gather(1, target[:, None])[:, 0]


def integrated_gradients(model: torch.nn.Module, x: np.ndarray, target: np.ndarray,
                         steps: int = IG_STEPS) -> np.ndarray:
    """Attributions ``(n, L)`` of normalised windows ``x (n, L)`` for class ``target (n,)``."""
    model.eval()
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[:, None]
    tt = torch.from_numpy(np.asarray(target, dtype=np.int64))
    total = torch.zeros_like(xt)
    for a in (np.arange(steps) + 0.5) / steps:  # midpoint rule
        xa = (xt * float(a)).requires_grad_(True)
        grad, = torch.autograd.grad(_log_prob(model, xa, tt).sum(), xa)
        total += grad
    return (xt * total / steps)[:, 0].detach().numpy()


def _probs(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[:, None]
        return torch.softmax(model(xt), dim=1).numpy()


def band_attribution(model: torch.nn.Module, raw: np.ndarray, target: np.ndarray,
                     rate: float, band_hz: float = BAND_HZ) -> tuple[np.ndarray, np.ndarray]:
    """``(edges (B+1,), drops (n, B))``: probability lost when each band is removed."""
    n, length = raw.shape
    nyq = rate / 2
    edges = np.arange(0.0, nyq + band_hz / 2, band_hz)
    edges[-1] = nyq
    freqs = np.fft.rfftfreq(length, 1 / rate)
    spec = np.fft.rfft(raw - raw.mean(axis=1, keepdims=True), axis=1)
    p0 = _probs(model, zscore(raw))[np.arange(n), target]
    drops = np.empty((n, len(edges) - 1))
    for b in range(len(edges) - 1):
        s = spec.copy()
        s[:, (freqs >= edges[b]) & (freqs < edges[b + 1] + (b == len(edges) - 2))] = 0
        pb = _probs(model, zscore(np.fft.irfft(s, n=length, axis=1)))[np.arange(n), target]
        drops[:, b] = p0 - pb
    return edges, drops


def explain_windows(model: torch.nn.Module, raw: np.ndarray, rate: float,
                    top: int = 3) -> list[dict[str, Any]]:
    """Per raw window (at the model's rate): ``saliency_peak_s`` (seconds from the window
    start), ``top_bands_hz`` ([[lo, hi, probability drop], …]) for the predicted class."""
    if raw.shape[0] == 0:
        return []
    x = zscore(raw)
    target = _probs(model, x).argmax(1)
    attr = np.abs(integrated_gradients(model, x, target))
    k = max(1, round(SMOOTH_S * rate))
    smooth = np.apply_along_axis(lambda a: np.convolve(a, np.ones(k) / k, mode="same"), 1, attr)
    peaks = smooth.argmax(axis=1) / rate
    edges, drops = band_attribution(model, raw, target, rate)
    out = []
    for i in range(raw.shape[0]):
        order = np.argsort(-drops[i])[:top]
        out.append({"saliency_peak_s": round(float(peaks[i]), 6),
                    "top_bands_hz": [[round(float(edges[b]), 1), round(float(edges[b + 1]), 1),
                                      round(float(drops[i, b]), 4)] for b in order]})
    return out


def deletion_test(model: torch.nn.Module, raw: np.ndarray, fraction: float = 0.1,
                  random_draws: int = 5, seed: int = 0) -> dict[str, float]:
    """Mean drop of the predicted probability when the top-attributed ``fraction`` of each
    window (blocks of :data:`BLOCK` samples, set to the window mean) is removed, against the
    same amount removed at random; ``ratio`` > 1 means the attribution points at what the
    model uses."""
    rng = np.random.default_rng(seed)
    x = zscore(raw)
    n, length = x.shape
    target = _probs(model, x).argmax(1)
    p0 = _probs(model, x)[np.arange(n), target]
    attr = np.abs(integrated_gradients(model, x, target))
    blocks = length // BLOCK
    score = attr[:, :blocks * BLOCK].reshape(n, blocks, BLOCK).sum(axis=2)
    k = max(1, round(fraction * blocks))

    def drop(which: np.ndarray) -> np.ndarray:
        xd = x.copy()
        for i in range(n):
            for b in which[i]:
                xd[i, b * BLOCK:(b + 1) * BLOCK] = 0.0
        return p0 - _probs(model, xd)[np.arange(n), target]

    top_drop = drop(np.argsort(-score, axis=1)[:, :k])
    rand_drop = np.mean([drop(np.stack([rng.choice(blocks, k, replace=False) for _ in range(n)]))
                         for _ in range(random_draws)], axis=0)
    return {"windows": int(n), "fraction": fraction,
            "mean_drop_top": float(top_drop.mean()), "mean_drop_random": float(rand_drop.mean()),
            "ratio": float(top_drop.mean() / max(rand_drop.mean(), 1e-9)),
            "share_top_beats_random": float(np.mean(top_drop > rand_drop))}
