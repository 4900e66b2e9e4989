"""Where models live and how a name becomes a folder.

Shipped models are read-only folders under ``models/`` of the program
(:func:`desktop.core.paths.shipped_models_dir`); models the user trains or fine-tunes live
in ``<data dir>/models``. A model is referred to by its folder name or by a path to a
folder. A shipped name wins over a user model of the same name, so ``fault-cwru`` always
means the model that came with the program; the listing shows both.

Listing never fails because one folder is broken: the entry carries the problem instead,
so a models panel can show it greyed out with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from desktop.core import paths
from desktop.ml.card import CARD_FILE, ModelCard
from desktop.ml.errors import ModelError

DEFAULT_FAULT_MODEL = "fault-cwru"
DEFAULT_ANOMALY_MODEL = "anomaly-cwru"


@dataclass(frozen=True)
class ModelEntry:
    """One model folder as the registry sees it (the card is read, the weights are not)."""

    name: str
    folder: Path
    shipped: bool
    card: ModelCard | None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.card is not None


def user_models_dir() -> Path:
    folder = paths.data_dir() / "models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _entry(folder: Path, shipped: bool) -> ModelEntry:
    try:
        return ModelEntry(folder.name, folder, shipped, ModelCard.load(folder))
    except ModelError as exc:
        return ModelEntry(folder.name, folder, shipped, None, str(exc))


def _scan(root: Path, shipped: bool) -> list[ModelEntry]:
    if not root.is_dir():
        return []
    return [_entry(p, shipped) for p in sorted(root.iterdir())
            if p.is_dir() and (p / CARD_FILE).exists()]


def list_models() -> list[ModelEntry]:
    """Shipped models first, then the user's, each sorted by name."""
    return _scan(paths.shipped_models_dir(), True) + _scan(user_models_dir(), False)


def resolve(name_or_folder: str | Path) -> ModelEntry:
    """A model by name (shipped first, then user) or by a path to its folder.

    Raises :class:`ModelError` naming the known models when nothing matches, or the card's
    problem when the folder exists but its card is bad.
    """
    text = str(name_or_folder)
    candidate = Path(text).expanduser()
    looks_like_path = candidate.is_absolute() or "/" in text or "\\" in text or text.startswith(".")
    if looks_like_path or (candidate.is_dir() and (candidate / CARD_FILE).exists()):
        if not candidate.is_dir():
            raise ModelError(f"model folder {candidate} does not exist")
        entry = _entry(candidate.resolve(), shipped=False)
    else:
        for root, shipped in ((paths.shipped_models_dir(), True), (user_models_dir(), False)):
            folder = root / text
            if (folder / CARD_FILE).exists():
                entry = _entry(folder, shipped)
                break
        else:
            known = ", ".join(e.name for e in list_models()) or "none"
            raise ModelError(f"no model named '{text}' (known models: {known})")
    if entry.card is None:
        raise ModelError(entry.problem or f"{entry.folder} is not a usable model")
    return entry
