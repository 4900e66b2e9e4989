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


def test_rules_judge_the_live_signal_and_log_it(qtbot, make_window, tmp_path: Path) -> None:
    from desktop.alarms.rules import HEADER

    rules = tmp_path / "rules.csv"
    rules.write_text(",".join(HEADER) + "\npeak,synth1,high,0.9,0.02,0.5,warning,yes\n",
                     encoding="utf-8")
    window = make_window()
    window.settings.model = ""
    window.alarms_dock.show()
    window.connect_source("synth:2x1000", {})
    window.alarm_rules.set_rules(str(rules))
    assert window.alarms_panel.rules_label.text() == "1 rules: rules.csv"
    assert window.workspace_rules == str(rules)
    panel = window.alarms_panel

    def listed() -> list:
        panel.refresh()
        return panel.alarms

    qtbot.waitUntil(lambda: any(a.latched for a in listed()), timeout=15_000)
    qtbot.wait(500)  # the synth signal crosses the limit again and again: still one alarm
    (alarm,) = listed()  # a latching rule: one alarm until acknowledged (issue 25)
    assert (alarm.rule, alarm.channel, alarm.severity, alarm.source) == (
        "peak", "synth1", "warning", "synth:2x1000")
    assert alarm.value is not None and alarm.value > 0.9 and alarm.recording == ""
    panel.acknowledge(alarm.id, "seen", "ana")  # acknowledged: the next crossing raises
    qtbot.waitUntil(lambda: len(listed()) >= 2, timeout=15_000)
    window.alarm_rules.set_rules(str(tmp_path / "missing.csv"))  # refused, rules kept
    assert "no such file" in window.statusBar().currentMessage()
    assert window.alarm_rules.rules
    window.disconnect_source()


def test_rules_judge_an_opened_file_once(qtbot, make_window, tmp_path: Path) -> None:
    from desktop.alarms.rules import HEADER

    rec = tmp_path / "oven.csv"
    rows = [f"{k * 0.1:.1f},{95.0 if 20 <= k < 40 else 60.0}" for k in range(80)]
    rec.write_text("time_s,temp\n" + "\n".join(rows) + "\n", encoding="utf-8")
    rules = tmp_path / "rules.csv"
    rules.write_text(",".join(HEADER) + "\nhot,temp,high,90,0.5,5,alarm,\n", encoding="utf-8")
    window = make_window()
    window.settings.model = ""
    window.alarms_dock.show()
    window.alarm_rules.set_rules(str(rules))
    window.open_file(str(rec))
    qtbot.waitUntil(lambda: len(window.alarms_panel.alarms) == 1, timeout=15_000)
    (alarm,) = window.alarms_panel.alarms
    assert (alarm.rule, alarm.time_s, alarm.recording) == ("hot", 2.5, str(rec))
    assert alarm.cleared is not None and alarm.clear_value == 60.0
    window.alarm_rules.set_rules(str(rules))  # judged again: nothing logged twice
    qtbot.waitUntil(lambda: not window.alarm_rules.runner.running and window.alarm_rules._checked,
                    timeout=15_000)
    qtbot.wait(300)
    window.alarms_panel.refresh()
    assert len(window.alarms_panel.alarms) == 1


def test_the_rules_dialog_checks_before_it_writes(qtbot, tmp_path: Path) -> None:
    from desktop.alarms.rulefile import read_rules
    from desktop.ui.rules_dialog import EXAMPLE, RulesDialog

    path = tmp_path / "rules.csv"
    dialog = RulesDialog(path)
    qtbot.addWidget(dialog)
    dialog.add_row(EXAMPLE)
    dialog.add_row(("tank low", "level", "below", "0.4", "", "", "", ""))
    assert not dialog.save() and not path.exists()
    assert "rules.csv:3, column 3 (kind): 'below' is not a rule kind" in dialog.error.text()
    dialog.table.item(1, 2).setText("low")
    assert dialog.save()
    assert [(r.name, r.kind, r.latch) for r in read_rules(path)] == [
        ("bearing hot", "high", True), ("tank low", "low", False)]
    again = RulesDialog(path)  # reopened: the file's rules in the table
    qtbot.addWidget(again)
    assert again.table.rowCount() == 2 and again.table.item(1, 0).text() == "tank low"
