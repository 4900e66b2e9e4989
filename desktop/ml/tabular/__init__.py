"""Tabular models: one row of named measurements per part (``quality``) or per process
sample (``process``).

A model is a folder: ``card.json`` (:class:`~desktop.ml.tabular.card.TabularCard`) beside
``.npz`` files of plain numeric arrays (:mod:`desktop.ml.tabular.arrays`; never pickle).
Predicting needs numpy and pandas only; training also needs scikit-learn (and torch for
the MLP).

    from desktop.ml.tabular import predict_table, predict_rows, load_model
    doc = predict_table("models/quality-steel", "plates.csv")  # {"model", "kind",
    rows = predict_rows("models/process-tep", dataframe)       #  "notices", "rows", …}

Errors: :class:`~desktop.ml.errors.ModelError` for a bad folder or file,
:class:`~desktop.ml.tabular.table.ColumnError` (an ``InputError``) for a table whose
columns do not match; both carry a one-line message for the user.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop.ml.errors import ModelError
from desktop.ml.tabular.card import TabularCard
from desktop.ml.tabular.table import ColumnError

__all__ = ["ColumnError", "TabularCard", "load_model", "predict_rows", "predict_table"]


def load_model(folder: str | Path):
    """A :class:`QualityModel` or :class:`ProcessModel`, chosen by the card's ``kind``."""
    folder = Path(folder)
    card = TabularCard.load(folder)
    if card.kind == "quality":
        from desktop.ml.tabular.quality import load_quality

        return load_quality(folder, card)
    if card.kind == "process":
        from desktop.ml.tabular.process import load_process

        return load_process(folder, card)
    raise ModelError(f"{folder}: unknown tabular kind {card.kind!r}")  # pragma: no cover


def predict_table(folder: str | Path, table: Any,
                  progress: Callable[[int, int], None] | None = None,
                  target: float | None = None) -> dict[str, Any]:
    """One JSON-ready document: ``model``, ``kind``, ``id_column``, ``notices``, ``rows``
    (quality: also ``reject``, the threshold used; ``target``: the accuracy wanted on
    accepted parts, None for the model's own).

    ``table`` is a path (CSV/TSV/whitespace text; a header row unless the model accepts a
    headerless table) or a pandas DataFrame. Quality rows: ``class``, ``probability``,
    ``decision``, ``top_features``; process rows: ``score``, ``alarm``, ``fault``,
    ``fault_probability``, ``contributors``, ``contributions``, ``contributor_share``,
    ``contributors_clear``; plus ``id`` when the table has an id column.
    """
    folder = Path(folder)
    card = TabularCard.load(folder)
    if card.kind == "quality":  # explaining each part is the slow step: it reports
        from desktop.ml.tabular.quality import predict_table as run_quality

        return run_quality(folder, table, progress, target)
    from desktop.ml.tabular.process import predict_table as run_process

    return run_process(folder, table)


def predict_rows(folder: str | Path, table: Any) -> list[dict[str, Any]]:
    """The verdicts only: one dict per input row, in input order."""
    return predict_table(folder, table)["rows"]
