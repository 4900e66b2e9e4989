"""Alarm rules over a whole recording: ``linewatch alarms check`` and the window's opened
files (run as a long job: ``fn(..., task)``, see :mod:`desktop.core.tasks`).

:func:`check_file` reads the recording (any registered format), runs the rules and
returns their events in the file's own time (its time column, or sample index / rate).
Indicator, zone and baseline rules judge the file's 1-s blocks
(:mod:`desktop.alarms.derived`); ``class`` and ``score`` rules judge the file's verdicts,
given as ``predict`` rows (:mod:`desktop.alarms.rows`), or are refused — or, asked to,
skipped and listed in :attr:`FileCheck.skipped`.
:func:`log_file_events` writes them to the alarm log once: an alarm already logged for the
same recording, rule and moment is not logged again, so checking a file twice (or opening
it again in the window) does not double its alarms.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from desktop.alarms.checked import FileCheck, event_time, log_file_events
from desktop.alarms.rules import MODEL_KINDS, Rule, RulesError
from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.recording.registry import read_recording

__all__ = ["FileCheck", "check_file", "event_time", "log_file_events"]


def check_file(path: Path | str, rules: Sequence[Rule], task: TaskState | None = None, *,
               verdicts: Sequence[dict[str, Any]] | None = None, verdict_channel: str = "",
               skip_model_rules: bool = False) -> FileCheck:
    """Run ``rules`` over the recording at ``path``; ``verdicts``: a model's rows of it
    (``predict``'s ``windows``, of channel ``verdict_channel``) for ``class``/``score``
    rules.

    Raises :class:`~desktop.alarms.rules.RulesError` for a rule whose channel the file
    lacks or that cannot judge it, a model rule without ``verdicts`` (unless
    ``skip_model_rules``), :class:`InputError` for a file with no time axis, and the
    readers' errors.
    """
    path = Path(path).expanduser()
    model = [r for r in rules if r.kind in MODEL_KINDS]
    if model and verdicts is None and not skip_model_rules:
        raise RulesError(f"{model[0].where}: a {model[0].kind} rule judges a model's "
                         "verdicts, not samples; check the file with predict --rules, or "
                         "leave the rule out")
    rules = [r for r in rules if r.kind not in MODEL_KINDS]
    if task is not None:
        task.report(0.0, f"reading {path.name}")
    rec = read_recording(path)
    if rec.timestamps is not None:
        times = np.asarray(rec.timestamps, dtype=np.float64)
    elif rec.sample_rate:
        times = np.arange(rec.samples, dtype=np.float64) / float(rec.sample_rate)
    else:
        raise InputError(f"{path} has no time column and no sample rate; rate-of-change "
                         "and delays need time")
    if task is not None:
        task.report(0.6, f"judging {rec.samples:,} samples")
    # scipy (through the 1-s indicators): imported when a file is checked, never on the
    # window's way to its first draw
    from desktop.alarms.derived import evaluate

    events = evaluate(rules, [c.name for c in rec.channels], times, rec.values,
                      [c.unit for c in rec.channels], rec.effective_rate()) if rules else []
    skipped: tuple[str, ...] = ()
    if model and verdicts is not None:
        from desktop.alarms.rows import check_rows

        events += check_rows(model, verdicts, verdict_channel).events
        events.sort(key=lambda e: (e.time_s, e.kind != "clear", e.rule))
    elif model:
        skipped = tuple(r.name for r in model)
    return FileCheck(path, rec.samples, rec.source, rec.start_time, tuple(events), skipped)
