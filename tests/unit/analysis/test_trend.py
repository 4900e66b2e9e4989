"""Block statistics: RMS, peak, crest factor, kurtosis."""

from __future__ import annotations

import math

import numpy as np
import pytest

from desktop.analysis.errors import AnalysisError
from desktop.analysis.trend import block_bounds, block_stats, trend


def test_sine_and_gaussian_noise_have_their_textbook_values() -> None:
    t = np.arange(100_000) / 10_000
    sine = block_stats(3.0 * np.sin(2 * np.pi * 50 * t) + 1.0, 10_000)
    assert sine.rms == pytest.approx(3 / math.sqrt(2), rel=1e-4)
    assert sine.peak == pytest.approx(3.0, rel=1e-4)
    assert sine.crest_factor == pytest.approx(math.sqrt(2), rel=1e-4)
    assert sine.kurtosis == pytest.approx(1.5, rel=1e-3)
    noise = block_stats(np.random.default_rng(0).standard_normal(200_000), 10_000)
    assert noise.kurtosis == pytest.approx(3.0, abs=0.05)
    assert noise.rms == pytest.approx(1.0, abs=0.01)


def test_impulses_raise_kurtosis_and_crest_factor() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(50_000)
    x[::1000] += 12.0
    s = block_stats(x, 1000.0)
    assert s.kurtosis > 8 and s.crest_factor > 8


def test_blocks_cover_every_sample_and_merge_a_short_tail() -> None:
    assert block_bounds(1049, 100.0, 1.0) == [(i, i + 100) for i in range(0, 900, 100)] + [
        (900, 1049)]
    assert block_bounds(1050, 100.0, 1.0)[-1] == (1000, 1050)
    assert block_bounds(50, 100.0, 1.0) == [(0, 50)]
    assert block_bounds(0, 100.0, 1.0) == []
    with pytest.raises(AnalysisError):
        block_bounds(10, 100.0, 0.0)


def test_trend_times_and_gaps() -> None:
    x = np.concatenate([np.ones(100) * np.nan, np.sin(np.arange(300))])
    rows = trend(x, 100.0, 1.0)
    assert [(r.start_s, r.end_s) for r in rows] == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0),
                                                   (3.0, 4.0)]
    assert math.isnan(rows[0].rms) and rows[0].samples == 0
    assert rows[0].to_json()["rms"] is None
    assert rows[1].samples == 100 and rows[1].rms > 0
    flat = block_stats(np.ones(10), 10.0)
    assert flat.rms == 0 and math.isnan(flat.crest_factor)
