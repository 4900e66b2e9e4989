"""Shared fixtures: every test gets its own LINEWATCH_HOME, never the user's profile."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def linewatch_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                   ) -> Path:
    home = tmp_path_factory.mktemp("lwhome")
    monkeypatch.setenv("LINEWATCH_HOME", str(home))
    return home
