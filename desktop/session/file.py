"""A file session: one opened recording, read lazily from disk, its whole-file verdicts
and its labels.

It never pretends to be a live stream. Opening runs :func:`index_file` as a job on the
session's ``indexer`` (:class:`~desktop.workers.job_runner.JobRunner`; progress and Cancel
in the status bar): the file is converted once into a columnar
cache with a min/max pyramid (reopened instantly the next time), and the view is handed
to the plots as soon as something can be drawn — for a big text file a skim of the whole
file within a second or two, sharpening while the index is built. ``buffer`` is a
:class:`~desktop.streams.file_view.FileView`, which offers the ring buffer's read
interface, so the plots do not care. Its sample rate is the file's own (what
``linewatch info`` reports), its labels are anchored at its first sample, and once the
file is indexed a selected model judges the whole file in a second job that fills the
verdict lane end to end (it reads the one channel it needs from the cache) on the
``judge`` runner, where a newer model or machine choice wins.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from desktop.core.types import SourceState
from desktop.session.base import Session
from desktop.session.types import ModelInfo, verdicts_from_rows
from desktop.streams.acquisition import Counters
from desktop.streams.file_view import FileView, index_file
from desktop.workers.job_runner import JobRunner

log = logging.getLogger(__name__)


class FileSession(Session):
    """Shows ``path``; ``rate`` overrides/sets the rate of a file that states none;
    ``decimal`` (``"."``/``","``) fixes the decimal mark of a text file."""

    kind = "file"

    def __init__(self, path: Path | str, rate: float | None = None,
                 decimal: str | None = None) -> None:
        super().__init__(f"file:{path}")
        self.path = Path(path)
        self.rate = rate
        self.decimal = decimal
        self.view: FileView | None = None
        self.indexer = JobRunner(self, name="open-file", replace=False)
        self.indexer.progress.connect(self._index_progress)
        self.indexer.succeeded.connect(self._indexed)
        self.indexer.failed.connect(self._failed)
        self.indexer.cancelled.connect(self._index_cancelled)
        self.judge = JobRunner(self, name="file-verdicts")  # a newer model choice wins
        self.judge.progress.connect(self._judge_progress)
        self.judge.succeeded.connect(self._judged)
        self.judge.failed.connect(self._judge_failed)
        self.judge.cancelled.connect(self._judge_cancelled)
        # Whether the index / the verdicts are still to come: False as soon as the answer
        # is here (the runner's thread may still be ending, which the window need not wait
        # for before it hides the progress bar).
        self._indexing = False
        self._judging = False
        self.open_cancelled = False  # cancelled before anything could be drawn
        self._model: tuple[str, float, float] = ("", 2.0, 5.0)
        self._machine = ""  # whose baseline judges the whole-file verdicts too
        self._baseline_track: Any = None  # desktop.baseline.live.BaselineTrack
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
        return self._indexing

    @property
    def busy(self) -> bool:
        """A job of this session (indexing, whole-file verdicts) has not answered yet."""
        return self._indexing or self._judging

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
    def start(self) -> None:
        self._t_start = time.perf_counter()
        self._indexing = True
        self.indexer.start(index_file, self.path, self.rate, self.decimal)

    def _index_progress(self, fraction: float, message: str, info: dict[str, Any]) -> None:
        """Progress for the status bar; the first drawable view arrives while indexing
        goes on: show it now."""
        job = self.indexer.job
        if self.closed or job is None or job.task.cancelled:
            return  # progress queued before a Cancel arrives after it: never re-show the bar
        self.progress.emit(fraction, message)
        view = info.get("view")
        if self.view is not None or not isinstance(view, FileView):
            return
        self.view = view
        self.state = "indexing"
        self.opened.emit()

    def _indexed(self, view: FileView) -> None:
        self._indexing = False
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
        self._indexing = False
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
        self.indexer.cancel()

    def _failed(self, message: str) -> None:
        self._indexing = False
        if self.closed:
            return
        self.state = "failed"
        self.open_failed.emit(message)

    def stop(self) -> None:
        self.closed = True
        self._indexing = self._judging = False
        self.indexer.abandon()  # the threads wind down; wait() waits for them
        self.judge.abandon()

    def wait(self, ms: int = 30_000) -> None:
        for runner in (self.indexer, self.judge):
            if not runner.shutdown(ms):
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

    def set_machine(self, machine: str) -> None:
        if machine != self._machine:
            self._machine = machine
            if self.loaded is not None:
                self._judge()

    def acknowledge_baseline(self) -> str:
        track = self._baseline_track
        return str(track.acknowledge()) if track is not None else ""

    def cancel_verdicts(self) -> None:
        """Stop the whole-file verdicts; nothing more of that run is shown."""
        self.judge.abandon()
        self._judging = False

    def _judge(self) -> None:
        """Judge the whole file with the selected model (cancels a previous run)."""
        self.cancel_verdicts()
        self.verdict_rows = []
        name = self._model[0]
        view = self.loaded
        if self.closed or not name or view is None:
            return
        self._baseline_track = None
        self._judging = True
        self._t_judge = (time.perf_counter(), None)
        self.judge.start(_judge_file, name, view, view.first_time, self._machine)

    def _judge_progress(self, fraction: float, message: str, _info: dict[str, Any]) -> None:
        job = self.judge.job
        if self._judging and job is not None and not job.task.cancelled:
            self.progress.emit(fraction, message)

    def _judge_cancelled(self) -> None:
        self._judging = False

    def _judge_failed(self, message: str) -> None:
        self._judging = False
        if not self.closed:
            self.model_failed.emit(message)

    def _judged(self, result: dict[str, Any]) -> None:
        self._judging = False
        if self.closed:
            return
        if self._t_judge is not None:
            self._t_judge = (self._t_judge[0], time.perf_counter())
        self.verdict_rows = result["verdicts"]
        self.model_loaded.emit(ModelInfo.from_dict(result["info"]))
        self.verdicts.emit(verdicts_from_rows(result["verdicts"]))
        base = result.get("baseline")
        if base:
            self._baseline_track = base["track"]
            for row in self._baseline_track.rows:
                if row["event"] is not None:
                    self.baseline_alarm.emit(row)


def _judge_file(model: str, view: FileView, first_time: float, machine: str,
                task: Any) -> dict[str, Any]:
    """The whole-file verdict job: the model's verdicts, then (with a machine) the
    baseline's level on each (desktop.baseline.live.add_file_baseline)."""
    from desktop.core.heavy_imports import import_scientific_stack

    import_scientific_stack()  # one thread at a time (desktop/core/heavy_imports.py)
    from desktop.ml.inference.file_verdicts import (
        judge_recording,  # torch: only when a model runs
    )

    result = judge_recording(model, view, first_time, task=task, machine=machine)
    if machine:
        from desktop.baseline.live import add_file_baseline

        add_file_baseline(result, machine, view, first_time, task=task)
    return result
