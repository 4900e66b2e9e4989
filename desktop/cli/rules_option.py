"""``--rules FILE`` and ``--write-log`` on ``predict`` and ``trend``: alarm rules run over
the rows a command prints (:mod:`desktop.alarms.rows`; rules file format:
:mod:`desktop.alarms.rules`, docs/cli.md).

Each row gets ``alarms`` (the rules up at it) and the JSON document a top-level
``alarm_events`` list (``index``: the row's number); text output ends with one line per
event. A rules file that cannot be read, or a rule no row can feed (its channel or value is
in no row), is refused in one line, exit 2. ``--write-log`` writes the events to the alarm
log once, as ``linewatch alarms check --write-log`` does.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from desktop.core.errors import UsageError


def add_rules_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--rules RULES`` and ``--write-log`` to a command's parser."""
    p.add_argument("--rules", default=None, metavar="RULES",
                   help="alarm rules CSV (as `linewatch alarms check`): each row gets "
                        "'alarms' (the rules up at it), the JSON 'alarm_events'; text output "
                        "lists every raise and clear")
    p.add_argument("--write-log", action="store_true",
                   help="with --rules: also log every raise and clear in the alarm log")


def read_rules_option(args: argparse.Namespace) -> tuple[Any, ...] | None:
    """The rules of ``args.rules`` (None without it); :class:`UsageError` (exit 2) for a
    file that cannot be used, or ``--write-log`` without ``--rules``."""
    from desktop.alarms.rulefile import read_rules
    from desktop.alarms.rules import RulesError

    if getattr(args, "rules", None) is None:
        if getattr(args, "write_log", False):
            raise UsageError("--write-log needs --rules RULES (the alarm rules to run)")
        return None
    try:
        return read_rules(Path(args.rules).expanduser())
    except RulesError as exc:
        raise UsageError(str(exc)) from None


def check_rule_targets(rules: Sequence[Any] | None, classes: Sequence[str],
                       locations: Sequence[str], source: str) -> None:
    """Refuse (:class:`UsageError`, exit 2) a ``class`` rule naming neither one of the
    model's ``classes`` nor one of its ``locations``, before any window is judged."""
    if rules is None:
        return
    from desktop.alarms.rules import RulesError, check_targets

    try:
        check_targets(rules, classes, locations, source)
    except RulesError as exc:
        raise UsageError(str(exc)) from None


def run_rules(rules: Sequence[Any], rows: list[dict[str, Any]], channel: str,
              classes: Sequence[str] | None = None, locations: Sequence[str] = (),
              source: str = "") -> Any:
    """:func:`desktop.alarms.rows.check_rows` over ``rows`` (annotated in place with
    ``alarms``); returns the :class:`~desktop.alarms.rows.RowsCheck`. ``classes`` /
    ``locations``: the model's (``predict``), so a ``class`` rule naming neither is
    refused; ``source``: the rules file. A rule no row can feed, or such a class rule:
    :class:`UsageError` (exit 2)."""
    from desktop.alarms.rows import check_rows
    from desktop.alarms.rules import RulesError

    try:
        check = check_rows(rules, rows, channel, classes, locations, source)
    except RulesError as exc:
        raise UsageError(str(exc)) from None
    check.annotate(rows)
    return check


def events_key() -> str:
    """The top-level JSON key of the events (``alarm_events``)."""
    from desktop.alarms.rows import EVENTS_KEY

    return EVENTS_KEY


def log_events(args: argparse.Namespace, check: Any, recording: str | Path, source: str,
               start_time: str = "") -> int:
    """With ``--write-log``: ``check``'s events into the default alarm log (once); returns
    how many alarms were added (0 without ``--write-log``)."""
    if not getattr(args, "write_log", False):
        return 0
    from desktop.alarms.log import AlarmLog
    from desktop.alarms.rows import log_rows_events

    with AlarmLog() as log:
        return int(log_rows_events(log, check, recording, source=source,
                                   start_time=start_time))


def _when(time_s: float) -> str:
    """Seconds into the file, or a UTC time for Unix seconds (``trend --machine`` rows)."""
    import datetime as dt

    from desktop.core.types import WALL_CLOCK_MIN_S

    if time_s < WALL_CLOCK_MIN_S:  # seconds into a recording
        return f"{time_s:.3f} s"
    return dt.datetime.fromtimestamp(time_s, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def print_events(check: Any, rules: int, logged: bool) -> None:
    """One line per raise/clear (time, kind, rule, severity, channel, value, row), then a
    count, as ``alarms check`` prints them."""
    for e in check.events:
        value = f"{e.value:g}" if math.isfinite(e.value) else "nan"
        note = " (latched: stays up until acknowledged)" if e.latched else ""
        print(f"alarm {e.kind:<5} {e.rule} [{e.severity}] {e.channel} = {value} at "
              f"{_when(e.time_s)} (row {e.index + 1}){note}")
    print(f"alarms: {rules} rules, {check.raised} raised" + (" (logged)" if logged else ""))
