"""``linewatch info`` and ``predict`` on a big text file read it through the file view's
cache (issue #20 item 3): the same JSON as the whole-file path, progress on stderr, the
cache reused, and the whole-file reader never called. ``LINEWATCH_BIG_TEXT_MB`` sends a
small file down the big-file path."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.core.errors import UsageError
from desktop.ml.inference import big_signal
from desktop.recording import cache, text, text_chunks
from desktop.streams import big_text
from desktop.streams.big_text import THRESHOLD_ENV, big_text_path, threshold_bytes


def write_csv(path: Path, rows: int, rate: float = 10_000.0, channels: int = 3,
              garbage: bool = True) -> Path:
    """``time_s`` + noisy sines (and one malformed line, so ``malformed`` is not empty)."""
    rng = np.random.default_rng(7)
    t = np.arange(rows) / rate
    v = np.sin(2 * np.pi * np.outer(t, 50.0 * np.arange(1, channels + 1)))
    v += 0.3 * rng.standard_normal(v.shape)
    with open(path, "w") as fh:
        fh.write("time_s," + ",".join(f"ch{i}" for i in range(channels)) + "\n")
        half = rows // 2
        np.savetxt(fh, np.column_stack([t, v])[:half], fmt="%.6f", delimiter=",")
        if garbage:
            fh.write("oops,this,is,not,a,row\n")
        np.savetxt(fh, np.column_stack([t, v])[half:], fmt="%.6f", delimiter=",")
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[dict, str]:
    assert main(argv) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def _no_whole_file_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the whole-file text reader was called on the cached path")

    monkeypatch.setattr(text, "read_csv", refuse)


def test_info_through_the_cache_equals_the_direct_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "log.csv", 50_000)
    direct, err = _run(["info", str(path), "--json"], capsys)
    assert "indexing" not in err  # small: today's path, no cache
    assert direct["malformed"] and direct["samples"] == 50_000

    monkeypatch.setenv(THRESHOLD_ENV, "0.1")  # 100 kB: this 2 MB file is "big"
    monkeypatch.setattr(cache, "SEGMENT_BYTES", 256 << 10)  # several segments
    _no_whole_file_reads(monkeypatch)
    cached, err = _run(["info", str(path), "--json"], capsys)
    assert cached == direct
    assert "\rindexing log.csv:" in err and "100 % (2 MB of 2 MB)" in err
    again, err = _run(["info", str(path), "--json"], capsys)  # the cache is reused
    assert again == direct and "indexing" not in err and "read from its cache" in err
    assert main(["info", str(path)]) == 0  # the text form reads the same summary
    assert "samples:     50,000" in capsys.readouterr().out


def test_info_options_and_ignored_options_match(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "eu.csv"
    path.write_text("zeit;a;b\n" + "".join(f"{i / 100:.2f};{i % 7},5;{i % 3},25\n".replace(
        ".", ",", 1) for i in range(3000)))
    argv = ["info", str(path), "--json", "--decimal", ",", "--sheet", "Data"]
    direct, _ = _run(argv, capsys)
    monkeypatch.setenv(THRESHOLD_ENV, "0")
    cached, err = _run(argv, capsys)
    assert cached == direct and "indexing eu.csv" in err
    assert any("--sheet does not apply" in n for n in cached["notes"])


def test_predict_through_the_cache_equals_the_direct_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LINEWATCH_BACKEND", "numpy")
    # ~24 s at 10 kHz with --hop 256: ~1100 windows, 3 blocks of 512 on the cached path
    path = write_csv(tmp_path / "vib.csv", 240_000, channels=2, garbage=False)
    argv = ["predict", str(path), "--json", "--force", "--hop", "256", "--channel", "ch1"]
    direct, err = _run(argv, capsys)
    assert "indexing" not in err
    assert direct["summary"]["windows"] > 1024

    monkeypatch.setenv(THRESHOLD_ENV, "1")
    monkeypatch.setattr(big_signal, "BLOCK_WINDOWS", 512)
    monkeypatch.setattr(cache, "SEGMENT_BYTES", 1 << 20)
    _no_whole_file_reads(monkeypatch)
    blocks: list[int] = []
    original = big_signal.predict_blocks

    def counting(*args: object, **kwargs: object) -> list:
        out = original(*args, **kwargs)  # type: ignore[arg-type]
        blocks.append(len(out))
        return out

    monkeypatch.setattr(big_signal, "predict_blocks", counting)
    cached, err = _run(argv, capsys)
    assert blocks == [direct["summary"]["windows"]]  # judged block by block, not whole
    assert cached == direct
    assert "\rindexing vib.csv:" in err
    again, err = _run(argv, capsys)
    assert again == direct and "read from its cache" in err


def test_cached_info_memory_does_not_grow_with_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Memory stays bounded: the cached pass holds a text chunk and a segment (both made
    small here, as 4 MB chunks and 32 MB segments are small beside a GB file), so a file
    4× longer costs little more; the whole-file read holds every value. numpy's
    allocations are traced by tracemalloc."""
    monkeypatch.setattr(cache, "SEGMENT_BYTES", 1 << 20)
    monkeypatch.setattr(text_chunks, "CHUNK_BYTES", 256 << 10)
    monkeypatch.setattr(text_chunks, "SKIM_MIN_BYTES", 1 << 40)  # no skim: same work

    def peak(argv: list[str]) -> int:
        tracemalloc.start()
        try:
            assert main(argv) == 0
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            capsys.readouterr()

    short = write_csv(tmp_path / "short.csv", 60_000, channels=8, garbage=False)
    long = write_csv(tmp_path / "long.csv", 240_000, channels=8, garbage=False)
    whole = peak(["info", str(long), "--json"])  # also imports what both paths use
    monkeypatch.setenv(THRESHOLD_ENV, "0")
    _no_whole_file_reads(monkeypatch)
    peak(["info", str(write_csv(tmp_path / "warm.csv", 2000)), "--json"])  # imports
    cached_short = peak(["info", str(short), "--json"])
    cached_long = peak(["info", str(long), "--json"])
    values = 240_000 * 9 * 8  # the long file's numbers as float64
    assert whole > values
    assert cached_long < whole / 3, (cached_long, whole)
    # 180 000 more rows (13 MB of float64) cost the cached pass < 1/4 of that
    assert cached_long - cached_short < 0.25 * (values - 60_000 * 9 * 8), (
        cached_short, cached_long)


