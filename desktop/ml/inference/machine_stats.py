"""A fault predictor with a machine's own batch-norm statistics and open-set thresholds
(AdaBN from its baseline's snapshots, :mod:`desktop.ml.training.machine_adabn`): what
``predict``/``diagnose``/the live worker run when a machine is given.

:func:`with_machine_statistics` returns a **copy** of the predictor (a cached predictor
shared by threads is never changed) with the stored running means and variances in its
network — on torch loaded into a deep copy of the module, on numpy by rebuilding the
:class:`~desktop.ml.inference.numpy_net.NumpyNet` (it folds each batch norm into one affine
at load) — and the card's ``domain.ood`` thresholds replaced by the machine's. Statistics
learnt for another model or version are not applied (the reason is returned).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from desktop.ml.inference.predictors import FaultPredictor, Predictor


def with_machine_statistics(predictor: Predictor, entry: dict[str, Any] | None
                            ) -> tuple[Predictor, str]:
    """``(predictor with the machine's statistics, "")`` or ``(predictor unchanged,
    reason)``. ``entry``: what :func:`~desktop.ml.training.machine_adabn.machine_statistics`
    returned (as stored with the baseline), or None."""
    if entry is None:
        return predictor, "no AdaBN statistics stored for this model"
    if not isinstance(predictor, FaultPredictor):
        return predictor, "not a fault classifier"
    card = predictor.card
    if entry.get("model") != card.name or str(entry.get("version")) != str(card.version):
        return predictor, (f"the stored AdaBN statistics are for {entry.get('model')} "
                           f"v{entry.get('version')}, not {card.name} v{card.version}: "
                           "learn the baseline again with this model")
    if entry.get("usable") is False:
        return predictor, str(entry.get("note") or "the stored AdaBN statistics failed "
                              "their check on the machine's healthy windows")
    stats = entry.get("stats")
    if not isinstance(stats, dict) or not stats:
        return predictor, "the stored AdaBN statistics are empty"
    out = copy.copy(predictor)
    if predictor.backend == "numpy":
        net_np = _numpy_with(predictor, stats)
        if net_np is None:
            return predictor, "the stored AdaBN statistics do not fit the network"
        out.model = net_np
    else:
        import torch

        net = copy.deepcopy(predictor.model)
        state = net.state_dict()
        new = {}
        for k, v in stats.items():
            if k not in state or state[k].numel() != len(v):
                return predictor, f"the stored AdaBN statistics do not fit the network ({k})"
            new[k] = torch.tensor(v, dtype=state[k].dtype).reshape(state[k].shape)
        net.load_state_dict(new, strict=False)
        out.model = net.to(predictor.device).eval()
    new_card = copy.deepcopy(card)
    ood = new_card.domain.get("ood")
    thresholds = entry.get("ood") or {}
    if isinstance(ood, dict):
        for key in ("energy_threshold", "distance_threshold"):
            if key in thresholds and ood.get(key) is not None:
                ood[f"{key}_before_machine"] = ood[key]
                ood[key] = float(thresholds[key])
    out.card = new_card
    return out, ""


def _numpy_with(predictor: FaultPredictor, stats: dict[str, Any]) -> Any:
    from desktop.ml.inference import numpy_net
    from desktop.ml.model_files.card import WEIGHTS_FILE
    from desktop.ml.model_files.weights import load_arrays

    card = predictor.card
    spec = numpy_net.expected_tensors(card.architecture, card.hyper_parameters)
    arrays = dict(load_arrays(predictor.folder / WEIGHTS_FILE, spec))
    for k, v in stats.items():
        if k not in arrays or arrays[k].size != len(v):
            return None
        arrays[k] = np.asarray(v, dtype=arrays[k].dtype).reshape(arrays[k].shape)
    return numpy_net.from_arrays(card.architecture, card.hyper_parameters, arrays)


def for_machine(predictor: Predictor, machine: str, channel: str) -> tuple[Predictor, str]:
    """The predictor with ``machine``'s AdaBN statistics for the sensor on ``channel``
    when its baseline holds some for this model (:func:`with_machine_statistics`), with
    a one-line note either way (``"AdaBN: …"``, shown beside the model's info)."""
    from desktop.baseline.hooks import adabn_entry

    entry = adabn_entry(machine, channel, predictor.card.name)
    out, why = with_machine_statistics(predictor, entry)
    if why:
        return out, f"AdaBN: not applied ({why})"
    assert entry is not None
    return out, (f"AdaBN: batch-norm statistics of machine '{machine}' "
                 f"({entry.get('windows')} windows from {entry.get('snapshots')} snapshots)")
