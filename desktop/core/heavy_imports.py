"""The scientific stack imported by one thread at a time.

Two worker threads importing scipy at once (the live model loading its resampler while the
Analysis dock's first spectrum job starts, say) can hand one of them a half-initialised
module: Python breaks a cycle between per-module import locks by returning the module as
it stands, and the thread then fails with ``module 'scipy' has no attribute '_lib'``
(seen in 1 of 8 ``--measure`` runs). Every thread entry point that may be the first to
need scipy calls :func:`import_scientific_stack` before it does; the first caller imports
it under one lock, the others wait for it, later calls return at once.
"""

from __future__ import annotations

import importlib
import threading

#: What the workers' code imports at module level (scipy.signal pulls in most of scipy).
MODULES = ("scipy.signal", "scipy.fft", "scipy.stats")

_LOCK = threading.Lock()
_done = False


def import_scientific_stack() -> None:
    """Import :data:`MODULES` once, one thread at a time (a no-op once done)."""
    global _done
    if _done:
        return
    with _LOCK:
        if not _done:
            for name in MODULES:
                importlib.import_module(name)
            _done = True
