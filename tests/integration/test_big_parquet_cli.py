"""``linewatch info`` and ``predict`` on a big Parquet file that another tool wrote in
several row groups: streamed group by group into the file view's cache (never read whole),
with the same JSON as the whole-file path (the drill ``tests/drills/test_drill_big_parquet.py``
measures the memory on a GB-sized file)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.cli import main
from desktop.recording import parquet_file
from desktop.streams.big_text import THRESHOLD_ENV, big_text_path


def write_parquet(path: Path, rows: int, rate: float = 10_000.0, group: int = 50_000) -> Path:
    rng = np.random.default_rng(3)
    t = np.arange(rows) / rate
    stamps = (1_774_000_000_000_000 + (t * 1e6).astype(np.int64))
    table = pa.table({
        "timestamp": pa.array(stamps, pa.timestamp("us")),
        "ch0": np.sin(2 * np.pi * 97.0 * t) + 0.3 * rng.standard_normal(rows),
        "ch1": (np.sin(2 * np.pi * 161.0 * t) + 0.3 * rng.standard_normal(rows)).astype(
            np.float32),
        "status": pa.array(["run"] * rows),
    })
    pq.write_table(table, path, row_group_size=group)
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[dict, str]:
    assert main(argv) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def _no_whole_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the whole-file Parquet reader was called on the cached path")

    monkeypatch.setattr(parquet_file, "read_parquet", refuse)


def test_only_foreign_files_in_groups_take_the_cached_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THRESHOLD_ENV, "0")
    grouped = write_parquet(tmp_path / "grouped.parquet", 30_000, group=10_000)
    single = write_parquet(tmp_path / "single.parquet", 30_000, group=100_000)
    assert big_text_path(grouped) is not None
    assert big_text_path(single) is None


def test_info_and_predict_through_the_cache_equal_the_direct_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LINEWATCH_BACKEND", "numpy")
    path = write_parquet(tmp_path / "logger.parquet", 120_000)
    info_direct, err = _run(["info", str(path), "--json"], capsys)
    assert "indexing" not in err and info_direct["samples"] == 120_000
    predict_argv = ["predict", str(path), "--json", "--force", "--hop", "512",
                    "--channel", "ch1"]
    predict_direct, _ = _run(predict_argv, capsys)

    monkeypatch.setenv(THRESHOLD_ENV, "0")
    _no_whole_reads(monkeypatch)
    info_cached, err = _run(["info", str(path), "--json"], capsys)
    assert "\rindexing logger.parquet:" in err
    assert info_cached == info_direct
    predict_cached, _ = _run(predict_argv, capsys)
    assert predict_cached == predict_direct
