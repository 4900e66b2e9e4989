"""Python's cyclic garbage collector, run on the UI thread only.

Why: automatic collection runs in whichever thread happens to allocate when a threshold is
crossed, often a worker (a Job training a model, the acquisition loop). When that garbage
holds Qt objects (a closed window, a finished session, slots that capture them), their C++
destructors then run on the worker thread, which Qt does not allow: rare crashes and, worse,
deadlocks between the GIL and Qt's own locks. The usual remedy in PyQt/PySide programs
(Fabio Zadrozny, "Should Python garbage collector be disabled in Qt?", 2014) is applied
here: automatic collection off, and a UI-thread timer that collects with the same
generation thresholds. Reference counting, which frees almost everything, is unaffected.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class MainThreadCollector(QObject):
    """While it lives, cycles are collected on the thread that created it (the UI thread).

    ``interval_ms``: how often the generation counts are checked (cheap: three integers).
    ``stop()`` turns automatic collection back on.
    """

    def __init__(self, interval_ms: int = 250, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        gc.disable()
        self.timer.start()

    def check(self) -> None:
        """Collect the oldest generation whose count passed its threshold, if any."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            threshold = self.thresholds[generation]
            if threshold and counts[generation] > threshold:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()
