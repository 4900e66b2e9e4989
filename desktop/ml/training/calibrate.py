"""``linewatch calibrate``: adapt a fault model's normalisation to a new machine (AdaBN).

Li et al. 2016 (AdaBN): the learned weights stay, only the batch-norm running means and
variances are re-estimated on the target machine's own signal, so a new sensor, mounting,
rate or noise floor moves the features back to where the classifier expects them. No
labels are needed; the result is published as a new *version* (``versions.publish``), so
promote and rollback work as for fine-tuned models, and fine-tuning can start from it.

Honest limit (docs/ml.md): the statistics must come from data that covers the machine's
usual conditions. From one condition alone (one class) AdaBN of every layer turns the
classifier into a constant (~10 % on the CWRU check); ``layers="first"`` only moves the
first batch norm (sensor level and noise floor) and risks less.
"""

from __future__ import annotations

import copy
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from desktop.analysis.windows import frame, resample
from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.ml.inference.predictors import FaultPredictor, load_predictor
from desktop.ml.model_files.card import ModelCard, now_iso
from desktop.ml.model_files.registry import ModelEntry
from desktop.ml.model_files.versions import check_name, publish_new
from desktop.ml.model_files.weights import save_model_folder
from desktop.ml.training.replay import copy_replay_set
from desktop.ml.training.train import normalise

#: At least this many windows (about 10 s at 12 kHz with half-overlapping windows).
MIN_WINDOWS = 100


def batchnorms(model: nn.Module, layers: str) -> list[nn.modules.batchnorm._BatchNorm]:
    """The batch norms AdaBN re-estimates: every one, or the first of each network."""
    nets = list(model.members) if hasattr(model, "members") else [model]
    out = []
    for net in nets:
        bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        out += bns if layers == "all" else bns[:1]
    return out


@torch.no_grad()
def adapt(model: nn.Module, x: np.ndarray, layers: str = "all", batch: int = 256,
          task: TaskState | None = None) -> nn.Module:
    """AdaBN on normalised windows ``x (n, L)``: exact averages over all of them.

    ``task``: progress 0..1 over the batches, each a cancellation point."""
    chosen = batchnorms(model, layers)
    model.eval()
    for m in chosen:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[:, None]
    for i in range(0, xt.shape[0], batch):
        if task is not None:
            task.report(i / xt.shape[0])
        if xt[i:i + batch].shape[0] > 1:
            model(xt[i:i + batch])
    for m in chosen:
        m.momentum = 0.1
    return model.eval()


