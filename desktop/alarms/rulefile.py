"""Reading and checking a rules file (the format: :mod:`desktop.alarms.rules`).

:func:`read_rules` refuses anything wrong with one line naming the file, line and column
and what to write (:class:`~desktop.alarms.rules.RulesError`). What it cannot know from
the file alone (whether a machine profile or baseline exists, a channel's unit) is
checked when the rules are bound to a signal (:func:`desktop.alarms.derived.bind_rule`).
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

from desktop.alarms.rules import (
    HEADER,
    HEADER_V1,
    MAX_RULES,
    MAX_RULES_BYTES,
    RULE_KINDS,
    Rule,
    RulesError,
)
from desktop.analysis.severity import ZONE_LIMITS_MM_S

_NAME = re.compile(r"^[A-Za-z0-9_]+$")
ZONE_LETTERS = ("B", "C", "D")
BASELINE_LEVELS = ("alert", "alarm")


def _fail(path: Path, line: int, column: str | None, problem: str, todo: str) -> RulesError:
    where = f"{path}:{line}"
    if column is not None:
        where += f", column {HEADER.index(column) + 1} ({column})"
    return RulesError(f"alarm rules {where}: {problem}; {todo}")


def _number(path: Path, line: int, column: str, text: str, default: float | None,
            minimum: float | None = None) -> float:
    text = text.strip()
    if not text:
        if default is None:
            raise _fail(path, line, column, "it is empty", "write a number (e.g. 80.5)")
        return default
    try:
        value = float(text)
    except ValueError:
        raise _fail(path, line, column, f"{text!r} is not a number",
                    "write a decimal number with a '.' (e.g. 80.5)") from None
    if not math.isfinite(value):
        raise _fail(path, line, column, f"{text!r} is not a finite number",
                    "write a decimal number")
    if minimum is not None and value < minimum:
        raise _fail(path, line, column, f"{value:g} is negative", "write 0 or more")
    return value


def parse_machine_class(text: str) -> tuple[int, str] | None:
    """``GROUP/FOUNDATION`` (``2/rigid``, ``group 1 / flexible``) as ``(group,
    foundation)``, None when it is not one of ISO 20816-3's four classes."""
    m = re.fullmatch(r"\s*(?:group\s*)?([12])\s*/\s*(rigid|flexible)\s*", text, re.I)
    if m is None:
        return None
    key = (int(m.group(1)), m.group(2).lower())
    return key if key in ZONE_LIMITS_MM_S else None


def zone_boundary(machine_class: tuple[int, str], letter: str) -> float:
    """The lower boundary (mm/s) of zone ``letter`` (B, C, D) for a machine class, from
    :data:`desktop.analysis.severity.ZONE_LIMITS_MM_S` (ISO 20816-3 Annex A)."""
    return ZONE_LIMITS_MM_S[machine_class][ZONE_LETTERS.index(letter)]


def _kind_cells(path: Path, line: int, kind: str, cells: dict[str, str]
                ) -> tuple[float, str, str]:
    """``(limit, level, target)`` of one row by its kind (module doc of ``rules``)."""
    raw = cells["limit"].strip()
    indicator, machine, target = (cells["indicator"].strip(), cells["machine"].strip(),
                                  cells["class"].strip())
    if machine and kind not in ("zone", "baseline"):
        raise _fail(path, line, "machine", f"a {kind} rule uses no machine",
                    "leave it empty (only zone and baseline rules name a machine)")
    if target and kind not in ("zone", "class"):
        raise _fail(path, line, "class", f"a {kind} rule uses no class",
                    "leave it empty (only class and zone rules use it)")
    if indicator and kind in ("zone", "baseline", "class"):
        raise _fail(path, line, "indicator", f"a {kind} rule uses no indicator",
                    "leave it empty")
    if indicator and not _NAME.match(indicator):
        raise _fail(path, line, "indicator", f"{indicator!r} is not an indicator name",
                    "write a name such as rms, kurtosis or vel_rms")
    if kind == "zone":
        letter = raw.upper()
        if letter not in ZONE_LETTERS:
            raise _fail(path, line, "limit", f"{raw!r} is not a zone",
                        "write B, C or D (the ISO 20816 zone that raises the alarm)")
        if target:
            mclass = parse_machine_class(target)
            if mclass is None:
                raise _fail(path, line, "class", f"{target!r} is not a machine class",
                            "write GROUP/FOUNDATION: 1/rigid, 1/flexible, 2/rigid or "
                            "2/flexible (ISO 20816-3)")
            return zone_boundary(mclass, letter), letter, f"{mclass[0]}/{mclass[1]}"
        if not machine:
            raise _fail(path, line, "class", "no machine class",
                        "write GROUP/FOUNDATION (e.g. 2/rigid), or name the machine whose "
                        "profile gives it in the machine column")
        return math.nan, letter, ""  # bound from the machine's profile
    if kind == "baseline":
        level = raw.lower()
        if level not in BASELINE_LEVELS:
            raise _fail(path, line, "limit", f"{raw!r} is not a baseline level",
                        "write alert or alarm")
        if not machine:
            raise _fail(path, line, "machine", "no machine",
                        "name the machine whose learnt baseline judges the channel")
        return 1.0, level, ""
    limit = _number(path, line, "limit", raw, None)
    if kind == "rate" and limit <= 0:
        raise _fail(path, line, "limit", "a rate limit must be positive",
                    "write the largest allowed change per second")
    if kind == "class":
        if not target:
            raise _fail(path, line, "class", "no class",
                        "write the model's class or location that raises it (e.g. "
                        "outer_race)")
        if not 0 < limit <= 1:
            raise _fail(path, line, "limit", f"{limit:g} is not a probability",
                        "write the least probability, more than 0 and at most 1 (e.g. 0.8)")
    if kind == "score" and indicator not in ("", "score", "anomaly"):
        raise _fail(path, line, "indicator", f"{indicator!r} is not a score",
                    "leave it empty (the model's score) or write anomaly (the baseline's)")
    return limit, "", target


