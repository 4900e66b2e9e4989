"""One owner for the Jobs of one part of the window: newest wins, signals relayed, clean shutdown.

Every window part or dialog that runs long work used to start a :class:`Job`, connect its
five signals, keep it alive until ``finished``, cancel it, and wait for it on close, each by
hand. :class:`JobRunner` does that once:

* ``runner.start(fn, *args, name=..., **kwargs)`` runs ``fn(*args, task=…, **kwargs)`` on a
  :class:`~desktop.workers.jobs.Job`. With ``replace=True`` (the default) a job still running
  is cancelled and **its later signals are dropped** (newest wins: a spectrum request for
  the previous view must not land after the one for this view). With ``replace=False`` a
  second start while one runs raises :class:`JobBusy`. The job counts as running until its
  ``finished`` is relayed: start a follow-up job from a ``finished`` slot, not from a
  ``succeeded`` one (there it would raise :class:`JobBusy`, or, with ``replace=True``,
  swallow this job's ``finished``).
* The runner's own signals relay the current job's: ``progress(fraction, message, info)``,
  then exactly one of ``succeeded(result)``, ``cancelled()``, ``failed(message)``, then
  ``finished()`` — the order :class:`Job` guarantees (tests/unit/workers/test_jobs.py).
* Connections are bound methods of a small relay object, never lambdas: a lambda connected
  to a worker's signal runs on the worker's thread and may touch widgets there.
* ``abandon()`` cancels the current job and drops all its later signals (a result that no
  longer matters); ``cancel()`` lets ``cancelled`` (or a result already on its way) and
  ``finished`` through.
* ``shutdown(wait_ms)`` cancels and waits for every job it started (the current one and
  superseded ones still winding down); a window calls it from ``closeEvent``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.workers.jobs import Job


class JobBusy(RuntimeError):
    """A second ``start`` on a runner made with ``replace=False`` while a job runs."""


class _Relay(QObject):
    """Forwards one job's signals to its runner while that job is the runner's current one."""

    def __init__(self, runner: JobRunner, job: Job) -> None:
        super().__init__()  # owned by the runner's lists, not by a Qt parent
        self.runner, self.job = runner, job
        w = job.worker
        w.progress.connect(self.on_progress)
        w.succeeded.connect(self.on_succeeded)
        w.cancelled.connect(self.on_cancelled)
        w.failed.connect(self.on_failed)
        w.finished.connect(self.on_finished)

    def _current(self) -> bool:
        return self.runner._job is self.job

    @Slot(float, str, dict)
    def on_progress(self, fraction: float, message: str, info: dict[str, Any]) -> None:
        if self._current():
            self.runner.progress.emit(fraction, message, info)

    @Slot(object)
    def on_succeeded(self, result: object) -> None:
        if self._current():
            self.runner.succeeded.emit(result)

    @Slot()
    def on_cancelled(self) -> None:
        if self._current():
            self.runner.cancelled.emit()

    @Slot(str)
    def on_failed(self, message: str) -> None:
        if self._current():
            self.runner.failed.emit(message)

    @Slot()
    def on_finished(self) -> None:
        self.runner._job_finished(self)


class JobRunner(QObject):
    """Runs one :class:`Job` at a time for its owner (see the module docstring)."""

    progress = Signal(float, str, dict)
    succeeded = Signal(object)
    cancelled = Signal()
    failed = Signal(str)
    finished = Signal()

    def __init__(self, parent: QObject | None = None, *, name: str = "job",
                 replace: bool = True) -> None:
        super().__init__(parent)
        self.name, self.replace = name, replace
        self._job: Job | None = None
        self._relays: list[_Relay] = []  # every started job until its thread has ended
        # Ended jobs are dropped at the next start/shutdown, never inside their own slot
        # (freeing a QObject from its own queued slot crashed the interpreter).
        self._ended: list[_Relay] = []

    # -- public ---------------------------------------------------------------------------
    def start(self, fn: Callable[..., Any], *args: Any, name: str | None = None,
              **kwargs: Any) -> Job:
        """Start ``fn(*args, task=…, **kwargs)``; returns the :class:`Job`.

        Raises :class:`JobBusy` when ``replace=False`` and a job is still running.
        """
        if self._job is not None:
            if not self.replace:
                raise JobBusy(f"{self.name} is still running")
            self._job.cancel()  # superseded: its signals are dropped from here on
        self._ended.clear()
        job = Job(fn, *args, name=name or self.name, **kwargs)
        self._relays.append(_Relay(self, job))
        self._job = job
        job.start()
        return job

    def cancel(self) -> None:
        """Ask the current job to stop at its next progress report; ``cancelled`` follows
        (or ``succeeded``/``failed`` when it had already ended), then ``finished``."""
        if self._job is not None:
            self._job.cancel()

    def abandon(self) -> None:
        """Cancel the current job and relay nothing more of it, not even ``finished``:
        ``running`` is False at once (what it answers no longer matters, e.g. the view it
        was judging has changed). Its thread winds down on its own; ``shutdown`` waits
        for it."""
        if self._job is not None:
            self._job.cancel()
            self._job = None

    @property
    def running(self) -> bool:
        """True from ``start`` until the current job's ``finished`` has been relayed."""
        return self._job is not None

    @property
    def job(self) -> Job | None:
        return self._job

    def shutdown(self, wait_ms: int = 60_000) -> bool:
        """Cancel every job this runner started and wait for their threads; True when all
        have ended. Signals of jobs ended this way are not relayed."""
        self._job = None
        ok = True
        for relay in list(self._relays):
            relay.job.cancel()
            ok = relay.job.stop(wait_ms) and ok
        self._relays = [r for r in self._relays if r.job.running]
        self._ended.clear()
        return ok

    # -- internal -------------------------------------------------------------------------
    def _job_finished(self, relay: _Relay) -> None:
        was_current = self._job is relay.job
        if was_current:
            self._job = None
        relay.job.wait(5000)  # its function has returned: the thread ends at once
        if relay in self._relays:
            self._relays.remove(relay)
            self._ended.append(relay)
        if was_current:
            self.finished.emit()
