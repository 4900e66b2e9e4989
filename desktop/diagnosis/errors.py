"""The error the diagnosis functions raise for inputs they cannot use.

A subclass of :class:`~desktop.analysis.errors.AnalysisError` (so a
:class:`~desktop.core.errors.LinewatchError` and a :class:`ValueError`): the CLI prints it
as one line and exits 2.
"""

from __future__ import annotations

from desktop.analysis.errors import AnalysisError


class DiagnosisError(AnalysisError):
    """Bad diagnosis input: unknown machine or bearing, a bad profile name, an impossible
    speed specification, a signal too short to judge."""