def _rule(path: Path, line: int, cells: dict[str, str], names: set[str]) -> Rule:
    name = cells["name"].strip()
    if not name or name in names:
        raise _fail(path, line, "name", "the rule name is empty" if not name else
                    f"the rule name {name!r} is used twice", "give every rule its own name")
    channel = cells["channel"].strip()
    if not channel:
        raise _fail(path, line, "channel", "no channel", "name the channel to watch")
    kind = cells["kind"].strip().lower()
    if kind not in RULE_KINDS:
        raise _fail(path, line, "kind", f"{cells['kind']!r} is not a rule kind",
                    "write high, low, rate, zone, baseline, class or score")
    limit, level, target = _kind_cells(path, line, kind, cells)
    latch_text = cells["latch"].strip().lower()
    if latch_text not in ("", "yes", "no", "true", "false", "1", "0"):
        raise _fail(path, line, "latch", f"{cells['latch']!r} is not yes or no",
                    "write yes (latched until acknowledged) or no")
    return Rule(name, channel, kind, limit,
                _number(path, line, "delay_s", cells["delay_s"], 0.0, 0.0),
                _number(path, line, "hysteresis", cells["hysteresis"], 0.0, 0.0),
                cells["severity"].strip() or "alarm",
                latch_text in ("yes", "true", "1"), line,
                indicator=cells["indicator"].strip(), machine=cells["machine"].strip(),
                target=target, level=level)


def read_rules(path: str | Path) -> tuple[Rule, ...]:
    """Read and check a rules file; :class:`RulesError` (one line) for anything wrong."""
    path = Path(path).expanduser()
    try:
        if path.stat().st_size > MAX_RULES_BYTES:
            raise RulesError(f"alarm rules {path}: larger than {MAX_RULES_BYTES >> 20} MB; "
                             "give the rules CSV")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RulesError(f"alarm rules {path}: no such file; give the rules CSV with "
                         "--rules FILE") from None
    except UnicodeDecodeError as exc:
        raise RulesError(f"alarm rules {path}: not UTF-8 text ({exc.reason}); save it as "
                         "UTF-8 CSV") from None
    except OSError as exc:
        raise RulesError(f"alarm rules {path}: cannot read it ({exc.strerror or exc})") from None
    reader = csv.reader(text.splitlines())
    header: tuple[str, ...] | None = None
    rules: list[Rule] = []
    names: set[str] = set()
    try:
        for row in reader:
            line = reader.line_num
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = tuple(c.strip().lower() for c in row)
                if header not in (HEADER, HEADER_V1):
                    raise _fail(path, line, None, f"the header is {','.join(header)!r}",
                                f"the first line must be exactly {','.join(HEADER)} (or its "
                                f"first {len(HEADER_V1)} columns)")
                continue
            if not len(HEADER_V1) <= len(row) <= len(header):
                raise _fail(path, line, None, f"{len(row)} columns instead of {len(header)}",
                            "give every row the columns of the header (empty cells are fine)")
            cells = dict(zip(HEADER, [*row, *[""] * (len(HEADER) - len(row))], strict=True))
            rules.append(_rule(path, line, cells, names))
            names.add(rules[-1].name)
            if len(rules) > MAX_RULES:
                raise _fail(path, line, None, f"more than {MAX_RULES} rules",
                            "split the rules over several files")
    except csv.Error as exc:
        raise _fail(path, reader.line_num, None, f"not valid CSV ({exc})",
                    "check the quotes on that line") from None
    if not rules:
        raise RulesError(f"alarm rules {path}: no rules; the first line must be "
                         f"{','.join(HEADER)} and each further line one rule")
    return tuple(rules)
