"""The built-in model kinds, registered once when :mod:`desktop.ml` is imported.

``fault`` and ``anomaly`` (signal models with weights), ``quality`` and ``process`` (table
models, run by :mod:`desktop.ml.tabular`), and ``diagnosis`` (the fault-frequency evidence
of :mod:`desktop.diagnosis` as a model without weights). Apart from the registry
(:mod:`desktop.ml.kinds`) so that the registry imports no model code; the loaders import
their predictors lazily (nothing here imports torch, scipy or the diagnosis stack).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from desktop.ml.errors import ModelError
from desktop.ml.kinds import ModelKind, kinds, register

if TYPE_CHECKING:
    from desktop.ml.model_files.registry import ModelEntry


def _load_fault(entry: ModelEntry, device: str | None = None, threads: int | None = None,
                backend: str | None = None, options: dict[str, Any] | None = None) -> Any:
    from desktop.ml.inference.predictors import FaultPredictor

    return FaultPredictor(entry.card, entry.folder, device=device, threads=threads,
                          backend=backend)


def _load_anomaly(entry: ModelEntry, device: str | None = None, threads: int | None = None,
                  backend: str | None = None, options: dict[str, Any] | None = None) -> Any:
    from desktop.ml import anomaly
    from desktop.ml.inference.predictors import AnomalyPredictor

    card = entry.card
    assert card is not None
    if card.architecture != anomaly.ARCHITECTURE:
        raise ModelError(f"unknown anomaly architecture '{card.architecture}' (this "
                         f"Linewatch knows: {anomaly.ARCHITECTURE})")
    return AnomalyPredictor(card, entry.folder)


def _load_diagnosis(entry: ModelEntry, device: str | None = None,
                    threads: int | None = None, backend: str | None = None,
                    options: dict[str, Any] | None = None) -> Any:
    from desktop.ml.inference.diagnosis import DiagnosisPredictor

    return DiagnosisPredictor(entry, **(options or {}))


def _diagnosis_entries() -> list[ModelEntry]:
    from desktop.ml.inference.diagnosis_card import builtin_entry as diag

    return [diag()]


def _diagnosis_cells(entry: ModelEntry, where: str) -> list[str]:
    c = entry.card
    assert c is not None
    return [entry.name, where, c.kind, c.architecture, f"{len(c.classes)} classes",
            "any rate", f"v{c.version}", str(c.created), "needs a bearing: --machine NAME"]


BUILTIN = (
    ModelKind("fault", "fault classifier (signal windows)", "signal", _load_fault),
    ModelKind("anomaly", "healthy-only anomaly model (signal windows)", "signal",
              _load_anomaly),
    ModelKind("quality", "part quality (table rows)", "table"),
    ModelKind("process", "process monitor (table rows)", "table"),
    ModelKind("diagnosis", "bearing fault-frequency evidence (signal, any rate)", "signal",
              _load_diagnosis, builtin=_diagnosis_entries,
              normal_labels=frozenset({"normal", "not_running"}),
              list_cells=_diagnosis_cells, sample_options=(("bearing", "6205"),)),
)


def register_builtin() -> None:
    """Register :data:`BUILTIN` (once; a second call is a no-op)."""
    for kind in BUILTIN:
        if kind.name not in {k.name for k in kinds()}:
            register(kind)


register_builtin()
