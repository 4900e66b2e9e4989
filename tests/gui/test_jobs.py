"""The generic Job worker: a job that has ended lets its thread go without the UI thread.

Before, the only quit was the one `finished` queued to the UI thread; a window closing
right after a job ended blocked in `wait()` for its whole timeout (30 s, seen in CI) and
then let go of a still-running QThread.

The strict signal order every consumer (JobRunner, dialogs, sessions) relies on is checked
at the end: ``progress*``, exactly one of ``succeeded``/``cancelled``/``failed``, then
``finished``, and nothing after it."""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import Qt

from desktop.core.errors import LinewatchError
from desktop.core.tasks import TaskState
from desktop.workers.jobs import Job


def quick(task: TaskState) -> int:
    task.report(1.0, "done")
    return 42


def test_waiting_for_a_job_that_just_ended_needs_no_ui_events(qtbot) -> None:
    job = Job(quick, name="quick")
    job.start()
    time.sleep(0.3)  # the job ends meanwhile; this (UI) thread processes no events
    started = time.perf_counter()
    assert job.wait(5000)
    assert time.perf_counter() - started < 1.0
    assert not job.running


def test_a_cancelled_job_stops_at_its_next_report(qtbot) -> None:
    def slow(task: TaskState) -> None:
        for k in range(1000):
            task.report(k / 1000, "working")
            time.sleep(0.01)

    job = Job(slow, name="slow")
    job.start()
    time.sleep(0.1)
    job.cancel()
    assert job.wait(5000) and not job.running


# -- the strict signal order (docs/architecture.md "Long jobs") ------------------------------
class Recorder:
    """Every signal of one job, in emission order. Connected with DirectConnection, so each
    slot runs on the job's own thread as the signal is emitted: the list is the true order,
    not the order in which a queue was drained (a lock, since the test thread reads it)."""

    def __init__(self, job: Job) -> None:
        self.seen: list[tuple[str, object]] = []
        self.lock = threading.Lock()
        direct = Qt.ConnectionType.DirectConnection
        w = job.worker
        w.progress.connect(self.progress, direct)
        w.succeeded.connect(self.succeeded, direct)
        w.cancelled.connect(self.cancelled, direct)
        w.failed.connect(self.failed, direct)
        w.finished.connect(self.finished, direct)

    def _add(self, name: str, value: object = None) -> None:
        with self.lock:
            self.seen.append((name, value))

    def progress(self, fraction: float, message: str, info: dict) -> None:
        self._add("progress", (fraction, message))

    def succeeded(self, result: object) -> None:
        self._add("succeeded", result)

    def cancelled(self) -> None:
        self._add("cancelled")

    def failed(self, message: str) -> None:
        self._add("failed", message)

    def finished(self) -> None:
        self._add("finished")

    def names(self) -> list[str]:
        with self.lock:
            return [name for name, _ in self.seen]


def run_recorded(qtbot, fn, *, cancel_after_first: bool = False) -> Recorder:
    job = Job(fn, name="order")
    rec = Recorder(job)
    job.start()
    if cancel_after_first:
        qtbot.waitUntil(lambda: "progress" in rec.names(), timeout=5000)
        job.cancel()
    assert job.wait(5000) and not job.running
    settled = list(rec.seen)
    qtbot.wait(100)  # queued deliveries, if any, would land now
    assert rec.seen == settled, "a signal arrived after finished"
    return rec


def assert_order(names: list[str], ending: str) -> None:
    """``progress*``, then exactly one of succeeded/cancelled/failed, then ``finished``."""
    k = 0
    while k < len(names) and names[k] == "progress":
        k += 1
    assert names[k:] == [ending, "finished"], names


def test_success_order(qtbot) -> None:
    def work(task: TaskState) -> str:
        for k in range(3):
            task.report(k / 3, f"step {k}")
        return "ok"

    rec = run_recorded(qtbot, work)
    assert_order(rec.names(), "succeeded")
    assert rec.names().count("progress") == 3
    assert rec.seen[-2] == ("succeeded", "ok")


def test_user_error_order(qtbot) -> None:
    def work(task: TaskState) -> None:
        task.report(0.5, "half")
        raise LinewatchError("data.csv: line 3, column 2: not a number; fix the file")

    rec = run_recorded(qtbot, work)
    assert_order(rec.names(), "failed")
    assert rec.seen[-2] == ("failed", "data.csv: line 3, column 2: not a number; fix the file")


def test_unexpected_error_order(qtbot) -> None:
    def work(task: TaskState) -> None:
        task.report(0.5, "half")
        raise ZeroDivisionError("boom")

    rec = run_recorded(qtbot, work)
    assert_order(rec.names(), "failed")
    message = rec.seen[-2][1]
    assert isinstance(message, str) and message.startswith("order: unexpected error:")
    assert "ZeroDivisionError" in message


def test_cancel_order(qtbot) -> None:
    def work(task: TaskState) -> None:
        for k in range(10_000):
            task.report(k / 10_000, "working")
            time.sleep(0.001)

    rec = run_recorded(qtbot, work, cancel_after_first=True)
    assert_order(rec.names(), "cancelled")
