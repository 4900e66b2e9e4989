"""Fine-tuning a fault model on the user's own labelled events: a plain, cancellable function.

:func:`finetune` takes a base model (shipped or the user's), label spans of recordings from
the user's machine, and a mode, and publishes a new *version* of a user model. It never
changes which version is active (see :mod:`desktop.ml.versions`); the caller shows the
held-out metrics of the new and the base model side by side and lets the engineer promote.

Modes, and why there are three:

* ``head``: only the classifier head (FC + batch norm + output layer) learns; the
  convolutional body is frozen, so its features are computed once and every epoch costs
  almost nothing. Least able to move, least able to forget.
* ``adapter``: low-rank adapters (LoRA-style, rank :data:`ADAPTER_RANK`) on the last two
  convolutions and the FC layer, plus the output layer; batch-norm statistics follow the
  new data. The adapters start at zero (the model starts as the base model) and are merged
  into the weights when saving, so the result is a plain network of the base architecture
  and inference needs nothing new.
* ``full`` (the default, :data:`DEFAULT_MODE`): every weight, the body at a tenth of the
  head's learning rate. Best on the bench's hard check; with replay it forgets no more.

New classes are allowed in every mode: the output layer is extended, known classes keep
their rows (and index), new rows start from the layer's usual initialisation.

Honesty rules: the validation split is by event (:func:`~desktop.ml.labelled_data.
split_by_event`); early stopping uses the validation *loss* and restores the best epoch,
so the held-out accuracy reported is mildly optimistic for very few events (it also picked
the epoch), which the result states. The base model is scored on the same held-out events.

Forgetting: when the base model's original training recordings are on this PC (the CWRU
files named in its card), a share of every batch (``replay``) is drawn from their training
region, and accuracy on their validation region is reported before and after. A plant PC
usually lacks them; then replay is skipped and the result says so.
"""

from __future__ import annotations

import copy
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from desktop.ml.architectures import WDCNNEnsemble, member_hyper_parameters
from desktop.ml.card import ModelCard, now_iso
from desktop.ml.errors import InputError, ModelError, TrainingCancelled
from desktop.ml.labelled_data import (
    LabelSpan,
    WindowSet,
    build_windows,
    class_list,
    read_labels_csv,
    split_by_event,
)
from desktop.ml.registry import ModelEntry, resolve
from desktop.ml.train import normalise
from desktop.ml.versions import (
    check_name,
    discard_staging,
    publish,
    staging_dir,
    user_models_dir,
)
from desktop.ml.weights import save_model_folder
from desktop.ml.windows import frame, resample

Mode = Literal["head", "full", "adapter"]
MODES: tuple[str, ...] = ("head", "full", "adapter")
#: Chosen from bench/bench_finetune.py (docs/finetune.md): on the hard check (a new sensor
#: position) ``full`` reached 97 % against 94 % (adapter) and 89 % (head) from four labelled
#: seconds per class, kept the original classes (99.5 % with replay) and took < 3 s.
DEFAULT_MODE: Mode = "full"
ADAPTER_RANK = 4
#: Learning rates per mode: (body, head). The body of ``full`` moves 10x slower so that a
#: few labelled seconds adjust the features rather than overwrite them.
LEARNING_RATES: dict[str, tuple[float, float]] = {
    "head": (0.0, 3e-3), "adapter": (3e-3, 3e-3), "full": (3e-4, 3e-3)}
DEFAULT_REPLAY = 0.25
#: Environment variable naming a folder of the base model's original data (CWRU .mat).
REPLAY_ENV = "LINEWATCH_CWRU_DIR"
#: Cap on replay windows per class, per side (train/eval): enough to anchor old classes.
REPLAY_WINDOWS_PER_CLASS = 60
#: Seconds between progress reports while training (cancel is checked every step).
REPORT_INTERVAL_S = 0.1

ProgressFn = Callable[[float, dict[str, Any]], None]
CancelFn = Callable[[], bool]


