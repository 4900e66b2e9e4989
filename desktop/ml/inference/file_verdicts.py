"""Verdicts over a whole opened recording: the long job a file session runs in a worker."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from desktop.analysis.channels import pick_channel
from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.core.types import ChannelSpec, Recording
from desktop.ml.inference.predictors import load_predictor


class ChannelReader(Protocol):
    """A recording that hands out one channel at a time (an opened file read from its
    cache: the whole file never needs to be in memory, only the channel judged)."""

    @property
    def channels(self) -> tuple[ChannelSpec, ...]: ...

    def effective_rate(self) -> float | None: ...

    def channel(self, index: int) -> np.ndarray: ...


def _channel(recording: Recording | ChannelReader, index: int) -> np.ndarray:
    if isinstance(recording, Recording):
        return recording.values[:, index]
    return recording.channel(index)


def judge_recording(model: str, recording: Recording | ChannelReader, first_time: float = 0.0,
                    channel: str | None = None, device: str | None = None,
                    task: TaskState | None = None, machine: str = "") -> dict[str, Any]:
    """Run ``model`` over every whole window of ``recording`` (in memory, or a reader
    that loads the one channel judged: 8 bytes per sample, ~80 MB for a 1 GB CSV).

    ``first_time`` is the time of the recording's first sample on the caller's axis, so
    verdict times line up with the plotted signal. Returns ``{"info": {name, kind,
    classes, device, channel}, "verdicts": [{start_s, end_s, class, probability,
    location, score}], "skipped": n}`` (times in seconds on the caller's axis).
    ``machine``: a machine whose baseline holds AdaBN statistics for this model: they are
    used (:mod:`desktop.ml.inference.machine_stats`; ``info["adabn"]`` says whether).
    Raises :class:`~desktop.core.errors.InputError` (no rate, too short) or
    :class:`~desktop.ml.errors.ModelError`; :class:`~desktop.core.tasks.Cancelled`.
    """
    task = task or TaskState()
    task.report(0.0, f"loading {model}")
    predictor = load_predictor(model, device=device, threads=None)  # 1 unless --threads
    card = predictor.card
    idx, reason = pick_channel([c.name for c in recording.channels], channel,
                               card.input_channels)
    rate = recording.effective_rate()
    if not rate:
        raise InputError("this file states no sample rate and has no time column: "
                         "open it with --rate HZ")
    predictor = predictor.with_metadata(getattr(recording, "metadata", None))  # its RPM
    adabn = ""
    if machine:
        from desktop.ml.inference.machine_stats import for_machine

        predictor, adabn = for_machine(predictor, machine, recording.channels[idx].name)
    verdicts = predictor.predict_signal(_channel(recording, idx), rate, start_s=first_time,
                                        task=task)
    info = {"name": card.name, "kind": card.kind, "classes": list(card.classes),
            "device": getattr(predictor, "device", "cpu"),
            "channel": recording.channels[idx].name, "channel_reason": reason,
            **predictor.info(), **({"adabn": adabn} if adabn else {})}
    rows = [{"start_s": v.start_s, "end_s": v.end_s, "class": v.label,
             "probability": v.probability, "location": v.location, "score": v.score,
             "arrived": None, "ood_score": v.ood_score, "reason": v.reason,
             "best_class": v.best_class, **(v.extra or {})} for v in verdicts]
    return {"info": info, "verdicts": rows, "skipped": predictor.last_skipped}
