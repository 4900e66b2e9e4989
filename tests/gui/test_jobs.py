"""The generic Job worker: a job that has ended lets its thread go without the UI thread.

Before, the only quit was the one `finished` queued to the UI thread; a window closing
right after a job ended blocked in `wait()` for its whole timeout (30 s, seen in CI) and
then let go of a still-running QThread."""

from __future__ import annotations

import time

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