@dataclass
class FinetuneResult:
    """Everything a fine-tune dialog shows, and what the CLI prints as JSON."""

    model: str
    version: int
    folder: Path
    mode: str
    parent: str
    classes: list[str]
    new_classes: list[str]
    heldout: dict[str, Any] | None
    base_heldout: dict[str, Any] | None
    original_classes_accuracy: float | None
    base_original_classes_accuracy: float | None
    replay: dict[str, Any]
    history: list[dict[str, float]]
    epochs_run: int
    best_epoch: int
    seconds: float
    labels: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "folder": str(self.folder),
                "mode": self.mode, "parent": self.parent, "classes": self.classes,
                "new_classes": self.new_classes, "heldout": self.heldout,
                "base_heldout": self.base_heldout,
                "original_classes_accuracy": self.original_classes_accuracy,
                "base_original_classes_accuracy": self.base_original_classes_accuracy,
                "replay": self.replay, "history": self.history, "epochs_run": self.epochs_run,
                "best_epoch": self.best_epoch, "seconds": round(self.seconds, 2),
                "labels": self.labels, "notes": self.notes}


# ---------------------------------------------------------------------------- adapters
class LoRAConv1d(nn.Module):
    """``conv(x) + up(down(x))``: a rank-``r`` update of a frozen convolution.

    ``down`` has the base kernel, stride and padding with ``r`` outputs; ``up`` is a 1x1
    convolution starting at zero, so training starts from the base model exactly. The
    product is again a convolution of the base shape, so :meth:`merged` folds it back.
    """

    def __init__(self, base: nn.Conv1d, rank: int) -> None:
        super().__init__()
        self.base = base
        self.down = nn.Conv1d(base.in_channels, rank, base.kernel_size[0], stride=base.stride[0],
                              padding=base.padding[0], bias=False)
        self.up = nn.Conv1d(rank, base.out_channels, 1, bias=False)
        nn.init.zeros_(self.up.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.up(self.down(x))

    @torch.no_grad()
    def merged(self) -> nn.Conv1d:
        delta = torch.einsum("or,rik->oik", self.up.weight[:, :, 0], self.down.weight)
        self.base.weight += delta
        return self.base


class LoRALinear(nn.Module):
    """``linear(x) + up(down(x))`` with ``up`` starting at zero; folds back like the conv."""

    def __init__(self, base: nn.Linear, rank: int) -> None:
        super().__init__()
        self.base = base
        self.down = nn.Linear(base.in_features, rank, bias=False)
        self.up = nn.Linear(rank, base.out_features, bias=False)
        nn.init.zeros_(self.up.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.up(self.down(x))

    @torch.no_grad()
    def merged(self) -> nn.Linear:
        self.base.weight += self.up.weight @ self.down.weight
        return self.base


def add_adapters(model: nn.Module, rank: int = ADAPTER_RANK) -> list[nn.Parameter]:
    """Wrap the last two convolutions and the FC layer; returns the adapter parameters."""
    features: nn.Sequential = model.features  # type: ignore[assignment]
    conv_idx = [i for i, m in enumerate(features) if isinstance(m, nn.Conv1d)][-2:]
    params: list[nn.Parameter] = []
    for i in conv_idx:
        features[i] = LoRAConv1d(features[i], rank)  # type: ignore[arg-type]
        params += list(features[i].down.parameters()) + list(features[i].up.parameters())
    head: nn.Sequential = model.head  # type: ignore[assignment]
    fc_idx = next(i for i, m in enumerate(head) if isinstance(m, nn.Linear))
    head[fc_idx] = LoRALinear(head[fc_idx], rank)  # type: ignore[arg-type]
    params += list(head[fc_idx].down.parameters()) + list(head[fc_idx].up.parameters())
    return params


def merge_adapters(model: nn.Module) -> nn.Module:
    """Fold every adapter into its base layer: the model is a plain base network again."""
    for seq in (model.features, model.head):
        for i, m in enumerate(seq):  # type: ignore[arg-type]
            if isinstance(m, LoRAConv1d | LoRALinear):
                seq[i] = m.merged()  # type: ignore[index]
    return model


def extend_head(model: nn.Module, n_classes: int) -> None:
    """Grow the output layer to ``n_classes``; known classes keep their rows exactly."""
    head: nn.Sequential = model.head  # type: ignore[assignment]
    old: nn.Linear = head[-1]  # type: ignore[assignment]
    if n_classes == old.out_features:
        return
    new = nn.Linear(old.in_features, n_classes)
    with torch.no_grad():
        new.weight[:old.out_features] = old.weight
        new.bias[:old.out_features] = old.bias
        # A new class starts no more likely than an average known one.
        new.bias[old.out_features:] = old.bias.mean()
    head[-1] = new


# ---------------------------------------------------------------------------- metrics
def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str]
                           ) -> dict[str, Any]:
    """Accuracy, per-class recall/precision/F1 (classes present in truth or prediction),
    and the confusion matrix (rows = true, columns = predicted, over ``classes``)."""
    k = len(classes)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (y_true, y_pred), 1)
    per_class = {}
    for i, c in enumerate(classes):
        support, predicted, hit = confusion[i].sum(), confusion[:, i].sum(), confusion[i, i]
        if support == 0 and predicted == 0:
            continue
        recall = hit / support if support else 0.0
        precision = hit / predicted if predicted else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {"recall": round(float(recall), 4), "precision": round(float(precision), 4),
                        "f1": round(float(f1), 4), "support": int(support)}
    n = int(y_true.shape[0])
    return {"windows": n,
            "accuracy": round(float(np.mean(y_true == y_pred)), 4) if n else None,
            "per_class": per_class, "classes": list(classes), "confusion": confusion.tolist()}


