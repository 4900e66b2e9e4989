"""`linewatch --help` tells both ways to run it: the window (FILE, --source, --measure …)
and the headless commands."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from desktop.cli import build_gui_parser, build_parser

ROOT = Path(__file__).resolve().parents[3]


def test_top_level_help_shows_window_usage_and_lists_every_command() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100")
    done = subprocess.run([sys.executable, "-m", "desktop", "--help"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    usage = text.split("\n\n")[0]
    assert re.search(r"usage: linewatch \[FILE\] \[--source SOURCE\] \[--measure SECONDS\]",
                     usage), usage
    assert "linewatch [--version] [--verbose] COMMAND" in usage
    commands = set(build_parser().command_names)  # type: ignore[attr-defined]
    assert {"record", "sources", "info", "recover"} <= commands
    for name in commands:
        assert re.search(rf"^\s+{name}\s+\S", text, re.MULTILINE), f"{name} not listed"


def test_top_level_help_lists_every_window_option() -> None:
    text = build_parser().format_help()
    assert "window options" in text
    for action in build_gui_parser()._actions:
        for flag in action.option_strings:
            if flag not in ("-h", "--help"):
                assert flag in text, f"{flag} missing from linewatch --help"
    assert "FILE" in text and "a recording to open" in text


def test_window_help_names_its_usage() -> None:
    usage = build_gui_parser().format_usage()
    assert usage.startswith("usage: linewatch [FILE] [--source SOURCE] [--measure SECONDS]")


def test_a_command_error_names_the_command_without_the_main_usage_block(capsys) -> None:
    """argparse errors of a command read "linewatch predict: error: …" after that
    command's own usage, not the window's multi-line usage glued to the command's name."""
    import pytest

    from desktop.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["predict", "x.mat", "--rate", "abc"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: linewatch predict ")
    assert "linewatch predict: error: argument --rate: invalid float value: 'abc'" in err
    assert "[--source SOURCE]" not in err
