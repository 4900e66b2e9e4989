"""Where models live and how a name becomes a folder.

Shipped models are read-only folders under ``models/`` of the program
(:func:`desktop.core.paths.shipped_models_dir`); models the user trains or fine-tunes live
in ``<data dir>/models``. A model is referred to by its folder name or by a path to a
folder. A shipped name wins over a user model of the same name, so ``fault-cwru`` always
means the model that came with the program; the listing shows both.

User models made by fine-tuning are versioned (``<name>/v<k>/``, see
:mod:`desktop.ml.model_files.versions`): their name resolves to the *active* version, or to
the latest while none has been promoted, and ``name@k`` picks one version. Older flat
folders (``<name>/card.json``) keep working unversioned.

Listing never fails because one folder is broken: the entry carries the problem instead,
so a models panel can show it greyed out with the reason.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.core import paths
from desktop.ml.errors import ModelError, UnknownModelError
from desktop.ml.model_files.card import CARD_FILE, TABULAR_KINDS, ModelCard, load_any_card
from desktop.ml.model_files.versions import (
    active_version,
    is_versioned,
    parse_ref,
    resolved_version,
    store_live_model,
    sweep_leftovers,
    user_models_dir,
    version_folder,
    versions_of,
)

DEFAULT_FAULT_MODEL = "fault-cwru"
DEFAULT_ANOMALY_MODEL = "anomaly-cwru"


@dataclass(frozen=True)
class ModelEntry:
    """One model folder as the registry sees it (the card is read, the weights are not)."""

    name: str
    folder: Path
    shipped: bool
    #: a ModelCard (fault/anomaly) or a TabularCard (quality/process, see ``tabular``)
    card: ModelCard | Any | None
    problem: str | None = None
    #: versioned user models: every published version, and the promoted one (None: the
    #: latest is used because nothing was promoted). Empty/None for unversioned folders.
    versions: tuple[int, ...] = ()
    active_version: int | None = None

    @property
    def ok(self) -> bool:
        return self.card is not None

    @property
    def tabular(self) -> bool:
        """A table model (one row per part or process sample), not a signal model."""
        if self.card is None:
            return False
        from desktop.ml import kinds

        try:
            return kinds.get(self.card.kind).tabular
        except ModelError:
            return self.card.kind in TABULAR_KINDS


def _entry(folder: Path, shipped: bool, name: str | None = None) -> ModelEntry:
    try:
        return ModelEntry(name or folder.name, folder, shipped, load_any_card(folder))
    except ModelError as exc:
        return ModelEntry(name or folder.name, folder, shipped, None, str(exc))


def _versioned_entry(name: str, version: int | None = None) -> ModelEntry:
    """The entry for one version of a versioned user model (default: what the name means)."""
    chosen = resolved_version(name) if version is None else version
    assert chosen is not None
    entry = _entry(version_folder(name, chosen), shipped=False, name=name)
    return ModelEntry(entry.name, entry.folder, False, entry.card, entry.problem,
                      tuple(versions_of(name)), active_version(name))


def _scan(root: Path, shipped: bool) -> list[ModelEntry]:
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.iterdir()):
        if not p.is_dir() or p.name.startswith("."):  # dot folders: staging, removed
            continue
        if (p / CARD_FILE).exists():
            out.append(_entry(p, shipped))
        elif not shipped and is_versioned(p):
            out.append(_versioned_entry(p.name))
    return out


def list_models() -> list[ModelEntry]:
    """Shipped models first, then the built-in ones (model kinds that need no folder,
    :mod:`desktop.ml.kinds`), then the user's, each sorted by name. What killed processes
    left behind (staging folders of dead fine-tunes) is swept first."""
    from desktop.ml import kinds

    with contextlib.suppress(OSError):
        sweep_leftovers()
    shipped = _scan(paths.shipped_models_dir(), True)
    taken = {e.name for e in shipped}
    builtin = [e for e in kinds.builtin_entries() if e.name not in taken]
    return shipped + builtin + _scan(user_models_dir(), False)


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
            from desktop.ml import kinds

            builtin = kinds.builtin_entry(text)  # diagnosis, diagnosis:MACHINE
            entry = builtin if builtin is not None else _resolve_versioned(text)
    if entry.card is None:
        raise ModelError(entry.problem or f"{entry.folder} is not a usable model")
    return entry


def _resolve_versioned(text: str) -> ModelEntry:
    """``name`` (active, else latest version) or ``name@k`` of a versioned user model."""
    name, version = parse_ref(text)
    folder = user_models_dir() / name
    if not name.startswith(".") and is_versioned(folder):
        found = versions_of(name)
        if version is not None and version not in found:
            raise UnknownModelError(f"model '{name}' has no version {version} (versions: "
                             f"{', '.join(map(str, found))})")
        return _versioned_entry(name, version)
    if version is not None and any((root / name / CARD_FILE).exists() for root in (
            paths.shipped_models_dir(), user_models_dir())):
        raise UnknownModelError(f"model '{name}' has no version {version}: it is a single folder, "
                         f"not a versioned model (versions are kept for the models you make "
                         f"by fine-tuning or calibrating); use '{name}'")
    known = ", ".join(e.name for e in list_models()) or "none"
    raise UnknownModelError(f"no model named '{text}' (known models: {known})")


def set_live_model(name: str | None) -> None:
    """Choose the live window's model by name (None: back to the default).

    Raises :class:`ModelError` when ``name`` does not resolve now (nothing is stored)."""
    if name is not None:
        resolve(name)
    store_live_model(name)
