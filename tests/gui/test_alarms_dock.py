"""The Alarm log dock: logged alarms listed and filtered, acknowledged with a comment, and
"Show in signal" opens the recording at the alarm's moment."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.alarms.log import AlarmLog
from desktop.session.file import FileSession

pytestmark = pytest.mark.slow


def test_list_filter_acknowledge_and_show_in_signal(qtbot, make_window, demo_file: Path
                                                    ) -> None:
    with AlarmLog() as log:  # the default log (this test's LINEWATCH_HOME)
        hot = log.raise_alarm("bearing hot", "DE_accel", 3.2, severity="alarm",
                              recording=str(demo_file), time_s=9.5)
        log.raise_alarm("flow low", "flow", 0.2, severity="warning")
        log.clear_alarm(hot.id, 1.0, time_s=10.5)
    window = make_window()
    window.settings.model = ""
    panel = window.alarms_panel
    window.alarms_dock.show()
    qtbot.waitUntil(lambda: len(panel.alarms) == 2, timeout=5000)
    assert [a.rule for a in panel.alarms] == ["flow low", "bearing hot"]  # newest first
    panel.filter.setText("bearing")
    assert [a.rule for a in panel.alarms] == ["bearing hot"]
    panel.table.selectRow(0)
    assert panel.ack_button.isEnabled() and panel.jump_button.isEnabled()
    panel.acknowledge(hot.id, "checked the bearing", user="ana")
    assert (panel.alarms[0].acknowledged_by, panel.alarms[0].comment) == (
        "ana", "checked the bearing")
    panel.unacked_only.setChecked(True)
    assert panel.alarms == []
    panel.unacked_only.setChecked(False)
    panel.table.selectRow(0)
    panel.jump()  # the file is not open: opened first, then framed

    def framed() -> None:
        assert isinstance(window.session, FileSession) and window.plot.lanes
        anchor = window.session.label_anchor()
        assert anchor is not None
        x0, x1 = window.plot.lanes[0].getViewBox().viewRange()[0]
        assert x0 <= 9.5 + anchor[1] - window.plot.x_offset <= x1
        assert x1 - x0 < 20

    qtbot.waitUntil(framed, timeout=15000)
