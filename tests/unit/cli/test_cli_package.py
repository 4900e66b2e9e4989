"""The shape of ``desktop/cli/`` (issue 19): every command group is one module registered
in ``desktop.cli.COMMANDS``, no module is over 600 lines, domain packages print nothing to
stdout (import-linter keeps argparse and ``desktop.cli`` out of them), and building the
parser loads none of the heavy libraries."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CLI = ROOT / "desktop" / "cli"
DOMAIN = ("core", "formats", "analysis", "sources", "recording", "labels", "streams", "ml",
          "fleet", "diagnosis", "baseline", "alarms")


def test_every_command_module_is_registered_and_small() -> None:
    from desktop.cli import COMMANDS

    modules = {p.stem for p in CLI.glob("*.py")}
    helpers = {"__init__", "__main__", "common", "options", "window", "predict_batch",
               "tabular", "rules_option"}
    assert modules - helpers == set(COMMANDS)
    for path in CLI.glob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 600, f"{path.name}: {lines} lines"


def test_each_module_adds_its_own_commands() -> None:
    import argparse
    import importlib

    from desktop.cli import COMMANDS, build_parser

    seen: list[str] = []
    for name in COMMANDS:
        sub = argparse.ArgumentParser().add_subparsers()
        if name == "baseline":  # it gives `trend` its --machine mode: trend comes first
            importlib.import_module("desktop.cli.analysis").add_commands(sub)
            before = set(sub.choices)
        else:
            before = set()
        importlib.import_module(f"desktop.cli.{name}").add_commands(sub)
        added = [c for c in sub.choices if c not in before]
        assert added, name
        seen += added
    assert len(seen) == len(set(seen))  # no command registered twice
    assert set(seen) == build_parser().command_names  # type: ignore[attr-defined]


def _stdout_prints(path: Path) -> list[int]:
    """Lines of ``print(...)`` calls without ``file=`` (stdout) in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "print" and not any(k.arg == "file" for k in node.keywords)]


def test_domain_packages_print_nothing_to_stdout() -> None:
    found = {}
    for package in DOMAIN:
        for path in (ROOT / "desktop" / package).rglob("*.py"):
            lines = _stdout_prints(path)
            if lines:
                found[str(path.relative_to(ROOT))] = lines
    assert found == {}


def test_building_the_parser_loads_no_heavy_library() -> None:
    """``linewatch --help`` and the window's start build the whole parser first."""
    code = ("import sys\n"
            "from desktop.cli import build_parser\n"
            "build_parser().format_help()\n"
            "heavy = ('torch', 'scipy', 'pandas', 'pyarrow', 'dask', 'distributed', 'sklearn',"
            " 'PySide6', 'pyqtgraph', 'h5py')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
