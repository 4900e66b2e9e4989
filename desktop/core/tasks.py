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

import threading
from collections.abc import Callable
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

    # -- the caller's side -------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()
