"""One generic worker: runs a plain long-job function on its own QThread.

Every long job (training, fine-tuning, imports, indexing a big file, batch verdicts) is a
plain function that takes a :class:`~desktop.core.tasks.TaskState` as its ``task``
keyword. :class:`Job` runs it off the UI thread and turns the task state into signals:
``progress(fraction, message, info)``, then exactly one of ``succeeded(result)``,
``cancelled()`` or ``failed(message)``, then ``finished()``. ``cancel()`` is safe from the
UI thread; the function sees it at its next ``task.report``/``task.check``.

A user error (:class:`~desktop.core.errors.LinewatchError`) becomes its one-line message;
anything else is logged with its traceback and reported as "unexpected error: …", so the
window never dies because a job did. (One class of our own rather than superqt's
``thread_worker``: superqt's generator workers do not carry our TaskState protocol and
we would wrap them anyway.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.errors import LinewatchError
from desktop.core.tasks import Cancelled, TaskState
from desktop.workers.threads import WorkerThread

log = logging.getLogger(__name__)


class JobWorker(QObject):
    """Lives on the job's thread; ``run`` calls the function once."""

    progress = Signal(float, str, dict)
    succeeded = Signal(object)
    cancelled = Signal()
    failed = Signal(str)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any], name: str) -> None:
        super().__init__()
        self.fn, self.args, self.kwargs, self.name = fn, args, kwargs, name
        self.task = TaskState(lambda p, m, info: self.progress.emit(p, m, info))

    def request_stop(self) -> None:
        self.task.cancel()

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(*self.args, task=self.task, **self.kwargs)
        except Cancelled:
            self.cancelled.emit()
        except LinewatchError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: keep the window alive, say what happened
            log.exception("%s failed", self.name)
            self.failed.emit(f"{self.name}: unexpected error: {exc!r}")
        else:
            self.succeeded.emit(result)
        finally:
            self.finished.emit()
            # End this thread's event loop from here (QThread.quit is thread-safe). The
            # quit that `finished` also triggers is queued to the UI thread, which may be
            # blocked in `wait()` for this very thread: a window closing just after a job
            # ended then waited out its whole timeout (30 s) and let go of a running thread.
            thread = self.thread()
            if thread is not None:
                thread.quit()


class Job(WorkerThread):
    """``Job(fn, *args, name=..., **kwargs).start()`` runs ``fn(*args, task=…, **kwargs)``.

    Connect to ``job.worker``'s signals before ``start``. Keep a reference until
    ``finished``: a QThread destroyed while running aborts the program.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "job",
                 **kwargs: Any) -> None:
        super().__init__(JobWorker(fn, args, kwargs, name), f"linewatch-{name}")
        self.worker: JobWorker = self.worker

    @property
    def task(self) -> TaskState:
        return self.worker.task

    def cancel(self) -> None:
        self.worker.request_stop()
