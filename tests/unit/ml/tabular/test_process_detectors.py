"""The process model's difference-window detector: what it sees that the level detectors do
not, its context, and a model file that promises it but lacks its arrays."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from desktop.ml.errors import ModelError
from desktop.ml.tabular.process import (
    WindowDetector,
    first_differences,
    load_process,
    out_of_block_window_t2,
)

ROOT = Path(__file__).resolve().parents[4]
SHIPPED = ROOT / "models" / "process-tep"


def _ar1(n: int, p: int, rng: np.random.Generator, jitter: float = 0.0) -> np.ndarray:
    """A slow AR(1) process (coefficient 0.95), optionally with white measurement jitter."""
    x = np.zeros((n, p))
    for t in range(1, n):
        x[t] = 0.95 * x[t - 1] + rng.normal(0.0, 0.3, p)
    return x + rng.normal(0.0, jitter, (n, p)) if jitter else x


def test_first_differences_keep_the_shape_and_start_at_zero() -> None:
    x = np.array([[1.0, 5.0], [3.0, 4.0], [6.0, 4.0]])
    assert first_differences(x).tolist() == [[0.0, 0.0], [2.0, -1.0], [3.0, 0.0]]


def test_added_jitter_is_seen_by_the_difference_window_not_by_the_level_window() -> None:
    rng = np.random.default_rng(0)
    normal = _ar1(600, 4, rng)
    limits = {}
    dets = {}
    for diff in (False, True):
        det = WindowDetector.fit(normal, 30, differences=diff)
        det.limit = float(np.quantile(out_of_block_window_t2(normal, 30, 5, diff), 0.99))
        dets[diff], limits[diff] = det, det.limit
    # the same process with a small white jitter on every variable: its level spread grows
    # by a few per cent (within the level window's normal range), its sample-to-sample
    # movement by far more
    faulty = _ar1(300, 4, np.random.default_rng(1), jitter=0.35)
    over_level = (dets[False].t2(faulty)[30:] > limits[False]).mean()
    over_diff = (dets[True].t2(faulty)[30:] > limits[True]).mean()
    assert over_diff > 0.9 and over_level < 0.5
    # the fresh normal run stays (mostly) under both
    fresh = _ar1(300, 4, np.random.default_rng(2))
    assert (dets[True].t2(fresh) > limits[True]).mean() < 0.05


def test_the_difference_window_needs_one_more_earlier_row_and_judges_none_before() -> None:
    normal = _ar1(200, 3, np.random.default_rng(3))
    det = WindowDetector.fit(normal, 10, differences=True)
    assert det.context == 10 and WindowDetector.fit(normal, 10).context == 9
    t2 = det.t2(normal[:15] * 50.0)
    assert np.all(t2[:10] == 0.0) and np.all(t2[10:] > 0.0)


def test_the_shipped_model_has_the_difference_window_and_a_file_lacking_it_is_refused(
        tmp_path: Path) -> None:
    model = load_process(SHIPPED)
    assert model.diff_window is not None and model.diff_window.differences
    assert model.diff_window.window == model.card.hyper_parameters["diff_window"]
    assert model.context_rows == model.diff_window.window
    folder = tmp_path / "process-old"
    shutil.copytree(SHIPPED, folder)
    with np.load(folder / "detector.npz") as z:
        kept = {k: z[k] for k in z.files if not k.startswith("diff_window_")}
    np.savez(folder / "detector.npz", **kept)
    with pytest.raises(ModelError, match="diff_window_center"):
        load_process(folder)
    # a card without diff_window (a model trained before it existed) loads without it
    card = json.loads((folder / "card.json").read_text())
    del card["hyper_parameters"]["diff_window"]
    (folder / "card.json").write_text(json.dumps(card))
    assert load_process(folder).diff_window is None
