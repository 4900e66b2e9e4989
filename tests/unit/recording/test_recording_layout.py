"""How recordings are laid out in Parquet: few row groups, the right encoding per column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from desktop.core.types import ChannelSpec
from desktop.recording.readers import read_recording
from desktop.recording.writer import RecordingWriter


def test_flushes_become_few_row_groups_with_an_encoding_per_column(tmp_path: Path) -> None:
    channels = (ChannelSpec("noise"), ChannelSpec("adc"))
    out = tmp_path / "rec.parquet"
    writer = RecordingWriter(out, channels, 1000.0, "test", flush_interval_s=0.0, fsync=False)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(200_000)
    adc = np.round(rng.standard_normal(200_000) * 300) * (10.0 / 32768)  # int16 counts x scale
    for start in range(0, 200_000, 500):  # 400 flushes, as 0.5 s flushes at 1 kHz would be
        k = np.arange(start, start + 500)
        writer.write(k / 1000.0, np.column_stack([noise[k], adc[k]]))
    writer.close()
    meta = pq.ParquetFile(out).metadata
    assert meta.num_row_groups == 1  # was one per flush: 400
    encodings = {meta.schema.column(c).name: set(meta.row_group(0).column(c).encodings)
                 for c in range(meta.num_columns)}
    assert "BYTE_STREAM_SPLIT" in encodings["time_s"]
    assert "BYTE_STREAM_SPLIT" in encodings["noise"]
    assert "RLE_DICTIONARY" in encodings["adc"]
    rec = read_recording(out)
    np.testing.assert_array_equal(rec.values, np.column_stack([noise, adc]))  # bit for bit
    np.testing.assert_array_equal(rec.timestamps, np.arange(200_000) / 1000.0)
