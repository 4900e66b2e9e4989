"""A file session: one opened recording, read lazily from disk, its whole-file verdicts
and its labels.

It never pretends to be a live stream. Opening runs :func:`index_file` as a job
(progress and Cancel in the status bar): the file is converted once into a columnar
cache with a min/max pyramid (reopened instantly the next time), and the view is handed
to the plots as soon as something can be drawn — for a big text file a skim of the whole
file within a second or two, sharpening while the index is built. ``buffer`` is a
:class:`~desktop.streams.file_view.FileView`, which offers the ring buffer's read
interface, so the plots do not care. Its sample rate is the file's own (what
``linewatch info`` reports), its labels are anchored at its first sample, and once the
file is indexed a selected model judges the whole file in a second job that fills the
verdict lane end to end (it reads the one channel it needs from the cache).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal

from desktop.core.types import SourceState
from desktop.session.base import Session
from desktop.streams.acquisition import Counters
from desktop.streams.file_view import FileView, index_file
from desktop.workers.jobs import Job

log = logging.getLogger(__name__)


class FileSession(Session):
    """Shows ``path``; ``rate`` overrides/sets the rate of a file that states none;
    ``decimal`` (``"."``/``","``) fixes the decimal mark of a text file."""

    kind = "file"
    # The verdict job's answers, relayed: a lambda connected to a worker's signal runs on
    # the job's thread, so it only emits these, whose slots run on the session's thread.
    _judge_done = Signal(object, object)  # job, result
    _judge_error = Signal(object, str)  # job, message

    def __init__(self, path: Path | str, rate: float | None = None,
                 decimal: str | None = None) -> None:
        super().__init__(f"file:{path}")
        self._judge_done.connect(self._judged)
        self._judge_error.connect(self._judge_failed)
        self.path = Path(path)
        self.rate = rate
        self.decimal = decimal
        self.view: FileView | None = None
        self._jobs: list[Job] = []
        self._index_job: Job | None = None
        self._judge_job: Job | None = None
        self.open_cancelled = False  # cancelled before anything could be drawn
        self._model: tuple[str, float, float] = ("", 2.0, 5.0)
        self.state = "loading"
        self.verdict_rows: list[dict[str, Any]] = []
        # perf_counter times for --measure: the open, the index done, the verdict job.
        self._t_start: float | None = None
        self._t_indexed: float | None = None
        self._t_judge: tuple[float, float | None] | None = None

    # -- the read interface ----------------------------------------------------------
    @property
    def buffer(self) -> FileView | None:
        return self.view

    @property
    def loaded(self) -> FileView | None:
        """The file once wholly indexed (whole-file verdicts need all of it), else None."""
        return self.view if self.view is not None and self.view.complete else None

    @property
    def indexing(self) -> bool:
        return self._index_job is not None

    @property
    def busy(self) -> bool:
        """A job of this session (indexing, whole-file verdicts) is running."""
        return self._index_job is not None or self._judge_job is not None

    @property
    def counters(self) -> Counters | None:
        view = self.view
        if view is None:
            return None
        malformed = view.metadata.get("malformed", {})
        by_kind = malformed if isinstance(malformed, dict) else {}
        return Counters(received=view.rows, dropped=0,
                        malformed=int(sum(by_kind.values())),
                        malformed_by_kind=dict(by_kind))

    def sample_rate(self) -> float | None:
        return self.view.effective_rate() if self.view is not None else None

    @property
    def rate_is_estimate(self) -> bool:
        """A file without a nominal rate: the rate is the mean of its time column."""
        return self.view is not None and not self.view.nominal_rate

    def label_anchor(self) -> tuple[str, float] | None:
        if self.view is None:
            return None
        return (str(self.path), self.view.first_time)

    # -- lifecycle -------------------------------------------------------------------
    def _run(self, fn: Any, *args: Any, name: str, **kwargs: Any) -> Job:
        job = Job(fn, *args, name=name, **kwargs)

        def relay(fraction: float, message: str, _info: dict) -> None:
            # Progress queued before a Cancel arrives after it: never re-show the bar.
            if not job.task.cancelled and not self.closed:
                self.progress.emit(fraction, message)

        job.worker.progress.connect(relay)
        self._jobs = [j for j in self._jobs if j.running] + [job]
        return job

    def start(self) -> None:
        self._t_start = time.perf_counter()
        job = self._run(index_file, self.path, self.rate, self.decimal, name="open-file")
        job.worker.progress.connect(self._index_progress)
        job.worker.succeeded.connect(self._indexed)
        job.worker.failed.connect(self._failed)
        job.worker.cancelled.connect(self._index_cancelled)
        self._index_job = job
        job.start()

    def _index_progress(self, _fraction: float, _message: str, info: dict[str, Any]) -> None:
        """The first drawable view arrives while indexing goes on: show it now."""
        view = info.get("view")
        if self.closed or self.view is not None or not isinstance(view, FileView):
            return
        self.view = view
        self.state = "indexing"
        self.opened.emit()

    def _indexed(self, view: FileView) -> None:
        self._index_job = None
        if self.closed:
            return
        self._t_indexed = time.perf_counter()
        first = self.view is None
        self.view = view
        self.state = SourceState.FINISHED.value
        if first:
            self.opened.emit()
        self.state_changed.emit(self.state, f"{view.rows:,} samples")
        self.source_finished.emit()
        self._judge()

    def _index_cancelled(self) -> None:
        self._index_job = None
        if self.closed:
            return
        if self.view is None:
            self.state = "failed"
            self.open_cancelled = True  # the window puts back what it showed before
            self.open_failed.emit(f"opening {self.path.name} was cancelled")
            return
        self.state = SourceState.FINISHED.value
        self.state_changed.emit(self.state, f"indexing cancelled at {self.view.rows:,} samples"
                                " (the rest is a coarse preview)")

    def cancel_indexing(self) -> None:
        if self._index_job is not None:
            self._index_job.cancel()

    def _failed(self, message: str) -> None:
        self._index_job = None
        if self.closed:
            return
        self.state = "failed"
        self.open_failed.emit(message)

    def stop(self) -> None:
        self.closed = True
        for job in self._jobs:
            job.cancel()
            job.thread.quit()

    def wait(self, ms: int = 30_000) -> None:
        for job in self._jobs:
            if not job.wait(ms):
                log.error("a file job did not stop within %d ms", ms)

    def measure_figures(self) -> dict[str, object]:
        """``index_s`` (open → wholly indexed), ``verdict_s`` (the whole-file verdict job,
        start → answer) and ``verdicts`` (how many it gave) for ``--measure``; a step not
        finished yet is None (``null``)."""
        def span(a: float | None, b: float | None) -> float | None:
            return round(b - a, 3) if a is not None and b is not None else None

        judge = self._t_judge or (None, None)
        return {"index_s": span(self._t_start, self._t_indexed),
                "verdict_s": span(judge[0], judge[1]),
                "verdicts": len(self.verdict_rows)}

    # -- whole-file verdicts ---------------------------------------------------------
    def set_model(self, name: str, raise_after_s: float, clear_after_s: float) -> None:
        self._model = (name, raise_after_s, clear_after_s)
        if self.loaded is not None:
            self._judge()

    def cancel_verdicts(self) -> None:
        if self._judge_job is not None:
            self._judge_job.cancel()
            self._judge_job = None

    def _judge(self) -> None:
        """Judge the whole file with the selected model (cancels a previous run)."""
        self.cancel_verdicts()
        self.verdict_rows = []
        name = self._model[0]
        view = self.loaded
        if self.closed or not name or view is None:
            return
        from desktop.ml.inference.file_verdicts import (
            judge_recording,  # torch: only when a model runs
        )

        job = self._run(judge_recording, name, view, view.first_time, name="file-verdicts")
        job.worker.succeeded.connect(lambda result, job=job: self._judge_done.emit(job, result))
        job.worker.failed.connect(lambda message, job=job: self._judge_error.emit(job, message))
        self._judge_job = job
        self._t_judge = (time.perf_counter(), None)
        job.start()

    def _judge_failed(self, job: Job, message: str) -> None:
        if job is self._judge_job and not self.closed:
            self.model_failed.emit(message)

    def _judged(self, job: Job, result: dict[str, Any]) -> None:
        if self.closed or job is not self._judge_job:
            return
        self._judge_job = None
        if self._t_judge is not None:
            self._t_judge = (self._t_judge[0], time.perf_counter())
        self.verdict_rows = result["verdicts"]
        self.model_loaded.emit(result["info"])
        self.verdicts.emit(result["verdicts"])
