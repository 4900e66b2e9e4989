"""One progress/cancel protocol for every long job (training, fine-tuning, imports, indexing).

A long job is a plain function that takes a :class:`TaskState` and reports through it::

    def run(..., task: TaskState = TaskState()) -> Result:
        for i, item in enumerate(items):
            task.report(i / len(items), f"item {i}")   # also a cancellation point
            ...

``report`` raises :class:`Cancelled` once someone called :meth:`TaskState.cancel`, so
every progress report is a cancellation point and a job never needs its own flag. The
state is thread-safe: a worker thread runs the function while the UI thread reads
``progress``/``message`` or calls ``cancel``. Listeners (``on_progress``) are called on
the job's thread; a Qt worker turns them into signals. The pattern follows Orange's
``widgets/utils/concurrent.py`` TaskState.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from desktop.core.errors import LinewatchError

ProgressListener = Callable[[float, str, dict[str, Any]], None]


class Cancelled(LinewatchError):
    """The user cancelled the job; whatever it staged has been discarded."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)


class TaskState:
    """Progress (0..1), a one-line message, extra info, and a cancel flag."""

    def __init__(self, on_progress: ProgressListener | None = None) -> None:
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[ProgressListener] = [on_progress] if on_progress else []
        self.progress = 0.0
        self.message = ""
        self.info: dict[str, Any] = {}

    def add_listener(self, listener: ProgressListener) -> None:
        self._listeners.append(listener)

    # -- the job's side ----------------------------------------------------------------
    def report(self, progress: float | None = None, message: str | None = None,
               **info: Any) -> None:
        """Set progress (clamped to 0..1) and/or message; raise :class:`Cancelled` when
        cancellation was requested. Extra keyword ``info`` goes to the listeners."""
        self.check()
        with self._lock:
            if progress is not None:
                self.progress = min(1.0, max(0.0, float(progress)))
            if message is not None:
                self.message = message
            self.info = info
            snapshot = (self.progress, self.message, dict(info))
        for listener in self._listeners:
            listener(*snapshot)

    def check(self) -> None:
        """A cancellation point without a progress report."""
        if self._cancel.is_set():
            raise Cancelled()

    def finish(self, message: str = "done", **info: Any) -> None:
        """Report progress 1.0 *without* a cancellation check: the job's result exists (it
        was published), so a cancel that arrives now is too late to undo anything."""
        with self._lock:
            self.progress, self.message, self.info = 1.0, message, info
        for listener in self._listeners:
            listener(1.0, message, dict(info))

    def part(self, start: float, stop: float, prefix: str = "", **info: Any) -> TaskState:
        """A view for one stage of the job: its progress 0..1 is reported here as
        ``start``..``stop``, its messages get ``prefix`` and its reports carry ``info``
        (like ``stage="loading"``). It shares the cancel flag, so a stage function (an
        ensemble member, reading files) takes a plain ``TaskState``."""
        return _TaskPart(self, start, stop, prefix, info)

    # -- the caller's side -------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


_ACTIVE = threading.local()


@contextlib.contextmanager
def active_task(task: TaskState | None) -> Iterator[TaskState | None]:
    """Make ``task`` this thread's running task for the block, so a reader deep below an
    API that takes no task (a workbook read whole by ``open_chunks``) can still report
    progress and see a Cancel (:func:`current_task`)."""
    previous = getattr(_ACTIVE, "task", None)
    _ACTIVE.task = task
    try:
        yield task
    finally:
        _ACTIVE.task = previous


def current_task() -> TaskState | None:
    """The task :func:`active_task` set on this thread, else None."""
    return getattr(_ACTIVE, "task", None)


class _TaskPart(TaskState):
    """One stage of a parent task (see :meth:`TaskState.part`)."""

    def __init__(self, parent: TaskState, start: float, stop: float, prefix: str,
                 info: dict[str, Any]) -> None:
        super().__init__()
        self._parent, self._start, self._stop, self._prefix = parent, start, stop, prefix
        self._fixed = info
        self._cancel = parent._cancel  # one flag: cancelling the part cancels the job

    def add_listener(self, listener: ProgressListener) -> None:
        self._parent.add_listener(listener)

    def report(self, progress: float | None = None, message: str | None = None,
               **info: Any) -> None:
        if progress is not None:
            progress = self._start + (self._stop - self._start) * min(1.0, max(0.0, progress))
            self.progress = progress
        if message is not None:
            message = self._prefix + message
            self.message = message
        self._parent.report(progress, message, **{**self._fixed, **info})

    def finish(self, message: str = "done", **info: Any) -> None:
        self.report(1.0, message, **info)
