"""A file session: one opened recording, its whole-file verdicts and its labels.

It never pretends to be a live stream: the file is read once by a worker job into a
buffer the plots draw from, its sample rate is the file's own (what ``linewatch info``
reports), its labels are anchored at its first sample, and a selected model judges the
whole file in a second job (progress, Cancel) that fills the verdict lane end to end.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from desktop.core.types import SourceState
from desktop.session.base import Session
from desktop.streams.acquisition import Counters
from desktop.streams.file_buffer import LoadedFile, load_file
from desktop.streams.ring import RingBuffer
from desktop.workers.jobs import Job

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
        self.loaded: LoadedFile | None = None
        self._jobs: list[Job] = []
        self._judge_job: Job | None = None
        self._model: tuple[str, float, float] = ("", 2.0, 5.0)
        self.state = "loading"
        self.verdict_rows: list[dict[str, Any]] = []

    # -- the read interface ----------------------------------------------------------
    @property
    def buffer(self) -> RingBuffer | None:
        return self.loaded.buffer if self.loaded is not None else None

    @property
    def counters(self) -> Counters | None:
        if self.loaded is None:
            return None
        rec = self.loaded.recording
        malformed = rec.metadata.get("malformed", 0)
        by_kind = rec.metadata.get("malformed_by_kind", {})
        return Counters(received=rec.samples, dropped=0,
                        malformed=int(malformed) if isinstance(malformed, int | float) else 0,
                        malformed_by_kind=dict(by_kind) if isinstance(by_kind, dict) else {})

    def sample_rate(self) -> float | None:
        return self.loaded.recording.effective_rate() if self.loaded is not None else None

    @property
    def rate_is_estimate(self) -> bool:
        """A file without a nominal rate: the rate is the mean of its time column."""
        return self.loaded is not None and not self.loaded.recording.sample_rate

    def label_anchor(self) -> tuple[str, float] | None:
        if self.loaded is None:
            return None
        return (str(self.path), self.loaded.first_time)

    # -- lifecycle -------------------------------------------------------------------
    def _run(self, fn: Any, *args: Any, name: str, **kwargs: Any) -> Job:
        job = Job(fn, *args, name=name, **kwargs)
        job.worker.progress.connect(lambda p, m, _info: self.progress.emit(p, m))
        self._jobs = [j for j in self._jobs if j.running] + [job]
        return job

    def start(self) -> None:
        job = self._run(load_file, self.path, self.rate, self.decimal, name="open-file")
        job.worker.succeeded.connect(self._loaded)
        job.worker.failed.connect(self._failed)
        job.start()

    def _loaded(self, loaded: LoadedFile) -> None:
        if self.closed:
            return
        self.loaded = loaded
        self.state = SourceState.FINISHED.value
        self.opened.emit()
        self.state_changed.emit(self.state, f"{loaded.recording.samples:,} samples")
        self.source_finished.emit()
        self._judge()

    def _failed(self, message: str) -> None:
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
        if self.closed or not name or self.loaded is None:
            return
        from desktop.ml.inference.file_verdicts import (
            judge_recording,  # torch: only when a model runs
        )

        job = self._run(judge_recording, name, self.loaded.recording,
                        self.loaded.first_time, name="file-verdicts")
        job.worker.succeeded.connect(lambda result, job=job: self._judged(job, result))
        job.worker.failed.connect(
            lambda message, job=job: job is self._judge_job and self.model_failed.emit(message))
        self._judge_job = job
        job.start()

    def _judged(self, job: Job, result: dict[str, Any]) -> None:
        if self.closed or job is not self._judge_job:
            return
        self._judge_job = None
        self.verdict_rows = result["verdicts"]
        self.model_loaded.emit(result["info"])
        self.verdicts.emit(result["verdicts"])
