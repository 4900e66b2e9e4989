from __future__ import annotations

import numpy as np

from desktop.analysis.decimate import gaps_to_nan, minmax_decimate


def test_minmax_keeps_every_spike_and_bounds_the_length() -> None:
    n = 1_000_000
    t = np.arange(n, dtype=np.float64) / 20_000
    v = np.zeros((n, 2), dtype=np.float32)
    v[123_457, 0] = 9.0
    v[654_321, 1] = -7.0
    dt, dv = minmax_decimate(t, v, 800)
    assert dt.shape == (1600,) and dv.shape == (1600, 2)
    assert dv[:, 0].max() == 9.0 and dv[:, 1].min() == -7.0
    assert np.all(np.diff(dt) >= 0)
    assert dt[-1] == t[-1]  # the newest sample is always drawn


def test_short_data_is_untouched_and_nan_gaps_survive() -> None:
    t = np.arange(10.0)
    v = np.ones((10, 1))
    assert minmax_decimate(t, v, 100)[0] is t
    v = np.ones((10_000, 1))
    v[5000:5100] = np.nan
    _, dv = minmax_decimate(np.arange(10_000.0), v, 100)
    assert np.isnan(dv).any()


def test_time_jumps_become_nan_rows() -> None:
    t = np.concatenate([np.arange(0, 1, 0.01), np.arange(4, 5, 0.01)])
    v = np.ones((t.size, 2))
    gt, gv = gaps_to_nan(t, v, 0.05)
    assert gt.size == t.size + 1 and np.isnan(gv[100]).all()
    assert np.all(np.diff(gt) >= 0)
    assert gaps_to_nan(t, v, 10.0)[0] is t
