"""Derived features of a quality model: named, versioned transforms of its input columns.

A quality model's card may name a feature set in ``hyper_parameters["features"]``. The
learner then sees the input columns *followed by* the derived columns computed here; the
same function runs when training, when predicting (``QualityModel.predict_proba`` takes the
card's input columns and derives the rest) and when fine-tuning (the replay set and the
labelled parts hold input columns only). ``top_features`` stays in input columns: the
occlusion replaces an input value, and the derived values follow it.

A card naming a feature set this code does not know, or lacking a column the set needs, is
refused when loaded. A set, once shipped, is never changed: a different transform gets a
new name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from desktop.ml.errors import ModelError

RAW = "raw"


@dataclass(frozen=True)
class FeatureSet:
    name: str
    needs: tuple[str, ...]       # input columns the set reads (matched case-insensitively)
    derived: tuple[str, ...]     # names of the columns it appends, in order
    fn: Callable[[Callable[[str], np.ndarray]], list[np.ndarray]]
    description: str


def _steel_geometry_v1(col: Callable[[str], np.ndarray]) -> list[np.ndarray]:
    x_ext = col("X_Maximum") - col("X_Minimum")
    y_ext = col("Y_Maximum") - col("Y_Minimum")
    area = col("Pixels_Areas")
    px, py = col("X_Perimeter"), col("Y_Perimeter")
    conveyer = col("Length_of_Conveyer")

    def log1p(v: np.ndarray) -> np.ndarray:
        return np.log1p(np.maximum(v, 0.0))

    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a / np.maximum(b, 1.0)

    return [
        log1p(x_ext), log1p(y_ext),
        np.log(ratio(np.maximum(x_ext, 0.0) + 1.0, np.maximum(y_ext, 0.0) + 1.0)),
        log1p(px), log1p(py),
        ratio(col("Sum_of_Luminosity"), area),
        col("Maximum_of_Luminosity") - col("Minimum_of_Luminosity"),
        log1p(ratio((px + py) ** 2, area)),
        ratio(area, np.maximum(x_ext, 0.0) * np.maximum(y_ext, 0.0)),
        ratio(col("X_Minimum"), conveyer), ratio(col("X_Maximum"), conveyer),
        log1p(col("Sum_of_Luminosity")),
    ]


FEATURE_SETS: dict[str, FeatureSet] = {
    "steel_geometry_v1": FeatureSet(
        name="steel_geometry_v1",
        needs=("X_Minimum", "X_Maximum", "Y_Minimum", "Y_Maximum", "Pixels_Areas",
               "X_Perimeter", "Y_Perimeter", "Sum_of_Luminosity", "Minimum_of_Luminosity",
               "Maximum_of_Luminosity", "Length_of_Conveyer"),
        derived=("log_x_extent", "log_y_extent", "log_aspect_xy", "log_x_perimeter",
                 "log_y_perimeter", "mean_luminosity", "luminosity_range",
                 "log_compactness", "fill_ratio", "x_min_rel_conveyer",
                 "x_max_rel_conveyer", "log_sum_luminosity"),
        fn=_steel_geometry_v1,
        description="appended: log1p of the X/Y extents (max − min) and perimeters, "
                    "log aspect ratio (X extent + 1)/(Y extent + 1), mean luminosity "
                    "Sum_of_Luminosity/Pixels_Areas, luminosity range max − min, "
                    "log1p compactness (X_Perimeter + Y_Perimeter)²/Pixels_Areas, fill "
                    "ratio Pixels_Areas/(X extent · Y extent), X_Minimum and X_Maximum / "
                    "Length_of_Conveyer, log1p Sum_of_Luminosity (denominators floored "
                    "at 1, logs of negatives at 0; a missing input gives a missing value)"),
}


@dataclass(frozen=True)
class Transform:
    """Input columns (in the card's order) → the learner's columns."""

    name: str
    n_inputs: int
    index: dict[str, int]  # needed column (lower case) → position in the input columns
    feature_set: FeatureSet | None

    @property
    def n_outputs(self) -> int:
        return self.n_inputs + (len(self.feature_set.derived) if self.feature_set else 0)

    @property
    def derived(self) -> list[str]:
        return list(self.feature_set.derived) if self.feature_set else []

    def __call__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"expected (rows, {self.n_inputs}) inputs, got {X.shape}")
        if self.feature_set is None:
            return X
        with np.errstate(all="ignore"):
            new = self.feature_set.fn(lambda c: X[:, self.index[c.lower()]])
        out = np.column_stack([X, *new])
        out[~np.isfinite(out)] = np.nan  # an overflow is a missing value, never ±inf
        return out


def make_transform(name: str | None, columns: Sequence[str]) -> Transform:
    """The transform called ``name`` (``None``/``"raw"``: the inputs as they are) over
    ``columns``; a :class:`ModelError` when the name is unknown or a column is missing."""
    if name in (None, RAW):
        return Transform(RAW, len(columns), {}, None)
    fs = FEATURE_SETS.get(str(name))
    if fs is None:
        raise ModelError(f"unknown feature set {name!r} (this Linewatch knows "
                         f"{', '.join([RAW, *FEATURE_SETS])}); update Linewatch or retrain")
    pos = {c.strip().lower(): i for i, c in enumerate(columns)}
    missing = [c for c in fs.needs if c.lower() not in pos]
    if missing:
        raise ModelError(f"feature set {name!r} needs input column(s) {', '.join(missing)}")
    return Transform(fs.name, len(columns), {c.lower(): pos[c.lower()] for c in fs.needs}, fs)


__all__ = ["FEATURE_SETS", "RAW", "FeatureSet", "Transform", "make_transform"]
