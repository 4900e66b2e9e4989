"""A fault model's batch-norm statistics and open-set thresholds re-estimated on one
machine's many short healthy snapshots, for its baseline (issue 22, item 1): AdaBN
(Y. Li, N. Wang, J. Shi, J. Liu & X. Hou, "Revisiting Batch Normalization for Practical
Domain Adaptation", ICLR workshop 2017, arXiv:1603.04779, 2016): the learned weights stay,
only the running means and variances of the batch norms are recomputed on the target
machine's own signal.

Unlike ``linewatch calibrate`` (:mod:`desktop.ml.training.calibrate`), nothing is
published as a model version: :func:`machine_statistics` returns the statistics as plain
lists, and ``linewatch baseline`` stores them with the machine's baseline
(:mod:`desktop.baseline`, which never imports torch: it receives this function).
:func:`desktop.ml.inference.machine_stats.with_machine_statistics` applies them when a
command runs with ``--machine``. The windows come from the route snapshots one at a time
(:func:`desktop.ml.training.calibrate.snapshot_windows`: half-overlapping windows never
straddle two snapshots taken minutes apart), so forty 1-s snapshots give ~400 windows.

The open-set thresholds follow ``calibrate``'s rule: the machine's healthy windows must
not read as unknown, so the energy (and feature-distance) threshold is raised to their
99.5 % quantile when it sits below it, never lowered. The same caveat as ``calibrate``:
healthy snapshots of one condition only can make AdaBN of every layer harm the classifier
(docs/baseline.md); ``layers="first"`` moves the first batch norm only. So a check guards
their use: the snapshots are healthy by the user's word, and with the new statistics the
model must call at least :data:`MIN_NORMAL_SHARE` of their windows a normal class; if not,
the entry is stored with ``usable`` false and a ``note`` (and is never applied). On
simulated machines far from the training rig (tools/eval_baseline_adabn.py) the adapted
model called 97–100 % of healthy windows a fault: the check refuses that.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.ml.inference.predictors import FaultPredictor, load_predictor
from desktop.ml.training.calibrate import MIN_WINDOWS, adapt, snapshot_windows
from desktop.ml.training.train import normalise

#: The quantile of the machine's healthy open-set scores the thresholds must clear.
KNOWN_QUANTILE = 0.995
#: The adapted model must call at least this share of the machine's healthy windows a
#: normal class, else the statistics are stored but not used (``usable`` false).
MIN_NORMAL_SHARE = 0.9


def machine_statistics(model: str, snapshots: Sequence[np.ndarray], rate: float,
                       layers: str = "all", task: TaskState | None = None
                       ) -> dict[str, Any]:
    """AdaBN statistics of fault model ``model`` from healthy ``snapshots`` (each
    ``(n_i,)`` at ``rate`` Hz, resampled to the model's rate), and its open-set
    thresholds re-estimated on them. Returns ``{"model", "version", "layers", "windows",
    "snapshots", "seconds", "method", "stats": {state-dict key: [floats]}, "ood":
    {"energy_threshold", "distance_threshold" (the new values, or absent), "raised":
    [names]}}``. Raises :class:`InputError` for a model that is not a fault classifier
    or fewer than :data:`~desktop.ml.training.calibrate.MIN_WINDOWS` windows."""
    task = task if task is not None else TaskState()
    if layers not in ("all", "first"):
        raise InputError("layers must be 'all' or 'first'")
    task.report(0.0, f"loading {model}")
    predictor = load_predictor(model, device="cpu", backend="torch")
    if not isinstance(predictor, FaultPredictor):
        raise InputError(f"'{predictor.name}' is not a fault classifier: only those have "
                         "batch-norm statistics")
    card = predictor.card
    windows, seconds, parts = snapshot_windows(list(snapshots), rate, card.sample_rate,
                                               card.window)
    if windows.shape[0] < MIN_WINDOWS:
        raise InputError(f"AdaBN needs at least {MIN_WINDOWS} windows of {card.window} "
                         f"samples; {parts} snapshot(s), {seconds:.1f} s, give "
                         f"{windows.shape[0]}: learn from more snapshots")
    z = normalise(windows, card.normalisation)
    task.report(0.2, f"re-estimating batch-norm statistics from {windows.shape[0]} windows")
    net = adapt(copy.deepcopy(predictor.model), z, layers,
                task=task.part(0.2, 0.8, stage="AdaBN"))
    stats = {k: v.detach().cpu().double().reshape(-1).tolist()
             for k, v in net.state_dict().items()
             if k.endswith(("running_mean", "running_var"))}
    ood_out: dict[str, Any] = {"raised": []}
    ood = card.domain.get("ood")
    if isinstance(ood, dict) and ood.get("energy_threshold") is not None:
        from desktop.ml.architectures import probabilities_and_energy

        task.report(0.85, "open-set thresholds on the machine's windows")
        with torch.inference_mode():
            probs, e = probabilities_and_energy(net, torch.from_numpy(z)[:, None])
        normal_share = _normal_share(predictor, probs.numpy())
        q = float(np.quantile(e.numpy(), KNOWN_QUANTILE))
        ood_out["energy_threshold"] = max(q, float(ood["energy_threshold"]))
        if q > float(ood["energy_threshold"]):
            ood_out["raised"].append("energy_threshold")
        if ood.get("density") and ood.get("distance_threshold"):
            from desktop.ml.inference.open_set import feature_distance

            dq = float(np.quantile(feature_distance(windows, ood["density"]), KNOWN_QUANTILE))
            ood_out["distance_threshold"] = max(dq, float(ood["distance_threshold"]))
            if dq > float(ood["distance_threshold"]):
                ood_out["raised"].append("distance_threshold")
    else:
        with torch.inference_mode():
            probs = torch.softmax(net(torch.from_numpy(z)[:, None]), dim=1)
        normal_share = _normal_share(predictor, probs.numpy())
    usable = normal_share >= MIN_NORMAL_SHARE
    note = "" if usable else (
        f"AdaBN statistics of {card.name} stored but not used: with them the model calls "
        f"only {100 * normal_share:.0f} % of this machine's healthy windows a normal class "
        f"(at least {100 * MIN_NORMAL_SHARE:.0f} % needed); the baseline's limits still "
        "judge the machine")
    task.report(1.0, "AdaBN done")
    return {"model": card.name, "version": card.version, "layers": layers,
            "usable": usable, "healthy_normal_share": round(normal_share, 4), "note": note,
            "windows": int(windows.shape[0]), "snapshots": parts,
            "seconds": round(seconds, 2), "method": "AdaBN (Li et al. 2016)",
            "stats": stats, "ood": ood_out}


def _normal_share(predictor: FaultPredictor, probs: np.ndarray) -> float:
    """Share of windows whose most probable class is a normal one (``probs (n, K)``)."""
    normal = predictor.normal_labels()
    is_normal = np.array([c in normal for c in predictor.card.classes])
    return float(is_normal[np.argmax(probs, axis=1)].mean()) if probs.shape[0] else 0.0
