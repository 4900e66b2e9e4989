"""Opening the window where there is no screen gives advice, not a Qt abort."""

from __future__ import annotations

import sys

import pytest

from desktop.cli import display_problem, main


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland check")
def test_no_display_is_explained_before_qt_starts(monkeypatch, capsys, tmp_path) -> None:
    monkeypatch.setenv("LINEWATCH_HOME", str(tmp_path))
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--source", "demo"]) == 2
    err = capsys.readouterr().err
    assert "no display" in err and "linewatch record --source demo" in err
    assert "QT_QPA_PLATFORM=offscreen" in err


def test_a_display_or_a_chosen_platform_is_enough() -> None:
    if not sys.platform.startswith("linux"):
        assert display_problem({}) is None
        return
    assert display_problem({}) is not None
    assert display_problem({"DISPLAY": ":0"}) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
