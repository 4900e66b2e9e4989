"""The reliability drills: every way the drill of issue 11 lost data, hung or printed a
traceback, kept as tests through real parts (a pty, SIGKILL, a tmpfs, hostile files, the
window itself).

Short mode runs with the normal test command (``bash tools/test.sh``; about four minutes
on two cores). Long mode: ``LINEWATCH_DRILLS=long .venv/bin/python -m pytest tests/drills``
(10⁶ serial lines and 100 replugs, 60 kills, a 30-minute soak; an hour or more).
"""

from __future__ import annotations

import pytest

from tests.support.drill import LONG


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/drills/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.drill)
            item.add_marker(pytest.mark.slow)
            if LONG:
                item.add_marker(pytest.mark.timeout(4 * 3600))
