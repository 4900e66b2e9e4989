"""``linewatch labels list|export|import`` against real stores and files."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cli.labels import add_commands
from desktop.core.errors import LinewatchError
from desktop.labels.event import LabelError, LabelEvent
from desktop.labels.store import LabelStore

ROOT = Path(__file__).resolve().parents[3]


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="linewatch")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.func(args)


def seed(path: Path | None = None) -> None:
    with LabelStore(path) as store:
        store.add(LabelEvent(None, "b.parquet", 4, 5, "normal", note="quiet"))
        store.add(LabelEvent(None, "a.parquet", 1, 2, "unbalance", channel="ch1",
                             note="knock, then\nrattle"))
        store.add(LabelEvent(None, "a.parquet", 0, 0.5, "normal"))


def test_list_prints_events_by_recording(capsys: pytest.CaptureFixture[str]) -> None:
    seed()
    assert run("labels", "list") == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0] == "a.parquet:" and "b.parquet:" in lines
    assert any("unbalance" in line and "ch1" in line and "knock, then rattle" in line
               for line in lines)
    assert "3 label events" in out.err
    assert run("labels", "list", "--recording", "b.parquet", "--json") == 0
    (item,) = json.loads(capsys.readouterr().out)
    assert item["label"] == "normal" and item["note"] == "quiet" and isinstance(item["id"], int)
    assert run("labels", "list", "--label", "nothing-like-this") == 0
    assert "no label events" in capsys.readouterr().out


def test_export_then_import_into_another_store(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    seed()
    out = tmp_path / "a.csv"
    assert run("labels", "export", str(out), "--recording", "a.parquet") == 0
    assert "exported 2 label events" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8").splitlines()[0] == (
        "recording,start_s,end_s,label,channel,note")

    other = tmp_path / "colleague.sqlite3"
    assert run("labels", "--store", str(other), "import", str(out)) == 0
    assert "imported 2 label events" in capsys.readouterr().out
    assert run("labels", "--store", str(other), "import", str(out)) == 0
    again = capsys.readouterr().out
    assert "imported 0 label events" in again and "2 already in the store, skipped" in again
    with LabelStore(other) as store:
        assert [(e.start_s, e.label, e.note) for e in store.list()] == [
            (0.0, "normal", ""), (1.0, "unbalance", "knock, then\nrattle")]
    assert run("labels", "--store", str(other), "import", "--duplicates", str(out)) == 0
    with LabelStore(other) as store:
        assert len(store) == 4

    js = tmp_path / "unbalance.json"
    assert run("labels", "export", str(js), "--label", "unbalance") == 0
    assert [e["label"] for e in json.loads(js.read_text(encoding="utf-8"))] == ["unbalance"]


def test_export_refuses_to_replace_a_file_without_overwrite(tmp_path: Path) -> None:
    seed()
    recording = tmp_path / "run.csv"
    recording.write_text("t,ch1\n0,1\n", encoding="utf-8")
    with pytest.raises(LabelError, match="already exists; pass --overwrite"):
        run("labels", "export", str(recording))
    assert recording.read_text(encoding="utf-8") == "t,ch1\n0,1\n"
    assert run("labels", "export", str(recording), "--overwrite") == 0
    assert recording.read_text(encoding="utf-8").startswith("recording,")


def test_user_errors_are_linewatch_errors(tmp_path: Path) -> None:
    with pytest.raises(LinewatchError, match="no label store at"):
        run("labels", "--store", str(tmp_path / "typo.sqlite3"), "list")
    assert not (tmp_path / "typo.sqlite3").exists()
    with pytest.raises(LinewatchError, match="unknown label file type"):
        run("labels", "export", str(tmp_path / "x.xlsx"))
    bad = tmp_path / "bad.csv"
    bad.write_text("recording,start_s,end_s,label,channel,note\nr,2,1,x,,\n", encoding="utf-8")
    with pytest.raises(LinewatchError, match="line 2"):
        run("labels", "import", str(bad))
    with LabelStore() as store:
        assert len(store) == 0  # nothing imported
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(LinewatchError, match="damaged or is not a Linewatch label store"):
        run("labels", "--store", str(junk), "list")


def test_a_subcommand_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run("labels")
    assert info.value.code == 2
    assert "ACTION" in capsys.readouterr().err


def test_linewatch_labels_in_a_real_process(tmp_path: Path, linewatch_home: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), LINEWATCH_HOME=str(linewatch_home))
    seed()

    def linewatch(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=120)

    listed = linewatch("labels", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 3
    missing = linewatch("labels", "--store", str(tmp_path / "none.sqlite3"), "list")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"linewatch: no label store at {tmp_path / 'none.sqlite3'}"]
