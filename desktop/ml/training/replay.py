"""Replay data: a little of the base model's own training data, mixed into a fine-tune.

Fine-tuning on a few labelled seconds can make a model forget the classes it knew. A share
of every batch (``replay``) is therefore drawn from windows of the base model's original
training region, and accuracy on windows of its original *validation* region is reported
before and after (the "forgetting" check).

Where replay windows come from, in order:

1. a folder the user gives (``linewatch train --base … --replay-data DIR``): the base
   model's original recordings (CWRU ``.mat`` files named in its card), cut by the card's
   structured ``split`` (``train.region`` / ``validation.region``);
2. the compact **replay set** shipped beside the model's weights (:data:`REPLAY_FILE`,
   described in the card's ``training_data.replay_set``: windows per class, source files,
   SHA-256). ``tools/make_replay_set.py`` makes it; a fine-tune copies it into the new
   version's folder, so a chain of fine-tunes keeps it.

Without either, replay and the forgetting check are skipped and the result says so.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.analysis.windows import frame, resample
from desktop.core.tasks import TaskState
from desktop.ml.constants import REPLAY_FILE, REPLAY_WINDOWS_PER_CLASS
from desktop.ml.errors import ModelError
from desktop.ml.model_files.card import ModelCard
from desktop.ml.model_files.weights import load_arrays, read_header, save_tensors, sha256_of

#: Without a structured split in the card: the recipes' default (first 80 % trained on).
DEFAULT_TRAIN_REGION = (0.0, 0.8)
_KEYS = ("train_x", "train_y", "eval_x", "eval_y")


@dataclass
class ReplayData:
    """Raw windows ``(n, window)`` at the model's rate with class indices into the card's
    classes: ``train_*`` from the original training region (replay), ``eval_*`` from its
    validation region (the forgetting check)."""

    train_x: np.ndarray
    train_y: np.ndarray
    eval_x: np.ndarray
    eval_y: np.ndarray
    files: list[str]
    note: str
    source: str = "none"  # "replay set", "folder" or "none"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.train_x.shape[0] > 0

    @classmethod
    def empty(cls, window: int, note: str) -> ReplayData:
        x, y = np.empty((0, window)), np.empty(0, dtype=np.int64)
        return cls(x, y, x.copy(), y.copy(), [], note)


def base_training(card: ModelCard) -> dict[str, Any]:
    """Files and split of the *original* training, also through a chain of fine-tunes."""
    td = card.training_data
    inherited = td.get("base_training")
    return inherited if isinstance(inherited, dict) else td


def split_regions(td: dict[str, Any]) -> tuple[list[str], tuple[float, float],
                                               tuple[float, float]]:
    """``(training files, train region, validation region)`` from a card's training data.

    Regions are fractions of each file's length, read from the structured ``split``
    (``{"train": {"files": […], "region": [0, 0.8]}, "validation": {…}}``). A card
    without one (made before splits were structured) gets the recipes' default, 80/20.
    """
    split = td.get("split")
    files = [n for n in td.get("files", []) if isinstance(n, str)]
    train, val = DEFAULT_TRAIN_REGION, (DEFAULT_TRAIN_REGION[1], 1.0)
    if isinstance(split, dict):
        tr, va = split.get("train", {}), split.get("validation", {})
        if isinstance(tr, dict):
            files = [n for n in tr.get("files", files) if isinstance(n, str)]
            train = _region(tr.get("region"), train)
        if isinstance(va, dict):
            val = _region(va.get("region"), val)
    return files, train, val


def _region(value: object, default: tuple[float, float]) -> tuple[float, float]:
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int | float) for v in value) and 0 <= value[0] < value[1] <= 1):
        return float(value[0]), float(value[1])
    return default


def replay_from_folder(card: ModelCard, data_dir: Path, seed: int = 0,
                       per_class: tuple[int, int] = (REPLAY_WINDOWS_PER_CLASS,
                                                     REPLAY_WINDOWS_PER_CLASS),
                       task: TaskState | None = None) -> ReplayData:
    """Replay windows cut from the base model's original recordings in ``data_dir``.

    At most ``per_class = (train, eval)`` windows per class (hop half a window inside a
    region, picked at random with ``seed``). Files the card names but the folder lacks are
    left out; a folder with none of them gives an empty :class:`ReplayData` with a note.
    """
    from desktop.ml.training.data_cwru import RATE, load_signal, parse_name

    window = card.window
    names, (tr_lo, tr_hi), (ev_lo, ev_hi) = split_regions(base_training(card))
    if not names:
        return ReplayData.empty(window, "the base model's card names no training files: "
                                        "replay and the forgetting check skipped")
    data_dir = Path(data_dir).expanduser()
    if not data_dir.is_dir() or not any((data_dir / n).is_file() for n in names):
        return ReplayData.empty(window, f"none of the base model's training recordings is in "
                                        f"{data_dir}: replay and the forgetting check skipped")
    rng = np.random.default_rng(seed)
    parts: dict[int, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    used = []
    for i, n in enumerate(names):
        if task is not None:
            task.report(i / len(names), f"reading replay data {n}")
        f = parse_name(data_dir / n)
        if f is None or f.label not in card.classes or not f.path.is_file():
            continue
        x = load_signal(f)
        if card.sample_rate != RATE:
            x = resample(x, RATE, card.sample_rate)
        length = x.shape[0]
        tr, ev = parts.setdefault(card.classes.index(f.label), ([], []))
        tr.append(frame(x[round(tr_lo * length):round(tr_hi * length)], window, window // 2))
        ev.append(frame(x[round(ev_lo * length):round(ev_hi * length)], window, window // 2))
        used.append(n)
    if not used:
        return ReplayData.empty(window, f"none of the base model's training files in "
                                        f"{data_dir} could be used: replay skipped")
    xs: dict[str, list[np.ndarray]] = {k: [] for k in _KEYS}
    for c, (tr, ev) in sorted(parts.items()):
        for key, chunks, cap in (("train", tr, per_class[0]), ("eval", ev, per_class[1])):
            w = np.concatenate(chunks)
            if w.shape[0] > cap:
                w = w[np.sort(rng.choice(w.shape[0], cap, replace=False))]
            xs[f"{key}_x"].append(np.asarray(w, dtype=np.float64))
            xs[f"{key}_y"].append(np.full(w.shape[0], c, dtype=np.int64))
    return ReplayData(*(np.concatenate(xs[k]) for k in _KEYS), used,
                      f"{len(used)} of the base model's {len(names)} training recordings "
                      f"found in {data_dir}", source="folder")


def replay_from_set(card: ModelCard, model_folder: Path) -> ReplayData:
    """The replay set shipped beside a model's weights, checked against its card.

    Raises :class:`ModelError` when the file does not match the SHA-256 the card records or
    its tensors are not ``train_x``/``eval_x`` ``(n, window)`` F16/F32 with ``train_y``/
    ``eval_y`` ``(n,)`` I64 class indices of the card.
    """
    path = Path(model_folder) / REPLAY_FILE
    info = card.training_data.get("replay_set")
    if not path.is_file():
        return ReplayData.empty(card.window, f"model '{card.name}' ships no replay set "
                                             f"({REPLAY_FILE}) and no --replay-data folder "
                                             f"was given: replay and the forgetting check "
                                             f"skipped")
    if isinstance(info, dict) and info.get("sha256") and sha256_of(path) != info["sha256"]:
        raise ModelError(f"{path} does not match its card (SHA-256 differs from the one "
                         f"recorded when the replay set was made)")
    header = read_header(path)
    expected = {}
    for key in _KEYS:
        entry = header.get(key)
        if entry is None:
            raise ModelError(f"{path} lacks the tensor '{key}'")
        shape, dtype = tuple(entry["shape"]), entry["dtype"]
        ok = ((len(shape) == 2 and shape[1] == card.window and dtype in ("F16", "F32"))
              if key.endswith("_x") else (len(shape) == 1 and dtype == "I64"))
        if not ok:
            raise ModelError(f"{path}: tensor '{key}' is {dtype} {list(shape)}, not a replay "
                             f"set for windows of {card.window} samples")
        expected[key] = (shape, dtype)
    arrays = load_arrays(path, expected)
    for side in ("train", "eval"):
        x, y = arrays[f"{side}_x"], arrays[f"{side}_y"]
        if x.shape[0] != y.shape[0] or (y.size and not 0 <= y.min() <= y.max()
                                        < len(card.classes)):
            raise ModelError(f"{path}: {side} labels do not fit the card's classes")
    files = info.get("source_files", []) if isinstance(info, dict) else []
    return ReplayData(*(np.asarray(arrays[k], dtype=np.float64 if k.endswith("_x")
                                   else np.int64) for k in _KEYS),
                      list(files), f"{arrays['train_x'].shape[0]} replay windows from "
                                   f"{REPLAY_FILE} of '{card.name}'", source="replay set")


def load_replay(card: ModelCard, model_folder: Path, data_dir: Path | None, seed: int = 0,
                task: TaskState | None = None) -> ReplayData:
    """Replay from ``data_dir`` when given, else the model's shipped replay set."""
    if data_dir is not None:
        return replay_from_folder(card, data_dir, seed, task=task)
    return replay_from_set(card, model_folder)


