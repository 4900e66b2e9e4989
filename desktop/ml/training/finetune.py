"""Fine-tuning a fault model on the user's own labelled events: a plain, cancellable function.

:func:`finetune` takes a base model (shipped or the user's), labelled events of recordings
from the user's machine, and a mode, and publishes a new *version* of a user model. It never
changes which version is active (see :mod:`desktop.ml.model_files.versions`); the caller
shows the held-out metrics of the new and the base model side by side and lets the engineer
promote.

Modes (:data:`desktop.ml.constants.MODES`), and why there are three:

* ``head``: only the classifier head (FC + batch norm + output layer) learns; the
  convolutional body is frozen, so its features are computed once and every epoch costs
  almost nothing. Least able to move, least able to forget.
* ``adapter``: low-rank adapters (:mod:`desktop.ml.training.adapters`) on the last two
  convolutions and the FC layer, plus the output layer; batch-norm statistics follow the
  new data. The adapters are merged into the weights when saving, so the result is a plain
  network of the base architecture and inference needs nothing new.
* ``full`` (the default): every weight, the body at a tenth of the head's learning rate.
  Best on the bench's hard check; with replay it forgets no more.
  A plain WDCNN is first grown into ``wdcnn_spectral`` (an envelope-spectrum branch beside
  the body, :func:`~desktop.ml.training.adapters.add_spectral_branch`), and the labelled
  windows are augmented (speed, a random smooth filter, noise: :func:`augment_windows`).
  Why: on the new-rig proxy (a sensor the model never saw, labels from one load) the plain
  recipe learned the labelled load's resonances and called one recording of the other load
  the wrong race (83 %); with both, 98.6-100 % (docs/finetune.md). ``envelope=False`` /
  ``augment=False`` give the previous recipe.

New classes are allowed in every mode: the output layer is extended, known classes keep
their rows (and index), new rows start from the layer's usual initialisation.

Honesty rules: the validation split is by event (:func:`~desktop.ml.training.labelled_data.
split_by_event`); early stopping uses the validation *loss* and restores the best epoch,
so the held-out accuracy reported is mildly optimistic for very few events (it also picked
the epoch), which the result states. The base model is scored on the same held-out events.
With no held-out event (one event per class) nothing checks the result: the history rows
carry ``val_loss``/``val_accuracy`` = None, the result's ``checked`` is False and its notes
say so (the dialog asks for an explicit confirmation before promoting such a version).

Forgetting: a share of every batch (``replay``) is drawn from the base model's replay data
(:mod:`desktop.ml.training.replay`: the replay set shipped beside its weights, or a folder
of its original recordings the caller gives), and accuracy on the validation part of that
data is reported before and after.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.labels.event import LabelEvent
from desktop.ml.architectures import WDCNN, WDCNNEnsemble, member_hyper_parameters
from desktop.ml.constants import (
    ADAPTER_RANK,
    AUGMENTATION,
    DEFAULT_AUGMENT,
    DEFAULT_ENVELOPE,
    DEFAULT_EPOCHS,
    DEFAULT_MODE,
    DEFAULT_REPLAY,
    DEFAULT_VAL_FRACTION,
    LEARNING_RATES,
    MODES,
    UNCHECKED_NOTE,
    Mode,
)
from desktop.ml.errors import ModelError
from desktop.ml.model_files.card import ModelCard, now_iso
from desktop.ml.model_files.forgetting import forgetting_warning
from desktop.ml.model_files.registry import ModelEntry, resolve
from desktop.ml.model_files.versions import check_version_name, publish_new
from desktop.ml.model_files.weights import save_model_folder
from desktop.ml.training.adapters import (
    add_adapters,
    add_spectral_branch,
    extend_head,
    merge_adapters,
)
from desktop.ml.training.class_names import map_class_names
from desktop.ml.training.labelled_data import (
    WindowSet,
    build_windows,
    class_list,
    read_label_file,
    split_by_event,
)
from desktop.ml.training.metrics import base_metrics, classification_metrics
from desktop.ml.training.replay import base_training, copy_replay_set, load_replay
from desktop.ml.training.train import normalise

#: Seconds between progress reports while training (cancel is checked every step).
REPORT_INTERVAL_S = 0.1
#: The keys of every history row, with or without held-out events.
HISTORY_KEYS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy")


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
    history: list[dict[str, Any]]
    epochs_run: int
    best_epoch: int
    seconds: float
    labels: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    #: labels renamed to the base classes they mean (:mod:`~desktop.ml.training.class_names`)
    class_map: dict[str, str] = field(default_factory=dict)
    #: the first line of the result when the base classes were forgotten, else None
    #: (:func:`~desktop.ml.model_files.forgetting.forgetting_warning`)
    warning: str | None = None

    @property
    def checked(self) -> bool:
        """True when held-out events scored the result (False: nothing checked it)."""
        return self.heldout is not None

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "version": self.version, "folder": str(self.folder),
                "mode": self.mode, "parent": self.parent, "classes": self.classes,
                "new_classes": self.new_classes, "heldout": self.heldout,
                "base_heldout": self.base_heldout, "checked": self.checked,
                "original_classes_accuracy": self.original_classes_accuracy,
                "base_original_classes_accuracy": self.base_original_classes_accuracy,
                "replay": self.replay, "history": self.history, "epochs_run": self.epochs_run,
                "best_epoch": self.best_epoch, "seconds": round(self.seconds, 2),
                "labels": self.labels, "notes": self.notes, "class_map": self.class_map,
                "warning": self.warning}


def finetune(base: str | Path, spans: Sequence[LabelEvent] | str | Path, name: str,
             mode: Mode = DEFAULT_MODE, epochs: int = DEFAULT_EPOCHS,
             val_fraction: float = DEFAULT_VAL_FRACTION, task: TaskState | None = None,
             replay: float = DEFAULT_REPLAY, seed: int = 0, *, rate: float | None = None,
             replay_data: Path | None = None, batch_size: int = 64, patience: int = 5,
             hop: int | None = None, command: str = "", augment: bool = DEFAULT_AUGMENT,
             envelope: bool = DEFAULT_ENVELOPE,
             class_map: Mapping[str, str] | None = None) -> FinetuneResult:
    """Fine-tune ``base`` on labelled events and publish the result as a new version of
    ``name`` (``<user models>/<name>/v<k>``). The active version is never changed.

    ``spans``: :class:`~desktop.labels.event.LabelEvent` objects or the path of a label
    file (.csv/.json, read by :mod:`desktop.labels.io`). ``replay``: share of every batch
    drawn from the base model's replay data: ``replay_data`` (a folder of its original
    recordings) when given, else the replay set shipped beside its weights. ``rate``: sample
    rate for recordings that do not state one. ``augment``: speed, filter (EQ) and noise
    augmentation of the labelled windows (not in ``head`` mode, whose features are computed
    once). ``envelope``: in ``full`` mode, grow a plain WDCNN into ``wdcnn_spectral`` (an
    envelope-spectrum branch beside the convolutional body, see :func:`~desktop.ml.training.
    adapters.add_spectral_branch`). Both are on by default (docs/finetune.md, new-rig proxy).
    ``class_map``: label → base class (``--map-classes``); labels that mean one base class
    are mapped without it, labels that mean several are refused
    (:func:`~desktop.ml.training.class_names.map_class_names`). When accuracy on the base
    model's held-out classes falls by more than
    :data:`~desktop.ml.model_files.forgetting.FORGET_POINTS` points the result's
    ``warning`` says so (also in the card's metrics).

    ``task.report(fraction, message, **info)`` gets a monotonic fraction ending at 1.0 and
    info with ``stage`` (``loading``/``training``/``evaluating``/``saving``/``done``);
    training reports add ``epoch``, ``epochs``, and at the end of each epoch ``history``
    (the new row, keys :data:`HISTORY_KEYS`; ``val_*`` are None without held-out events).
    Every report is a cancellation point and the cancel flag is also checked every
    training step; cancelling raises :class:`~desktop.core.tasks.Cancelled` and nothing has
    been written. Raises :class:`InputError` for bad arguments or labels and
    :class:`ModelError` for an unusable base or name.
    """
    t0 = time.perf_counter()
    task = task if task is not None else TaskState()
    if mode not in MODES:
        raise InputError(f"unknown fine-tune mode {mode!r} (one of {', '.join(MODES)})")
    if not 0 <= replay < 1:
        raise InputError(f"replay must be in [0, 1), got {replay}")
    if epochs < 1:
        raise InputError("epochs must be at least 1")
    last = [0.0, 0.0]  # fraction, time of the last report

    def report(fraction: float, message: str, force: bool = True, **info: Any) -> None:
        """Monotonic progress; unforced reports at most every REPORT_INTERVAL_S (every
        call is a cancellation point either way)."""
        fraction = max(last[0], min(1.0, fraction))
        last[0] = fraction
        now = time.perf_counter()
        if force or now - last[1] >= REPORT_INTERVAL_S:
            task.report(fraction, message, **info)
            last[1] = now
        else:
            task.check()

    report(0.0, f"loading base model {base}", stage="loading")
    entry, card = _check_target(base, name)
    torch.manual_seed(seed)
    from desktop.ml.inference.predictors import FaultPredictor

    base_model = FaultPredictor(card, entry.folder, device="cpu",
                                backend="torch").model.eval()
    if isinstance(spans, str | Path):
        spans = read_label_file(spans)
    spans = list(spans)
    mapping, map_notes = map_class_names(card.classes, card.locations,
                                         [s.label for s in spans], class_map)
    if mapping:
        spans = [dataclasses.replace(s, label=mapping.get(s.label, s.label)) for s in spans]
    classes = class_list(card.classes, spans)
    n_base = len(card.classes)
    data = build_windows(spans, classes, card.sample_rate, card.window, hop,
                         card.input_channels, rate, task=task.part(0.0, 0.06, stage="loading"))
    train_idx, val_idx = split_by_event(data, val_fraction, seed)
    notes = list(map_notes)
    if val_idx.shape[0] == 0:
        notes.append(f"{UNCHECKED_NOTE} (no class has two labelled events, so nothing could "
                     f"be held out: no held-out metrics and no early stopping; label more "
                     f"events)")
    single = sorted(c for c, n in data.event_counts().items() if n < 2)
    if single and val_idx.shape[0]:
        notes.append(f"classes with one event are in training only (not in the held-out "
                     f"metrics): {', '.join(single)}")
    rep = load_replay(card, entry.folder, replay_data, seed,
                      task=task.part(0.06, 0.1, stage="loading"))
    if not rep.available:
        notes.append(rep.note)

    norm = card.normalisation
    xt, yt = normalise(data.windows[train_idx], norm), data.labels[train_idx]
    xv, yv = normalise(data.windows[val_idx], norm), data.labels[val_idx]
    xr, yr = normalise(rep.train_x, norm), rep.train_y
    use_replay = replay > 0 and rep.available

    start_model, architecture, start_hp = fine_tunable(base_model, card)
    model = copy.deepcopy(start_model)
    grown = envelope and mode == "full" and isinstance(model, WDCNN)
    if grown:
        model, start_hp = add_spectral_branch(model, {**start_hp, "n_classes": n_base})
        architecture = "wdcnn_spectral"
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
    raw_t = data.windows[train_idx]
    by_class = [np.flatnonzero(yt == c) for c in np.unique(yt)]
    n_rep = round(batch_size * replay) if use_replay else 0
    n_new = batch_size - n_rep
    steps = max(4, math.ceil(yt.shape[0] / n_new))
    total_steps = epochs * steps
    history: list[dict[str, Any]] = []
    best = (math.inf, 0, copy.deepcopy(step_net.state_dict()))
    report(0.1, "training", stage="training", epoch=0, epochs=epochs)
    epoch = 0
    for epoch in range(1, epochs + 1):
        _set_train(model, mode)
        losses, hits, seen = [], 0, 0
        for s in range(steps):
            cls = rng.integers(0, len(by_class), size=n_new)
            idx = np.array([by_class[c][rng.integers(0, by_class[c].shape[0])] for c in cls])
            xb, yb = ft[idx], torch.from_numpy(yt[idx])
            if augment and mode != "head":
                xb = _tensor(normalise(augment_windows(raw_t[idx], rng), norm))
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
            report(0.1 + 0.8 * done / total_steps, f"epoch {epoch}/{epochs}", force=False,
                   stage="training", epoch=epoch, epochs=epochs)
        row: dict[str, Any] = {"epoch": epoch, "loss": round(float(np.mean(losses)), 5),
                               "accuracy": round(hits / seen, 4), "val_loss": None,
                               "val_accuracy": None}
        if fv.shape[0]:
            val_loss, val_acc = _evaluate(step_net, fv, yv, loss_fn)
            row.update(val_loss=round(val_loss, 5), val_accuracy=round(val_acc, 4))
            if val_loss < best[0] - 1e-4:
                best = (val_loss, epoch, copy.deepcopy(step_net.state_dict()))
        history.append(row)
        report(0.1 + 0.8 * epoch * steps / total_steps, _row_text(row, epochs),
               stage="training", epoch=epoch, epochs=epochs, history=row)
        if fv.shape[0] and epoch - best[1] >= patience:
            break
    best_epoch = epoch
    if fv.shape[0]:
        step_net.load_state_dict(best[2])
        best_epoch = best[1]
    if mode == "adapter":
        merge_adapters(model)
    model.eval()

    report(0.9, "scoring held-out events", stage="evaluating")
    heldout = base_held = None
    if xv.shape[0]:
        heldout = classification_metrics(yv, _predict(model, xv), classes)
        base_held = base_metrics(yv, _predict(base_model, xv), classes, n_base)
    orig_acc = base_orig = None
    if rep.eval_x.shape[0]:
        xe = normalise(rep.eval_x, norm)
        orig_acc = round(float(np.mean(_predict(model, xe) == rep.eval_y)), 4)
        base_orig = round(float(np.mean(_predict(base_model, xe) == rep.eval_y)), 4)
    warning = forgetting_warning(orig_acc, base_orig)

    parent = f"{entry.name}@{card.version}"
    labels_info = {"count": len(spans), "windows": len(data),
                   "train_windows": int(train_idx.shape[0]),
                   "heldout_windows": int(val_idx.shape[0]),
                   "classes": {c: n for c, n in data.event_counts().items()},
                   "recordings": data.recordings,
                   "heldout_events": sorted({int(e) for e in data.events[val_idx]})}
    replay_info = {"used": use_replay, "share": replay if use_replay else 0.0,
                   "source": rep.source if use_replay else "none",
                   "windows": int(rep.train_x.shape[0]) if use_replay else 0,
                   "files": rep.files, "note": rep.note}
    metrics = {"heldout": heldout, "base_heldout": base_held,
               "original_classes_accuracy": orig_acc,
               "base_original_classes_accuracy": base_orig,
               "forgetting_warning": warning,
               "history": history, "epochs_run": epoch, "best_epoch": best_epoch,
               "note": ("held-out = whole labelled events kept out of training (split by "
                        "event); the best epoch was chosen on them, by loss") if heldout
               else UNCHECKED_NOTE}
    report(0.95, f"saving {name}", stage="saving")
    new_card = ModelCard(
        name=name, kind="fault", architecture=architecture,
        hyper_parameters={**start_hp, "n_classes": len(classes)},
        classes=classes, locations=dict(card.locations), sample_rate=card.sample_rate,
        window=card.window, hop=card.hop, input_channels=list(card.input_channels),
        normalisation=norm,
        training_data={
            "mode": mode, "labels": labels_info, "replay": replay_info,
            "class_map": mapping,
            "base_training": {k: v for k, v in base_training(card).items()
                              if k in ("source", "channel", "files", "split", "loads_hp")},
            "finetune_config": {"epochs": epochs, "val_fraction": val_fraction,
                                "replay": replay, "seed": seed, "batch_size": batch_size,
                                "patience": patience, "hop": hop or card.window // 4,
                                "learning_rates": list(LEARNING_RATES[mode]),
                                "augment": ({**AUGMENTATION} if augment and mode != "head"
                                            else None),
                                "envelope_branch": grown,
                                "adapter_rank": ADAPTER_RANK if mode == "adapter" else None},
            "training_seconds": round(time.perf_counter() - t0, 1),
            "parameters": int(sum(p.numel() for p in model.parameters())),
        },
        training_command=command, metrics=metrics, version="0", parent=parent,
        created=now_iso(),
        # The input domain (rate, band, units, no-signal) is the base's; its open-set
        # calibration belonged to the base's classes and data, so it does not carry over.
        domain={k: v for k, v in card.domain.items() if k != "ood"},
        description=f"{card.description or card.name}; "
                    + ("its first member " if start_model is not base_model else "")
                    + f"fine-tuned ({mode}) on {len(spans)} labelled events from {parent}",
    )
    def write(staging: Path) -> None:
        replay_set = copy_replay_set(entry.folder, card, staging)
        if replay_set is not None:  # the next fine-tune of this version replays it too
            new_card.training_data["replay_set"] = replay_set
        save_model_folder(staging, new_card, model.state_dict())
        report(0.98, f"publishing {name}", stage="saving")

    version, folder = publish_new(name, write)
    result = FinetuneResult(
        model=name, version=version, folder=folder, mode=mode, parent=parent, classes=classes,
        new_classes=classes[n_base:], heldout=heldout, base_heldout=base_held,
        original_classes_accuracy=orig_acc, base_original_classes_accuracy=base_orig,
        replay=replay_info, history=history, epochs_run=epoch, best_epoch=best_epoch,
        seconds=time.perf_counter() - t0, labels=labels_info, notes=notes,
        class_map=mapping, warning=warning)
    task.finish(f"{name} v{version} saved", stage="done", result=result.to_json())
    return result


def _check_target(base: str | Path, name: str) -> tuple[ModelEntry, ModelCard]:
    """The base must be a fault classifier; the new name must be free for versions."""
    entry = resolve(base)
    assert entry.card is not None
    if entry.card.kind != "fault":
        raise ModelError(f"'{entry.name}' is an {entry.card.kind} model; only fault "
                         f"classifiers can be fine-tuned")
    check_version_name(name)
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


def augment_windows(windows: np.ndarray, rng: np.random.Generator,
                    speed: float = AUGMENTATION["speed"],
                    noise_probability: float = AUGMENTATION["noise_probability"],
                    snr_db: tuple[float, float] = AUGMENTATION["snr_db"],
                    eq_db: float = AUGMENTATION["eq_db"], eq_knots: int = AUGMENTATION["eq_knots"],
                    eq_probability: float = 1.0) -> np.ndarray:
    """Speed change (each window resampled by r in [1 - speed, 1 + speed], the signal
    reflected at the end where r > 1 needs more of it), a random smooth filter
    (:func:`random_eq`, ±``eq_db`` dB) and white noise, on raw windows.

    Why: a few labelled seconds come from a few loads; another load shifts every
    frequency a little (shaft speed), the noise floor, and how the structure between
    bearing and sensor colours the signal (which resonances ring) — while the fault's
    impact rate stays. The filter makes the colouring useless to the network, so it must
    use what survives a load change (docs/finetune.md, new-rig proxy: the filter lifted
    the other-load accuracy from ~84-85 % to ~90 %, with the envelope branch to ≥ 98 %).
    """
    w = np.asarray(windows, dtype=np.float64)
    n, length = w.shape
    grid = np.arange(length, dtype=np.float64)
    ext = np.concatenate([w, w[:, ::-1]], axis=1)
    idx = np.arange(2 * length, dtype=np.float64)
    out = np.empty_like(w)
    for i in range(n):
        r = 1.0 + rng.uniform(-speed, speed)
        out[i] = np.interp(grid * r, idx, ext[i])
    if eq_db > 0:
        out = random_eq(out, rng, eq_db, eq_knots, eq_probability)
    noisy = rng.random(n) < noise_probability
    snr = rng.uniform(*snr_db, size=n)
    power = out.var(axis=1) / 10 ** (snr / 10)
    out[noisy] += (rng.standard_normal(out.shape) * np.sqrt(power)[:, None])[noisy]
    return out


def random_eq(windows: np.ndarray, rng: np.random.Generator, db: float, knots: int = 8,
              probability: float = 1.0) -> np.ndarray:
    """Each window through a random smooth filter: gains of ±``db`` dB at ``knots``
    log-spaced frequencies, interpolated (in dB, over log frequency) between them."""
    n, length = windows.shape
    spec = np.fft.rfft(windows, axis=1)
    f = np.arange(spec.shape[1], dtype=np.float64)
    f[0] = 1.0
    logf = np.log(f)
    at = np.linspace(0.0, logf[-1], knots)
    gains = rng.uniform(-db, db, size=(n, knots))
    gains[rng.random(n) >= probability] = 0.0
    curve = np.stack([np.interp(logf, at, g) for g in gains])
    return np.fft.irfft(spec * 10 ** (curve / 20), n=length, axis=1)


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
            out = [_head_input(model, _tensor(x[i:i + 512])) for i in range(0, x.shape[0], 512)]
            return torch.cat(out) if out else torch.empty(0)

        return list(model.head.parameters()), features
    params = add_adapters(model)
    out_layer = model.head[-1]
    for p in out_layer.parameters():
        p.requires_grad_(True)
    return params + list(out_layer.parameters()), _tensor


def _head_input(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """What the head sees: the body's features, with the envelope branch's when it has one."""
    if isinstance(getattr(model, "branch", None), nn.Module):
        return torch.cat([model.features(x).flatten(1), model.branch(x)], dim=1)
    return model.features(x)


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
    """The head and a (new) envelope branch learn at the head's rate."""
    new = list(model.head.parameters())
    if isinstance(getattr(model, "branch", None), nn.Module):
        new += list(model.branch.parameters())
    return any(param is p for p in new)


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


def _row_text(row: dict[str, Any], epochs: int) -> str:
    text = (f"epoch {int(row['epoch'])}/{epochs} loss {row['loss']:.3f} "
            f"acc {row['accuracy']:.3f}")
    if row["val_loss"] is not None:
        text += f" val loss {row['val_loss']:.3f} val acc {row['val_accuracy']:.3f}"
    return text


def windows_summary(data: WindowSet) -> dict[str, Any]:
    """Counts a labelling dialog shows before training (windows and events per class)."""
    return {"windows": data.class_counts(), "events": data.event_counts(),
            "recordings": data.recordings}