def base_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: Sequence[str],
                 n_base: int) -> dict[str, Any]:
    """The base model on the same windows: ``accuracy`` over the classes it knows only;
    ``accuracy_all_windows`` counts windows of classes new to it as wrong (it cannot name
    them). Per-class entries of new classes are marked ``known_to_base: false``."""
    known = y_true < n_base
    out = classification_metrics(y_true, y_pred, classes)
    out["accuracy"] = (round(float(np.mean(y_true[known] == y_pred[known])), 4)
                       if known.any() else None)
    out["accuracy_all_windows"] = (round(float(np.mean(y_true == y_pred)), 4)
                                   if y_true.shape[0] else None)
    out["unknown_class_windows"] = int((~known).sum())
    out["windows"] = int(known.sum())
    for i, c in enumerate(classes):
        if i >= n_base and c in out["per_class"]:
            out["per_class"][c]["known_to_base"] = False
    return out


# ---------------------------------------------------------------------------- replay data
@dataclass
class ReplayData:
    """The base model's own training data, cut by its card's time split."""

    train_x: np.ndarray
    train_y: np.ndarray
    eval_x: np.ndarray
    eval_y: np.ndarray
    files: list[str]
    note: str

    @property
    def available(self) -> bool:
        return self.train_x.shape[0] > 0


def replay_dirs(explicit: Path | None) -> list[Path]:
    """Where the base model's original recordings may be, most specific first."""
    if explicit is not None:
        return [Path(explicit)]
    found = []
    if os.environ.get(REPLAY_ENV):
        found.append(Path(os.environ[REPLAY_ENV]).expanduser())
    from desktop.core import paths

    found.append(paths.data_dir() / "datasets" / "cwru")
    # The development machines' copy (data README); absent on a plant PC.
    found.append(Path("/work/shared/data/cwru"))
    return found


def _base_training(card: ModelCard) -> dict[str, Any]:
    """Files and split of the *original* training, also through a chain of fine-tunes."""
    td = card.training_data
    inherited = td.get("base_training")
    return inherited if isinstance(inherited, dict) else td


