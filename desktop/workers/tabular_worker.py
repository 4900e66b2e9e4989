"""Runs a table model (``quality``/``process``) on the live ring buffer on its own QThread.

Each buffered sample is one row: a part (quality) or a process sample (process), with the
source's channel names as column names (a serial line with a header, a replayed CSV). The
worker reads every new row from the buffer with a cursor (``since``), from the oldest row
still in the buffer when the model starts (every part counts), at most ``max_batch`` rows
per ``period_s`` so a backlog never starves the window, and emits:

* ``rows``: one dict per row (:class:`~desktop.ml.tabular.live.TabularStream`), plus
  ``index`` (the sample's absolute index) and ``time`` (its time on the plot's axis);
* ``verdicts``: the same rows as spans for the window's verdict lane;
* ``alarm``: raised/cleared as the p-chart (quality) or the N-of-M rule (process) says.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot

from desktop.core.errors import LinewatchError
from desktop.streams.ring import RingBuffer
from desktop.workers.threads import WorkerThread, load_model_or_report

log = logging.getLogger(__name__)


def is_table_model(name: str) -> bool:
    """True when ``name`` resolves to a table model (a bad name: False, and the signal
    model worker reports the problem as before)."""
    if not name:
        return False
    try:
        from desktop.ml.model_files.registry import resolve

        return resolve(name).tabular
    except LinewatchError:
        return False


class TabularWorker(QObject):
    loaded = Signal(dict)  # name, kind, classes, inputs, device, channel, channel_reason
    failed = Signal(str)
    rows = Signal(list)
    verdicts = Signal(list)
    alarm = Signal(bool, str)
    finished = Signal()

    def __init__(self, model: str, get_buffer: Callable[[], RingBuffer | None],
                 period_s: float = 0.1, max_batch: int = 256, window: int = 50,
                 min_parts: int = 10) -> None:
        super().__init__()
        self.model = model
        self._get_buffer = get_buffer
        self._period_s = period_s
        self._max_batch = max_batch
        self._window = window
        self._min_parts = min_parts
        self._stop = threading.Event()
        self._raised = False

    def request_stop(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        from desktop.core.heavy_imports import import_scientific_stack
        from desktop.ml.model_files.registry import resolve
        from desktop.ml.tabular import load_model
        from desktop.ml.tabular.live import TabularStream

        import_scientific_stack()  # one thread at a time (desktop/core/heavy_imports.py)
        model = load_model_or_report(self, self.model,
                                     lambda: load_model(resolve(self.model).folder))
        if model is None:
            return
        card = model.card
        stream: TabularStream | None = None
        cursor = 0
        last_time: float | None = None
        try:
            while not self._stop.wait(self._period_s):
                buffer = self._get_buffer()
                if buffer is None or buffer.written == 0:
                    continue
                if stream is None:
                    names = [c.name for c in buffer.channels]
                    try:
                        stream = TabularStream(model, names, self._window, self._min_parts)
                    except LinewatchError as exc:
                        self.failed.emit(f"{card.name} cannot read this source: {exc}")
                        return
                    reason = "; ".join(stream.notices) or "columns matched by name"
                    self.loaded.emit({
                        "name": card.name, "kind": card.kind, "classes": list(card.classes),
                        "inputs": list(card.input_columns), "device": "cpu",
                        "channel": f"{len(card.input_columns)} columns",
                        "channel_reason": reason, "window": self._window,
                        "centre": dict(stream.chart.centre) if stream.chart else {}})
                    cursor = max(0, buffer.written - buffer.capacity)
                # One batch per period: a backlog never costs the window its frame rate.
                snap = buffer.since(cursor)
                n = min(len(snap.times), self._max_batch)
                if n == 0:
                    continue
                rows = stream.feed(snap.values[:n])
                cursor = snap.first_index + n
                spans = []
                for i, row in enumerate(rows):
                    t = float(snap.times[i])
                    row["index"] = snap.first_index + i
                    row["time"] = t
                    step = (t - last_time if last_time is not None and t > last_time
                            else 1.0 / (buffer.sample_rate or 1.0))
                    last_time = t
                    spans.append(_span(row, card.kind, t, step,
                                       buffer.arrival_time(row["index"])))
                self.rows.emit(rows)
                self.verdicts.emit(spans)
                self._alarm_changes(rows, card.kind)
        except Exception as exc:
            log.exception("table model loop failed")
            self.failed.emit(f"{card.name} stopped: {exc!r}")
        finally:
            self.finished.emit()

    def _alarm_changes(self, rows: list[dict], kind: str) -> None:
        """Emit a raise/clear when the rows' alarm state changes (the label follows)."""
        for row in rows:
            active = bool(row.get("alarm"))
            if active != self._raised:
                self._raised = active
                self.alarm.emit(active, _alarm_text(row, kind) if active else "")


def _alarm_text(row: dict, kind: str) -> str:
    if kind == "quality":
        chart = row.get("chart") or {}
        over = chart.get("over") or []
        if over:
            c = over[0]
            n = chart["parts"]
            return (f"{c} {round(chart['shares'][c] * n)} of the last {n} parts "
                    f"({chart['shares'][c]:.0%} > limit {chart['upper'][c]:.0%})")
        return "quality"
    return f"process {row.get('fault') or 'alarm'}"


def _span(row: dict, kind: str, t: float, step: float, arrived: float | None) -> dict:
    """A row as a verdict-lane span from its time to the next row's (estimated)."""
    if kind == "quality":
        label, prob = row["class"], float(row["probability"])
    else:
        label = row.get("fault") or ("alarm" if row.get("alarm") else "normal")
        score = row.get("score")
        prob = 0.0 if score is None else min(1.0, float(score) / 2.0)
    location = label if kind == "quality" else ("normal" if label == "normal" else "process")
    return {"start_s": t, "end_s": t + step, "class": label, "probability": prob,
            "location": location, "arrived": arrived}


class TabularThread(WorkerThread):
    def __init__(self, worker: TabularWorker) -> None:
        super().__init__(worker, "linewatch-table-model")
        self.worker: TabularWorker = worker


__all__ = ["TabularThread", "TabularWorker", "is_table_model"]
