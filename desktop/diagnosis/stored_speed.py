"""The shaft speed a recording stores as a scalar variable (a CWRU ``.mat`` file's
``X106RPM``), read from its metadata. No scipy here: the window imports it on the way to
its first draw."""

from __future__ import annotations

import math
from typing import Any


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
