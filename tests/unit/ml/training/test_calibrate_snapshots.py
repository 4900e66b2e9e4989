"""AdaBN calibration from many short route snapshots (issue 22): windows are framed per
snapshot and count together; too few are refused in one line that says so."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from desktop.core.errors import InputError
from desktop.ml.training.calibrate import calibrate, snapshot_windows

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "cwru_excerpt.npz"


@pytest.fixture(scope="module")
def snaps() -> list[np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as z:
        x = np.concatenate([z[k].astype(np.float64) for k in z.files])
    x = np.tile(x, 8)
    return [x[i:i + 6000] for i in range(0, x.size - 6000, 6000)]  # 0.5-s snapshots


def test_windows_never_straddle_snapshots(snaps: list[np.ndarray]) -> None:
    w, seconds, parts = snapshot_windows(snaps[:3], 12000.0, 12000.0, 2048)
    assert parts == 3 and seconds == pytest.approx(1.5)
    assert w.shape == (3 * 4, 2048)      # 6000 samples: 4 half-overlapping windows each
    assert np.array_equal(w[4], snaps[1][:2048])


def test_calibrate_from_route_snapshots(snaps: list[np.ndarray]) -> None:
    with pytest.raises(InputError, match="snapshots"):
        calibrate("fault-cwru", snaps[:5], 12000.0, "route-rig")
    out = calibrate("fault-cwru", snaps, 12000.0, "route-rig")
    assert out["snapshots"] == len(snaps) and out["windows"] >= 100
