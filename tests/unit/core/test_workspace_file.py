"""Workspace files: paths beside the workspace travel with it, bad files are one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from desktop.core.workspace import Workspace, WorkspaceError, load_workspace, save_workspace


def test_round_trip_with_paths_relative_to_the_workspace_folder(tmp_path: Path) -> None:
    folder = tmp_path / "line3"
    folder.mkdir()
    for name in ("pump.csv", "rules.csv"):
        (folder / name).write_text("x\n")
    ws = Workspace(source="modbus-tcp:10.0.0.5:502",
                   source_options={"map": str(folder / "pump.csv"), "unit": 3},
                   model="", rules=str(folder / "rules.csv"),
                   view={"mode": "overlay", "visible": {"temp": False},
                         "colours": {"temp": "#ff0000"}, "span_s": 30.0},
                   layout="AAAA", geometry="BBBB")
    path = save_workspace(ws, folder / "pump.lwspace.json")
    stored = json.loads(path.read_text())
    assert stored["linewatch_workspace"] == 1
    assert stored["source_options"]["map"] == "pump.csv" and stored["rules"] == "rules.csv"
    # a colleague copies the folder elsewhere: the paths follow
    moved = tmp_path / "colleague" / "line3"
    shutil.copytree(folder, moved)
    back = load_workspace(moved / "pump.lwspace.json")
    assert back.source_options == {"map": str(moved / "pump.csv"), "unit": 3}
    assert back.rules == str(moved / "rules.csv") and back.model == ""
    assert back.view == ws.view and (back.layout, back.geometry) == ("AAAA", "BBBB")


def test_a_file_outside_the_folder_stays_absolute(tmp_path: Path) -> None:
    rec = tmp_path / "data" / "run.parquet"
    path = save_workspace(Workspace(file=str(rec)), tmp_path / "ws" / "w.json")
    assert json.loads(path.read_text())["file"] == str(rec)
    assert load_workspace(path).file == str(rec)


@pytest.mark.parametrize(("text", "says"), [
    ("{", "is not a Linewatch workspace"),
    ('{"source": "demo"}', "no 'linewatch_workspace' key"),
    ('{"linewatch_workspace": 9}', "saved by a newer Linewatch"),
    ('{"linewatch_workspace": 1, "view": []}', "'view' must be dict, not list"),
    ('{"linewatch_workspace": 1, "source": "demo", "file": "a.csv"}', "both a source"),
])
def test_bad_workspaces_are_refused_in_one_line(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "w.json"
    path.write_text(text)
    with pytest.raises(WorkspaceError, match=says):
        load_workspace(path)
    with pytest.raises(WorkspaceError, match="no workspace file"):
        load_workspace(tmp_path / "missing.json")