def test_threshold_and_which_files_qualify(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(THRESHOLD_ENV, raising=False)
    assert threshold_bytes() == 256_000_000
    path = write_csv(tmp_path / "a.csv", 1000)
    assert big_text_path(path) is None  # small
    monkeypatch.setenv(THRESHOLD_ENV, "0")
    assert big_text_path(path) == path
    assert big_text_path(tmp_path / "missing.csv") is None  # the usual path says why
    (tmp_path / "x.wav").write_bytes(b"RIFF....WAVE")
    assert big_text_path(tmp_path / "x.wav") is None  # only text goes through here
    monkeypatch.setenv(THRESHOLD_ENV, "lots")
    with pytest.raises(UsageError, match=THRESHOLD_ENV):
        threshold_bytes()
    monkeypatch.setenv(THRESHOLD_ENV, "0")
    assert big_text.open_big_text(tmp_path / "x.wav") is None


def test_a_file_without_time_or_rate_reads_as_the_direct_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plain.csv"
    rows = np.random.default_rng(3).standard_normal((5000, 2))
    path.write_text("a,b\n" + "".join(f"{x:.5f},{y:.5f}\n" for x, y in rows))
    direct, _ = _run(["info", str(path), "--json"], capsys)
    assert direct["sample_rate"] is None and direct["duration_s"] is None
    monkeypatch.setenv(THRESHOLD_ENV, "0")
    _no_whole_file_reads(monkeypatch)
    cached, err = _run(["info", str(path), "--json"], capsys)
    assert cached == direct and "indexing plain.csv" in err
    again, err = _run(["info", str(path), "--json"], capsys)
    assert again == direct and "read from its cache" in err  # not rebuilt each time
