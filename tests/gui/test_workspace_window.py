"""File → Save workspace… in one window, Open workspace… in another: the same source, the
same view of it (overlay, hidden channel, colour), the same model, the same dock layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.workspace import load_workspace, save_workspace
from desktop.session.live import LiveSession
from desktop.ui.workspace_actions import capture, open_workspace

pytestmark = pytest.mark.slow


def test_save_then_open_a_workspace(qtbot, make_window, tmp_path: Path) -> None:
    first = make_window()
    first.settings.model = ""
    first.connect_source("synth:2x1000", {})
    qtbot.waitUntil(lambda: first.plot.channels != (), timeout=10_000)
    first.act_overlay.setChecked(True)
    first.view.set_channel_colour("synth1", "#ff0000")
    first.settings.views.setdefault(first.spec, {})["visible"] = {"synth2": False}
    first.alarms_dock.show()
    first.settings.machine_by_source["synth:2x1000"] = "pump7"  # chosen in the Diagnosis dock
    path = save_workspace(capture(first, rules=str(tmp_path / "rules.csv")),
                          tmp_path / "bench.lwspace.json")
    first.disconnect_source()
    first.settings.views.clear()  # a fresh PC: nothing remembered but the workspace

    ws = load_workspace(path)
    assert ws.source == "synth:2x1000" and ws.model == "" and ws.machine == "pump7"
    second = make_window()
    second.settings.machine_by_source.clear()
    second.alarms_dock.hide()
    open_workspace(second, path)
    assert isinstance(second.session, LiveSession) and second.spec == ws.source
    qtbot.waitUntil(lambda: second.plot.channels != (), timeout=10_000)
    assert second.plot.mode == "overlay"
    assert second.plot.colours["synth1"] == "#ff0000"
    assert second.plot.visible == {"synth1": True, "synth2": False}
    assert second.alarms_dock.isVisibleTo(second)  # the layout came back
    assert second.workspace_rules == str(tmp_path / "rules.csv")
    assert second.settings.machine_by_source["synth:2x1000"] == "pump7"  # the machine too
    second.disconnect_source()
