"""Per-rule actions from the window: off until an actions file is chosen in the Alarm log
dock, then a live raise runs its rule's command (an argv list, no shell) and says so."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from desktop.alarms.rules import HEADER

pytestmark = pytest.mark.slow


def test_actions_run_on_live_raises_until_stopped(qtbot, make_window, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "horn.txt"
    monkeypatch.setenv("LW_TEST_HORN", str(out))
    rules = tmp_path / "rules.csv"
    rules.write_text(",".join(HEADER) + "\npeak,synth1,high,0.9,0.02,0.5,warning,no\n",
                     encoding="utf-8")
    actions = tmp_path / "actions.json"
    script = ("import os; open(os.environ['LW_TEST_HORN'], 'a').write("
              "os.environ['LINEWATCH_ALARM_RULE'] + '\\n')")
    actions.write_text(json.dumps({"linewatch_actions": 1, "peak": [
        {"type": "command", "argv": [sys.executable, "-c", script], "timeout_s": 20}]}),
        encoding="utf-8")
    window = make_window()
    window.settings.model = ""
    live, panel = window.alarm_rules, window.alarms_panel
    said: list[str] = []
    window.statusBar().messageChanged.connect(said.append)
    assert live.actions is None and panel.actions_button.text() == "Actions…"  # off
    live.set_actions(str(actions))  # no rules yet: refused in one line
    assert live.actions is None and "no rule named 'peak'" in \
        window.statusBar().currentMessage()
    window.connect_source("synth:2x1000", {})
    live.set_rules(str(rules))
    live.set_actions(str(actions))
    assert live.actions is not None and panel.actions_button.text().startswith("Stop")
    qtbot.waitUntil(lambda: out.exists() and "peak" in out.read_text(), timeout=20_000)
    qtbot.waitUntil(lambda: any("action command" in m and "for 'peak': exit code 0" in m
                                for m in said), timeout=10_000)
    panel.actions_button.click()  # on: the click stops them
    assert live.actions is None and panel.actions_button.text() == "Actions…"
    window.disconnect_source()


def test_class_rules_judge_the_live_models_verdicts(qtbot, make_window, tmp_path: Path) -> None:
    """A ``class`` rule raises on the live model's verdicts (fed by the window) and lands
    in the alarm log with the rule's name."""
    from desktop.session.types import Verdict

    rules = tmp_path / "rules.csv"
    rules.write_text(",".join(HEADER) + "\ninner,synth1,class,0.5,0,0,alarm,yes,,,inner_007\n",
                     encoding="utf-8")
    window = make_window()
    window.settings.model = ""
    live = window.alarm_rules
    window.connect_source("synth:2x1000", {})
    live.set_rules(str(rules))
    qtbot.waitUntil(lambda: live.watcher is not None, timeout=10_000)
    window.model_info = {"name": "fault-cwru", "channel": "synth1"}
    rows = [{"start_s": 0.0 + k, "end_s": 1.0 + k, "class": "inner_007", "probability": 0.9,
             "location": "inner_race"} for k in range(3)]
    window._verdicts([Verdict.from_row(r) for r in rows])
    log = window.alarms_panel.log()
    qtbot.waitUntil(lambda: any(e.rule == "inner" for e in log.entries(kinds=("raise",))),
                    timeout=10_000)
    window.disconnect_source()


def test_a_class_rule_the_live_model_lacks_is_refused_in_the_status_bar(
        qtbot, make_window, tmp_path: Path) -> None:
    """A ``class`` rule naming neither a class nor a location of the loaded model would
    never fire: the window says so in the status bar (issue 25); a location is fine."""
    from desktop.session.types import Verdict

    rules = tmp_path / "rules.csv"
    rules.write_text(",".join(HEADER) + "\ninner,synth1,class,0.5,0,0,alarm,yes,,,inner_rce\n",
                     encoding="utf-8")
    window = make_window()
    window.settings.model = ""
    live = window.alarm_rules
    window.connect_source("synth:2x1000", {})
    live.set_rules(str(rules))
    qtbot.waitUntil(lambda: live.watcher is not None, timeout=10_000)
    window.model_info = {"name": "fault-cwru", "channel": "synth1",
                         "classes": ["normal", "inner_007"],
                         "locations": ["inner_race", "normal"]}
    rows = [{"start_s": 0.0, "end_s": 1.0, "class": "inner_007", "probability": 0.9,
             "location": "inner_race"}]
    window._verdicts([Verdict.from_row(r) for r in rows])
    message = window.statusBar().currentMessage()
    assert f"{rules}:2, column 11 (class): rule 'inner' names 'inner_rce', neither a class nor a " \
           "location of the model" in message and "inner_007" in message
    window.disconnect_source()
