"""Recordings that are not what they claim: refused in one line naming the file and the fault."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.io as sio

from desktop.core.errors import RecordingError
from desktop.recording.readers import read_recording, summarize_recording


def test_a_zero_byte_mat_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.mat"
    path.write_bytes(b"")
    with pytest.raises(RecordingError, match=r"empty\.mat is empty \(0 bytes\)"):
        read_recording(path)


@pytest.mark.parametrize("cut", [10, 127, 128, 200, 400])
def test_a_truncated_mat_file_is_refused(tmp_path: Path, cut: int) -> None:
    good = tmp_path / "good.mat"
    sio.savemat(good, {"x": np.arange(1000.0), "fs": 100.0}, do_compression=True)
    bad = tmp_path / "cut.mat"
    bad.write_bytes(good.read_bytes()[:cut])
    with pytest.raises(RecordingError, match=r"cut\.mat"):
        read_recording(bad)


def test_a_compressed_mat_bomb_is_refused_before_it_unpacks(tmp_path: Path) -> None:
    good = tmp_path / "good.mat"
    sio.savemat(good, {"x": np.arange(10.0)}, do_compression=True)
    header = good.read_bytes()[:128]
    for declared, words in ((3 << 30, "unpack to more than 1 GiB"),
                            (1000, "unpacks to more than it declares")):
        packer = zlib.compressobj(9)
        body = packer.compress(struct.pack("<II", 14, declared))
        body += b"".join(packer.compress(bytes(1 << 22)) for _ in range(4)) + packer.flush()
        bomb = tmp_path / "bomb.mat"
        bomb.write_bytes(header + struct.pack("<II", 15, len(body)) + body)
        with pytest.raises(RecordingError, match=words):
            read_recording(bomb)
    # A real compressed file still reads.
    assert read_recording(good).samples == 10


@pytest.mark.parametrize("with_meta", [False, True])
def test_a_text_time_column_is_named(tmp_path: Path, with_meta: bool) -> None:
    meta = {b"linewatch": json.dumps({"channels": [{"name": "x"}]}).encode()} if with_meta \
        else None
    schema = pa.schema([("time_s", pa.string()), ("x", pa.float64())], metadata=meta)
    path = tmp_path / "text.parquet"
    pq.write_table(pa.table({"time_s": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]}, schema=schema),
                   path)
    for call in (read_recording, summarize_recording):
        with pytest.raises(RecordingError) as info:
            call(path)
        assert str(info.value) == (f"{path}: column 'time_s' holds text, but a time column "
                                   "must hold numbers (seconds); fix or rename that column")


def test_numeric_foreign_time_columns_still_read(tmp_path: Path) -> None:
    path = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"t": np.arange(5, dtype=np.int64), "v": np.ones(5)}), path)
    rec = read_recording(path)
    assert rec.samples == 5 and [c.name for c in rec.channels] == ["v"]