def load_replay(card: ModelCard, data_dir: Path | None, window: int, seed: int = 0,
                check: Callable[[float, str], None] | None = None) -> ReplayData:
    """Training-region windows (replay) and validation-region windows (forgetting check)
    of the base model's original recordings, if they are on this PC.

    The split is the base card's: "first 80% training" → replay from the first 80 % of each
    file, forgetting measured on the last 20 % (data the base model did not train on).
    """
    from desktop.ml.data_cwru import RATE, load_signal, parse_name

    empty = np.empty((0, window)), np.empty(0, dtype=np.int64)
    td = _base_training(card)
    names = [n for n in td.get("files", []) if isinstance(n, str)]
    if not names:
        return ReplayData(*empty, *empty, [], "the base model's card names no training "
                                              "files: replay and the forgetting check skipped")
    folder = next((d for d in replay_dirs(data_dir) if d.is_dir()
                   and any((d / n).is_file() for n in names)), None)
    if folder is None:
        where = ", ".join(str(d) for d in replay_dirs(data_dir))
        return ReplayData(*empty, *empty, [], f"the base model's training recordings are not "
                                              f"on this PC (looked in {where}): replay and "
                                              f"the forgetting check skipped")
    m = re.search(r"first (\d+)\s*%", str(td.get("split", "")))
    cut = int(m.group(1)) / 100 if m else 0.8
    rng = np.random.default_rng(seed)
    parts: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    used = []
    for i, n in enumerate(names):
        if check is not None:
            check(i / len(names), f"reading replay data {n}")
        f = parse_name(folder / n)
        if f is None or f.label not in card.classes or not f.path.is_file():
            continue
        x = load_signal(f)
        if card.sample_rate != RATE:
            x = resample(x, RATE, card.sample_rate)
        k = round(cut * x.shape[0])
        tr, ev = parts.setdefault(card.classes.index(f.label), ([], []))
        tr.append(frame(x[:k], window, window // 2))
        ev.append(frame(x[k:], window, window // 2))
        used.append(n)
    xs: dict[str, list[np.ndarray]] = {"tx": [], "ty": [], "ex": [], "ey": []}
    for c, (tr, ev) in sorted(parts.items()):
        for key_x, key_y, chunks in (("tx", "ty", tr), ("ex", "ey", ev)):
            w = np.concatenate(chunks)
            if w.shape[0] > REPLAY_WINDOWS_PER_CLASS:
                w = w[np.sort(rng.choice(w.shape[0], REPLAY_WINDOWS_PER_CLASS, replace=False))]
            xs[key_x].append(np.asarray(w, dtype=np.float64))
            xs[key_y].append(np.full(w.shape[0], c, dtype=np.int64))
    if not used:
        return ReplayData(*empty, *empty, [], f"none of the base model's training files "
                                              f"in {folder} could be used: replay skipped")
    return ReplayData(np.concatenate(xs["tx"]), np.concatenate(xs["ty"]),
                      np.concatenate(xs["ex"]), np.concatenate(xs["ey"]), used,
                      f"{len(used)} of the base model's {len(names)} training recordings "
                      f"found in {folder}")


# ---------------------------------------------------------------------------- the job
def finetune(base: str | Path, spans: Sequence[LabelSpan] | str | Path, name: str,
             mode: Mode = DEFAULT_MODE, epochs: int = 30, val_fraction: float = 0.25,
             progress: ProgressFn | None = None, cancel: CancelFn | None = None,
             replay: float = DEFAULT_REPLAY, seed: int = 0, *, rate: float | None = None,
             replay_data: Path | None = None, batch_size: int = 64, patience: int = 5,
             hop: int | None = None, command: str = "") -> FinetuneResult:
    """Fine-tune ``base`` on labelled ``spans`` and publish the result as a new version of
    ``name`` (``<user models>/<name>/v<k>``). The active version is never changed.

    ``spans``: :class:`LabelSpan` rows or the path of a labels CSV. ``replay``: share of every
    batch drawn from the base model's original training data when it is on this PC.
    ``rate``: sample rate for recordings that do not state one.

    ``progress(fraction, info)`` gets a monotonic fraction ending at 1.0 and a dict with
    ``stage`` (``loading``/``training``/``evaluating``/``saving``/``done``) and ``message``;
    training reports add ``epoch``, ``epochs``, and at the end of each epoch ``history``
    (the new row: ``epoch``, ``loss``, ``acc``, ``val_loss``, ``val_acc``). Every report is
    a cancellation point and ``cancel()`` is also polled every training step; when it
    returns True, :class:`TrainingCancelled` is raised and nothing has been written.
    """
    t0 = time.perf_counter()
    if mode not in MODES:
        raise InputError(f"unknown fine-tune mode {mode!r} (one of {', '.join(MODES)})")
    if not 0 <= replay < 1:
        raise InputError(f"replay must be in [0, 1), got {replay}")
    if epochs < 1:
        raise InputError("epochs must be at least 1")
    last = [0.0, 0.0]  # fraction, time of last report

    def report(fraction: float, info: dict[str, Any], force: bool = True) -> None:
        fraction = max(last[0], min(1.0, fraction))
        now = time.perf_counter()
        if progress is not None and (force or now - last[1] >= REPORT_INTERVAL_S):
            progress(fraction, info)
            last[1] = now
        last[0] = fraction
        if cancel is not None and cancel():
            raise TrainingCancelled("fine-tuning cancelled; nothing was saved")

    def stage(lo: float, hi: float, what: str) -> Callable[[float, str], None]:
        return lambda f, msg: report(lo + (hi - lo) * f, {"stage": what, "message": msg})

    report(0.0, {"stage": "loading", "message": f"loading base model {base}"})
    entry, card = _check_target(base, name)
    torch.manual_seed(seed)
    from desktop.ml.inference import FaultPredictor

    base_model = FaultPredictor(card, entry.folder, device="cpu").model.eval()
    if isinstance(spans, str | Path):
        spans = read_labels_csv(spans)
    spans = list(spans)
    classes = class_list(card.classes, spans)
    n_base = len(card.classes)
    data = build_windows(spans, classes, card.sample_rate, card.window, hop,
                         card.input_channels, rate, check=stage(0.0, 0.06, "loading"))
    train_idx, val_idx = split_by_event(data, val_fraction, seed)
    notes = []
    if val_idx.shape[0] == 0:
        notes.append("no class has two labelled events, so nothing could be held out: no "
                     "held-out metrics and no early stopping (label more events)")
    single = sorted(c for c, n in data.event_counts().items() if n < 2)
    if single and val_idx.shape[0]:
        notes.append(f"classes with one event are in training only (not in the held-out "
                     f"metrics): {', '.join(single)}")
    rep = load_replay(card, replay_data, card.window, seed, check=stage(0.06, 0.1, "loading"))
    if not rep.available:
        notes.append(rep.note)

    norm = card.normalisation
    xt, yt = normalise(data.windows[train_idx], norm), data.labels[train_idx]
    xv, yv = normalise(data.windows[val_idx], norm), data.labels[val_idx]
    xr, yr = normalise(rep.train_x, norm), rep.train_y
    use_replay = replay > 0 and rep.available

    start_model, architecture, start_hp = fine_tunable(base_model, card)
    model = copy.deepcopy(start_model)
    extend_head(model, len(classes))
    trainable, forward_input = _prepare(model, mode)
    body_lr, head_lr = LEARNING_RATES[mode]
    groups = [{"params": [p for p in trainable if _in_head(model, p)], "lr": head_lr},
              {"params": [p for p in trainable if not _in_head(model, p)], "lr": body_lr}]
    opt = torch.optim.AdamW([g for g in groups if g["params"]], weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    # head mode: the frozen body's features are computed once; the loop feeds the head.
    ft, fv, fr = (forward_input(x) for x in (xt, xv, xr))
    step_net = model.head if mode == "head" else model

    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(yt == c) for c in np.unique(yt)]
    n_rep = round(batch_size * replay) if use_replay else 0
    n_new = batch_size - n_rep
    steps = max(4, math.ceil(yt.shape[0] / n_new))
    total_steps = epochs * steps
    history: list[dict[str, float]] = []
    best = (math.inf, 0, copy.deepcopy(step_net.state_dict()))
    report(0.1, {"stage": "training", "message": "training", "epoch": 0, "epochs": epochs})
    epoch = 0
    for epoch in range(1, epochs + 1):
        _set_train(model, mode)
        losses, hits, seen = [], 0, 0
        for s in range(steps):
            cls = rng.integers(0, len(by_class), size=n_new)
            idx = np.array([by_class[c][rng.integers(0, by_class[c].shape[0])] for c in cls])
            xb, yb = ft[idx], torch.from_numpy(yt[idx])
            if n_rep:
                r = rng.integers(0, fr.shape[0], size=n_rep)
                xb = torch.cat([xb, fr[r]])
                yb = torch.cat([yb, torch.from_numpy(yr[r])])
            opt.zero_grad(set_to_none=True)
            logits = step_net(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            hits += int((logits.argmax(1) == yb).sum())
            seen += int(yb.shape[0])
            done = (epoch - 1) * steps + s + 1
            report(0.1 + 0.8 * done / total_steps,
                   {"stage": "training", "message": f"epoch {epoch}/{epochs}",
                    "epoch": epoch, "epochs": epochs}, force=False)
        row = {"epoch": epoch, "loss": round(float(np.mean(losses)), 5),
               "acc": round(hits / seen, 4)}
        if fv.shape[0]:
            val_loss, val_acc = _evaluate(step_net, fv, yv, loss_fn)
            row.update(val_loss=round(val_loss, 5), val_acc=round(val_acc, 4))
            if val_loss < best[0] - 1e-4:
                best = (val_loss, epoch, copy.deepcopy(step_net.state_dict()))
        history.append(row)
        report(0.1 + 0.8 * epoch * steps / total_steps,
               {"stage": "training", "message": _row_text(row, epochs), "epoch": epoch,
                "epochs": epochs, "history": row})
        if fv.shape[0] and epoch - best[1] >= patience:
            break
    best_epoch = epoch
    if fv.shape[0]:
        step_net.load_state_dict(best[2])
        best_epoch = best[1]
    if mode == "adapter":
        merge_adapters(model)
    model.eval()

    report(0.9, {"stage": "evaluating", "message": "scoring held-out events"})
    heldout = base_held = None
    if xv.shape[0]:
        heldout = classification_metrics(yv, _predict(model, xv), classes)
        base_held = base_metrics(yv, _predict(base_model, xv), classes, n_base)
    orig_acc = base_orig = None
    if rep.eval_x.shape[0]:
        xe = normalise(rep.eval_x, norm)
        orig_acc = round(float(np.mean(_predict(model, xe) == rep.eval_y)), 4)
        base_orig = round(float(np.mean(_predict(base_model, xe) == rep.eval_y)), 4)

    parent = f"{entry.name}@{card.version}"
    labels_info = {"count": len(spans), "windows": len(data),
                   "train_windows": int(train_idx.shape[0]),
                   "heldout_windows": int(val_idx.shape[0]),
                   "classes": {c: n for c, n in data.event_counts().items()},
                   "recordings": data.recordings,
                   "heldout_events": sorted({int(e) for e in data.events[val_idx]})}
    replay_info = {"used": use_replay, "share": replay if use_replay else 0.0,
                   "windows": int(rep.train_x.shape[0]) if use_replay else 0,
                   "files": rep.files, "note": rep.note}
    metrics = {"heldout": heldout, "base_heldout": base_held,
               "original_classes_accuracy": orig_acc,
               "base_original_classes_accuracy": base_orig,
               "history": history, "epochs_run": epoch, "best_epoch": best_epoch,
               "note": "held-out = whole labelled events kept out of training (split by "
                       "event); the best epoch was chosen on them, by loss"}
    report(0.95, {"stage": "saving", "message": f"saving {name}"})
    new_card = ModelCard(
        name=name, kind="fault", architecture=architecture,
        hyper_parameters={**start_hp, "n_classes": len(classes)},
        classes=classes, locations=dict(card.locations), sample_rate=card.sample_rate,
        window=card.window, hop=card.hop, input_channels=list(card.input_channels),
        normalisation=norm,
        training_data={
            "mode": mode, "labels": labels_info, "replay": replay_info,
            "base_training": {k: v for k, v in _base_training(card).items()
                              if k in ("source", "channel", "files", "split", "loads_hp")},
            "finetune_config": {"epochs": epochs, "val_fraction": val_fraction,
                                "replay": replay, "seed": seed, "batch_size": batch_size,
                                "patience": patience, "hop": hop or card.window // 4,
                                "learning_rates": list(LEARNING_RATES[mode]),
                                "adapter_rank": ADAPTER_RANK if mode == "adapter" else None},
            "training_seconds": round(time.perf_counter() - t0, 1),
            "parameters": int(sum(p.numel() for p in model.parameters())),
        },
        training_command=command, metrics=metrics, version="0", parent=parent,
        created=now_iso(),
        description=f"{card.description or card.name}; "
                    + ("its first member " if start_model is not base_model else "")
                    + f"fine-tuned ({mode}) on {len(spans)} labelled events from {parent}",
    )
    staging = staging_dir(name)
    try:
        save_model_folder(staging, new_card, model.state_dict())
        report(0.98, {"stage": "saving", "message": f"publishing {name}"})
        version, folder = publish(staging, name)
    except BaseException:
        discard_staging(staging)
        raise
    result = FinetuneResult(
        model=name, version=version, folder=folder, mode=mode, parent=parent, classes=classes,
        new_classes=classes[n_base:], heldout=heldout, base_heldout=base_held,
        original_classes_accuracy=orig_acc, base_original_classes_accuracy=base_orig,
        replay=replay_info, history=history, epochs_run=epoch, best_epoch=best_epoch,
        seconds=time.perf_counter() - t0, labels=labels_info, notes=notes)
    if progress is not None:
        progress(1.0, {"stage": "done", "message": f"{name} v{version} saved",
                       "result": result.to_json()})
    return result


def _check_target(base: str | Path, name: str) -> tuple[ModelEntry, ModelCard]:
    """The base must be a fault classifier; the new name must be free for versions."""
    from desktop.core import paths
    from desktop.ml.card import CARD_FILE

    entry = resolve(base)
    assert entry.card is not None
    if entry.card.kind != "fault":
        raise ModelError(f"'{entry.name}' is an {entry.card.kind} model; only fault "
                         f"classifiers can be fine-tuned")
    check_name(name)
    if (paths.shipped_models_dir() / name / CARD_FILE).exists():
        raise ModelError(f"'{name}' is the name of a model that ships with Linewatch; choose "
                         f"another name for the fine-tuned model")
    if (user_models_dir() / name / CARD_FILE).exists():
        raise ModelError(f"'{name}' is an unversioned user model folder; choose another name")
    return entry, entry.card


def fine_tunable(base_model: nn.Module, card: ModelCard
                 ) -> tuple[nn.Module, str, dict[str, Any]]:
    """The network fine-tuning starts from, with the architecture and hyper-parameters of
    the card it will get.

    An ensemble base (``wdcnn_ensemble``) is fine-tuned from its first member, a plain WDCNN:
    the ensemble pays off where a model meets loads it never saw, while a fine-tuned model
    has seen the new rig's own labels; training every member would multiply the time (the
    bar is one minute on two cores) for no measured gain there. The base figures beside the
    new model are still those of the whole ensemble.
    """
    if isinstance(base_model, WDCNNEnsemble):
        return (base_model.members[0], "wdcnn",
                member_hyper_parameters(card.hyper_parameters))
    return base_model, card.architecture, dict(card.hyper_parameters)


def _prepare(model: nn.Module, mode: str
             ) -> tuple[list[nn.Parameter], Callable[[np.ndarray], torch.Tensor]]:
    """Freeze what the mode keeps; return the trainable parameters and the input mapping."""
    for p in model.parameters():
        p.requires_grad_(mode == "full")
    if mode == "full":
        return list(model.parameters()), _tensor
    if mode == "head":
        for p in model.head.parameters():
            p.requires_grad_(True)
        model.eval()

        @torch.no_grad()
        def features(x: np.ndarray) -> torch.Tensor:
            out = [model.features(_tensor(x[i:i + 512])) for i in range(0, x.shape[0], 512)]
            return torch.cat(out) if out else torch.empty(0)

        return list(model.head.parameters()), features
    params = add_adapters(model)
    out_layer = model.head[-1]
    for p in out_layer.parameters():
        p.requires_grad_(True)
    return params + list(out_layer.parameters()), _tensor


def _set_train(model: nn.Module, mode: str) -> None:
    """Batch-norm statistics follow the training batches in ``full`` and ``adapter`` mode
    (in ``adapter`` only the statistics move, its scale and shift stay frozen): a new sensor
    or load shifts feature statistics, and with frozen statistics the adapter reached
    ~90 % instead of ~94 % on the fan-end check. ``head`` keeps the frozen body's."""
    if mode == "head":
        model.eval()
        model.head.train()
    else:
        model.train()


def _in_head(model: nn.Module, param: nn.Parameter) -> bool:
    return any(param is p for p in model.head.parameters())


def _tensor(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).unsqueeze(1)


@torch.no_grad()
def _evaluate(net: nn.Module, x: torch.Tensor, y: np.ndarray, loss_fn: nn.Module
              ) -> tuple[float, float]:
    was = net.training
    net.eval()
    logits = torch.cat([net(x[i:i + 512]) for i in range(0, x.shape[0], 512)])
    target = torch.from_numpy(y)
    loss = float(loss_fn(logits, target))
    acc = float((logits.argmax(1) == target).float().mean())
    net.train(was)
    return loss, acc


@torch.no_grad()
def _predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    out = [model(_tensor(x[i:i + 512])).argmax(1).numpy() for i in range(0, x.shape[0], 512)]
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def _row_text(row: dict[str, float], epochs: int) -> str:
    text = f"epoch {int(row['epoch'])}/{epochs} loss {row['loss']:.3f} acc {row['acc']:.3f}"
    if "val_loss" in row:
        text += f" val loss {row['val_loss']:.3f} val acc {row['val_acc']:.3f}"
    return text


def windows_summary(data: WindowSet) -> dict[str, Any]:
    """Counts a labelling dialog shows before training (windows and events per class)."""
    return {"windows": data.class_counts(), "events": data.event_counts(),
            "recordings": data.recordings}
