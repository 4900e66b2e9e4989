"""GUI fixtures: the real MainWindow, wired exactly as app.py wires it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from desktop.app import model_names, source_from_options
from desktop.core.settings import load_settings
from desktop.sources.serial_port import available_ports
from desktop.ui.main_window import MainWindow, WindowServices


def fake_versions() -> dict[str, str]:
    # The real versions() imports torch to name the device; About is tested separately.
    return {"Linewatch": "test", "Qt": "6", "Compute device": "CPU"}


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
