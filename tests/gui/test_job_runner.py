"""JobRunner: newest job wins, signals relayed in Job's order, clean shutdown (real threads)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from desktop.workers.job_runner import JobBusy, JobRunner


def _record(runner: JobRunner) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []
    runner.progress.connect(lambda p, m, i: seen.append(("progress", m)))
    runner.succeeded.connect(lambda r: seen.append(("succeeded", r)))
    runner.cancelled.connect(lambda: seen.append(("cancelled", None)))
    runner.failed.connect(lambda m: seen.append(("failed", m)))
    runner.finished.connect(lambda: seen.append(("finished", None)))
    return seen


def add(a: int, b: int, *, task: Any) -> int:
    task.report(0.5, "half")
    return a + b


def wait_for_release(gate: threading.Event, *, task: Any) -> str:
    while not gate.wait(0.01):
        task.check()
    task.check()
    return "old"


def test_relays_in_order(qtbot):
    runner = JobRunner(name="sum")
    seen = _record(runner)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(add, 2, 3)
    assert seen == [("progress", "half"), ("succeeded", 5), ("finished", None)]
    assert not runner.running


def test_newest_wins_and_old_signals_dropped(qtbot):
    runner = JobRunner(name="spectrum")
    seen = _record(runner)
    gate = threading.Event()
    runner.start(wait_for_release, gate)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(add, 1, 1)
    gate.set()
    qtbot.wait(100)
    assert ("succeeded", 2) in seen
    assert ("succeeded", "old") not in seen and ("cancelled", None) not in seen
    assert seen.count(("finished", None)) == 1
    assert runner.shutdown(5000)


def test_busy_when_not_replacing(qtbot):
    runner = JobRunner(name="train", replace=False)
    gate = threading.Event()
    runner.start(wait_for_release, gate)
    with pytest.raises(JobBusy):
        runner.start(add, 1, 1)
    seen = _record(runner)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.cancel()
    assert seen == [("cancelled", None), ("finished", None)]


def test_shutdown_stops_a_running_job(qtbot):
    runner = JobRunner(name="index")
    runner.start(wait_for_release, threading.Event())
    assert runner.shutdown(5000)
    assert not runner.running


def test_abandon_drops_everything_of_the_job(qtbot):
    runner = JobRunner(name="judge")
    seen = _record(runner)
    gate = threading.Event()
    runner.start(wait_for_release, gate)
    runner.abandon()
    assert not runner.running
    gate.set()
    qtbot.wait(300)  # the job ends (cancelled) meanwhile; none of it is relayed
    assert seen == []
    with qtbot.waitSignal(runner.finished, timeout=5000):
        runner.start(add, 2, 2)
    assert seen == [("progress", "half"), ("succeeded", 4), ("finished", None)]
    assert runner.shutdown(5000)
