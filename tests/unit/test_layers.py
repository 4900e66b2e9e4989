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


def test_the_ui_imports_no_torch_until_a_run_starts() -> None:
    """The model panel, the versions dialog and the fine-tune dialog (its module and the
    constants it shows) load without torch; only starting a fine-tune imports it."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from desktop.ui.model_panel import ModelPanel\n"
        "from desktop.ui.versions_dialog import VersionsDialog\n"
        "from desktop.ui.finetune_dialog import FinetuneDialog, MODE_HELP, MODES\n"
        "from desktop.ml.constants import DEFAULT_MODE, DEFAULT_REPLAY, LEARNING_RATES\n"
        "import desktop.ml, desktop.ml.model_files.versions, desktop.ml.model_files.registry\n"
        "print('torch' in sys.modules, 'safetensors' in sys.modules)\n")
    root = DESKTOP.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=root, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(root),
                              "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
