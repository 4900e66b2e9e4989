"""Training a window classifier: a plain function, runnable and testable without Qt.

``train(segments, n_classes, config, task=TaskState())`` draws class-balanced random windows
from labelled signal segments, augments them, and fits the network the config names. Every
``task.report`` is also a cancellation point (ARCHITECTURE.md): a worker can stop a job
within one report interval, and the function raises :class:`~desktop.core.tasks.Cancelled`.

Why draw windows at random instead of pre-cutting them: the healthy class has ~3 s of
signal against ~10 s for each fault, so a fixed set of windows would be heavily imbalanced;
drawing the class first and then a random position in its segments balances classes
without duplicating identical windows, and it makes speed augmentation (which needs a
longer or shorter stretch of signal per window) natural.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from desktop.analysis.windows import zscore
from desktop.core.tasks import TaskState
from desktop.ml import architectures
from desktop.ml.training.data_cwru import Segment


@dataclass
class TrainConfig:
    """Everything that decides the result; stored in the card so a run can be repeated."""

    architecture: str = "wdcnn"
    hyper_parameters: dict[str, Any] = field(default_factory=dict)
    window: int = 2048
    epochs: int = 30
    steps_per_epoch: int = 80
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    normalisation: str = "per_window_zscore"
    #: Speed change by resampling, uniform in [1 - s, 1 + s]; 0 turns it off.
    speed_jitter: float = 0.0
    #: Probability of adding white noise to a window, and its SNR range in dB.
    noise_probability: float = 0.0
    noise_snr_db: tuple[float, float] = (6.0, 30.0)
    #: Random gain in [1 - g, 1 + g] (matters only without per-window normalisation).
    gain_jitter: float = 0.0
    seed: int = 0
    #: Networks trained alone with seeds ``seed``, ``seed + 1``, …; more than one makes a
    #: ``wdcnn_ensemble`` that averages their probabilities (see architectures.py for why).
    members: int = 1

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["noise_snr_db"] = list(self.noise_snr_db)
        return d


@dataclass
class TrainResult:
    model: nn.Module
    config: TrainConfig
    history: list[dict[str, float]]
    seconds: float
    n_parameters: int


def make_model(config: TrainConfig, n_classes: int, in_channels: int = 1) -> nn.Module:
    hp = {**config.hyper_parameters, "n_classes": n_classes, "in_channels": in_channels,
          "input_length": config.window}
    return architectures.build(config.architecture, hp)


def normalise(windows: np.ndarray, how: str) -> np.ndarray:
    """The card's normalisation; ``(n, L)`` → ``(n, L)`` float32."""
    if how == "per_window_zscore":
        return zscore(windows)
    if how == "none":
        return np.asarray(windows, dtype=np.float32)
    raise ValueError(f"unknown normalisation {how!r}")


class WindowSampler:
    """Class-balanced random windows from segments, with speed/noise/gain augmentation."""

    def __init__(self, segments: Sequence[Segment], config: TrainConfig,
                 rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        longest = math.ceil(config.window * (1 + config.speed_jitter)) + 2
        self.by_class: dict[int, list[Segment]] = {}
        for s in segments:
            if s.x.shape[0] >= longest:
                self.by_class.setdefault(s.label, []).append(s)
        if not self.by_class:
            raise ValueError("no segment is long enough for one training window")
        self.labels = np.array(sorted(self.by_class))
        self.weights = {c: np.array([s.x.shape[0] for s in segs], dtype=float)
                        for c, segs in self.by_class.items()}

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        cfg, rng, L = self.config, self.rng, self.config.window
        labels = rng.choice(self.labels, size=size)
        out = np.empty((size, L), dtype=np.float64)
        grid = np.arange(L, dtype=np.float64)
        for i, c in enumerate(labels):
            segs = self.by_class[int(c)]
            w = self.weights[int(c)]
            seg = segs[int(rng.choice(len(segs), p=w / w.sum()))].x
            r = 1.0 + rng.uniform(-cfg.speed_jitter, cfg.speed_jitter) if cfg.speed_jitter else 1.0
            span = math.ceil(L * r) + 1
            start = int(rng.integers(0, seg.shape[0] - span + 1))
            chunk = seg[start:start + span]
            # r > 1 squeezes more signal into a window: every frequency rises by r, as if
            # the shaft turned faster (fault impact rates scale with speed).
            out[i] = chunk[:L] if r == 1.0 else np.interp(grid * r, np.arange(span), chunk)
        if cfg.gain_jitter:
            out *= rng.uniform(1 - cfg.gain_jitter, 1 + cfg.gain_jitter, size=(size, 1))
        if cfg.noise_probability:
            noisy = rng.random(size) < cfg.noise_probability
            snr = rng.uniform(*cfg.noise_snr_db, size=size)
            power = out.var(axis=1) / (10 ** (snr / 10))
            noise = rng.standard_normal(out.shape) * np.sqrt(power)[:, None]
            out[noisy] += noise[noisy]
        return normalise(out, cfg.normalisation), labels.astype(np.int64)


def train(segments: Sequence[Segment], n_classes: int, config: TrainConfig, *,
          validation: tuple[np.ndarray, np.ndarray] | None = None,
          device: str = "cpu", task: TaskState | None = None) -> TrainResult:
    """Fit a fresh network on ``segments``; deterministic for a given seed and device.

    ``validation`` is ``(windows (n, L) raw, labels (n,))``: its accuracy is recorded per
    epoch in the history; it never steers training (no early stopping, no model pick), so
    it stays an honest estimate. Progress goes to ``task`` every 20 steps and at the end of
    every epoch; raises :class:`~desktop.core.tasks.Cancelled` at the first report after
    ``task.cancel()``.
    """
    task = task if task is not None else TaskState()
    if config.members > 1:
        return _train_ensemble(segments, n_classes, config, validation=validation,
                               device=device, task=task)
    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    sampler = WindowSampler(segments, config, rng)
    model = make_model(config, n_classes).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=config.learning_rate,
                            weight_decay=config.weight_decay)
    total = config.epochs * config.steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.learning_rate,
                                                total_steps=total, pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss()
    history: list[dict[str, float]] = []
    val_x = None
    if validation is not None:
        val_x = normalise(validation[0], config.normalisation)

    report = task.report
    report(0.0, "starting")
    step = 0
    for epoch in range(config.epochs):
        model.train()
        losses = []
        for _ in range(config.steps_per_epoch):
            xb, yb = sampler.batch(config.batch_size)
            x = torch.from_numpy(xb).unsqueeze(1).to(device)
            y = torch.from_numpy(yb).to(device)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            step += 1
            if step % 20 == 0:
                report(step / total, f"epoch {epoch + 1}/{config.epochs}")
        entry = {"epoch": epoch + 1, "loss": float(np.mean(losses))}
        if val_x is not None and validation is not None:
            pred = predict_classes(model, val_x, device=device)
            entry["val_accuracy"] = float(np.mean(pred == validation[1]))
        history.append(entry)
        report((epoch + 1) / config.epochs,
               f"epoch {epoch + 1}/{config.epochs} loss {entry['loss']:.3f}"
               + (f" val {entry['val_accuracy']:.3f}" if "val_accuracy" in entry else ""))
    model.eval()
    n_params = sum(p.numel() for p in model.parameters())
    return TrainResult(model.cpu(), config, history, time.perf_counter() - t0, n_params)


