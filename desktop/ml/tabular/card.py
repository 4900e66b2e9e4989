"""The card of a tabular model (``kind`` ``quality`` or ``process``).

The same idea as :mod:`desktop.ml.model_files.card` (a JSON file beside the numbers,
validated field by field before anything else is read), with the fields a table model
needs: named input columns instead of channels/sample rate/window, and the files that
hold the numbers. It is a separate class because the signal-model card requires a sample
rate and window; the registry can tell the two apart by ``kind``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.atomic import atomic_write_text
from desktop.core.jsonfile import JSONProblem, read_json_file
from desktop.ml.errors import ModelError
from desktop.ml.model_files.files import check_model_file

CARD_FILE = "card.json"
TABULAR_FORMAT = 1
KINDS = ("quality", "process")
ARCHITECTURES = {"quality": ("hgb_trees", "hgb_forest", "mlp"),
                 "process": ("lagged_mahalanobis", "mahalanobis_window_flatline")}
MAX_CARD_BYTES = 1 << 20


@dataclass
class TabularCard:
    name: str
    kind: str
    architecture: str
    classes: list[str]
    input_columns: list[str]
    files: list[str]
    hyper_parameters: dict[str, Any] = field(default_factory=dict)
    training_data: dict[str, Any] = field(default_factory=dict)
    training_command: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    choice: str = ""
    description: str = ""
    version: str = "1"
    parent: str | None = None
    created: str = ""
    format: int = TABULAR_FORMAT
    #: quality models: the temperature and reject threshold (issue 26), see
    #: :mod:`desktop.ml.tabular.calibration`; empty: uncalibrated, every part accepted
    calibration: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        def need(ok: bool, name: str, what: str) -> None:
            if not ok:
                raise ModelError(f"card field '{name}' must be {what}")

        need(self.format == TABULAR_FORMAT, "format", f"{TABULAR_FORMAT}")
        need(isinstance(self.name, str) and self.name.strip() != "", "name", "a non-empty string")
        need(self.kind in KINDS, "kind", f"one of {', '.join(KINDS)}")
        need(self.architecture in ARCHITECTURES.get(self.kind, ()), "architecture",
             f"one of {', '.join(ARCHITECTURES.get(self.kind, ()))} for kind {self.kind}")
        need(isinstance(self.classes, list) and all(isinstance(c, str) and c for c in self.classes)
             and len(set(self.classes)) == len(self.classes), "classes", "unique names")
        need(isinstance(self.input_columns, list) and len(self.input_columns) >= 1
             and all(isinstance(c, str) and c.strip() for c in self.input_columns)
             and len({c.strip().lower() for c in self.input_columns}) == len(self.input_columns),
             "input_columns", "a list of unique column names")
        need(isinstance(self.files, list) and len(self.files) >= 1
             and all(isinstance(f, str) and f and "/" not in f and "\\" not in f
                     and not f.startswith(".") for f in self.files),
             "files", "a list of plain file names inside the model folder")
        for name in ("hyper_parameters", "training_data", "metrics", "calibration"):
            need(isinstance(getattr(self, name), dict), name, "an object")

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.calibration:  # cards without one stay as they were
            del out["calibration"]
        return out

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / CARD_FILE
        atomic_write_text(path, json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, folder: Path) -> TabularCard:
        path = Path(folder) / CARD_FILE
        if not os.path.lexists(path):
            raise ModelError(f"{folder} is not a model folder (no {CARD_FILE})")
        check_model_file(path, MAX_CARD_BYTES)  # a regular file of the folder, capped
        try:
            data = read_json_file(path, max_bytes=MAX_CARD_BYTES)  # size and nesting capped
        except JSONProblem as exc:
            raise ModelError(f"{path}, {exc}; replace the card (or the whole model folder)"
                             " with one Linewatch wrote") from None
        except OSError as exc:
            raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not isinstance(data, dict):
            raise ModelError(f"{path} must hold a JSON object")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ModelError(f"{path} has unknown fields: {', '.join(unknown)}")
        missing = [k for k in ("name", "kind", "architecture", "classes", "input_columns",
                               "files") if k not in data]
        if missing:
            raise ModelError(f"{path} lacks required fields: {', '.join(missing)}")
        try:
            return cls(**data)
        except ModelError as exc:
            raise ModelError(f"{path}: {exc}") from None
