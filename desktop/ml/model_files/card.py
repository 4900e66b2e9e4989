"""The model card: everything a model folder says about itself, as JSON next to its weights.

Why a card at all: weights alone do not say how to feed them. The card names the
architecture and its hyper-parameters (so the network can be rebuilt and the weights
checked against it *before* loading), the classes in output order, the input channel hint,
sample rate, window and hop, the normalisation, and where the model came from (training
data, the command that made it, metrics on its validation data, parent model). It is
validated field by field on load so that a hand-edited or foreign card is refused with a
message rather than failing somewhere deep inside inference.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from desktop.core.atomic import atomic_write_text
from desktop.core.jsonfile import JSONProblem, read_json_file
from desktop.ml.errors import ModelError
from desktop.ml.model_files.files import check_model_file

CARD_FILE = "card.json"
WEIGHTS_FILE = "weights.safetensors"
CARD_FORMAT = 1
KINDS = ("fault", "anomaly")
NORMALISATIONS = ("per_window_zscore", "none")
#: Cards are small; anything bigger is not a card (and is not read into memory).
MAX_CARD_BYTES = 1 << 20


@dataclass
class ModelCard:
    """What a model is and how to feed it. ``classes`` are in the network's output order."""

    name: str
    kind: str
    architecture: str
    hyper_parameters: dict[str, Any]
    classes: list[str]
    sample_rate: float
    window: int
    hop: int
    input_channels: list[str] = field(default_factory=lambda: ["DE_time"])
    normalisation: str = "per_window_zscore"
    #: class → fault location (``normal``, ``ball``, ``inner_race``, ``outer_race``, …).
    locations: dict[str, str] = field(default_factory=dict)
    training_data: dict[str, Any] = field(default_factory=dict)
    training_command: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    version: str = "1"
    parent: str | None = None
    created: str = ""
    description: str = ""
    #: What input the model is built for and when it says ``unknown`` (optional; see
    #: :mod:`desktop.ml.inference.open_set`): ``sample_rate_hz`` {min, max}, ``band_hz``
    #: [low, high], ``units``, ``channel_kind``, ``no_signal_std``, ``min_band_share``,
    #: ``ood`` {score, threshold, …}.
    domain: dict[str, Any] = field(default_factory=dict)
    format: int = CARD_FORMAT

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Refuse a card that could not drive inference; messages name the bad field."""
        if self.format != CARD_FORMAT:
            raise ModelError(f"card format {self.format!r} is not supported "
                             f"(this Linewatch reads format {CARD_FORMAT})")
        _require(isinstance(self.name, str) and self.name.strip() != "", "name",
                 "a non-empty string")
        signal_kinds = _signal_kinds()
        _require(self.kind in signal_kinds, "kind", f"one of {', '.join(signal_kinds)}")
        _require(isinstance(self.architecture, str) and self.architecture != "",
                 "architecture", "a non-empty string")
        _require(isinstance(self.hyper_parameters, dict), "hyper_parameters", "an object")
        _require(isinstance(self.classes, list) and len(self.classes) >= 2
                 and all(isinstance(c, str) and c for c in self.classes),
                 "classes", "a list of at least two names")
        _require(len(set(self.classes)) == len(self.classes), "classes", "unique names")
        _require(_positive_number(self.sample_rate), "sample_rate", "a positive number (Hz)")
        _require(_positive_int(self.window), "window", "a positive whole number of samples")
        _require(_positive_int(self.hop), "hop", "a positive whole number of samples")
        _require(isinstance(self.input_channels, list) and len(self.input_channels) >= 1
                 and all(isinstance(c, str) for c in self.input_channels),
                 "input_channels", "a list of channel name hints")
        _require(self.normalisation in NORMALISATIONS, "normalisation",
                 f"one of {', '.join(NORMALISATIONS)}")
        _require(isinstance(self.locations, dict)
                 and all(isinstance(k, str) and isinstance(v, str)
                         for k, v in self.locations.items()),
                 "locations", "an object mapping class names to location names")
        unknown = set(self.locations) - set(self.classes)
        _require(not unknown, "locations", f"keys among the classes (unknown: {sorted(unknown)})")
        for name in ("training_data", "metrics"):
            _require(isinstance(getattr(self, name), dict), name, "an object")
        _require(self.parent is None or isinstance(self.parent, str), "parent", "null or a string")
        _validate_domain(self.domain)

    @property
    def channels(self) -> int:
        return len(self.input_channels)

    def location_of(self, cls: str) -> str:
        """The location for a class; classes without one are their own location."""
        return self.locations.get(cls, cls)

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> ModelCard:
        if not isinstance(data, dict):
            raise ModelError("card.json must hold a JSON object")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelError(f"card.json has unknown fields: {', '.join(unknown)}")
        required = ("name", "kind", "architecture", "hyper_parameters", "classes",
                    "sample_rate", "window", "hop")
        missing = [k for k in required if k not in data]
        if missing:
            raise ModelError(f"card.json lacks required fields: {', '.join(missing)}")
        try:
            return cls(**data)
        except TypeError as exc:  # pragma: no cover - guarded by the field checks above
            raise ModelError(f"card.json is malformed: {exc}") from exc

    def save(self, folder: Path) -> Path:
        """Write ``card.json`` (sorted keys, so a rerun diffs cleanly)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / CARD_FILE
        atomic_write_text(path, json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        os.chmod(path, 0o644)  # the temp file was private; a model folder is shareable
        return path

    @classmethod
    def load(cls, folder: Path) -> ModelCard:
        """Read and validate ``folder/card.json``; a :class:`ModelError` names the file and
        the problem (missing, over :data:`MAX_CARD_BYTES`, not JSON, nested too deeply,
        a bad field) in one line."""
        path = folder / CARD_FILE
        if not os.path.lexists(path):
            raise ModelError(f"{folder} is not a model folder (no {CARD_FILE})")
        check_model_file(path, MAX_CARD_BYTES)  # not a link (to /dev/zero …), not too big
        try:
            data = read_json_file(path, max_bytes=MAX_CARD_BYTES)
        except FileNotFoundError:
            raise ModelError(f"{folder} is not a model folder (no {CARD_FILE})") from None
        except IsADirectoryError:
            raise ModelError(f"{path} is a folder, not a model card") from None
        except JSONProblem as exc:
            raise ModelError(f"{path}, {exc}; replace the card (or the whole model "
                             "folder) with one Linewatch wrote") from None
        except OSError as exc:
            raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            return cls.from_json(data)
        except ModelError as exc:
            raise ModelError(f"{path}: {exc}") from exc


def _validate_domain(domain: object) -> None:
    """The fields inference reads from ``domain`` must have the right shape when present."""
    _require(isinstance(domain, dict), "domain", "an object")
    assert isinstance(domain, dict)
    band = domain.get("band_hz")
    if band is not None:
        _require(isinstance(band, list) and len(band) == 2
                 and all(isinstance(b, int | float) and not isinstance(b, bool)
                         and math.isfinite(b) for b in band) and 0 <= band[0] < band[1],
                 "domain.band_hz", "[low, high] in Hz with 0 <= low < high")
    for key in ("no_signal_std", "min_band_share"):
        if key in domain:
            v = domain[key]
            _require(isinstance(v, int | float) and not isinstance(v, bool)
                     and math.isfinite(v) and v >= 0, f"domain.{key}", "a number >= 0")
    rates = domain.get("sample_rate_hz")
    if rates is not None:
        _require(isinstance(rates, dict) and all(
            v is None or _positive_number(v) for v in rates.values()),
                 "domain.sample_rate_hz", "an object of positive numbers (min, max)")
    ood = domain.get("ood")
    if ood is not None:
        _require(isinstance(ood, dict), "domain.ood", "an object")
        for key in ("energy_threshold", "distance_threshold"):
            t = ood.get(key)
            _require(t is None or (isinstance(t, int | float) and not isinstance(t, bool)
                                   and math.isfinite(t)), f"domain.ood.{key}",
                     "a finite number")
        density = ood.get("density")
        if density is not None:
            ok = isinstance(density, dict) and isinstance(density.get("n_bands"), int)
            if ok:
                d = 4 + density["n_bands"]
                means, prec = density.get("means"), density.get("precision")
                ok = (isinstance(means, list) and len(means) >= 1
                      and all(isinstance(r, list) and len(r) == d for r in means)
                      and isinstance(prec, list) and len(prec) == d
                      and all(isinstance(r, list) and len(r) == d for r in prec)
                      and all(isinstance(v, int | float) and math.isfinite(v)
                              for r in [*means, *prec] for v in r))
            _require(ok, "domain.ood.density", "{n_bands, means [[…]], precision [[…]]} of "
                     "matching sizes")


def now_iso() -> str:
    """Creation stamps in UTC, to the second: cards are compared by humans, not machines."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _require(ok: bool, name: str, what: str) -> None:
    if not ok:
        raise ModelError(f"card field '{name}' must be {what}")


def _positive_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


#: Kinds whose folders hold a table model (:class:`desktop.ml.tabular.card.TabularCard`).
TABULAR_KINDS = ("quality", "process")


def declared_kind(folder: Path) -> str | None:
    """The ``kind`` a folder's card.json states, or None when it cannot be read."""
    path = Path(folder) / CARD_FILE
    try:
        check_model_file(path, MAX_CARD_BYTES)  # never open a link, a pipe or a device
        data = read_json_file(path, max_bytes=MAX_CARD_BYTES)  # size and nesting capped
    except (OSError, JSONProblem, ModelError):
        return None
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if isinstance(kind, str) else None


def _signal_kinds() -> tuple[str, ...]:
    """``fault``, ``anomaly`` and every other registered signal kind
    (:mod:`desktop.ml.kinds`: a kind added by one registration has cards too)."""
    from desktop.ml import kinds

    extra = tuple(k.name for k in kinds.kinds() if not k.tabular and k.name not in KINDS)
    return KINDS + extra


def load_any_card(folder: Path):
    """The card of any model folder: a :class:`ModelCard` (signal models: fault, anomaly)
    or a :class:`~desktop.ml.tabular.card.TabularCard` (table models: quality, process),
    chosen by the card's ``kind``; a bad card raises :class:`ModelError` either way."""
    if declared_kind(folder) in TABULAR_KINDS:
        from desktop.ml.tabular.card import TabularCard

        return TabularCard.load(Path(folder))
    return ModelCard.load(Path(folder))
