"""The demo rig against the real bundled CWRU excerpt: pacing, looping, drops, labels."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from desktop.core.errors import SourceError
from desktop.core.types import ChannelSpec, SourceState
from desktop.sources.demo import DemoRigSource, default_demo_dir
from tests.support.real_data import DEMO_REFERENCE

REPO = Path(__file__).resolve().parents[3]
DEMO_DIR = REPO / "resources" / "demo"
RATE = 12_000
VOCABULARY = {
    "normal",
    "ball_007",
    "ball_014",
    "ball_021",
    "inner_007",
    "inner_014",
    "inner_021",
    "outer_007",
    "outer_014",
    "outer_021",
}


class FakeClock:
    """A clock the test moves by hand, so pacing is exact and the test never waits."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _meta() -> dict:
    return json.loads((DEMO_DIR / "demo.json").read_text(encoding="utf-8"))


def _stored_segments() -> list[np.ndarray]:
    """Each segment's samples as stored, dequantised independently of the source."""
    meta = _meta()
    with np.load(DEMO_DIR / "demo.npz", allow_pickle=False) as npz:
        codes, scale = npz["codes"], npz["scale"]
    return [
        codes[seg["offset"] : seg["offset"] + seg["samples"]].astype(np.float64) * scale[i]
        for i, seg in enumerate(meta["segments"])
    ]


def _played(seg: dict, x: np.ndarray) -> np.ndarray:
    """One segment as the loop plays it: once, or ``repeat.plays`` times between its loop
    points (first play from the top, last play to the end)."""
    rep = seg.get("repeat")
    if rep is None or rep["plays"] == 1:
        return x
    a, b = rep["loop_start"], rep["loop_end"]
    return np.concatenate([x[:b]] + [x[a:b]] * (rep["plays"] - 2) + [x[a:]])


def _loop_ranges() -> list[tuple[str, int, int]]:
    """(label, start, stop) of every segment on the loop's timeline."""
    out, pos = [], 0
    for seg in _meta()["segments"]:
        n = seg.get("repeat", {}).get("played_samples", seg["samples"])
        out.append((seg["label"], pos, pos + n))
        pos += n
    return out


