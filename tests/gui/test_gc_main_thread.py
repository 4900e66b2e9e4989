"""Cyclic garbage is freed on the UI thread, never by a worker that happens to allocate."""

from __future__ import annotations

import threading

from desktop.ui.gc_main_thread import MainThreadCollector


class Cycle:
    freed_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        Cycle.freed_on.append(threading.current_thread().name)


def test_a_worker_allocating_never_collects_and_the_ui_thread_does(qtbot) -> None:
    Cycle.freed_on.clear()
    collector = MainThreadCollector(interval_ms=20)
    try:
        Cycle()  # unreachable at once, but only a collection can free it

        kept: list[list[int]] = []

        def churn() -> None:  # containers kept alive: far past generation 0's threshold
            kept.extend([] for _ in range(50_000))

        worker = threading.Thread(target=churn, name="worker")
        worker.start()
        worker.join()
        assert Cycle.freed_on == []
        qtbot.waitUntil(lambda: Cycle.freed_on != [], timeout=5000)
        assert Cycle.freed_on == [threading.current_thread().name]
    finally:
        collector.stop()
