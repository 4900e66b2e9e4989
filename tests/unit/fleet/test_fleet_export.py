"""``linewatch export`` (a span of a recording) and ``linewatch verdicts export``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.cli import main
from desktop.core.errors import InputError
from desktop.core.types import ChannelSpec
from desktop.fleet.export import read_verdicts, select
from desktop.recording.readers import read_recording
from desktop.recording.schema import build_schema
from tests.support.real_data import CWRU

RATE = 1000.0


def write_parquet(path: Path, n: int = 5000, timed: bool = True, gap: bool = False
                  ) -> np.ndarray:
    """A two-channel recording; the first time is not zero, like a device clock."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=(n, 2))
    if gap:
        values[7, 1] = np.nan
    times = 100.0 + np.arange(n) / RATE
    chans = (ChannelSpec("accel x", "g"), ChannelSpec("accel_y", "m/s2"))
    schema = build_schema(chans, {"sample_rate": RATE, "source": "demo"})
    arrays = [pa.array(times if timed else np.arange(n) / RATE)]
    arrays += [pa.array(values[:, j]) for j in range(2)]
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path)
    return values


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export_span_round_trips_the_values(tmp_path: Path, suffix: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "rec.parquet"
    # A gap stays a gap in Parquet; in CSV it is an empty field, which Linewatch's CSV
    # reader (the serial port's parser) skips as a malformed line.
    values = write_parquet(src, gap=suffix == ".parquet")
    out = tmp_path / f"sel{suffix}"
    assert main(["export", str(src), "--start", "0.005", "--end", "1.5", "--out",
                 str(out)]) == 0
    assert "exported 1,495 samples x 2 channels" in capsys.readouterr().out
    back = read_recording(out)
    want = values[5:1500]
    assert [c.name for c in back.channels] == ["accel x", "accel_y"]
    np.testing.assert_array_equal(back.values, want)  # bit for bit
    assert back.timestamps is not None
    assert back.timestamps[0] == pytest.approx(100.005)  # the file's own times
    assert back.effective_rate() == pytest.approx(RATE)
    if suffix == ".parquet":
        assert [c.unit for c in back.channels] == ["g", "m/s2"]
        assert back.metadata["selection"]["file"] == str(src)
        assert back.metadata["selection"]["start_s"] == pytest.approx(0.005)


def test_export_some_channels_and_refuses_to_overwrite(tmp_path: Path) -> None:
    src = tmp_path / "rec.parquet"
    values = write_parquet(src)
    out = tmp_path / "sel.csv"
    assert main(["export", str(src), "--channels", "y", "--out", str(out)]) == 0
    back = read_recording(out)
    assert [c.name for c in back.channels] == ["accel_y"]
    np.testing.assert_array_equal(back.values[:, 0], values[:, 1])
    assert main(["export", str(src), "--channels", "y", "--out", str(out)]) == 1
    assert main(["export", str(src), "--channels", "nope", "--out",
                 str(tmp_path / "x.csv")]) == 2  # a bad command-line value


def test_export_rejects_spans_outside_the_file(tmp_path: Path) -> None:
    src = tmp_path / "rec.parquet"
    write_parquet(src)
    with pytest.raises(InputError, match="START < END"):
        select(src, 2.0, 1.0)
    with pytest.raises(InputError, match="file's length"):
        select(src, 9.0, 10.0)
    assert main(["export", str(src), "--out", str(tmp_path / "x.txt")]) == 2  # bad --out


def test_export_a_mat_file_span(tmp_path: Path) -> None:
    src = CWRU / "12k_Drive_End_IR007_0_105.mat"
    out = tmp_path / "sel.parquet"
    assert main(["export", str(src), "--start", "1", "--end", "2", "--channels", "DE_time",
                 "--out", str(out)]) == 0
    whole = read_recording(src)
    back = read_recording(out)
    np.testing.assert_array_equal(back.values[:, 0], whole.values[12000:24000, 0])
    assert back.sample_rate == 12000
    assert back.timestamps[0] == pytest.approx(1.0)


def test_verdicts_export_from_predict_json_and_tables(tmp_path: Path) -> None:
    doc = {"model": {"name": "m", "version": "1"}, "classes": ["a", "b"],
           "windows": [{"start_s": 0.0, "end_s": 1.0, "class": "a", "probability": 0.9,
                        "location": "x"},
                       {"start_s": 0.5, "end_s": 1.5, "class": "b", "probability": 0.6,
                        "location": "y"}],
           "summary": {"file": "/data/r1.parquet"}}
    src = tmp_path / "p.json"
    src.write_text(json.dumps(doc))
    csv_out, json_out, pq_out = (tmp_path / f"v.{s}" for s in ("csv", "json", "parquet"))
    assert main(["verdicts", "export", str(src), "--out", str(csv_out)]) == 0
    assert main(["verdicts", "export", str(csv_out), "--out", str(pq_out)]) == 0
    assert main(["verdicts", "export", str(pq_out), "--out", str(json_out)]) == 0
    for path in (csv_out, pq_out, json_out):
        cols, _ = read_verdicts(path)
        assert cols["file"] == ["/data/r1.parquet"] * 2
        assert cols["class"] == ["a", "b"]
        assert cols["probability"] == [0.9, 0.6]
        assert cols["start_s"] == [0.0, 0.5]
    assert json.loads(json_out.read_text())["verdicts"][1]["location"] == "y"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["verdicts", "export", str(bad), "--out", str(tmp_path / "o.json")]) == 1
