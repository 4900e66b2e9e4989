"""File → Save workspace… in one window, Open workspace… in another: the same source, the
same view of it (overlay, hidden channel, colour), the same model, the same dock layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.workspace import Workspace, load_workspace, save_workspace
from desktop.diagnosis.profiles import MachineProfile, ProfileStore, Sensor
from desktop.session.live import LiveSession
from desktop.ui.workspace_actions import capture, open_workspace

pytestmark = pytest.mark.slow


def test_save_then_open_a_workspace(qtbot, make_window, tmp_path: Path) -> None:
    ProfileStore().save(MachineProfile("pump7", (Sensor("*", "6205"),)), overwrite=True)
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


@pytest.mark.parametrize("machine", ["nosuchmachine", "../../etc/passwd"])
def test_a_workspace_machine_with_no_profile_is_left_out(qtbot, make_window, tmp_path: Path,
                                                         machine: str) -> None:
    ProfileStore().save(MachineProfile("pump7", (Sensor("*", "6205"),)), overwrite=True)
    path = save_workspace(Workspace(source="synth:2x1000", machine=machine),
                          tmp_path / "bad.lwspace.json")
    window = make_window()
    window.settings.machine_by_source.clear()
    open_workspace(window, path)
    assert machine not in window.settings.machine_by_source.values()
    line = window.statusBar().currentMessage()
    assert f"machine {machine!r} is not a machine profile" in line
    assert "(machines: pump7)" in line and "bad.lwspace.json opened" in line
    assert window.spec == "synth:2x1000"  # the rest of the workspace is still applied
    window.disconnect_source()


@pytest.mark.parametrize("span", [0, -3, 1e9, "abc", True])
def test_a_workspace_span_out_of_range_is_ignored(qtbot, make_window, tmp_path: Path,
                                                  span: object) -> None:
    path = save_workspace(Workspace(source="synth:2x1000",
                                    view={"span_s": span, "mode": "overlay"}),
                          tmp_path / "span.lwspace.json")
    window = make_window()
    window.settings.views.clear()
    window.span.setValue(7.0)
    open_workspace(window, path)
    assert window.settings.views["synth:2x1000"].get("span_s", 7.0) == 7.0
    assert window.span.value() == 7.0  # never stored as 0.01 s
    assert f"span_s {span!r} is not a time span of 0.01-3600 s; ignored" in \
        window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.plot.channels != (), timeout=10_000)
    assert window.plot.mode == "overlay"  # the rest of the view is kept
    window.disconnect_source()
