"""GUI fixtures: the real MainWindow, wired exactly as app.py wires it."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.app import model_names, source_from_options
from desktop.core.settings import load_settings
from desktop.sources.demo import DemoRigSource
from desktop.sources.serial_port import available_ports
from desktop.streams.acquisition import Acquisition
from desktop.ui.gc_main_thread import MainThreadCollector
from desktop.ui.main_window import MainWindow, WindowServices


def fake_versions() -> dict[str, str]:
    # The real versions() imports torch to name the device; About is tested separately.
    return {"Linewatch": "test", "Qt": "6", "Compute device": "CPU"}


@pytest.fixture(autouse=True)
def collect_on_the_ui_thread(qapp) -> Iterator[None]:
    """As in the app: cycles (closed windows, finished jobs) are freed on this thread only,
    never by a collection that a worker thread happens to trigger (see gc_main_thread)."""
    collector = MainThreadCollector()
    yield
    collector.stop()
    gc.collect()


@pytest.fixture
def make_window(qtbot) -> Iterator[Callable[[], MainWindow]]:
    windows: list[MainWindow] = []

    def build() -> MainWindow:
        window = MainWindow(load_settings(), WindowServices(source_from_options,
                                                            available_ports, fake_versions,
                                                            model_names))
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield build
    for window in windows:
        if window.isVisible():
            window.close()


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of the demo rig (healthy to ~8.8 s, then inner race) recorded as a user would."""
    out = tmp_path_factory.mktemp("rec") / "demo-rig.parquet"
    acq = Acquisition(DemoRigSource(speed=float("inf")), history_s=30)
    acq.open()
    acq.start_recording(out)
    while acq.counters.received < 12_000 * 12:
        acq.step()
    acq.close()
    return out
