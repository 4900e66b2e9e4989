"""Verdicts over a whole opened recording: the long job a file session runs in a worker."""

from __future__ import annotations

from typing import Any

from desktop.analysis.channels import pick_channel
from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.core.types import Recording
from desktop.ml.inference.predictors import load_predictor


def judge_recording(model: str, recording: Recording, first_time: float = 0.0,
                    channel: str | None = None, device: str | None = None,
                    task: TaskState | None = None) -> dict[str, Any]:
    """Run ``model`` over every whole window of ``recording``.

    ``first_time`` is the time of the recording's first sample on the caller's axis, so
    verdict times line up with the plotted signal. Returns ``{"info": {name, kind,
    classes, device, channel}, "verdicts": [{start_s, end_s, class, probability,
    location, score}], "skipped": n}`` (times in seconds on the caller's axis).
    Raises :class:`~desktop.core.errors.InputError` (no rate, too short) or
    :class:`~desktop.ml.errors.ModelError`; :class:`~desktop.core.tasks.Cancelled`.
    """
    task = task or TaskState()
    task.report(0.0, f"loading {model}")
    predictor = load_predictor(model, device=device, threads=1)
    card = predictor.card
    idx, reason = pick_channel([c.name for c in recording.channels], channel,
                               card.input_channels)
    rate = recording.effective_rate()
    if not rate:
        raise InputError("this file states no sample rate and has no time column: "
                         "open it with --rate HZ")
    verdicts = predictor.predict_signal(recording.values[:, idx], rate, start_s=first_time,
                                        task=task)
    info = {"name": card.name, "kind": card.kind, "classes": list(card.classes),
            "device": getattr(predictor, "device", "cpu"),
            "channel": recording.channels[idx].name, "channel_reason": reason}
    rows = [{"start_s": v.start_s, "end_s": v.end_s, "class": v.label,
             "probability": v.probability, "location": v.location, "score": v.score,
             "arrived": None, "ood_score": v.ood_score, "reason": v.reason,
             "best_class": v.best_class} for v in verdicts]
    return {"info": info, "verdicts": rows, "skipped": predictor.last_skipped}