def _expected_loop() -> np.ndarray:
    """The whole loop as it should play, built independently of the source under test."""
    meta = _meta()
    return np.concatenate(
        [_played(seg, x) for seg, x in zip(meta["segments"], _stored_segments(), strict=True)]
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def rig(clock: FakeClock):
    source = DemoRigSource(DEMO_DIR, clock=clock)
    source.open()
    yield source
    source.close()


def test_default_dir_is_the_bundled_one() -> None:
    assert default_demo_dir() == DEMO_DIR


def test_channels_rate_and_description() -> None:
    source = DemoRigSource()
    assert source.channels == (ChannelSpec("DE accel", "g"), ChannelSpec("FE accel", "g"))
    assert source.sample_rate == 12000.0
    assert source.description.startswith("demo rig (CWRU bearing excerpts: normal → inner race")
    assert source.state is SourceState.CLOSED


def test_bundle_is_small_and_documented() -> None:
    files = [p for p in DEMO_DIR.iterdir() if p.is_file()]
    assert {p.name for p in files} == {"demo.json", "demo.npz"}
    assert sum(p.stat().st_size for p in files) <= 3 * 1024 * 1024
    meta = _meta()
    assert meta["sample_rate"] == RATE
    for seg in meta["segments"]:
        assert seg["label"] in VOCABULARY
        assert max(seg["quantisation_rel_rms_error"]) < 1e-3
        assert 0 <= seg["source_start"] < seg["source_stop"] <= seg["source_samples_in_file"]
        factor = seg["source_rate"] // RATE
        assert (seg["source_stop"] - seg["source_start"]) // factor == seg["samples"]
    assert (REPO / "resources" / "README.md").is_file()


def test_state_changes_are_announced(clock: FakeClock) -> None:
    source = DemoRigSource(DEMO_DIR, clock=clock)
    seen: list[SourceState] = []
    source.add_state_listener(lambda state, detail: seen.append(state))
    source.open()
    source.close()
    source.close()
    assert seen == [SourceState.CONNECTING, SourceState.CONNECTED, SourceState.CLOSED]
    with pytest.raises(RuntimeError):
        source.read(0)


def test_delivers_rate_times_elapsed(rig: DemoRigSource, clock: FakeClock) -> None:
    assert len(rig.read(0)) == 0
    clock.t += 0.1
    block = rig.read(0)
    assert abs(len(block) - 1200) <= 1
    assert block.values.shape[1] == 2 and block.values.dtype == np.float64
    assert block.timestamps is None
    assert block.channels == rig.channels
    # Many uneven steps add up exactly: no sample is lost or invented by rounding.
    rng = np.random.default_rng(7)
    total, elapsed = len(block), 0.1
    for step in rng.uniform(0.0, 0.05, size=400):
        clock.t += step
        elapsed += step
        total += len(rig.read(0))
    assert abs(total - RATE * elapsed) <= 1
    assert rig.samples_emitted == total
    assert rig.dropped == 0


def test_speed_scales_the_pace(clock: FakeClock) -> None:
    source = DemoRigSource(DEMO_DIR, speed=2.5, clock=clock)
    source.open()
    clock.t += 0.2
    assert abs(len(source.read(0)) - 6000) <= 1


def test_loop_wraps_and_matches_stored_data(rig: DemoRigSource, clock: FakeClock) -> None:
    expected = _expected_loop()
    n = len(expected)
    assert rig.loop_samples == n
    blocks = []
    crossed_boundary = False
    starts = {s.start for s in rig.segments}
    while sum(len(b) for b in blocks) < 2 * n + 5000:
        before = rig.samples_emitted
        clock.t += 1.7  # under the 2 s FIFO, so nothing is dropped
        blocks.append(rig.read(0).values)
        after = rig.samples_emitted
        crossed_boundary |= any(before < s + k * n < after for s in starts for k in range(3))
    got = np.concatenate(blocks)
    assert crossed_boundary
    assert rig.dropped == 0
    index = np.arange(len(got)) % n
    np.testing.assert_array_equal(got, expected[index])


def test_late_read_skips_ahead_and_counts_dropped(rig: DemoRigSource, clock: FakeClock) -> None:
    expected = _expected_loop()
    clock.t += 0.5
    first = rig.read(0)
    assert len(first) == 6000
    clock.t += 5.0  # the process was suspended
    late = rig.read(0)
    assert len(late) == 2 * RATE  # the newest 2 s survive, like a device FIFO
    assert rig.dropped == 5 * RATE - 2 * RATE
    assert rig.samples_emitted == 6000 + 5 * RATE
    np.testing.assert_array_equal(late.values, expected[6000 + 3 * RATE : 6000 + 5 * RATE])
    clock.t += 0.1
    after = rig.read(0)
    assert len(after) == 1200
    np.testing.assert_array_equal(after.values, expected[6000 + 5 * RATE : 7200 + 5 * RATE])
    assert rig.dropped == 3 * RATE


def test_segment_at_follows_the_loop_order(rig: DemoRigSource) -> None:
    ranges = _loop_ranges()
    labels = [label for label, _, _ in ranges]
    assert labels[0] == "normal"
    assert [s.label for s in rig.segments] == labels
    assert [(s.start, s.stop) for s in rig.segments] == [(a, b) for _, a, b in ranges]
    n = rig.loop_samples
    assert n == ranges[-1][2]
    for label, first, stop in ranges:
        assert rig.segment_at(first) == label
        assert rig.segment_at(stop - 1) == label
        assert rig.segment_at(first + 3 * n) == label
    assert rig.segment_at(n) == "normal"
    assert rig.segment_at(n - 1) == labels[-1]
    with pytest.raises(ValueError):
        rig.segment_at(-1)


def test_healthy_stretch_opens_the_loop_and_outlasts_clear_after(rig: DemoRigSource) -> None:
    """The healthy segment repeats so the demo shows an alarm clearing (Clear-after 5 s)."""
    healthy = rig.segments[0]
    assert healthy.label == "normal" and healthy.start == 0 and healthy.plays >= 2
    assert healthy.stop >= 8 * RATE
    n = rig.loop_samples
    for k in (0, 1):
        assert {rig.segment_at(i + k * n) for i in range(0, healthy.stop, 997)} == {"normal"}
        assert rig.segment_at(healthy.stop - 1 + k * n) == "normal"
        assert rig.segment_at(healthy.stop + k * n) != "normal"
    assert rig.segment_at(n - 1) != "normal"  # one stretch, not two half ones
    assert len(_expected_loop()) == n


def test_repeat_joins_are_seamless() -> None:
    """Where the healthy segment jumps back to its loop start, the stream takes one
    ordinary step: no click for the plot, the spectrum or the fault model."""
    source = DemoRigSource(DEMO_DIR, speed=float("inf"))
    source.open()
    healthy = source.segments[0]
    got = np.concatenate([source.read(0).values for _ in range(healthy.stop // 3000 + 2)])
    source.close()
    seg = _meta()["segments"][0]
    rep = seg["repeat"]
    stored = _stored_segments()[0]
    a, b = rep["loop_start"], rep["loop_end"]
    np.testing.assert_array_equal(got[: healthy.stop], _played(seg, stored))
    steps = np.abs(np.diff(stored, axis=0))  # the signal's own sample-to-sample changes
    typical = np.percentile(steps, 90, axis=0)
    joins = [b + k * (b - a) for k in range(rep["plays"] - 1)]
    assert len(joins) >= 1 and joins[-1] < healthy.stop
    for j in joins:
        jump = np.abs(got[j] - got[j - 1])
        assert np.all(jump <= typical), (j, jump, typical)
        # ... and it is nearly the step the recording itself took there.
        assert np.all(np.abs(got[j] - stored[b]) <= 0.5 * np.median(steps, axis=0))
    # Around the joins nothing stands out either: the played stretch has no step beyond
    # the largest one recorded.
    assert np.all(np.abs(np.diff(got[: healthy.stop], axis=0)).max(axis=0) <= steps.max(axis=0))


def test_infinite_speed_needs_no_clock() -> None:
    source = DemoRigSource(DEMO_DIR, speed=float("inf"))
    source.open()
    start = time.monotonic()
    sizes = [len(source.read(1.0)) for _ in range(20)]
    assert time.monotonic() - start < 1.0
    assert sizes == [3000] * 20
    assert source.samples_emitted == 60000
    assert source.segment_at(source.samples_emitted - 1) == "normal"  # 5 s in: still healthy


def test_real_clock_read_waits_for_a_block() -> None:
    source = DemoRigSource(DEMO_DIR, block_seconds=0.05)
    source.open()
    block = source.read(2.0)
    assert 600 <= len(block) < 6000
    total = len(block)
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        total += len(source.read(0.1))
    assert source.dropped == 0
    assert total == source.samples_emitted


def test_frozen_clock_does_not_hang(rig: DemoRigSource) -> None:
    start = time.monotonic()
    assert len(rig.read(0.05)) == 0
    assert time.monotonic() - start < 1.0


def test_missing_resources_raise_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="demo rig data not found"):
        DemoRigSource(tmp_path / "nowhere")
    shutil.copy(DEMO_DIR / "demo.json", tmp_path / "demo.json")
    source = DemoRigSource(tmp_path)
    with pytest.raises(SourceError, match="demo rig data not found"):
        source.open()
    assert source.state is SourceState.CLOSED


def test_mismatched_data_file_is_refused(tmp_path: Path) -> None:
    shutil.copy(DEMO_DIR / "demo.json", tmp_path / "demo.json")
    (tmp_path / "demo.npz").write_bytes(b"not the excerpt")
    with pytest.raises(SourceError, match="does not match"):
        DemoRigSource(tmp_path).open()


@pytest.mark.parametrize("speed", [0.0, -1.0, float("nan")])
def test_bad_speed_is_refused(speed: float) -> None:
    with pytest.raises(SourceError):
        DemoRigSource(DEMO_DIR, speed=speed)


def test_excerpt_is_what_demo_json_says() -> None:
    """The recorded sample ranges are the truth: held-out evaluation relies on them.

    Checked against the first samples of each segment as its CWRU source file gives them
    (resampled as demo.json says), kept in tests/fixtures by tools/make_test_excerpts.py so
    any clone runs this check."""
    meta = _meta()
    with np.load(DEMO_REFERENCE, allow_pickle=False) as ref_npz:
        reference = {k: ref_npz[k] for k in ref_npz.files}
    for i, (seg, got) in enumerate(zip(meta["segments"], _stored_segments(), strict=True)):
        for col, ch in enumerate(meta["channels"]):
            key = f"seg{i}_{ch['cwru_key']}"
            assert int(reference[key + "_len"]) == seg["source_samples_in_file"]
            ref = reference[key]
            part = got[: len(ref), col]
            rel = np.sqrt(np.mean((part - ref) ** 2)) / np.sqrt(np.mean(ref**2))
            assert rel < 1e-3, (seg["label"], ch["name"], rel)
