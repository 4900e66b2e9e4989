"""What a session's typed signals carry: the model that judges it, its verdicts, a table
model's rows.

The workers and the whole-file verdict job produce plain dicts (their keys are also the
JSON of ``--measure``, exports and the CLI); the session wraps each once, so the window
reads attributes instead of string keys. Every object keeps its source dict unchanged in
``row`` (``details`` for :class:`ModelInfo`): a consumer that hands the data on to JSON
or to a table converts there with it, so what is written stays byte for byte the same.

(Not :class:`desktop.ml.inference.predictors.WindowVerdict`: importing it pulls in the
model code, which nothing on the way to the first draw may import, and a live verdict
carries more than a model's answer: when its last sample arrived, the baseline's level.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class ModelInfo:
    """The model judging this session, as its worker announced it (``model_loaded``)."""

    name: str
    kind: str  # a model kind (desktop/ml/kinds.py), "" when the worker did not say
    classes: tuple[str, ...]
    device: str  # "cpu", "cuda", …
    channel: str  # the judged channel (a table model: "N columns")
    channel_reason: str  # why that channel ("" when it was the only one)
    #: everything the worker said, as it said it (kind-specific keys included)
    details: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, info: Mapping[str, Any]) -> ModelInfo:
        return cls(name=str(info.get("name", "")), kind=str(info.get("kind") or ""),
                   classes=tuple(str(c) for c in info.get("classes") or ()),
                   device=str(info.get("device") or "cpu"),
                   channel=str(info.get("channel") or ""),
                   channel_reason=str(info.get("channel_reason") or ""),
                   details=dict(info))

    def as_dict(self) -> dict[str, Any]:
        """The announced dict, unchanged (a fresh copy)."""
        return dict(self.details)


@dataclass(frozen=True)
class Verdict:
    """One judged window (live, whole-file, or a table model's part/sample span); times
    are the session's seconds."""

    start_s: float
    end_s: float
    label: str  # the class named ("unknown" when the model would not say)
    probability: float
    location: str
    #: ``time.monotonic()`` when the window's last sample arrived (live only), else None
    arrived: float | None = None
    #: the worker's dict, unchanged: scores, unknown reasons, the baseline's level, …
    row: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Verdict:
        return cls(start_s=float(row["start_s"]), end_s=float(row["end_s"]),
                   label=str(row["class"]), probability=float(row.get("probability") or 0.0),
                   location=str(row.get("location") or ""),
                   arrived=_float(row.get("arrived")), row=row)


def verdicts_from_rows(rows: list[dict[str, Any]]) -> list[Verdict]:
    return [Verdict.from_row(r) for r in rows]


def verdict_rows(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    """The worker's dicts again, for consumers that store, draw or write dicts."""
    return [dict(v.row) for v in verdicts]


@dataclass(frozen=True)
class TableRow:
    """One part or sample judged by a table model (``quality``/``process``)."""

    index: int  # absolute sample index in the ring buffer
    time: float  # its time, in the session's seconds
    #: the model's row, unchanged (its keys depend on the kind and the model's columns)
    row: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TableRow:
        return cls(index=int(row.get("index", -1)), time=float(row.get("time", 0.0)), row=row)
