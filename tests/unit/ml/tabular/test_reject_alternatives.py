"""The reject-rule comparison tool (issue 26, tools/quality_reject_alternatives.py): its
risk-coverage helpers, the perfect-ranking bound and the nested threshold, on synthetic
member probabilities (no model is fitted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location(
        "qra", ROOT / "tools" / "quality_reject_alternatives.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def members(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Two noisy members sharing a signal; labels drawn from the shared probabilities."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (n, 7))
    true = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(7, p=p) for p in true])
    out = {}
    for name in ("hgb", "et", "rf", "hgb_slow"):
        q = np.exp(z + rng.normal(0, 0.4, z.shape))
        out[name] = q / q.sum(1, keepdims=True)
    return out, y


def test_curve_and_coverage_read_off(tool) -> None:
    score = np.array([0.9, 0.8, 0.7, 0.6])
    ok = np.array([True, True, False, True])
    acc = tool.curve(score, ok)
    assert acc.tolist() == pytest.approx([1.0, 1.0, 2 / 3, 0.75])
    assert tool.coverage_at(acc, 0.95) == 0.5
    assert tool.coverage_at(acc, 0.7) == 1.0
    assert tool.coverage_at(np.array([0.5]), 0.95) == 0.0


def test_bootstrap_interval_brackets_the_statistic(tool) -> None:
    x = np.random.default_rng(0).random(400) < 0.8
    lo, hi = tool.bootstrap(lambda i: float(x[i].mean()), len(x), seed=0, draws=500)
    assert lo < x.mean() < hi and hi - lo < 0.1


def test_every_rule_scores_and_nested_threshold_is_not_more_lenient(tool) -> None:
    P, y = members(500, seed=1)
    Q, _ = members(300, seed=2)
    for name, rule in tool.RULES.items():
        f = rule(P, y)
        s, p = f(Q)
        assert s.shape == (300,) and p.shape == (300, 7), name
        assert np.allclose(p.sum(1), 1), name
        thr = tool.threshold_for(name, f, P, y, 0.95)
        assert 0 <= thr <= 1 + 1e-9, name
    # classwise: the in-sample isotonic map makes an in-sample threshold lenient; the
    # nested one accepts no more of the fitting rows
    f = tool.RULES["classwise"](P, y)
    s_in, p_in = f(P)
    lenient = tool.choose_threshold(s_in, p_in.argmax(1) == y, 0.95).threshold
    nested = tool.threshold_for("classwise", f, P, y, 0.95)
    assert (s_in >= nested).mean() <= (s_in >= lenient).mean() + 0.05
