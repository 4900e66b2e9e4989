"""Judging a signal block by block (:func:`predict_blocks`) gives exactly the verdicts of
the whole-signal path, at the model's rate and resampled, with gaps, across blocks."""

from __future__ import annotations

import numpy as np
import pytest

from desktop.core.errors import InputError
from desktop.ml.inference.big_signal import predict_blocks, predict_cached
from desktop.ml.inference.predictors import load_predictor


class Column:
    """An in-memory reader that counts the rows it hands out."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.spans: list[tuple[int, int]] = []

    @property
    def samples(self) -> int:
        return int(self.x.shape[0])

    def read_column(self, index: int, start: int, stop: int) -> np.ndarray:
        assert index == 0
        self.spans.append((start, stop))
        return self.x[start:stop].copy()


@pytest.fixture(scope="module")
def predictor():
    return load_predictor("fault-cwru", device="cpu", backend="numpy")


@pytest.mark.parametrize("rate", [12_000.0, 10_000.0, 25_600.0, 11_999.0])
def test_blocks_equal_the_whole_signal(predictor, rate: float) -> None:
    rng = np.random.default_rng(int(rate))
    n = int(rate * 30)
    x = np.sin(np.arange(n) * 0.3) + 0.3 * rng.standard_normal(n)
    x[int(n * 0.31)] = np.nan
    x[int(n * 0.7):int(n * 0.7) + 3000] = np.inf
    whole = predictor.predict_signal(x, rate, hop=256, start_s=2.5)
    skipped = predictor.last_skipped
    reader = Column(x)
    blocks = predict_blocks(predictor, reader, 0, rate, hop=256, start_s=2.5,
                            block_windows=512)
    assert len(whole) > 1024 and skipped > 0
    assert blocks == whole  # every field, bit for bit
    assert predictor.last_skipped == skipped
    assert len(reader.spans) >= 3  # read a block at a time …
    assert max(b - a for a, b in reader.spans) < n / 2  # … never the whole channel


def test_short_signal_and_other_kinds(predictor) -> None:
    with pytest.raises(InputError, match="needs at least"):
        predict_blocks(predictor, Column(np.zeros(1000)), 0, 12_000.0)
    x = np.random.default_rng(1).standard_normal(12_000 * 3)
    assert predict_cached(predictor, Column(x), 0, 12_000.0) == predictor.predict_signal(
        x, 12_000.0)
