"""WAV, NI TDMS, Excel and Arrow/Feather files, written here, read as recordings (whole
and streamed), and the one-line refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pytest

from desktop.core.errors import RecordingError
from desktop.recording.chunks import open_chunks
from desktop.recording.readers import read_recording


def _streamed(path: Path, rate: float | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    stream = open_chunks(path, rate)
    chunks = list(stream.chunks)
    values = np.concatenate([c.values for c in chunks])
    times = (np.concatenate([c.times for c in chunks]) if chunks[0].times is not None
             else None)
    assert chunks[-1].done == pytest.approx(1.0)
    return values, times


def test_wav_two_channels_at_its_own_rate(tmp_path: Path) -> None:
    import soundfile as sf

    rate = 8000
    t = np.arange(20_000) / rate
    data = np.column_stack([0.5 * np.sin(2 * np.pi * 50 * t), 0.25 * np.cos(2 * np.pi * 7 * t)])
    path = tmp_path / "probe.wav"
    sf.write(path, data, rate, subtype="FLOAT")
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["ch1", "ch2"]
    assert rec.sample_rate == rate and rec.samples == 20_000
    assert np.allclose(rec.values, data, atol=1e-7)
    values, times = _streamed(path)
    assert times is None and np.array_equal(values, rec.values)
    pcm = tmp_path / "pcm16.wav"
    sf.write(pcm, data, rate, subtype="PCM_16")
    assert np.allclose(read_recording(pcm).values, data, atol=1e-4)  # full scale = 1.0


def test_tdms_waveform_channels_with_wf_increment(tmp_path: Path) -> None:
    from nptdms import ChannelObject, GroupObject, RootObject, TdmsWriter

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(70_000), rng.standard_normal(70_000)
    path = tmp_path / "daq.tdms"
    props = {"wf_increment": 1 / 25_600.0, "unit_string": "g"}
    with TdmsWriter(path) as writer:
        writer.write_segment([RootObject(), GroupObject("Accel"),
                              ChannelObject("Accel", "DE", a[:40_000], properties=props),
                              ChannelObject("Accel", "FE", b[:40_000], properties=props),
                              ChannelObject("Setup", "gain", np.array([2.0]))])
        writer.write_segment([ChannelObject("Accel", "DE", a[40_000:], properties=props),
                              ChannelObject("Accel", "FE", b[40_000:], properties=props)])
    rec = read_recording(path)
    assert [(c.name, c.unit) for c in rec.channels] == [("DE", "g"), ("FE", "g")]
    assert rec.sample_rate == pytest.approx(25_600.0)
    assert np.array_equal(rec.values, np.column_stack([a, b]))
    assert rec.metadata["skipped_channels"] == ["Setup/gain"]
    values, _ = _streamed(path)
    assert np.array_equal(values, rec.values)


def test_tdms_with_a_time_channel(tmp_path: Path) -> None:
    from nptdms import ChannelObject, TdmsWriter

    t = np.arange(500) * 0.01 + 100.0
    with TdmsWriter(tmp_path / "t.tdms") as writer:
        writer.write_segment([ChannelObject("log", "Time", t),
                              ChannelObject("log", "pressure", np.sin(t))])
    rec = read_recording(tmp_path / "t.tdms")
    assert [c.name for c in rec.channels] == ["pressure"]
    assert np.array_equal(rec.timestamps, t)


def test_xlsx_logger_export_with_dates(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Timestamp", "Temp", "Humidity", "Note"])
    start = dt.datetime(2026, 11, 29, 10, 0, 0)
    for i in range(60):
        sheet.append([start + dt.timedelta(seconds=10 * i), 21.0 + 0.1 * i, 40 + i % 3, "ok"])
    path = tmp_path / "logger.xlsx"
    book.save(path)
    rec = read_recording(path)
    assert [c.name for c in rec.channels] == ["Temp", "Humidity"]
    assert rec.timestamps[0] == start.replace(tzinfo=dt.UTC).timestamp()
    assert np.allclose(np.diff(rec.timestamps), 10.0)
    assert rec.values[-1, 0] == pytest.approx(26.9)
    values, times = _streamed(path)
    assert np.array_equal(values, rec.values) and np.array_equal(times, rec.timestamps)


def test_arrow_and_feather_files(tmp_path: Path) -> None:
    table = pa.table({"time": np.arange(1000) / 100.0, "a": np.arange(1000.0),
                      "b": np.arange(1000, dtype=np.int32)})
    feather.write_feather(table, tmp_path / "x.feather", chunksize=300)
    rec = read_recording(tmp_path / "x.feather")
    assert [c.name for c in rec.channels] == ["a", "b"]
    assert np.array_equal(rec.timestamps, np.arange(1000) / 100.0)
    values, _times = _streamed(tmp_path / "x.feather")
    assert np.array_equal(values, rec.values)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("old.xls", b"\xd0\xcf\x11\xe0 not really", "save it as .xlsx"),
    ("broken.xlsx", b"PK not a zip", "not a readable .xlsx"),
    ("noise.wav", b"RIFF....WAVEjunk", "not a readable WAV"),
    ("junk.tdms", b"TDSm garbage garbage", "TDMS"),
    ("daq.tdms_index", b"TDSh", "open the .tdms file"),
])
def test_unreadable_files_are_one_line(tmp_path: Path, name: str, content: bytes,
                                       message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RecordingError) as err:
        read_recording(path)
    assert message in str(err.value) and "\n" not in str(err.value)
