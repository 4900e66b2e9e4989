"""The shaft speed a recording stores: a scalar variable (a CWRU ``.mat`` file's
``X106RPM``) in its metadata, or a speed channel beside the analysed one. No scipy here:
the window imports it on the way to its first draw."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np


def file_rpm(metadata: dict[str, Any] | None) -> tuple[float, str] | None:
    """``(rpm, "file variable X106RPM")`` from ``metadata["scalars"]`` (the first finite,
    positive scalar whose name contains ``rpm``), or None when the file stores none."""
    scalars = (metadata or {}).get("scalars")
    if not isinstance(scalars, dict):
        return None
    for name, value in scalars.items():
        try:
            rpm = float(value)
        except (TypeError, ValueError):
            continue
        if "rpm" in str(name).lower() and math.isfinite(rpm) and rpm > 0:
            return rpm, f"file variable {name}"
    return None


#: A channel holding shaft speed in r/min, by name or unit.
_SPEED_CHANNEL = re.compile(r"rpm|speed|tacho", re.IGNORECASE)
_SPEED_UNITS = ("rpm", "r/min", "1/min")


def recording_rpm(metadata: dict[str, Any] | None, channels: Any, values: np.ndarray,
                  analysed: int, start: int = 0, stop: int | None = None
                  ) -> tuple[float, str] | None:
    """The shaft speed of a recording's span ``[start, stop)`` and where it came from: a
    file scalar (:func:`file_rpm`), else the median of the first channel named like
    ``rpm``/``speed``/``tacho`` or in r/min (not channel ``analysed``); None when neither.

    ``channels``: the recording's :class:`~desktop.core.types.ChannelSpec` s; ``values``:
    shape ``(samples, len(channels))``. One reader for ``spectrum``, ``report`` and the
    rest, so they never disagree about a file's speed."""
    stored = file_rpm(metadata)
    if stored is not None:
        return stored
    for j, spec in enumerate(channels):
        is_speed = (str(spec.unit).lower() in _SPEED_UNITS
                    or _SPEED_CHANNEL.search(str(spec.name)) is not None)
        if j == analysed or not is_speed:
            continue
        speed = np.asarray(values[start:stop, j], dtype=np.float64)
        speed = speed[np.isfinite(speed)]
        if speed.size and float(np.median(speed)) > 0:
            return float(np.median(speed)), f"channel {spec.name} (median over the span)"
    return None
