"""``linewatch predict DIR|'GLOB'|FILE... --out``: many real recordings on a real Dask cluster
give the same verdicts as ``predict FILE`` one by one; a corrupt file is reported and the
others still finish.

Kept small for CI's 2 cores: 3 CWRU excerpts (2-3 s each, tests/fixtures/cwru), one
LocalCluster of 2 worker processes with 1 thread each; the GLOB and FILE... forms run
in-process (--workers 1).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from desktop.cli import main
from desktop.ml.inference.batch import expand_inputs
from tests.support.real_data import CWRU

FILES = ("12k_Drive_End_B007_0_118.mat", "12k_Drive_End_IR007_0_105.mat",
         "12k_Drive_End_OR007@6_0_130.mat")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fleet")
    for f in FILES:
        (d / f).symlink_to(CWRU / f)
    # A recording cut off half-way through the copy: the reader must refuse it.
    (d / "truncated.mat").write_bytes((CWRU / FILES[0]).read_bytes()[:5000])
    (d / "notes.txt").write_text("not a recording; a folder is searched for .mat/.parquet/.csv")
    return d


@pytest.fixture(scope="module")
def one_by_one(folder: Path) -> dict[str, list[dict]]:
    """``predict FILE --json`` for each good file: the reference verdicts."""
    out = {}
    for f in FILES:
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(["predict", str(folder / f), "--json"]) == 0
        out[str(folder / f)] = json.loads(buf.getvalue())["windows"]
    return out


def assert_same(table: dict[str, list], reference: dict[str, list[dict]]) -> None:
    for file, windows in reference.items():
        rows = [i for i, f in enumerate(table["file"]) if f == file]
        assert len(rows) == len(windows) > 0, file
        for i, w in zip(rows, windows, strict=True):
            assert table["class"][i] == w["class"]
            assert table["location"][i] == w["location"]
            assert table["start_s"][i] == pytest.approx(w["start_s"], abs=1e-6)
            assert table["end_s"][i] == pytest.approx(w["end_s"], abs=1e-6)
            assert table["probability"][i] == pytest.approx(w["probability"], abs=1e-4)


@pytest.mark.slow
@pytest.mark.timeout(280)
def test_folder_on_two_workers_matches_one_by_one(
        folder: Path, one_by_one: dict[str, list[dict]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "verdicts.parquet"
    code = main(["predict", str(folder), "--out", str(out), "--workers", "2", "--json"])
    captured = capsys.readouterr()
    assert code == 1, "a failed file makes the exit code 1"
    summary = json.loads(captured.out)
    assert summary["workers"] == 2 and summary["scheduler"].startswith("local cluster")
    assert summary["files"] == 4 and summary["judged"] == 3
    assert [f["file"] for f in summary["failed"]] == [str(folder / "truncated.mat")]
    assert f"failed: {folder / 'truncated.mat'}:" in captured.err
    assert "1 of 4 files failed" in captured.err
    table = pq.read_table(out)
    assert table.column_names == ["file", "start_s", "end_s", "class", "probability",
                                  "location"]
    cols = table.to_pydict()
    assert_same(cols, one_by_one)
    assert list(dict.fromkeys(cols["file"])) == [str(folder / f) for f in FILES]  # input order
    meta = json.loads(table.schema.metadata[b"linewatch"])
    assert meta["failed"][0]["file"].endswith("truncated.mat")
    assert {f["channel"] for f in meta["files"]} == {"X118_DE_time", "X105_DE_time",
                                                     "X130_DE_time"}


def test_glob_and_several_files_in_process(folder: Path, one_by_one: dict[str, list[dict]],
                                           tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "v.csv"
    assert main(["predict", str(folder / "12k_Drive_End_[BI]*.mat"), "--out", str(out),
                 "--workers", "1", "--quiet"]) == 0
    assert "judged 2 of 2 files" in capsys.readouterr().out
    cols = pacsv.read_csv(out).to_pydict()
    assert set(cols["file"]) == {str(folder / FILES[0]), str(folder / FILES[1])}
    assert_same(cols, {f: one_by_one[f] for f in set(cols["file"])})

    out = tmp_path / "v.json"
    files = [str(folder / FILES[2]), str(folder / FILES[0])]
    assert main(["predict", *files, "--out", str(out), "--workers", "1", "--quiet"]) == 0
    doc = json.loads(out.read_text())
    assert doc["verdicts"][0]["file"] == files[0]  # the order given
    table = {k: [r[k] for r in doc["verdicts"]] for k in doc["verdicts"][0]}
    assert_same(table, {f: one_by_one[f] for f in files})


def test_single_file_without_out_prints_as_before(folder: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", str(folder / FILES[1])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("model fault-cwru")
    assert "summary: 17 windows" in out  # 3 s excerpt, window 2048, hop 2048


def test_inputs_are_expanded_and_checked(folder: Path, tmp_path: Path) -> None:
    files = expand_inputs([folder])
    assert [f.name for f in files] == sorted([*FILES, "truncated.mat"])
    assert expand_inputs([folder / FILES[0], str(folder / "*.mat")])[0] == folder / FILES[0]
    assert len(expand_inputs([folder / FILES[0], str(folder / "*.mat")])) == 4  # each once
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["predict", str(empty), "--out", str(tmp_path / "x.parquet")]) == 1
    # a pattern matching nothing and a missing file are bad input: exit 2 (issue 24)
    assert main(["predict", str(folder / "*.nothing"), "--out",
                 str(tmp_path / "x.parquet")]) == 2
    assert main(["predict", str(folder), str(folder / "missing.mat"), "--out",
                 str(tmp_path / "x.parquet")]) == 2
    assert main(["predict", str(folder)]) == 2  # a folder needs --out: a bad command line
    assert main(["predict", str(folder), "--out", str(tmp_path / "x.xlsx")]) == 2
    shutil.rmtree(empty)


def _csv(path: Path, rate: float, values: list[float]) -> Path:
    path.write_text("time_s,DE_time\n" + "".join(f"{i / rate:.6f},{v}\n"
                                                for i, v in enumerate(values)))
    return path


def test_a_folder_refuses_out_of_band_files_like_a_single_file(
        folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The domain rule of `predict FILE` holds per file of a batch; --force lifts it."""
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / FILES[1]).symlink_to(folder / FILES[1])
    _csv(mixed / "temperature.csv", 100.0, [20.0 + 0.01 * i for i in range(6000)])
    out = tmp_path / "v.csv"
    assert main(["predict", str(mixed), "--out", str(out), "--workers", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "temperature.csv" in err and "Nyquist 50 Hz" in err
    assert set(pacsv.read_csv(out).to_pydict()["file"]) == {str(mixed / FILES[1])}
    assert main(["predict", str(mixed), "--out", str(out), "--workers", "1", "--quiet",
                 "--force", "--overwrite"]) == 0
    assert str(mixed / "temperature.csv") in set(pacsv.read_csv(out).to_pydict()["file"])


def test_out_is_never_overwritten_silently_and_hop_must_be_positive(
        folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "v.csv"
    out.write_text("yesterday's verdicts\n")
    assert main(["predict", str(folder / FILES[0]), "--out", str(out), "--workers", "1"]) == 1
    assert "already exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_text() == "yesterday's verdicts\n"
    for option, value in (("--model", ""), ("--channel", " ")):
        assert main(["predict", str(folder / FILES[0]), option, value]) == 2
        assert f"{option} needs a" in capsys.readouterr().err
    for hop in ("0", "-100"):
        assert main(["predict", str(folder / FILES[0]), "--hop", hop]) == 2
        assert "--hop must be at least 1 sample" in capsys.readouterr().err


def test_a_channel_without_usable_signal_is_an_error_not_an_empty_answer(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    from scipy.io import savemat

    path = tmp_path / "unplugged.mat"  # a logger's .mat whose channel is all NaN
    savemat(path, {"X100_DE_time": np.full((36000, 1), np.nan)})
    assert main(["predict", str(path), "--rate", "12000"]) == 1
    err = capsys.readouterr().err
    assert "has no usable signal" in err and "unplugged.mat" in err
