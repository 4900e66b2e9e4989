"""Layer rules import-linter cannot express (it cannot name PySide6 submodules)."""

from __future__ import annotations

import ast
from pathlib import Path

DESKTOP = Path(__file__).resolve().parents[2] / "desktop"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_workers_use_qtcore_only() -> None:
    offenders = {
        str(path.relative_to(DESKTOP)): sorted(n for n in _imports(path)
                                               if n.startswith(("PySide6.QtWidgets",
                                                                "PySide6.QtGui")))
        for path in (DESKTOP / "workers").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