def _train_ensemble(segments: Sequence[Segment], n_classes: int, config: TrainConfig, *,
                    validation: tuple[np.ndarray, np.ndarray] | None, device: str,
                    task: TaskState) -> TrainResult:
    """Train ``config.members`` networks one after another, each exactly as a single-model
    run with its own seed, and wrap them in a :class:`WDCNNEnsemble`."""
    if config.architecture != "wdcnn":
        raise ValueError("ensembles are built from wdcnn members only")
    t0 = time.perf_counter()
    n = config.members
    results: list[TrainResult] = []
    for i in range(n):
        single = replace(config, seed=config.seed + i, members=1)
        results.append(train(segments, n_classes, single, validation=validation,
                             device=device,
                             task=task.part(i / n, (i + 1) / n, f"member {i + 1}/{n}: ")))
    model = architectures.WDCNNEnsemble([r.model for r in results]).eval()
    history = [{**row, "member": i} for i, r in enumerate(results) for row in r.history]
    return TrainResult(model, config, history, time.perf_counter() - t0,
                       sum(r.n_parameters for r in results))


def card_architecture(config: TrainConfig, hyper_parameters: dict[str, Any]
                      ) -> tuple[str, dict[str, Any]]:
    """The architecture name and hyper-parameters a card needs for ``config``'s model."""
    if config.members > 1:
        return "wdcnn_ensemble", {**hyper_parameters, "members": config.members}
    return config.architecture, hyper_parameters


@torch.no_grad()
def predict_proba(model: nn.Module, windows: np.ndarray, device: str = "cpu",
                  batch: int = 256) -> np.ndarray:
    """Softmax probabilities for already-normalised windows ``(n, L)`` or ``(n, C, L)``."""
    model.eval()
    x = windows[:, None, :] if windows.ndim == 2 else windows
    out = []
    for i in range(0, x.shape[0], batch):
        xb = torch.from_numpy(np.ascontiguousarray(x[i:i + batch], dtype=np.float32))
        out.append(torch.softmax(model(xb.to(device)), dim=1).cpu().numpy())
    k = model.head[-1].out_features if hasattr(model, "head") else 0
    return np.concatenate(out) if out else np.empty((0, k), dtype=np.float32)


def predict_classes(model: nn.Module, windows: np.ndarray, device: str = "cpu") -> np.ndarray:
    return predict_proba(model, windows, device).argmax(axis=1)


@torch.no_grad()
def adapt_batchnorm(model: nn.Module, windows: np.ndarray, device: str = "cpu",
                    batch: int = 256) -> nn.Module:
    """AdaBN (Li et al. 2016): re-estimate every batch-norm mean/variance on target windows.

    Why: a new load shifts the statistics of the features; the learned weights are kept and
    only the normalisation is moved to the new domain. The estimate is the exact average
    over all given windows (``momentum=None``), so the result does not depend on order.
    Returns the same model, in eval mode. ``windows`` must already be normalised.
    """
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.eval()
    for m in bns:
        m.train()
    x = windows[:, None, :] if windows.ndim == 2 else windows
    for i in range(0, x.shape[0], batch):
        xb = torch.from_numpy(np.ascontiguousarray(x[i:i + batch], dtype=np.float32))
        if xb.shape[0] > 1:  # batch norm needs two samples to estimate a variance
            model(xb.to(device))
    for m, mom in zip(bns, saved, strict=True):
        m.momentum = mom
    model.eval()
    return model
