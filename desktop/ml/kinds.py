"""Model kinds: one registration per kind of model (issue 19, item 2).

A :class:`ModelKind` says what a ``kind`` string on a model card means: its title, what
it reads (``"signal"``: windows of one channel; ``"table"``: rows of named columns), how a
registry entry of that kind becomes a predictor, and, for kinds that need no folder, the
built-in entry that ``linewatch models list``, ``predict --model``, the window's Model
panel and whole-file verdicts see beside the shipped and user models.

Built in: ``fault`` and ``anomaly`` (signal models with weights), ``quality`` and
``process`` (table models, run by :mod:`desktop.ml.tabular`), and ``diagnosis`` (the
fault-frequency evidence of :mod:`desktop.diagnosis` as a model without weights,
:mod:`desktop.ml.inference.diagnosis`). A new kind is one module with its loader and one
:func:`register` call (:data:`desktop.ml.kinds_builtin.BUILTIN`, registered when the
``desktop.ml`` package is imported; or at run time from a plug-in or a test). This module
is the registry only and imports no model code, so the model files (cards, the registry of
folders) can ask it what kinds exist without an import circle.

Nothing here imports torch, scipy or the diagnosis stack: loaders import lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from desktop.ml.errors import ModelError

if TYPE_CHECKING:
    from desktop.ml.model_files.registry import ModelEntry

#: ``loader(entry, device=, threads=, backend=, options=)`` → a predictor.
Loader = Callable[..., Any]


@dataclass(frozen=True)
class ModelKind:
    """One kind of model.

    ``name``: the card's ``kind``; ``title``: for listings; ``input``: ``"signal"`` or
    ``"table"``; ``load``: builds a predictor from a registry entry (None for table kinds,
    which :mod:`desktop.ml.tabular` runs); ``builtin``: for a kind that is also a model
    without a folder, a function returning its registry entries (the built-in models).
    ``normal_labels``: labels that never raise an alarm (beyond the card's ``normal``
    locations); ``list_cells``: the text row ``models list`` prints for an entry
    (None: the signal-model row); ``sample_options``: loader options that let the
    self-test load a kind that needs the user's setup (the diagnosis model: a bearing).
    """

    name: str
    title: str
    input: str = "signal"
    load: Loader | None = None
    builtin: Callable[[], list[ModelEntry]] | None = None
    normal_labels: frozenset[str] = frozenset()
    list_cells: Callable[[ModelEntry, str], list[str]] | None = None
    sample_options: tuple[tuple[str, Any], ...] = ()

    @property
    def tabular(self) -> bool:
        return self.input == "table"


_KINDS: dict[str, ModelKind] = {}


def register(kind: ModelKind, *, replace: bool = False) -> ModelKind:
    """Add ``kind`` (a second kind of the same name needs ``replace=True``)."""
    if kind.input not in ("signal", "table"):
        raise ModelError(f"model kind '{kind.name}': input must be 'signal' or 'table'")
    if kind.name in _KINDS and not replace:
        raise ModelError(f"model kind '{kind.name}' is already registered")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Remove a kind (tests that registered a toy kind)."""
    _KINDS.pop(name, None)


def get(name: str) -> ModelKind:
    """The kind named ``name``; :class:`ModelError` naming the known kinds otherwise."""
    try:
        return _KINDS[name]
    except KeyError:
        raise ModelError(f"unknown model kind '{name}' (this Linewatch knows: "
                         f"{', '.join(_KINDS)})") from None


def kinds() -> list[ModelKind]:
    """Every registered kind, in registration order."""
    return list(_KINDS.values())


def builtin_entries() -> list[ModelEntry]:
    """The built-in models (kinds that need no folder), in registration order."""
    out: list[ModelEntry] = []
    for kind in _KINDS.values():
        if kind.builtin is not None:
            out.extend(kind.builtin())
    return out


def builtin_entry(ref: str) -> ModelEntry | None:
    """The built-in model ``ref`` names (``diagnosis``, ``diagnosis:MACHINE``), or None."""
    name = ref.split(":", 1)[0]
    for entry in builtin_entries():
        if entry.name == name:
            return entry
    return None


def ref_options(ref: str) -> dict[str, str]:
    """Options a built-in model reference carries: ``diagnosis:press-3`` →
    ``{"machine": "press-3"}`` (the window's way of naming the machine to a worker that
    only gets the model's name)."""
    _, sep, machine = str(ref).partition(":")
    return {"machine": machine} if sep and machine else {}


def sample_options(entry: ModelEntry) -> dict[str, Any]:
    """The self-test's loader options for ``entry``'s kind (empty for most kinds)."""
    if entry.card is None or entry.card.kind not in _KINDS:
        return {}
    return dict(_KINDS[entry.card.kind].sample_options)


def load(entry: ModelEntry, **kwargs: Any) -> Any:
    """A ready predictor for ``entry`` through its kind's loader."""
    assert entry.card is not None
    kind = get(entry.card.kind)
    if kind.load is None:
        raise ModelError(f"'{entry.name}' is a {kind.name} model: it reads tables (one "
                         f"row of named columns per part or sample), not a signal channel; "
                         f"run it with `linewatch predict TABLE.csv --model {entry.name}` or "
                         f"live on a source that sends its columns")
    return kind.load(entry, **kwargs)
