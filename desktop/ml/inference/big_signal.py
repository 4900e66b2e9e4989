"""A model over a signal too big for memory: window by window, block by block.

:meth:`Predictor.predict_signal` takes the whole channel (and resamples and frames it in
memory: several times the channel's size). :func:`predict_blocks` gives the same verdicts
reading the channel a block at a time from a :class:`ColumnReader` (a big text file's
cache, :class:`desktop.streams.big_text.CachedText`), so memory stays bounded by the block
whatever the file's length:

- each block of windows is resampled from its input span plus a margin wider than the
  polyphase filter, starting on a sample where the resampled grid lines up, so every
  resampled sample equals the whole-signal one;
- windows touching a gap (non-finite samples) are skipped with the same rule;
- the kept windows go to the model in the same batches of 512 as the whole-signal path.
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from typing import Protocol

import numpy as np

from desktop.analysis.windows import frame, resample
from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.ml.inference.predictors import Predictor, WindowVerdict
from desktop.ml.threads import limit_numeric_threads

#: Windows per block (a multiple of the model batch); 1024 windows of 2048 samples read
#: ~2 M samples (16 MB) of the channel at a time.
BLOCK_WINDOWS = 1024
BATCH = 512  # Predictor._predict_batches' batch: the same batches, the same answers


class ColumnReader(Protocol):
    """A recording whose channels are read a span at a time."""

    @property
    def samples(self) -> int: ...

    def read_column(self, index: int, start: int, stop: int) -> np.ndarray: ...


def _ratio(rate: float, target: float) -> tuple[int, int]:
    """``(up, down)`` of :func:`desktop.analysis.windows.resample` (1, 1: no resampling)."""
    if abs(rate - target) < 1e-9 * target:
        return 1, 1
    frac = Fraction(target / rate).limit_denominator(1000)
    if frac.numerator == 0:
        raise InputError(f"cannot resample {rate} Hz to {target} Hz")
    return frac.numerator, frac.denominator


def predict_blocks(predictor: Predictor, reader: ColumnReader, index: int, rate: float,
                   hop: int | None = None, start_s: float = 0.0, task: TaskState | None = None,
                   block_windows: int | None = None) -> list[WindowVerdict]:
    """The verdicts of ``predictor.predict_signal(channel, rate, hop, start_s)`` for
    channel ``index`` of ``reader``, reading one block of ``block_windows`` windows at a
    time (default :data:`BLOCK_WINDOWS`; sets ``predictor.last_skipped`` the same way).
    ``task`` gets progress and may cancel between blocks."""
    card = predictor.card
    limit_numeric_threads(getattr(predictor, "threads", None))
    if not (math.isfinite(rate) and rate > 0):
        raise InputError(f"invalid sample rate {rate!r}")
    hop = hop or card.hop
    window = card.window
    n = int(reader.samples)
    up, down = _ratio(rate, card.sample_rate)
    ny = n if up == down == 1 else -(-n * up // down)  # resample_poly's output length
    need_s = window / card.sample_rate
    if ny < window:
        raise InputError(f"the signal is {n / rate:.3f} s long; model "
                         f"'{card.name}' needs at least {need_s:.3f} s")
    total = (ny - window) // hop + 1
    # Input samples each resampled sample depends on, either side (resample_poly's filter
    # is 20 * max(up, down) + 1 taps long at the up-sampled rate), rounded to whole `down`s.
    margin = 0 if up == down == 1 else math.ceil((10 * max(up, down) + 2 * down) / up) + 4
    margin = -(-margin // down) * down
    scale = rate / card.sample_rate
    block_windows = max(BATCH, (block_windows or BLOCK_WINDOWS) // BATCH * BATCH)
    pending_w: list[np.ndarray] = []
    pending_t: list[np.ndarray] = []
    pending = 0
    skipped = 0
    out: list[WindowVerdict] = []

    def judge(count: int) -> None:
        nonlocal pending
        windows = np.concatenate(pending_w) if len(pending_w) > 1 else pending_w[0]
        starts = np.concatenate(pending_t) if len(pending_t) > 1 else pending_t[0]
        now_w, now_t = windows[:count], starts[:count]
        pending_w[:], pending_t[:] = [windows[count:]], [starts[count:]]
        pending -= count
        probs, scores = predictor._predict_batches(now_w, None)
        for i, v in enumerate(predictor.verdicts(now_w, probs, scores)):
            t0 = start_s + now_t[i] / card.sample_rate
            out.append(replace(v, start_s=t0, end_s=t0 + need_s))

    for k0 in range(0, total, block_windows):
        if task is not None:
            task.report(k0 / total, f"judging window {k0:,} of {total:,}")
        k1 = min(total, k0 + block_windows)
        starts = np.arange(k0, k1) * hop
        j0, j1 = k0 * hop, (k1 - 1) * hop + window  # resampled samples these windows use
        if up == down == 1:
            a, b = j0, j1
        else:
            a = max(0, (j0 // up) * down - margin)
            b = min(n, -(-j1 // up) * down + margin)
        lo = np.clip(np.floor(starts * scale).astype(int), 0, n)
        hi = np.clip(np.ceil((starts + window) * scale).astype(int), 0, n)
        r0, r1 = min(a, int(lo[0])), max(b, int(hi[-1]))
        x = reader.read_column(index, r0, r1)
        bad = ~np.isfinite(x)
        cum = np.concatenate([[0], np.cumsum(bad)])
        keep = (cum[hi - r0] - cum[lo - r0]) == 0
        skipped += int((~keep).sum())
        if not keep.any():
            continue
        y = resample(np.where(bad[a - r0:b - r0], 0.0, x[a - r0:b - r0]), rate,
                     card.sample_rate)
        offset = a * up // down if up != down else a
        windows = frame(y[j0 - offset:j1 - offset], window, hop)[keep]
        pending_w.append(windows)
        pending_t.append(starts[keep])
        pending += windows.shape[0]
        if pending >= block_windows:
            judge(pending // BATCH * BATCH)
    if pending:
        judge(pending)
    predictor.last_skipped = skipped
    return out


def predict_cached(predictor: Predictor, reader: ColumnReader, index: int, rate: float,
                   hop: int | None = None, start_s: float = 0.0, task: TaskState | None = None
                   ) -> list[WindowVerdict]:
    """:func:`predict_blocks` for a model judged window by window; a kind with its own
    ``predict_signal`` (it may look across windows) gets the one channel read whole from
    the reader (8 bytes per sample, never the other channels)."""
    if type(predictor).predict_signal is Predictor.predict_signal:
        return predict_blocks(predictor, reader, index, rate, hop, start_s, task)
    column = reader.read_column(index, 0, reader.samples)
    return predictor.predict_signal(column, rate, hop=hop, start_s=start_s, task=task)
