"""A per-machine anomaly model on a sensor's indicator vector, fitted by ``baseline`` on
the machine's own healthy snapshots: Hotelling's T² on the log indicators with a
shrunk covariance, its limit taken from held-out healthy snapshots.

Model. For a snapshot's indicators ``v`` (the names learnt, all positive) take
``y = ln v``; the score is ``T² = (y − μ − d)ᵀ Σ⁻¹ (y − μ − d)`` with ``μ`` the healthy
mean, ``d`` the drift offset of each centre (:mod:`desktop.baseline.drift`: the model
follows a slowly drifting machine exactly as the limits do) and ``Σ`` the Ledoit–Wolf
shrunk covariance of the healthy ``y`` (fitted on the logs standardised by their own
spread, then scaled back), whose variances are then floored as the limits are floored:
``Σ_jj ≥ (ln F_alert / K_alert)²`` (:mod:`desktop.baseline.limits`: ×2 for levels and
envelope lines, ×1.5 for shape indicators, at 3 spreads), so that one indicator moving
less than the limits' floor (a load change, a healthy drift) is not unusual to the
model either (T² is scale-invariant: a floor on a standardising spread alone would not
do this). Ledoit–Wolf: O. Ledoit & M. Wolf, "A well-conditioned estimator for
large-dimensional covariance matrices", J. Multivariate Anal. 88 (2004) 365–411;
``sklearn.covariance.LedoitWolf``, as ``desktop/ml/tabular/process.py`` uses it): a route
baseline has tens to hundreds of snapshots for about 13 correlated indicators, where the
sample covariance is ill-conditioned. T² on process measurements is the classical
multivariate monitoring statistic (H. Hotelling 1947; D. C. Montgomery, "Introduction to
Statistical Quality Control", the multivariate chapter; N. D. Tracy, J. C. Young &
R. L. Mason, "Multivariate control charts for individual observations", J. Qual.
Technol. 24 (1992) 88–95).

Limit from held-out healthy snapshots. The snapshots (in the order given, time order for
a route) are cut into :data:`FOLDS` contiguous blocks; each block is scored by the model
fitted on the others, and the limit is the :data:`LIMIT_QUANTILE` quantile of those
held-out T² values, never below ``K_alert² = 9`` — the T² (at least) of one indicator
alone three floored spreads from its mean, i.e. at the limits' alert floor: as the
limits have floors relative to the baseline, so has the model (a baseline of one steady
hour has a tiny held-out spread, and the next hour's load change would otherwise be
"anomalous"; first seen on a development route, seed 4, not on the evaluation's). (The
F-distribution limit of a new observation, ``T²_UCL = d(n+1)(n−1) / (n(n−d)) ·
F_{1−α}(d, n−d)``, Tracy, Young & Mason 1992, is stored beside it for reference only: it
assumes the sample covariance, and the floored covariance here gives much smaller T² on
healthy data, so it would hide faults.) Contiguous blocks, not a random split:
neighbouring snapshots share load and speed, so a random split would understate how far
a new hour of healthy running lies from the rest. The reported ``anomaly`` is
``T² / limit``: 1 at the limit, as the limits' score is 1 at an alert limit.

Fewer than :data:`MIN_SNAPSHOTS` snapshots (a thin baseline) fit no model; a baseline
without one — thin, or stored before this model existed — scores the distance to the
limits (:func:`desktop.baseline.judge.judge`) and says so (``anomaly_method``).
Why numpy for the score: the fitted model is a mean, a spread and a precision matrix
stored in the baseline's JSON; scoring a snapshot is one quadratic form.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from desktop.analysis.errors import AnalysisError
from desktop.baseline.indicators import kind_of
from desktop.baseline.limits import FLOORS, K_ALERT

#: Fewest snapshots that fit an anomaly model (the baseline's "thin" line).
MIN_SNAPSHOTS = 30
#: Contiguous blocks for the held-out limit.
FOLDS = 5
#: Quantile of the held-out T² (and the F limit's 1 − α) that scores 1.
LIMIT_QUANTILE = 0.99
METHOD = "t2"


@dataclass(frozen=True)
class AnomalyModel:
    """A fitted model: indicator ``names`` ``(d,)``, log ``mean`` and ``spread``
    ``(d,)``, ``precision`` ``(d, d)`` (inverse shrunk covariance of the standardised
    logs), ``limit`` (T² that scores 1), ``n`` snapshots fitted, ``held_out_t2``
    the held-out quantile and ``f_limit`` the F-distribution limit behind it."""

    names: tuple[str, ...]
    mean: np.ndarray
    spread: np.ndarray
    precision: np.ndarray
    limit: float
    n: int
    held_out_t2: float
    f_limit: float

    def t2(self, values: Mapping[str, float], drift: Mapping[str, float] | None = None
           ) -> float | None:
        """T² of one snapshot's indicator ``values`` (name → value); ``drift``: name →
        ln offset of the centre. None when a learnt indicator is missing or not
        positive (then the caller falls back to the limits' score)."""
        try:
            v = np.array([values[k] for k in self.names], dtype=np.float64)
        except KeyError:
            return None
        if not np.all(np.isfinite(v) & (v > 0)):
            return None
        d = np.array([(drift or {}).get(k, 0.0) for k in self.names])
        z = (np.log(v) - self.mean - d) / self.spread
        return float(z @ self.precision @ z)

    def score(self, values: Mapping[str, float], drift: Mapping[str, float] | None = None
              ) -> float | None:
        """``T² / limit`` (1 at the limit), or None as :meth:`t2`."""
        t = self.t2(values, drift)
        return None if t is None else t / self.limit

    def to_json(self) -> dict[str, object]:
        return {"method": METHOD, "names": list(self.names),
                "mean": [float(f"{x:.8g}") for x in self.mean],
                "spread": [float(f"{x:.8g}") for x in self.spread],
                "precision": [[float(f"{x:.8g}") for x in row] for row in self.precision],
                "limit": float(f"{self.limit:.8g}"), "n": self.n,
                "held_out_t2": float(f"{self.held_out_t2:.6g}"),
                "f_limit": float(f"{self.f_limit:.6g}")}

    @classmethod
    def from_json(cls, doc: Any) -> AnomalyModel:
        """Raises :class:`AnalysisError` for a damaged model."""
        try:
            names = tuple(str(k) for k in doc["names"])
            d = len(names)
            mean = np.asarray(doc["mean"], dtype=np.float64)
            spread = np.asarray(doc["spread"], dtype=np.float64)
            prec = np.asarray(doc["precision"], dtype=np.float64)
            limit = float(doc["limit"])
            model = cls(names, mean, spread, prec, limit, int(doc["n"]),
                        float(doc.get("held_out_t2", limit)), float(doc.get("f_limit", 0.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise AnalysisError(f"the stored anomaly model is damaged ({exc!r}); learn the "
                                "baseline again") from None
        if (doc.get("method") != METHOD or mean.shape != (d,) or spread.shape != (d,)
                or prec.shape != (d, d) or not limit > 0 or not np.all(spread > 0)):
            raise AnalysisError("the stored anomaly model is damaged (shapes or limit); "
                                "learn the baseline again")
        return model


def _fit(y: np.ndarray, floor: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, spread, precision)`` of ``y`` ``(n, d)``: the Ledoit–Wolf shrunk
    covariance (of ``y`` standardised by its own spread, then scaled back) with its
    variances floored at ``floor²``; ``spread`` its square-rooted diagonal, ``precision``
    the inverse of the matching correlation matrix (the module docstring's ``Σ⁻¹``
    applied to ``z = (y − μ) / spread``)."""
    from sklearn.covariance import LedoitWolf

    mean = y.mean(axis=0)
    sd = np.maximum(y.std(axis=0, ddof=1), 1e-9)
    cov = LedoitWolf(assume_centered=False).fit((y - mean) / sd).covariance_
    cov = cov * np.outer(sd, sd)
    var = np.maximum(np.diag(cov), floor ** 2)
    cov[np.diag_indices_from(cov)] = var
    spread = np.sqrt(var)
    return mean, spread, np.linalg.inv(cov / np.outer(spread, spread))


def f_limit(n: int, d: int, q: float = LIMIT_QUANTILE) -> float:
    """Phase-II T² limit of one new observation (Tracy, Young & Mason 1992); 0 when
    ``n <= d``."""
    if n <= d:
        return 0.0
    from scipy.stats import f as fdist

    return float(d * (n + 1) * (n - 1) / (n * (n - d)) * fdist.ppf(q, d, n - d))


def fit_anomaly(snapshots: Sequence[Mapping[str, float]], *,
                folds: int = FOLDS) -> AnomalyModel | None:
    """Fit the model on healthy snapshots' indicator values (each name → value, in time
    order); None when fewer than :data:`MIN_SNAPSHOTS` snapshots have every indicator
    (names missing from some snapshots are left out)."""
    if len(snapshots) < MIN_SNAPSHOTS:
        return None
    names = sorted(set.intersection(*(set(s) for s in snapshots)))
    if not names:
        return None
    v = np.array([[s[k] for k in names] for s in snapshots], dtype=np.float64)
    keep = np.all(np.isfinite(v) & (v > 0), axis=1)
    y = np.log(v[keep])
    n, d = y.shape
    if n < MIN_SNAPSHOTS:
        return None
    floor = np.array([math.log(FLOORS[kind_of(k)][0]) / K_ALERT for k in names])
    held: list[np.ndarray] = []
    edges = np.linspace(0, n, folds + 1).round().astype(int)
    for a, b in itertools.pairwise(edges.tolist()):
        mu, sd, prec = _fit(np.concatenate([y[:a], y[b:]]), floor)
        zz = (y[a:b] - mu) / sd
        held.append(np.einsum("ij,jk,ik->i", zz, prec, zz))
    q = float(np.quantile(np.concatenate(held), LIMIT_QUANTILE))
    fl = f_limit(n, d)
    mean, spread, prec = _fit(y, floor)
    return AnomalyModel(tuple(names), mean, spread, prec, max(q, K_ALERT ** 2), n, q, fl)
