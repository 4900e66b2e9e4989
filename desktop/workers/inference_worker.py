"""Runs a model on the live ring buffer on its own QThread, paced so the UI keeps its FPS.

Loading the model (scipy, the weights; torch only when asked for, see
:func:`live_backend`) happens on this thread too, after the window's first drawn frame, so
neither the start-up nor choosing a model freezes the window. Inference is paced: at most
``max_batch`` windows every ``period_s`` on one numeric thread (``desktop.ml.threads``);
measured on 2 cores, flat-out inference beside a redrawing window costs the window a large
share of its frames (GIL contention), paced batches cost almost nothing and still keep up
with a 12 kHz stream (~6 windows/s).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot

from desktop.analysis.channels import pick_channel
from desktop.core.heavy_imports import import_scientific_stack
from desktop.streams.ring import RingBuffer
from desktop.workers.threads import WorkerThread, load_model_or_report

if TYPE_CHECKING:
    from desktop.baseline.live import BaselineTrack
    from desktop.ml.inference.live import AlarmHysteresis, LiveInference

log = logging.getLogger(__name__)


class InferenceWorker(QObject):
    """Emits verdicts (dicts with times, class, probability, location, arrival) in order."""

    loaded = Signal(dict)  # name, kind, classes, device, channel, channel_reason
    failed = Signal(str)
    verdicts = Signal(list)
    alarm = Signal(bool, str)  # active, label
    #: A machine's baseline alarm rose (a snapshot row of desktop.baseline.live, "event" set)
    baseline_alarm = Signal(dict)
    finished = Signal()

    def __init__(self, model: str, get_buffer: Callable[[], RingBuffer | None],
                 channel: str | None = None, raise_after_s: float = 2.0,
                 clear_after_s: float = 5.0, period_s: float = 0.1, max_batch: int = 64,
                 device: str | None = None, source_kind: str = "",
                 force: bool = False, drawn: threading.Event | None = None,
                 draw_wait_s: float = 2.0, machine: str = "") -> None:
        super().__init__()
        #: The machine chosen in the window: each verdict gets its baseline level
        #: (desktop.baseline.live; the logic lives there, this is the hook).
        self._machine = machine
        self._track: BaselineTrack | None = None
        self.model = model
        self._get_buffer = get_buffer
        self._channel = channel
        self._alarm_s = (raise_after_s, clear_after_s)
        self._alarm: AlarmHysteresis | None = None
        self._period_s = period_s
        self._max_batch = max_batch
        self._device = device
        self._source_kind = source_kind
        #: Judge a source outside the model's domain (rate too low for its band) anyway.
        self._force = force
        self._stop = threading.Event()
        #: Set by the session once the window has drawn its first frame: the model stack is
        #: loaded after that (at most ``draw_wait_s`` later without a window), so it never
        #: competes with the window's start-up for the GIL.
        self._drawn = drawn
        self._draw_wait_s = draw_wait_s

    def request_stop(self) -> None:
        self._stop.set()

    def acknowledge_baseline(self) -> str:
        """Acknowledge the machine's latched baseline alarm (any thread); returns the
        level still raised (``ok`` when cleared, ``""`` without a baseline)."""
        track = self._track
        return track.acknowledge() if track is not None else ""

    @Slot()
    def run(self) -> None:
        # The model stack (scipy.signal, torch: ~2 s of imports) is loaded here, on this
        # thread, once the window has drawn. Imported before the window (c3478f0 and
        # earlier), it delayed the first draw by that much.
        if self._drawn is not None:
            deadline = time.monotonic() + self._draw_wait_s
            while (not self._drawn.wait(0.05) and not self._stop.is_set()
                   and time.monotonic() < deadline):
                pass  # a stop request (a closed window) ends the wait at once
        import_scientific_stack()  # one thread at a time (desktop/core/heavy_imports.py)
        if self._stop.is_set():
            self.finished.emit()
            return
        from desktop.ml.inference.live import AlarmHysteresis, LiveInference
        from desktop.ml.inference.open_set import check_rate
        from desktop.ml.inference.predictors import load_predictor

        self._alarm = alarm = AlarmHysteresis(*self._alarm_s)
        predictor = load_model_or_report(
            self, self.model,
            lambda: load_predictor(self.model, device=self._device, threads=None,
                                   backend=live_backend(self._device)))
        if predictor is None:
            return
        card = predictor.card
        engine: LiveInference | None = None
        channel_index = 0
        cursor: int | None = None
        alarm.normal_labels = predictor.normal_labels()
        try:
            while not self._stop.wait(self._period_s):
                buffer = self._get_buffer()
                if buffer is None or buffer.written == 0:
                    continue
                if engine is None:
                    rate = buffer.sample_rate
                    if not rate:
                        self.failed.emit(no_rate_message(card.name, self._source_kind))
                        return
                    refusal = check_rate(card.domain, rate, card.name)
                    if refusal and not self._force:
                        self.failed.emit(refusal)
                        return
                    names = [c.name for c in buffer.channels]
                    # A configured channel the source no longer has falls back to the
                    # model's hints; the reason says so.
                    channel_index, channel_reason = pick_channel(
                        names, self._channel, card.input_channels,
                        wanted_from="the configured channel", required=False)
                    # a rate-free kind (diagnosis) binds its windows to the source's rate
                    predictor = predictor.for_rate(rate)
                    adabn = ""
                    if self._machine:  # the machine's own batch-norm statistics, if learnt
                        from desktop.ml.inference.machine_stats import for_machine

                        predictor, adabn = for_machine(predictor, self._machine,
                                                       names[channel_index])
                    card = predictor.card
                    engine = LiveInference(predictor, rate, self._max_batch)
                    cursor = buffer.written  # judge from now on, not the old history
                    engine.reset(cursor)
                    baseline_info = self._start_baseline(names[channel_index], rate)
                    if adabn:
                        baseline_info["adabn"] = adabn
                    self.loaded.emit({**baseline_info,"name": card.name, "kind": card.kind,
                                      "classes": list(card.classes),
                                      "locations": sorted({card.location_of(c)
                                                           for c in card.classes}),
                                      "device": getattr(predictor, "device", "cpu"),
                                      "channel": names[channel_index],
                                      "channel_reason": channel_reason,
                                      **predictor.info()})
                snap = buffer.since(cursor or 0)
                cursor = snap.end_index
                x = snap.values[:, channel_index] if snap.values.shape[0] else snap.values[:, :0]
                out = engine.feed(snap.times, x.reshape(-1), snap.first_index)
                if self._track is not None and snap.values.shape[0]:
                    for row in self._track.feed(x.reshape(-1), float(snap.times[0])):
                        if row["event"] is not None:
                            self.baseline_alarm.emit(row)
                if not out:
                    continue
                payload = []
                for live in out:
                    v = live.verdict
                    payload.append({"start_s": v.start_s, "end_s": v.end_s, "class": v.label,
                                    "probability": v.probability, "location": v.location,
                                    "arrived": buffer.arrival_time(live.end_index - 1),
                                    "ood_score": v.ood_score, "reason": v.reason,
                                    "best_class": v.best_class, "score": v.score,
                                    **(v.extra or {})})
                    event = alarm.update(v)
                    if event is not None:  # raised, changed (another class held) or cleared
                        self.alarm.emit(event != "cleared", alarm.label)
                if self._track is not None:
                    self._track.annotate(payload)
                self.verdicts.emit(payload)
        except Exception as exc:
            log.exception("inference loop failed")
            self.failed.emit(f"inference stopped: {exc!r}")
        finally:
            self.finished.emit()

    def _start_baseline(self, channel: str, rate: float) -> dict[str, object]:
        """The machine's baseline track for ``channel`` (``loaded``'s ``baseline`` key:
        the sensor judged, or ``baseline_note``: why not)."""
        if not self._machine:
            return {}
        from desktop.baseline.live import track_for

        self._track, why = track_for(self._machine, channel, rate)
        if self._track is None:
            return {"baseline_note": why}
        return {"baseline": {"machine": self._machine, "sensor": self._track.sensor}}


def live_backend(device: str | None) -> str | None:
    """The engine for live verdicts: numpy unless ``LINEWATCH_BACKEND`` or a device asks
    for torch. Live inference needs a few windows per second per channel, which the numpy
    forward pass gives with room to spare (the same answers within float32 rounding), and
    it spares the window torch's import: ~1.5 s of CPU holding the GIL beside the first
    frames, and ~230 MB of memory. None: the usual choice (``choose_backend``), which is
    also taken on ``auto`` when an NVIDIA driver is present, so a GPU still judges live
    windows where there is one (torch then loads after the first frame, as always)."""
    wanted = (os.environ.get("LINEWATCH_BACKEND") or "auto").strip().lower()
    dev = (device or "auto").lower()
    if wanted == "auto" and (dev == "cpu" or (dev == "auto" and not _gpu_driver_present())):
        return "numpy"
    return None


def _gpu_driver_present() -> bool:
    """Whether an NVIDIA driver is installed (checked without importing torch): its
    ``/proc`` entry on Linux, ``nvcuda.dll`` on Windows."""
    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version")
    if sys.platform == "win32":
        import ctypes.util

        return ctypes.util.find_library("nvcuda") is not None
    return False


def no_rate_message(model: str, source_kind: str) -> str:
    """Why a model cannot run on a source without a fixed rate, and what to do, in the
    words of that kind of source."""
    what = {"serial": "this serial device sends no timestamps and no rate is set: enter "
                      "its rate in the source panel (Rate) or use --rate HZ",
            "replay": "this file states no sample rate and has no time column: open it with "
                      "--rate HZ"}.get(source_kind, "this source has no fixed sample rate")
    return f"model {model} needs a fixed sample rate; {what}"


class InferenceThread(WorkerThread):
    """The inference worker on its own QThread; stopping never blocks the UI thread."""

    def __init__(self, worker: InferenceWorker) -> None:
        super().__init__(worker, "linewatch-inference")
        self.worker: InferenceWorker = worker
