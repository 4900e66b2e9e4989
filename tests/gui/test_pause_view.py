"""Paused, the plot still answers the user: switching lanes/overlay or zooming to fit
draws the span again (a newcomer saw an empty plot until unpausing)."""

from __future__ import annotations

from tests.support.real_data import FIXTURES


def _has_data(window) -> bool:
    return any(c.getData()[0] is not None and len(c.getData()[0]) > 0
               for c in window.plot.curves)


def test_overlay_and_zoom_to_fit_while_paused_draw_again(qtbot, make_window) -> None:
    window = make_window()
    window.settings.model = ""
    window.open_file(str(FIXTURES / "cwru" / "12k_Drive_End_IR007_1_106.mat"))
    qtbot.waitUntil(lambda: _has_data(window), timeout=30_000)
    window.act_pause.setChecked(True)
    window.act_overlay.setChecked(True)  # the lanes are rebuilt while paused
    qtbot.waitUntil(lambda: window.plot.mode == "overlay", timeout=5_000)
    assert _has_data(window)
    window.act_overlay.setChecked(False)
    assert _has_data(window)
    window.view.zoom_fit()
    assert _has_data(window)
    window.act_pause.setChecked(False)
