"""Did a fine-tune forget the base model's classes? (issue 22, item 4)

A fine-tune scores the new model and its base on the same windows of the base model's
own *validation* region (its replay set, :mod:`desktop.ml.training.replay`), stored in
the card as ``metrics.original_classes_accuracy`` (new) and
``metrics.base_original_classes_accuracy`` (base). When the new model is more than
:data:`FORGET_POINTS` percentage points worse there, the fine-tune's result says so in its
first line, ``models list`` shows both figures and ``models promote`` asks before making it
active. No torch here: ``models list`` and ``promote`` read cards only.
"""

from __future__ import annotations

from typing import Any

#: Percentage points of accuracy on the base classes a fine-tune may lose without a warning.
FORGET_POINTS = 3.0


def base_class_figures(metrics: dict[str, Any]) -> tuple[float | None, float | None]:
    """``(new, base)`` accuracy (0-1) on the base model's held-out classes, from a card's
    metrics; None where the fine-tune could not measure it (no replay set)."""
    new, base = (metrics.get("original_classes_accuracy"),
                 metrics.get("base_original_classes_accuracy"))
    return (float(new) if isinstance(new, int | float) else None,
            float(base) if isinstance(base, int | float) else None)


def forgetting_warning(new: float | None, base: float | None) -> str | None:
    """The one-line warning when ``new`` fell more than :data:`FORGET_POINTS` points
    below ``base`` (both 0-1), else None."""
    if new is None or base is None or (base - new) * 100 <= FORGET_POINTS:
        return None
    return (f"warning: accuracy on the base classes fell from {base * 100:.1f} % to "
            f"{new * 100:.1f} % (the base model's held-out windows; more than "
            f"{FORGET_POINTS:g} points lost)")


def card_warning(card: Any) -> str | None:
    """:func:`forgetting_warning` of a model card (None for a card without the figures)."""
    metrics = getattr(card, "metrics", None)
    if not isinstance(metrics, dict):
        return None
    return forgetting_warning(*base_class_figures(metrics))
