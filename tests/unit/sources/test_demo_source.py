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

REPO = Path(__file__).resolve().parents[3]
DEMO_DIR = REPO / "resources" / "demo"
CWRU_DIR = Path("/work/shared/data/cwru")
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


def _expected_loop() -> np.ndarray:
    """Dequantise the bundle independently of the source under test."""
    meta = _meta()
    with np.load(DEMO_DIR / "demo.npz", allow_pickle=False) as npz:
        codes, scale = npz["codes"], npz["scale"]
    parts = []
    for i, seg in enumerate(meta["segments"]):
        rows = codes[seg["offset"] : seg["offset"] + seg["samples"]]
        parts.append(rows.astype(np.float64) * scale[i])
    return np.concatenate(parts)


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
    meta = _meta()
    labels = [s["label"] for s in meta["segments"]]
    assert labels[0] == "normal"
    assert [s.label for s in rig.segments] == labels
    n = rig.loop_samples
    for seg in meta["segments"]:
        first, last = seg["offset"], seg["offset"] + seg["samples"] - 1
        assert rig.segment_at(first) == seg["label"]
        assert rig.segment_at(last) == seg["label"]
        assert rig.segment_at(first + 3 * n) == seg["label"]
    assert rig.segment_at(n) == "normal"
    assert rig.segment_at(n - 1) == labels[-1]
    with pytest.raises(ValueError):
        rig.segment_at(-1)


def test_infinite_speed_needs_no_clock() -> None:
    source = DemoRigSource(DEMO_DIR, speed=float("inf"))
    source.open()
    start = time.monotonic()
    sizes = [len(source.read(1.0)) for _ in range(20)]
    assert time.monotonic() - start < 1.0
    assert sizes == [3000] * 20
    assert source.samples_emitted == 60000
    assert source.segment_at(source.samples_emitted - 1) == source.segments[1].label


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


@pytest.mark.skipif(not CWRU_DIR.is_dir(), reason="CWRU source data not available")
def test_excerpt_is_what_demo_json_says() -> None:
    """The recorded sample ranges are the truth: held-out evaluation relies on them."""
    scipy_io = pytest.importorskip("scipy.io")
    signal = pytest.importorskip("scipy.signal")
    meta = _meta()
    expected = _expected_loop()
    for seg in meta["segments"]:
        mat = scipy_io.loadmat(str(CWRU_DIR / seg["file"]))
        number = seg["cwru_number"]
        got = expected[seg["offset"] : seg["offset"] + seg["samples"]]
        for col, ch in enumerate(meta["channels"]):
            x = mat[f"X{number:03d}_{ch['cwru_key']}"].ravel()
            assert len(x) == seg["source_samples_in_file"]
            factor = seg["source_rate"] // RATE
            if factor == 1:
                ref = x[seg["source_start"] : seg["source_stop"]]
            else:
                ref = signal.resample_poly(x, 1, factor)
                ref = ref[seg["source_start"] // factor : seg["source_stop"] // factor]
            rel = np.sqrt(np.mean((got[:, col] - ref) ** 2)) / np.sqrt(np.mean(ref**2))
            assert rel < 1e-3, (seg["label"], ch["name"], rel)
