"""The one error the analysis functions raise for inputs they cannot use.

It is a :class:`~desktop.core.errors.LinewatchError` (the CLI shows its message as one
line, no traceback) and a :class:`ValueError` (callers that do not know Linewatch can
catch it the ordinary way).
"""

from __future__ import annotations

from desktop.core.errors import LinewatchError


class AnalysisError(LinewatchError, ValueError):
    """Bad analysis input: unknown unit or bearing, a band outside (0, fs/2), a signal too
    short or with gaps, a non-positive rate or speed."""
