"""Per-rule actions when an alarm is raised: write a Modbus coil, run a configured command.

Off by default: nothing runs unless an actions file is given (``linewatch record --rules
RULES --actions ACTIONS``). The file is JSON, one list of actions per rule name::

    {"linewatch_actions": 1,
     "bearing hot": [
       {"type": "modbus_coil", "source": "modbus-tcp:10.0.0.5:502", "unit": 1,
        "address": 12, "value": true},
       {"type": "command", "argv": ["/usr/local/bin/horn", "--on"], "timeout_s": 10}]}

* ``modbus_coil`` writes one coil (function 5) through pymodbus's TCP client.
* ``command`` runs ``argv`` exactly as configured — **never through a shell, and never
  with data from the signal in it**: the alarm reaches the command only through
  environment variables (``LINEWATCH_ALARM_RULE``, ``_CHANNEL``, ``_VALUE``, ``_SEVERITY``,
  ``_KIND``), which a program reads as plain text.

Actions run on a thread of their own (a slow horn or PLC never holds up acquisition), one
at a time in the order the alarms came; each outcome is reported through ``say`` in one
line. A bad actions file is refused when it is loaded (:class:`ActionsError`).
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.alarms.rules import RuleEvent
from desktop.core.errors import LinewatchError
from desktop.core.jsonfile import JSONProblem, read_json_file

MAX_ACTIONS_BYTES = 1 << 20


class ActionsError(LinewatchError):
    """An actions file that cannot be used."""


@dataclass(frozen=True)
class Action:
    """One configured action (see the module doc)."""

    rule: str
    type: str
    argv: tuple[str, ...] = ()
    timeout_s: float = 10.0
    source: str = ""
    unit: int = 1
    address: int = 0
    value: bool = True

    def describe(self) -> str:
        if self.type == "command":
            return f"command {self.argv[0]}"
        return f"coil {self.address} := {int(self.value)} on {self.source} unit {self.unit}"


def _action(path: Path, rule: str, k: int, raw: Any) -> Action:
    where = f"actions {path}: rule {rule!r}, action {k + 1}"
    if not isinstance(raw, dict):
        raise ActionsError(f"{where}: must be an object with a 'type'")
    kind = raw.get("type")
    if kind == "command":
        argv = raw.get("argv")
        if (not isinstance(argv, list) or not argv
                or not all(isinstance(a, str) and a for a in argv)):
            raise ActionsError(f"{where}: 'argv' must be a list of words, the program first "
                               "(no shell: write each argument as its own string)")
        timeout = raw.get("timeout_s", 10.0)
        if not isinstance(timeout, int | float) or not 0 < timeout <= 600:
            raise ActionsError(f"{where}: 'timeout_s' must be 0-600 seconds")
        return Action(rule, "command", tuple(argv), float(timeout))
    if kind == "modbus_coil":
        source = raw.get("source", "")
        if not isinstance(source, str) or not source.startswith("modbus-tcp:"):
            raise ActionsError(f"{where}: 'source' must be modbus-tcp:HOST:PORT")
        unit, address, value = raw.get("unit", 1), raw.get("address"), raw.get("value", True)
        if not isinstance(unit, int) or not 0 <= unit <= 247:
            raise ActionsError(f"{where}: 'unit' must be 0-247")
        if not isinstance(address, int) or not 0 <= address <= 65535:
            raise ActionsError(f"{where}: 'address' must be the coil's 0-based address")
        if not isinstance(value, bool):
            raise ActionsError(f"{where}: 'value' must be true or false")
        return Action(rule, "modbus_coil", source=source, unit=unit, address=address,
                      value=value)
    raise ActionsError(f"{where}: 'type' must be command or modbus_coil, not {kind!r}")


def read_actions(path: str | Path) -> dict[str, tuple[Action, ...]]:
    """The actions file's actions by rule name; :class:`ActionsError` for anything wrong."""
    path = Path(path).expanduser()
    try:
        data = read_json_file(path, max_bytes=MAX_ACTIONS_BYTES)
    except FileNotFoundError:
        raise ActionsError(f"no actions file {path}") from None
    except (JSONProblem, OSError) as exc:
        raise ActionsError(f"actions {path}: cannot be read ({exc})") from None
    if not isinstance(data, dict) or data.get("linewatch_actions") != 1:
        raise ActionsError(f"actions {path}: not a Linewatch actions file (it starts with "
                           '{"linewatch_actions": 1, …})')
    actions: dict[str, tuple[Action, ...]] = {}
    for rule, raw in data.items():
        if rule == "linewatch_actions":
            continue
        if not isinstance(raw, list):
            raise ActionsError(f"actions {path}: rule {rule!r} needs a list of actions")
        actions[rule] = tuple(_action(path, rule, k, a) for k, a in enumerate(raw))
    return actions


def run_action(action: Action, event: RuleEvent) -> str:
    """Run one action for ``event``; returns one line saying what happened (never raises
    for the action's own failure)."""
    if action.type == "command":
        env = dict(os.environ, LINEWATCH_ALARM_RULE=event.rule,
                   LINEWATCH_ALARM_CHANNEL=event.channel,
                   LINEWATCH_ALARM_VALUE=repr(event.value),
                   LINEWATCH_ALARM_SEVERITY=event.severity, LINEWATCH_ALARM_KIND=event.kind)
        try:
            done = subprocess.run(list(action.argv), env=env, shell=False,
                                  stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=action.timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"action {action.describe()} for {event.rule!r} failed: {exc}"
        return (f"action {action.describe()} for {event.rule!r}: exit code {done.returncode}")
    from pymodbus.client import ModbusTcpClient
    from pymodbus.exceptions import ModbusException

    from desktop.sources.modbus import parse_tcp_target

    host, port = parse_tcp_target(action.source[len("modbus-tcp:"):])
    client = ModbusTcpClient(host, port=port, timeout=2.0, retries=1)
    try:
        if not client.connect():
            return f"action {action.describe()} for {event.rule!r} failed: no connection"
        reply = client.write_coil(action.address, action.value, device_id=action.unit)
        if reply.isError():
            return (f"action {action.describe()} for {event.rule!r} failed: exception "
                    f"{getattr(reply, 'exception_code', '?')}")
        return f"action {action.describe()} for {event.rule!r}: written"
    except (ModbusException, OSError) as exc:
        return f"action {action.describe()} for {event.rule!r} failed: {exc}"
    finally:
        client.close()


class ActionRunner:
    """Runs the actions of raised alarms on one background thread, in order."""

    def __init__(self, actions: dict[str, tuple[Action, ...]],
                 say: Callable[[str], None]) -> None:
        self.actions = actions
        self.say = say
        self.results: list[str] = []
        self._queue: queue.Queue[RuleEvent | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="alarm-actions", daemon=True)
        self._thread.start()

    def __call__(self, event: RuleEvent) -> None:
        """Queue ``event``'s actions (raises only)."""
        if event.kind == "raise" and self.actions.get(event.rule):
            self._queue.put(event)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            for action in self.actions.get(event.rule, ()):
                line = run_action(action, event)
                self.results.append(line)
                self.say(line)

    def close(self, timeout_s: float = 30.0) -> None:
        """Finish the queued actions (up to ``timeout_s``) and end the thread."""
        self._queue.put(None)
        self._thread.join(timeout_s)
