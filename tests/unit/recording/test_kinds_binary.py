"""Issue #23, the binary kinds: TDMS groups and time channels, WAV headers never
finalised, Parquet epoch integers, ``.mat`` structs, and ``info`` saying what it inferred.
Every input is generated here, as the plant's tools write it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.cli import main
from desktop.recording.chunks import open_chunks
from desktop.recording.readers import read_recording, summarize_recording


def _info(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    assert main(["info", str(path), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _two_rate_tdms(path: Path, fast: float = 25_600.0, slow: float = 2.0,
                   n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    from nptdms import ChannelObject, GroupObject, RootObject, TdmsWriter

    rng = np.random.default_rng(1)
    vib, temp = rng.standard_normal(n), 40 + rng.standard_normal(n)
    start = np.datetime64("2025-03-02T08:00:00")
    with TdmsWriter(path) as writer:  # two DAQ tasks: the slow one written first
        writer.write_segment([
            RootObject(), GroupObject("Temps"), GroupObject("Vib"),
            ChannelObject("Temps", "oil", temp, properties={
                "wf_increment": 1 / slow, "wf_start_time": start, "unit_string": "degC"}),
            ChannelObject("Vib", "de", vib, properties={
                "wf_increment": 1 / fast, "wf_start_time": start, "unit_string": "g"})])
    return vib, temp


def test_kind01_tdms_groups_keep_their_own_rates(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "two-tasks.tdms"
    vib, temp = _two_rate_tdms(path)
    rec = read_recording(path)  # the fastest group by default, at its own rate
    assert [c.name for c in rec.channels] == ["de"]
    assert rec.sample_rate == pytest.approx(25_600.0)
    assert np.array_equal(rec.values[:, 0], vib)
    slow = read_recording(path, group="temps")
    assert [(c.name, c.unit) for c in slow.channels] == [("oil", "degC")]
    assert slow.sample_rate == pytest.approx(2.0) and slow.duration_s == pytest.approx(1500.0)
    assert np.array_equal(slow.values[:, 0], temp)
    by_channel = read_recording(path, channel="oil")  # a channel name picks its group
    assert by_channel.sample_rate == pytest.approx(2.0)
    info = _info(path, capsys)
    assert info["sample_rate"] == pytest.approx(25_600.0)
    assert info["inferred"]["group"] == "Vib"
    assert info["inferred"]["groups"] == {"Temps": "2 Hz, 3,000 samples",
                                          "Vib": "25,600 Hz, 3,000 samples"}
    assert any("--group" in n for n in info["notes"])
    assert _info(path, capsys, "--group", "Temps")["sample_rate"] == pytest.approx(2.0)
    assert main(["info", str(path), "--group", "nope"]) == 2
    assert "no TDMS group 'nope'" in capsys.readouterr().err
    streamed = np.concatenate([c.values for c in open_chunks(path, group="Temps").chunks])
    assert np.array_equal(streamed[:, 0], temp)


def test_kind02_tdms_time_channel_is_the_time_axis(tmp_path: Path) -> None:
    from nptdms import ChannelObject, TdmsWriter

    n = 400
    start = np.datetime64("2025-06-01T00:00:00.000000")
    stamps = start + np.arange(n) * np.timedelta64(50, "ms")  # 20 Hz
    with TdmsWriter(tmp_path / "stamped.tdms") as writer:
        writer.write_segment([ChannelObject("log", "Timestamp", stamps),
                              ChannelObject("log", "flow", np.arange(n, dtype=np.float64))])
    rec = read_recording(tmp_path / "stamped.tdms")
    assert [c.name for c in rec.channels] == ["flow"]
    assert rec.timestamps is not None
    assert rec.timestamps[0] == dt.datetime(2025, 6, 1, tzinfo=dt.UTC).timestamp()
    assert rec.effective_rate() == pytest.approx(20.0)
    assert rec.start_time.startswith("2025-06-01T00:00:00")
    summary = summarize_recording(tmp_path / "stamped.tdms")
    assert summary.duration_s == pytest.approx(20.0)
    assert summary.inferred["time_column"] == "log/Timestamp"
    ms = tmp_path / "ms.tdms"  # seconds as numbers, in a unit its name gives
    with TdmsWriter(ms) as writer:
        writer.write_segment([ChannelObject("g", "time_ms", np.arange(n) * 2.0),
                              ChannelObject("g", "p", np.ones(n))])
    assert read_recording(ms).effective_rate() == pytest.approx(500.0)


@pytest.mark.parametrize("unit,scale", [("ms", 1_000), ("us", 1_000_000),
                                        ("ns", 1_000_000_000)])
@pytest.mark.parametrize("named", [True, False])
def test_kind13_parquet_epoch_integers(tmp_path: Path, unit: str, scale: int, named: bool,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    start = 1_735_689_600  # 2025-01-01T00:00:00Z
    ticks = start * scale + np.arange(50, dtype=np.int64) * (scale // 20)  # 20 Hz
    name = f"time_{unit}" if named else "timestamp"
    path = tmp_path / f"epoch-{unit}.parquet"
    pq.write_table(pa.table({name: pa.array(ticks, pa.int64()),
                             "speed": np.linspace(0, 1, 50)}), path)
    rec = read_recording(path)
    assert rec.effective_rate() == pytest.approx(20.0)
    assert rec.timestamps[1] - rec.timestamps[0] == pytest.approx(0.05)
    assert rec.start_time == "2025-01-01T00:00:00+00:00"
    info = _info(path, capsys)
    assert info["sample_rate"] == pytest.approx(20.0)
    assert info["inferred"]["time_column"] == name
    assert info["inferred"]["time_unit"].startswith(f"{unit} since 1970")


def test_kind13_big_int64_never_a_traceback(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    big = 2**62 + np.arange(10, dtype=np.int64)  # no float64 holds these exactly
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"counter": pa.array(big, pa.int64()), "v": np.arange(10.0)}), path)
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["counter", "v"]
    relative = tmp_path / "rel.parquet"  # a relative millisecond counter stays relative
    pq.write_table(pa.table({"time_ms": pa.array(np.arange(10) * 10, pa.int64()),
                             "v": np.arange(10.0)}), relative)
    rel = read_recording(relative)
    assert rel.timestamps[-1] == pytest.approx(0.09) and rel.start_time == ""
    assert main(["info", str(path)]) == 0


def test_kind18_unknown_rate_duration_is_null(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "norate.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6\n")
    info = _info(path, capsys)
    assert info["sample_rate"] is None and info["duration_s"] is None
    assert main(["info", str(path)]) == 0
    assert "duration:    unknown" in capsys.readouterr().out
    timed = tmp_path / "timed.csv"
    timed.write_text("time,a\n0,1\n0.5,2\n")
    assert _info(timed, capsys)["duration_s"] == pytest.approx(1.0)


@pytest.mark.parametrize("subtype,tol", [("PCM_16", 1e-4), ("PCM_24", 1e-6), ("FLOAT", 1e-7),
                                         ("PCM_U8", 1e-2)])
def test_kind03_wav_header_never_finalised(tmp_path: Path, subtype: str, tol: float,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import struct

    import soundfile as sf

    t = np.arange(6000) / 16_000
    data = np.column_stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.cos(2 * np.pi * 50 * t)])
    good = tmp_path / "good.wav"
    sf.write(good, data, 16_000, subtype=subtype)
    raw = bytearray(good.read_bytes())
    at = raw.find(b"data")
    raw[4:8] = struct.pack("<I", 0)  # the recorder crashed before writing both sizes
    raw[at + 4:at + 8] = struct.pack("<I", 0)
    crashed = tmp_path / "crashed.wav"
    crashed.write_bytes(bytes(raw))
    rec = read_recording(crashed)
    assert rec.samples == 6000 and rec.sample_rate == 16_000
    assert np.allclose(rec.values, read_recording(good).values, atol=tol)
    assert np.allclose(rec.values, data, atol=tol * 2 + 1e-2 * (subtype == "PCM_U8"))
    assert "never finalised" in rec.metadata["notes"][0]
    info = _info(crashed, capsys)
    assert info["samples"] == 6000 and info["duration_s"] == pytest.approx(6000 / 16_000)
    streamed = np.concatenate([c.values for c in open_chunks(crashed).chunks])
    assert np.array_equal(streamed, rec.values)


def test_kind14_mat_struct_fields_and_rate(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from scipy.io import savemat

    rng = np.random.default_rng(3)
    sig = rng.standard_normal((5000, 1))
    path = tmp_path / "rig.mat"  # a data set's layout: signal and rate inside one struct
    savemat(path, {"run": {"accel": sig, "Fs": 51_200.0, "rate": 30.0, "load": 2.0}})
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["run.accel"]
    assert rec.sample_rate == 51_200.0 and np.array_equal(rec.values[:, 0], sig[:, 0])
    info = _info(path, capsys)
    assert info["duration_s"] == pytest.approx(5000 / 51_200, abs=1e-6)
    assert info["inferred"]["rate_from"] == "run.Fs"
    nested = tmp_path / "nested.mat"
    savemat(nested, {"test": {"ch": {"x": sig[:2000], "y": -sig[:2000]}, "sr": 1000}})
    rec = read_recording(nested)
    assert [c.name for c in rec.channels] == ["test.ch.x", "test.ch.y"]
    assert rec.sample_rate == 1000


def test_kind14_mat_v73_struct_rate(tmp_path: Path) -> None:
    import h5py

    path = tmp_path / "v73.mat"
    sig = np.sin(np.arange(3000) / 5.0)
    with h5py.File(path, "w", userblock_size=512) as f:
        group = f.create_group("bearing")
        group.create_dataset("gs", data=sig.reshape(1, -1))
        group.create_dataset("sr", data=np.array([[12_000.0]]))
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file".ljust(116, b" ") + bytes(8) + b"\x00\x02IM")
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["bearing.gs"]
    assert rec.sample_rate == 12_000.0


def test_kind02_tdms_time_channel_in_a_group_of_its_own(tmp_path: Path) -> None:
    from nptdms import ChannelObject, TdmsWriter

    n = 300
    with TdmsWriter(tmp_path / "split.tdms") as writer:
        writer.write_segment([ChannelObject("Time", "Time", np.arange(n) * 0.25),
                              ChannelObject("Data", "temp", 20 + np.arange(n) / 10)])
    rec = read_recording(tmp_path / "split.tdms")
    assert [c.name for c in rec.channels] == ["temp"]
    assert rec.effective_rate() == pytest.approx(4.0)
    assert rec.metadata["inferred"]["time_column"] == "Time/Time"


def test_kind01_analysis_reads_a_channel_at_its_own_groups_rate(tmp_path: Path) -> None:
    from desktop.cli.analysis import load_channel

    path = tmp_path / "two-tasks.tdms"
    _, temp = _two_rate_tdms(path)
    slow = load_channel(path, "oil")
    assert slow.rate == pytest.approx(2.0) and np.array_equal(slow.values, temp)
    assert load_channel(path, "de").rate == pytest.approx(25_600.0)


def test_kind13_epoch_milliseconds_as_floats(tmp_path: Path) -> None:
    ms = 1_735_689_600_000.0 + np.arange(20) * 250.0  # 4 Hz, stored as double
    path = tmp_path / "float-ms.parquet"
    pq.write_table(pa.table({"timestamp": ms, "v": np.arange(20.0)}), path)
    rec = read_recording(path)
    assert rec.effective_rate() == pytest.approx(4.0)
    assert rec.start_time.startswith("2025-01-01T00:00:00")
    seconds = tmp_path / "float-s.parquet"  # epoch seconds stay as they are (date axis)
    pq.write_table(pa.table({"timestamp": ms / 1000, "v": np.arange(20.0)}), seconds)
    assert read_recording(seconds).timestamps[0] == pytest.approx(1_735_689_600.0)
