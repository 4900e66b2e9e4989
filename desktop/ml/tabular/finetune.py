"""Fine-tune a quality model on the engineer's labelled parts; compare on held-out parts.

``linewatch train --base quality-steel --labels parts.csv --name my-line``:

1. the parts CSV (the model's input columns + ``label``, optional ``part_id``; the window's
   parts table exports it) is read with the model's column rules; unlabelled rows are
   skipped;
2. a stratified ``val_fraction`` of the labelled parts is **held out** (seeded; a class with
   a single part stays in training) and used for nothing but the comparison;
3. the new model is the same learner with the same settings, refitted on the base model's
   **replay set** (``replay.npz``: the rows it was trained on, shipped beside it) plus the
   training parts, each part weighted ``part_weight`` times (the line's own parts count
   more than the generic data). A label the base does not know becomes a new class;
4. new and base model predict the same held-out parts: accuracy and per-class recall of
   both (the base can never name a new class: its accuracy is given on the classes it
   knows and counting new-class parts as wrong);
5. the reject option is re-chosen (issue 26): ``calib_folds``-fold out-of-fold
   probabilities of the same refit on the same rows (replay + training parts) fit a new
   temperature and the threshold that reaches ``target_accuracy`` on accepted rows; the
   coverage there, and the coverage / accuracy on accepted held-out parts at that
   threshold, are reported and written into the card;
6. the new model is published as the next version of NAME (``<data>/models/NAME/v<k>``)
   with a card naming its parent, the parts, the figures and the command; its replay set
   is the base's plus the training parts, so a later fine-tune keeps them. Nothing becomes
   active until promoted (``--promote``, ``linewatch models promote``; ``rollback``).

Refitting the shipped trees on ~1,400 rows takes about 5–10 s on one core, the
out-of-fold refits for the threshold (3, each on two thirds of the rows) about twice that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import InputError
from desktop.core.spreadsheet import unguard_formula
from desktop.core.tasks import TaskState
from desktop.ml.errors import ModelError
from desktop.ml.tabular.arrays import check_shape, load_arrays, save_arrays
from desktop.ml.tabular.calibration import DEFAULT_TARGET, Calibration, fit_calibration
from desktop.ml.tabular.card import TabularCard
from desktop.ml.tabular.parts import LABEL_COLUMN
from desktop.ml.tabular.quality import (
    TREE_ARCHITECTURES,
    load_quality,
    make_learner,
    model_files,
    out_of_fold_proba,
    save_quality,
)
from desktop.ml.tabular.table import match_columns, read_frame

REPLAY_FILE = "replay.npz"
MIN_CHECKED = 10  # held-out parts below this: the comparison says little
CALIB_FOLDS = 3   # out-of-fold refits that re-choose the temperature and threshold


@dataclass
class QualityFinetuneResult:
    name: str
    version: int
    folder: Path
    parent: str
    classes: list[str]
    train_parts: int
    heldout_parts: int
    replay_rows: int
    heldout: dict[str, Any] | None
    base_heldout: dict[str, Any] | None
    seconds: float
    notes: list[str] = field(default_factory=list)
    #: the re-chosen reject option: ``target_accuracy``, ``threshold``, ``temperature``,
    #: ``coverage`` / ``accuracy_accepted`` on the out-of-fold rows it was chosen on, and
    #: ``heldout_coverage`` / ``heldout_accuracy_accepted`` on the held-out parts (None:
    #: not re-chosen, see ``notes``)
    reject: dict[str, Any] | None = None

    @property
    def checked(self) -> bool:
        return self.heldout_parts >= MIN_CHECKED

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "folder": str(self.folder),
                "parent": self.parent, "classes": self.classes,
                "train_parts": self.train_parts, "heldout_parts": self.heldout_parts,
                "replay_rows": self.replay_rows, "heldout": self.heldout,
                "base_heldout": self.base_heldout, "checked": self.checked,
                "reject": self.reject,
                "seconds": round(self.seconds, 1), "notes": self.notes}


def save_replay(folder: Path, X: np.ndarray, y: np.ndarray) -> None:
    """The rows a quality model was trained on (``y``: indices into its card's classes)."""
    save_arrays(Path(folder) / REPLAY_FILE, {"X": np.asarray(X, dtype=np.float64),
                                             "y": np.asarray(y, dtype=np.int32)})


def load_replay(folder: Path, card: TabularCard) -> tuple[np.ndarray, np.ndarray] | None:
    path = Path(folder) / REPLAY_FILE
    if not path.exists():
        return None
    a = load_arrays(path, {"X": "f", "y": "iu"})
    d = len(card.input_columns)
    check_shape(path, "y", a["y"], (None,))
    X = a["X"]
    if X.ndim != 2 or X.shape != (len(a["y"]), d):
        raise ModelError(f"{path}: array 'X' has shape {X.shape}, expected ({len(a['y'])}, {d})")
    if len(a["y"]) and (a["y"].min() < 0 or a["y"].max() >= len(card.classes)):
        raise ModelError(f"{path}: class indices outside the card's classes")
    return X, a["y"].astype(np.int64)


def read_parts(path: Path, card: TabularCard) -> tuple[np.ndarray, list[str]]:
    """The labelled parts of a parts CSV: (values in the model's order, labels)."""
    frame = read_frame(path)
    # parts_csv_text guards text cells against spreadsheet formulas: undo it on the way in
    frame.columns = [unguard_formula(c) if isinstance(c, str) else c for c in frame.columns]
    if LABEL_COLUMN not in [str(c).strip().lower() for c in frame.columns]:
        raise InputError(f"{path} has no '{LABEL_COLUMN}' column: a parts file holds the "
                         f"model's columns and the class of each part in '{LABEL_COLUMN}'")
    t = match_columns(frame, card.input_columns, label_column=LABEL_COLUMN,
                      what=f"quality model '{card.name}'")
    labels = [("" if v in ("nan", "None") else unguard_formula(v.strip()))
              for v in (t.labels or [])]
    keep = [i for i, v in enumerate(labels) if v]
    if not keep:
        raise InputError(f"{path}: no part has a label")
    return t.values[keep], [labels[i] for i in keep]


def split_heldout(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified (train, held-out) indices; a class with one part stays in training."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        k = round(len(idx) * fraction) if len(idx) > 1 else 0
        k = min(max(k, 1 if len(idx) > 1 and fraction > 0 else 0), len(idx) - 1)
        held += idx[:k].tolist()
        train += idx[k:].tolist()
    return np.array(sorted(train), dtype=int), np.array(sorted(held), dtype=int)


def scores(pred: list[str], truth: list[str], known: set[str] | None = None) -> dict[str, Any]:
    pred_a, truth_a = np.array(pred), np.array(truth)
    out: dict[str, Any] = {"parts": len(truth), "accuracy": round(float((pred_a == truth_a)
                                                                        .mean()), 4),
                           "per_class": {}}
    for c in sorted(set(truth)):
        m = truth_a == c
        out["per_class"][c] = {"parts": int(m.sum()),
                               "recall": round(float((pred_a[m] == c).mean()), 4)}
    if known is not None:
        m = np.isin(truth_a, sorted(known))
        out["accuracy_all_parts"] = out["accuracy"]
        out["accuracy"] = round(float((pred_a[m] == truth_a[m]).mean()), 4) if m.any() else None
        out["parts_known_classes"] = int(m.sum())
    return out


def finetune_quality(base_folder: Path, base_ref: str, labels: Path, name: str, *,
                     val_fraction: float = 0.25, part_weight: float = 5.0, seed: int = 0,
                     command: str = "", task: TaskState | None = None,
                     target_accuracy: float | None = None, calib_folds: int = CALIB_FOLDS
                     ) -> QualityFinetuneResult:
    """Refit on replay + labelled parts, compare on held-out parts, re-choose the reject
    threshold for ``target_accuracy`` (None: the base's target, else 0.95), publish NAME
    v<k>.

    ``task`` (optional) gets the stages as progress; a cancel takes effect between them
    (the refit itself runs to its end) and always before anything is saved.
    """
    from desktop.ml.model_files.versions import publish_new

    task = task or TaskState()
    task.report(0.02, "reading the labelled parts")
    t0 = time.monotonic()
    base = load_quality(base_folder)
    card = base.card
    if card.architecture not in TREE_ARCHITECTURES:
        raise ModelError(f"'{base_ref}' is a {card.architecture} model; fine-tuning parts "
                         f"refits tree models ({', '.join(TREE_ARCHITECTURES)}) only")
    if not 0 <= val_fraction < 1:
        raise InputError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    if target_accuracy is not None and not 0 < target_accuracy <= 1:
        raise InputError(f"--target-accuracy must be in (0, 1], got {target_accuracy:g}")
    if target_accuracy is None:
        target_accuracy = (base.calibration.threshold.target if base.calibration is not None
                           else DEFAULT_TARGET)
    X_parts, y_text = read_parts(labels, card)
    classes = list(card.classes) + sorted(set(y_text) - set(card.classes))
    y_parts = np.array([classes.index(v) for v in y_text])
    train, held = split_heldout(y_parts, val_fraction, seed)
    notes = []
    new_classes = classes[len(card.classes):]
    if new_classes:
        notes.append(f"new class(es) not known to {base_ref}: {', '.join(new_classes)}")
    replay = load_replay(base_folder, card)
    if replay is None:
        notes.append(f"{base_ref} ships no replay set ({REPLAY_FILE}): the new model learns "
                     f"from your parts only")
        X_rep, y_rep = np.empty((0, len(card.input_columns))), np.empty(0, dtype=int)
    else:
        X_rep, y_rep = replay
    X_fit = np.vstack([X_rep, X_parts[train]])
    y_fit = np.concatenate([y_rep, y_parts[train]])
    w_fit = np.concatenate([np.ones(len(y_rep)), np.full(len(train), float(part_weight))])
    missing = sorted(set(range(len(classes))) - set(y_fit.tolist()))
    if missing:
        raise InputError(f"no training parts for class(es) {', '.join(classes[i] for i in missing)}"
                         f" (all held out); label more parts of them")
    import sklearn.ensemble  # noqa: F401  (see below)
    from threadpoolctl import threadpool_limits

    # threadpool_limits caps only the libraries loaded when it is entered: scikit-learn's
    # OpenMP runtime is loaded first, or the trees' OpenMP threads spin against each other
    # (issue 24: a fine-tune on a loaded 2-core box took >13 min uncapped, 47 s capped).
    task.report(0.1, f"refitting {card.architecture} on {len(y_fit):,} rows (about a minute; "
                     f"Cancel takes effect when it ends)")
    with threadpool_limits(1):
        # The same learner, settings and feature set as the base (derived features are
        # computed from the input columns inside the learner).
        learner = make_learner(card.architecture, X_fit, y_fit, len(classes),
                               card.hyper_parameters, seed, columns=card.input_columns,
                               sample_weight=w_fit)
        calibration = _recalibrate(card.architecture, card.hyper_parameters, X_fit, y_fit,
                                   w_fit, len(classes), list(card.input_columns),
                                   target_accuracy, calib_folds, seed, notes, task)
    task.report(0.85, "comparing new and base on the held-out parts")
    median = np.nanmedian(X_fit, axis=0)
    heldout = base_heldout = None
    if len(held):
        truth = [classes[i] for i in y_parts[held]]
        new_pred = [classes[i] for i in learner.predict_proba(X_parts[held]).argmax(1)]
        base_pred = [card.classes[i] for i in base.predict_proba(X_parts[held]).argmax(1)]
        heldout = scores(new_pred, truth)
        base_heldout = scores(base_pred, truth, known=set(card.classes))
    else:
        notes.append("no held-out parts (--val-fraction 0 or too few parts): the new version "
                     "is not checked")
    reject = None
    if calibration is not None:
        reject = {"target_accuracy": target_accuracy,
                  "threshold": calibration.threshold.threshold,
                  "temperature": round(calibration.temperature, 6),
                  "reached": calibration.threshold.reached,
                  "coverage": round(calibration.threshold.coverage, 4),
                  "accuracy_accepted": (None if calibration.threshold.accuracy is None
                                        else round(calibration.threshold.accuracy, 4)),
                  "rows": calibration.threshold.rows,
                  "heldout_coverage": None, "heldout_accuracy_accepted": None}
        if len(held):
            p = calibration.calibrate(learner.predict_proba(X_parts[held]))
            ok = p.argmax(axis=1) == y_parts[held]
            acc = p.max(axis=1) >= calibration.threshold.threshold
            reject["heldout_coverage"] = round(float(acc.mean()), 4)
            reject["heldout_accuracy_accepted"] = (round(float(ok[acc].mean()), 4)
                                                   if acc.any() else None)
            reject["heldout_accepted_parts"] = int(acc.sum())
        if not calibration.threshold.reached:
            notes.append(f"no threshold reaches {target_accuracy:.1%} accuracy on the "
                         f"out-of-fold rows: the new version refers nearly every part")
    counts = {c: int((y_parts == i).sum()) for i, c in enumerate(classes) if (y_parts == i).any()}
    new_card = TabularCard(
        name=name, kind="quality", architecture=card.architecture, classes=classes,
        input_columns=list(card.input_columns),
        files=[*model_files(card.architecture), REPLAY_FILE],
        hyper_parameters=dict(card.hyper_parameters),
        training_data={
            "source": f"fine-tuned from {base_ref}: its replay set ({len(y_rep)} rows) + "
                      f"{len(train)} labelled parts from {Path(labels).name} (weight "
                      f"{part_weight:g} each)",
            "labels_file": str(labels),
            "label_column": card.training_data.get("label_column") or LABEL_COLUMN,
            "parts": {"labelled": len(y_parts), "train": len(train), "heldout": len(held),
                      "per_class": counts},
            "class_counts": {c: int((y_fit == i).sum()) for i, c in enumerate(classes)},
            "replay_rows": len(y_rep), "part_weight": part_weight, "seed": seed,
            "features": card.training_data.get("features", {"set": "raw"}),
            "val_fraction": val_fraction},
        training_command=command,
        metrics={"heldout": heldout or {}, "base_heldout": base_heldout or {},
                 "reject": reject or {},
                 "note": "held-out: a stratified share of the labelled parts, never used "
                         "for training; new and base predict the same parts"},
        choice=f"same learner and settings as {base_ref}, refitted",
        description=f"{card.description} — fine-tuned on {len(train)} parts",
        parent=base_ref, created=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))
    task.report(0.95, "saving the new version")  # the last point where Cancel saves nothing
    def write(folder: Path) -> None:
        save_quality(folder, new_card, learner, median, calibration)
        save_replay(folder, X_fit, y_fit)

    version, folder = publish_new(name, write)
    task.finish("saved")
    return QualityFinetuneResult(name, version, folder, base_ref, classes, len(train),
                                 len(held), len(y_rep), heldout, base_heldout,
                                 time.monotonic() - t0, notes, reject)


def _recalibrate(arch: str, params: dict[str, Any], X: np.ndarray, y: np.ndarray,
                 w: np.ndarray, n_classes: int, columns: list[str], target: float,
                 folds: int, seed: int, notes: list[str], task: TaskState
                 ) -> Calibration | None:
    """Temperature + threshold from ``folds``-fold out-of-fold probabilities of the same
    refit (same weights) on the same rows; fewer folds when a class has fewer rows than
    ``folds``, none (a note, every part accepted) when a class has a single row."""
    least = int(np.bincount(y, minlength=n_classes).min())
    k = min(folds, least)
    if k < 2:
        notes.append("a class has a single training row: the reject threshold cannot be "
                     "re-chosen, the new version accepts every part (label more parts)")
        return None
    if k < folds:
        notes.append(f"a class has only {least} training rows: the threshold is re-chosen "
                     f"from {k}-fold out-of-fold probabilities")
    task.report(0.35, f"re-choosing the reject threshold: {k} out-of-fold refits")
    oof, _ = out_of_fold_proba(arch, X, y, n_classes, params, k, seed, columns=columns,
                               sample_weight=w)
    return fit_calibration(oof, y, target, info={
        "fitted_on": f"{k}-fold stratified out-of-fold probabilities (seed {seed}) of the "
                     f"refit on its own rows (the replay set + the training parts)",
        "rows": len(y)})


def run_parts_finetune(base: str, labels: Path, name: str, *, task: TaskState
                       ) -> dict[str, Any]:
    """The window's parts fine-tune as one long job: ``base`` is a registry name (``NAME`` or
    ``NAME@K``); returns :meth:`QualityFinetuneResult.to_json`. Raises like
    :func:`finetune_quality` (``InputError``/``ModelError``, one line each)."""
    from desktop.ml.model_files.registry import resolve

    entry = resolve(base)
    if entry.card is None or entry.card.kind != "quality":
        raise ModelError(f"'{base}' is not a quality model: only quality models are "
                         f"fine-tuned from labelled parts")
    ref = (entry.name if entry.shipped or not entry.versions
           else f"{entry.name}@{entry.card.version}")
    result = finetune_quality(entry.folder, ref, labels, name, task=task,
                              command=f"Fine-tune parts… of the Linewatch window "
                                      f"({Path(labels).name})")
    return result.to_json()


__all__ = ["REPLAY_FILE", "QualityFinetuneResult", "finetune_quality", "load_replay",
           "read_parts", "run_parts_finetune", "save_replay"]