def snapshot_windows(signal: np.ndarray | Sequence[np.ndarray], rate: float, target: float,
                     window: int) -> tuple[np.ndarray, float, int]:
    """``(windows (m, window), seconds, snapshots)`` from one record ``(n,)`` or from many
    short route snapshots (each ``(n_i,)`` at ``rate`` Hz): each is resampled to
    ``target`` Hz and framed on its own (half-overlapping windows never straddle two
    snapshots taken minutes apart)."""
    parts = [signal] if isinstance(signal, np.ndarray) else list(signal)
    frames, seconds = [], 0.0
    for part in parts:
        x = np.asarray(part, dtype=np.float64)
        x = x[np.isfinite(x)]
        y = resample(x, rate, target)
        seconds += y.shape[0] / target
        if y.shape[0] >= window:
            frames.append(np.array(frame(y, window, window // 2)))
    windows = np.concatenate(frames) if frames else np.zeros((0, window))
    return windows, seconds, len(parts)


def calibrate(base: str | Path | ModelEntry, signal: np.ndarray | Sequence[np.ndarray],
              rate: float, name: str, layers: str = "all", source: str = "",
              channel: str = "", command: str | None = None,
              task: TaskState | None = None) -> dict[str, Any]:
    """Re-estimate ``base``'s batch-norm statistics from ``signal`` (one 1-D record, or a
    list of short route snapshots, ``rate`` Hz) and publish the result as a new version of
    ``name``. Returns what the CLI prints."""
    task = task if task is not None else TaskState()
    report = task.report
    if layers not in ("all", "first"):
        raise InputError("layers must be 'all' or 'first'")
    report(0.0, "loading the model")
    predictor = load_predictor(base, device="cpu", backend="torch")
    if not isinstance(predictor, FaultPredictor):
        raise InputError(f"'{predictor.name}' is not a fault classifier: only those have "
                         f"batch-norm statistics to calibrate")
    check_name(name)
    card = predictor.card
    windows, seconds, parts = snapshot_windows(signal, rate, card.sample_rate, card.window)
    if windows.shape[0] < MIN_WINDOWS:
        need = (MIN_WINDOWS + 1) * card.window / 2 / card.sample_rate
        got = f"{seconds:.1f} s" + (f" in {parts} snapshots ({windows.shape[0]} windows)"
                                    if parts > 1 else "")
        raise InputError(f"calibration needs at least {need:.0f} s of signal "
                         f"({MIN_WINDOWS} windows; route snapshots count together); "
                         f"got {got}")
    z = normalise(windows, card.normalisation)
    report(0.3, f"re-estimating batch-norm statistics from {windows.shape[0]} windows")
    model = adapt(copy.deepcopy(predictor.model), z, layers,
                  task=task.part(0.3, 0.8, stage="calibrating"))
    notes = ["the statistics assume the recording shows the machine's usual conditions; "
             "from one fault or one load alone they can harm the model (docs/finetune.md)"]
    domain = copy.deepcopy(card.domain)
    ood = domain.get("ood")
    if isinstance(ood, dict) and ood.get("energy_threshold") is not None:
        from desktop.ml.architectures import probabilities_and_energy

        with torch.inference_mode():
            _, e = probabilities_and_energy(model, torch.from_numpy(z)[:, None])
        # the calibration data is, by the user's word, this machine running: its windows
        # must not read as unknown. Keep the base thresholds unless they sit above them.
        q = float(np.quantile(e.numpy(), 0.995))
        if q > float(ood["energy_threshold"]):
            ood["energy_threshold_before_calibration"] = ood["energy_threshold"]
            ood["energy_threshold"] = q
            notes.append("the open-set energy threshold was raised to keep the calibration "
                         "windows known")
        if ood.get("density") and ood.get("distance_threshold"):
            from desktop.ml.inference.open_set import feature_distance

            dq = float(np.quantile(feature_distance(windows, ood["density"]), 0.995))
            if dq > float(ood["distance_threshold"]):
                ood["distance_threshold_before_calibration"] = ood["distance_threshold"]
                ood["distance_threshold"] = dq
                notes.append("the open-set feature-distance threshold was raised to keep "
                             "the calibration windows known")
    parent = f"{predictor.name}@{card.version}"
    info = {"source": source, "channel": channel, "input_rate": rate,
            "windows": int(windows.shape[0]),
            "seconds_of_signal": round(seconds, 2), "snapshots": parts,
            "layers": layers, "method": "AdaBN (batch-norm running statistics re-estimated)"}
    new_card = ModelCard.from_json({
        **card.to_json(), "name": name, "version": "0", "parent": parent, "created": now_iso(),
        "training_command": command or shlex.join(["linewatch", *sys.argv[1:]]),
        "training_data": {**{k: v for k, v in card.training_data.items()
                             if k != "weights_sha256"}, "calibration": info},
        "metrics": {"calibration": info, "base_metrics": {
            k: v for k, v in card.metrics.items() if k in ("validation", "noise", "open_set")}},
        "domain": domain,
        "description": f"{card.description or card.name}; batch-norm statistics calibrated "
                       f"on {source or 'unlabelled data'}"})
    report(0.9, f"publishing {name}")
    def write(staging: Path) -> None:
        replay = copy_replay_set(predictor.folder, card, staging)
        if replay is not None:
            new_card.training_data["replay_set"] = replay
        save_model_folder(staging, new_card, model.state_dict())

    version, folder = publish_new(name, write)
    out = {"model": name, "version": version, "folder": str(folder), "parent": parent,
           "notes": notes, **info}
    # published: a cancel now is too late to undo anything (finish does not check it)
    task.finish(f"{name} v{version} saved", stage="done")
    return out
