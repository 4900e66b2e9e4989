"""A worker object and the QThread it lives on, started and stopped together.

Both long-lived workers (acquisition, inference) follow the same protocol: a ``run`` slot
that loops until ``request_stop()``, and a ``finished`` signal. Stopping calls
``QThread.quit`` directly, because a quit queued from the worker's ``finished`` would wait
for the UI thread, which may itself be waiting for this thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QObject, QThread

from desktop.core.errors import LinewatchError

log = logging.getLogger(__name__)
T = TypeVar("T")


class StoppableWorker(Protocol):
    def request_stop(self) -> None: ...


def load_model_or_report(worker: Any, name: str, load: Callable[[], T]) -> T | None:
    """Run ``load()`` at the start of a model worker's ``run``. On failure emit one line on
    the worker's ``failed`` (the error's own words, or ``could not load model NAME: …`` for
    an unexpected error, which is also logged), then ``finished``, and return None."""
    try:
        return load()
    except LinewatchError as exc:
        worker.failed.emit(str(exc))
    except Exception as exc:
        log.exception("loading model %s failed", name)
        worker.failed.emit(f"could not load model {name}: {exc!r}")
    worker.finished.emit()
    return None


class WorkerThread:
    """Owns ``worker`` (a QObject with ``run``, ``finished`` and ``request_stop``)."""

    def __init__(self, worker: QObject, name: str) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)  # type: ignore[attr-defined]
        worker.finished.connect(self.thread.quit)  # type: ignore[attr-defined]

    def start(self) -> None:
        self.thread.start()

    def request_stop(self) -> None:
        """Ask the loop to end without waiting; the thread quits once ``run`` returns."""
        self.worker.request_stop()  # type: ignore[attr-defined]
        self.thread.quit()

    def wait(self, ms: int = 5000) -> bool:
        return self.thread.wait(ms)

    def stop(self, wait_ms: int = 5000) -> bool:
        """Ask the loop to end and wait for it; True when the thread has stopped."""
        self.request_stop()
        return self.wait(wait_ms)

    @property
    def running(self) -> bool:
        return self.thread.isRunning()
