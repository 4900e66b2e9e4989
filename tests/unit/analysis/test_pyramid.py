"""The min/max pyramid returns the exact min/max of any span, built from any chunking,
finished or still growing, with NaN gaps (checked against numpy)."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.analysis.pyramid import BUCKET, MinMaxPyramid, decimate_columns


def _expected(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices
        return np.nanmin(x, axis=0), np.nanmax(x, axis=0)


@st.composite
def _signal(draw: st.DrawFn) -> tuple[np.ndarray, list[int], bool]:
    n = draw(st.integers(1, 6000))
    c = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c)) * 10.0 ** int(rng.integers(-3, 4))
    if draw(st.booleans()):
        x[rng.random((n, c)) < draw(st.floats(0.0, 1.0))] = np.nan
    cuts = sorted(draw(st.lists(st.integers(1, max(1, n - 1)), max_size=8)))
    return x, cuts, draw(st.booleans())


def _times(n: int) -> np.ndarray:
    return np.cumsum(np.random.default_rng(n).uniform(0.5, 1.5, n))  # uneven, increasing


def _build(x: np.ndarray, cuts: list[int], finish: bool) -> MinMaxPyramid:
    pyr = MinMaxPyramid(x.shape[1])
    t = _times(x.shape[0])
    for a, b in zip([0, *cuts], [*cuts, x.shape[0]], strict=True):
        if b > a:
            pyr.add(x[a:b], t[a:b])
    if finish:
        pyr.finish()
    return pyr


@settings(max_examples=150, deadline=None)
@given(_signal(), st.data())
def test_any_span_has_the_exact_min_and_max(signal, data) -> None:
    x, cuts, finish = signal
    pyr = _build(x, cuts, finish)
    n = x.shape[0]
    raw_rows: list[int] = []

    def raw(a: int, b: int) -> np.ndarray:
        raw_rows.append(b - a)
        return x[a:b]

    for _ in range(5):
        i0 = data.draw(st.integers(0, n - 1))
        i1 = data.draw(st.integers(i0 + 1, n))
        lo, hi = pyr.span_minmax(i0, i1, raw)
        elo, ehi = _expected(x[i0:i1])
        assert np.array_equal(lo, elo, equal_nan=True)
        assert np.array_equal(hi, ehi, equal_nan=True)
        # Pixel columns: contiguous, covering the span, each exact.
        groups = pyr.columns(i0, i1, data.draw(st.integers(1, 40)), raw)
        if groups is not None:
            starts, ends, glo, ghi = groups
            assert starts[0] == i0 and ends[-1] == i1 and np.array_equal(starts[1:], ends[:-1])
            for k in range(starts.size):
                elo, ehi = _expected(x[starts[k]:ends[k]])
                assert np.array_equal(glo[k], elo, equal_nan=True)
                assert np.array_equal(ghi[k], ehi, equal_nan=True)
            # Their times: from the bucket times, raw rows only for the two exact ends.
            t = _times(n)
            asked: list[int] = []
            t0, t1 = pyr.group_times(
                starts, ends, lambda rows, t=t, asked=asked: asked.append(rows.size) or t[rows])
            assert np.array_equal(t0, t[starts]) and np.array_equal(t1, t[ends - 1])
            assert sum(asked) <= 4
    # Raw rows are only read at the ends of a span: never much more than 2 buckets a level.
    if finish:
        assert max(raw_rows, default=0) < 2 * BUCKET


def test_a_zoomed_out_view_reads_no_raw_rows_for_a_long_signal() -> None:
    x = np.random.default_rng(1).standard_normal((1_000_000, 2))
    pyr = _build(x, [333_333, 700_001], True)
    read: list[int] = []
    groups = pyr.columns(0, x.shape[0], 1000, lambda a, b: read.append(b - a) or x[a:b])
    assert groups is not None and groups[0].size <= 1002
    assert sum(read) == 0
    assert np.array_equal(groups[3].max(axis=0), x.max(axis=0))


def test_saved_pyramid_is_memory_mapped_and_answers_the_same(tmp_path) -> None:
    x = np.random.default_rng(2).standard_normal((50_000, 3))
    pyr = _build(x, [1000, 20_000], True)
    names = pyr.save(tmp_path)
    again = MinMaxPyramid.load(tmp_path, names, x.shape[0], 3)
    assert isinstance(again._lo[0].arr, np.memmap)
    raw = lambda a, b: x[a:b]  # noqa: E731
    for i0, i1 in [(0, 50_000), (17, 49_999), (4096, 4097)]:
        assert all(np.array_equal(p, q) for p, q in zip(pyr.span_minmax(i0, i1, raw),
                                                       again.span_minmax(i0, i1, raw),
                                                       strict=True))


def test_decimate_columns_keeps_every_columns_extremes_with_or_without_nan() -> None:
    rng = np.random.default_rng(3)
    n, px = 100_003, 500
    t = np.arange(n) / 1e3
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    b[1000:5000] = np.nan
    tt, v = decimate_columns(t, [a, b], px)
    assert tt.size == v.shape[0] <= 2 * px + 2 and np.all(np.diff(tt) >= 0)
    per = n // px
    for k in (0, 7, px - 1):
        seg = slice(k * per, (k + 1) * per)
        assert set(v[2 * k:2 * k + 2, 0]) == {a[seg].min(), a[seg].max()}
    assert v[:, 0].max() == a.max() and v[:, 0].min() == a.min()
    assert np.nanmax(v[:, 1]) == np.nanmax(b)
