"""A source or file that fails to open is never remembered (last source, Open recent), so
one bad ``--source`` cannot break every later start; with ``--measure`` it is one line on
stderr and exit 2, never all-null figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.core.workspace import Workspace, save_workspace
from desktop.ui.workspace_actions import open_workspace

ROOT = Path(__file__).resolve().parents[2]


def test_a_bad_source_is_not_remembered(qtbot, make_window) -> None:
    window = make_window()
    window.connect_source("synth:2x1000", {})
    qtbot.waitUntil(lambda: window.plot.channels != (), timeout=10_000)
    assert window.settings.last_source == "synth:2x1000"  # opened: remembered
    window.connect_source("synth:abc", {})
    qtbot.waitUntil(lambda: window.state == "failed", timeout=10_000)
    assert window.settings.last_source == "synth:2x1000"
    assert any("synth:16x20000" in e for e in window.errors)
    window.disconnect_source()


def test_a_workspace_with_a_bad_source_is_not_remembered(qtbot, make_window,
                                                         tmp_path: Path) -> None:
    path = save_workspace(Workspace(source="synth:abc"), tmp_path / "bad.lwspace.json")
    window = make_window()
    window.settings.last_source = "demo"
    open_workspace(window, path)
    qtbot.waitUntil(lambda: window.state == "failed", timeout=10_000)
    assert window.settings.last_source == "demo"


@pytest.mark.parametrize("kind", ["missing", "folder", "empty"])
def test_a_file_that_fails_to_open_is_not_in_open_recent(qtbot, make_window, tmp_path: Path,
                                                         kind: str) -> None:
    path = tmp_path / f"{kind}.csv"
    if kind == "folder":
        path.mkdir()
    elif kind == "empty":
        path.write_text("")
    window = make_window()
    window.settings.recent_files = []
    window.open_file(path)
    qtbot.waitUntil(lambda: window.state == "failed", timeout=10_000)
    assert window.settings.recent_files == []


def test_an_opened_file_is_in_open_recent(qtbot, make_window, demo_file: Path) -> None:
    window = make_window()
    window.settings.recent_files = []
    window.open_file(demo_file)
    qtbot.waitUntil(lambda: window.settings.recent_files == [str(demo_file.resolve())],
                    timeout=10_000)


@pytest.mark.slow
@pytest.mark.parametrize(("args", "message"), [
    (["--source", "synth:abc"], "synth source needs CHANNELSxRATE"),
    (["missing.csv"], "missing.csv: no such file"),
])
def test_measure_on_a_source_that_fails_exits_2(tmp_path: Path, args: list[str],
                                                message: str) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen",
               LINEWATCH_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "desktop", *args, "--measure", "3"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stdout.strip() == ""  # no all-null figures
    assert [line for line in done.stderr.splitlines() if line.startswith("linewatch:")] \
        == [f"linewatch: {message}" + ("" if "synth" not in message else
                                       ", e.g. synth:16x20000 (got 'abc')")]
    # Nothing bad was remembered: a plain start afterwards streams (the demo rig).
    again = subprocess.run([sys.executable, "-m", "desktop", "--measure", "2"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert again.returncode == 0, again.stderr
    figures = json.loads(again.stdout.strip().splitlines()[-1])
    assert figures["received"] > 0 and "abc" not in str(figures["source"])
