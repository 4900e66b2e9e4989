"""``linewatch FILE --machine NAME`` on the real window: what ``desktop.app.remember_machine``
sets before opening is the machine the session and the Diagnosis dock get (issue 22)."""

from __future__ import annotations

from pathlib import Path

from desktop.app import remember_machine
from desktop.cli import main


def test_file_opens_with_the_machine_chosen(qtbot, make_window, demo_file: Path, capsys
                                            ) -> None:
    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm", "1800",
                 "--channel", "*"]) == 0
    capsys.readouterr()
    window = make_window()
    remember_machine(window.settings, "pump", str(demo_file), None)
    window.open_file(str(demo_file))
    qtbot.waitUntil(lambda: window.session is not None and window.session.loaded is not None,
                    timeout=30_000)
    assert window.machine_for_session() == "pump"
    # the dock looks at a new session on its next tick (250 ms)
    qtbot.waitUntil(lambda: window.diagnosis_panel.profile is not None, timeout=5_000)
    assert window.diagnosis_panel.profile.name == "pump"