def write_replay_set(data: ReplayData, card: ModelCard, folder: Path,
                     dtype: type = np.float16) -> dict[str, Any]:
    """Write ``data`` as ``folder/replay.safetensors`` and return the card's description
    (file, dtype, windows per class per side, source files, split, sha256)."""
    tensors = {"train_x": data.train_x.astype(dtype), "train_y": data.train_y.astype(np.int64),
               "eval_x": data.eval_x.astype(dtype), "eval_y": data.eval_y.astype(np.int64)}
    sha = save_tensors(Path(folder) / REPLAY_FILE, tensors,
                       metadata={"classes": json.dumps(card.classes)})

    def per_class(y: np.ndarray) -> dict[str, int]:
        counts = np.bincount(y, minlength=len(card.classes))
        return {c: int(n) for c, n in zip(card.classes, counts, strict=True) if n}

    _, train, val = split_regions(base_training(card))
    return {"file": REPLAY_FILE, "dtype": np.dtype(dtype).name,
            "windows_per_class": {"train": per_class(data.train_y),
                                  "validation": per_class(data.eval_y)},
            "regions": {"train": list(train), "validation": list(val)},
            "source_files": list(data.files), "sha256": sha,
            "note": "windows of the model's own training region (replay during fine-tuning) "
                    "and validation region (the forgetting check), hop half a window, "
                    "picked at random"}


def copy_replay_set(src_folder: Path, card: ModelCard, dst_folder: Path) -> dict[str, Any] | None:
    """Copy a model's replay set into a new version's folder; its card description or None."""
    src = Path(src_folder) / REPLAY_FILE
    info = card.training_data.get("replay_set")
    if not src.is_file() or not isinstance(info, dict):
        return None
    shutil.copyfile(src, Path(dst_folder) / REPLAY_FILE)
    return dict(info)
