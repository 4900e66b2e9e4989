"""Live verdicts on the demo rig's real vibration, in arbitrary chunks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from desktop.ml.inference.live import AlarmHysteresis, LiveInference
from desktop.ml.inference.predictors import WindowVerdict, load_predictor
from desktop.sources.demo import DemoRigSource


@pytest.fixture(scope="module")
def demo_signal() -> tuple[np.ndarray, DemoRigSource]:
    src = DemoRigSource(speed=float("inf"))
    src.open()
    chunks = []
    while sum(len(c) for c in chunks) < src.loop_samples:
        chunks.append(src.read(0).values[:, 0])
    src.close()
    return np.concatenate(chunks)[: src.loop_samples], src


@pytest.fixture(scope="module")
def predictor():
    return load_predictor("fault-cwru", threads=1)


def test_chunked_stream_gives_the_same_verdicts_as_the_whole_signal(demo_signal, predictor
                                                                    ) -> None:
    x, _ = demo_signal
    whole = predictor.predict_signal(x, 12000.0)
    live = LiveInference(predictor, 12000.0, max_batch=8)
    rng = np.random.default_rng(0)
    got, pos = [], 0
    t = np.arange(x.size) / 12000.0
    while pos < x.size:
        n = int(rng.integers(1, 5000))
        got += live.feed(t[pos:pos + n], x[pos:pos + n], pos)
        pos += n
    while live.pending_windows:
        got += live.feed(np.empty(0), np.empty(0), pos)
    assert [v.verdict.label for v in got] == [v.label for v in whole]
    assert got[0].verdict.start_s == 0.0 and got[0].end_index == 2048
    np.testing.assert_allclose([v.verdict.start_s for v in got], [v.start_s for v in whole])


def test_other_sample_rate_is_resampled_per_window(demo_signal, predictor) -> None:
    x, src = demo_signal
    x24 = resample_poly(x, 2, 1)
    live = LiveInference(predictor, 24000.0, max_batch=1000)
    assert live.window_src == 4096
    verdicts = live.feed(np.arange(x24.size) / 24000.0, x24, 0)
    truth = [src.segment_at(int(v.verdict.start_s * 12000) + 1024) for v in verdicts]
    accuracy = np.mean([v.verdict.label == t for v, t in zip(verdicts, truth, strict=True)])
    assert accuracy >= 0.9


def test_gaps_are_skipped_not_judged(predictor) -> None:
    live = LiveInference(predictor, 12000.0)
    x = np.zeros(4096)
    x[100] = np.nan
    assert len(live.feed(np.arange(4096) / 12000.0, x, 0)) == 1 and live.skipped == 1


def _v(t0: float, label: str) -> WindowVerdict:
    return WindowVerdict(t0, t0 + 0.5, label, 0.9, label)


def test_alarm_raises_after_hold_and_clears_after_normal_hold() -> None:
    alarm = AlarmHysteresis(raise_after_s=2.0, clear_after_s=3.0)
    events = []
    labels = ["normal"] * 4 + ["inner_007"] * 2 + ["normal"] + ["inner_007"] * 6 + \
        ["normal"] * 2 + ["inner_007"] + ["normal"] * 8
    for i, label in enumerate(labels):
        events.append(alarm.update(_v(i * 0.5, label)))
    raised = [i for i, e in enumerate(events) if e == "raised"]
    cleared = [i for i, e in enumerate(events) if e == "cleared"]
    assert raised == [10]  # 4 windows of 0.5 s: a blip of two windows never raised it
    assert cleared == [len(labels) - 3] and not alarm.active
    assert alarm.label == "inner_007"


def _feed(alarm: AlarmHysteresis, labels: list[str], hop: float = 0.5, window: float = 0.5,
          first: int = 0) -> list[tuple[int, str, str]]:
    """(window index, event, alarm label) for every event the sequence produced; window
    ``i`` starts at ``i * hop`` seconds, counting from window ``first``."""
    out = []
    for i, label in enumerate(labels, start=first):
        event = alarm.update(WindowVerdict(i * hop, i * hop + window, label, 0.9, label))
        if event is not None:
            out.append((i, event, alarm.label))
    return out


def test_alarm_is_renamed_to_the_class_being_held() -> None:
    alarm = AlarmHysteresis(raise_after_s=2.0, clear_after_s=3.0)
    labels = ["normal"] * 2 + ["inner_007"] * 6 + ["ball_007"] * 6 + ["outer_021"] * 5 + \
        ["normal"] * 6
    assert _feed(alarm, labels) == [
        (5, "raised", "inner_007"),  # 4 windows of 0.5 s
        (11, "changed", "ball_007"),  # ball itself held 4 windows
        (17, "changed", "outer_021"),
        (24, "cleared", "outer_021"),
    ]
    assert not alarm.active


def test_odd_windows_never_rename_the_alarm() -> None:
    alarm = AlarmHysteresis(raise_after_s=2.0, clear_after_s=3.0)
    labels = ["inner_007"] * 4 + ["ball_007"] + ["inner_007"] + ["ball_007", "outer_007"] * 4 + \
        ["ball_007"] * 3 + ["inner_007"] + ["ball_007"] * 3 + ["normal"] + ["ball_007"] * 3
    assert _feed(alarm, labels) == [(3, "raised", "inner_007")]
    # No run of one other class reached 2 s (a normal window breaks a run too), and the
    # label never moved silently either.
    assert alarm.active and alarm.label == "inner_007"
    n = len(labels)
    assert _feed(alarm, ["ball_007"], first=n) == [(n, "changed", "ball_007")]  # 4 in a row


def test_rename_counts_time_with_overlapping_windows() -> None:
    # 0.5 s windows every 0.25 s: a class has held 2 s once a window ends 2 s after the
    # start of the first window of its run.
    alarm = AlarmHysteresis(raise_after_s=2.0, clear_after_s=3.0)
    labels = ["outer_007"] * 7 + ["ball_021"] * 7 + ["outer_007"] * 2
    assert _feed(alarm, labels, hop=0.25) == [(6, "raised", "outer_007"),
                                              (13, "changed", "ball_021")]
    assert alarm.label == "ball_021"

