"""Bad command-line values are exit 2 with one line naming what to do: an ``--out``
suffix a command cannot write (never Parquet bytes in a ``.csv``), an unknown
``--channel`` or ``--model``, a bad ``calibrate --source`` (its message prefixed once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.cli import main


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rec") / "r.parquet"
    assert main(["record", "--source", "synth:2x1000", "--seconds", "1", "--out",
                 str(out)]) == 0
    return out


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("linewatch: ") and not line.endswith(("connected", "closed"))]
    assert len(lines) == 1, lines
    assert lines[0].count("linewatch:") == 1
    return lines[0]


@pytest.mark.parametrize("name", ["s0.csv", "s0.xlsx", "s0", "s0.parquet.txt"])
def test_record_refuses_a_suffix_it_does_not_write(tmp_path: Path, name: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / name
    assert main(["record", "--source", "synth:2x1000", "--seconds", "1", "--out",
                 str(out)]) == 2
    assert _one_line(capsys) == (f"linewatch: --out {out}: record writes Parquet (.parquet "
                                 "or .pq); use linewatch export to write CSV from it")
    assert list(tmp_path.iterdir()) == []  # nothing recorded, no journal


def test_record_refuses_an_existing_out_naming_overwrite(recording: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    capsys.readouterr()
    assert main(["record", "--source", "synth:2x1000", "--seconds", "1", "--out",
                 str(recording)]) == 1
    err = capsys.readouterr().err
    assert "already exists (or its journal does); pass --overwrite" in err
    assert "connected" not in err  # refused before the source was opened


@pytest.mark.parametrize(("command", "suffixes"), [
    (["predict", "{rec}"], ".parquet, .csv or .json"),
    (["export", "{rec}"], ".csv or .parquet"),
    (["report", "{rec}"], ".html, .htm or .pdf"),
])
@pytest.mark.parametrize("suffix", [".xlsx", ".docx"])
def test_out_with_an_unknown_suffix_is_exit_2(recording: Path, tmp_path: Path,
                                              command: list[str], suffixes: str, suffix: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"x{suffix}"
    argv = [word.format(rec=recording) for word in command]
    capsys.readouterr()
    assert main([*argv, "--out", str(out)]) == 2
    assert _one_line(capsys) == f"linewatch: --out {out}: give a {suffixes} file"
    assert not out.exists()


def test_verdicts_export_unknown_suffix_is_exit_2(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "v.json"
    src.write_text('{"description": {}, "verdicts": []}')
    assert main(["verdicts", "export", str(src), "--out", str(tmp_path / "v.docx")]) == 2
    assert "give a .csv, .json or .parquet file" in _one_line(capsys)


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--channel", "NOPE", "linewatch: no channel 'NOPE' (channels: synth1, synth2)"),
    ("--model", "nosuch", "linewatch: no model named 'nosuch' (known models: "),
    ("--model", "fault-cwru@7", "linewatch: model 'fault-cwru' has no version 7"),
])
def test_predict_unknown_channel_or_model_is_exit_2(recording: Path, option: str, value: str,
                                                    says: str,
                                                    capsys: pytest.CaptureFixture[str]
                                                    ) -> None:
    capsys.readouterr()
    assert main(["predict", str(recording), option, value]) == 2
    assert _one_line(capsys).startswith(says)


def test_calibrate_bad_source_is_one_prefix_exit_2(capsys: pytest.CaptureFixture[str]
                                                   ) -> None:
    pytest.importorskip("torch")
    assert main(["calibrate", "--source", "synth:abc"]) == 2
    assert _one_line(capsys) == ("linewatch: recording from synth:abc failed: synth source "
                                 "needs CHANNELSxRATE, e.g. synth:16x20000 (got 'abc')")
