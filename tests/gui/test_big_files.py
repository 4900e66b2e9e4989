"""Offline analysis at the desk: a multi-MB file draws before it is indexed, Cancel stops
indexing and keeps what is drawn, zoom redraws are timed, the overview strip and "Go to"
move the view, files can be dropped on the window and are listed under Open recent."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from desktop.recording import cache, text_chunks
from desktop.session.file import FileSession
from desktop.ui.overview_strip import parse_goto
from tests.unit.streams.test_file_view import write_csv


@pytest.fixture
def big_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """The big-file code paths (skim, many segments) on files of a few MB."""
    monkeypatch.setattr(cache, "SEGMENT_BYTES", 1 << 20)
    monkeypatch.setattr(text_chunks, "SKIM_MIN_BYTES", 0)
    monkeypatch.setattr(text_chunks, "CHUNK_BYTES", 256 << 10)


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(tmp_path_factory.mktemp("big") / "line3.csv", 300_000)  # ~17 MB


def _open(qtbot, window, path: Path) -> dict[str, float]:
    marks: dict[str, float] = {}
    started = time.perf_counter()
    window.open_file(str(path))
    session = window.session
    assert isinstance(session, FileSession)
    session.opened.connect(lambda: marks.setdefault("opened", time.perf_counter() - started))
    session.opened.connect(lambda: marks.setdefault("complete_at_open",
                                                    float(session.view.complete)))
    session.source_finished.connect(
        lambda: marks.setdefault("indexed", time.perf_counter() - started))
    return marks


def test_the_first_view_appears_before_indexing_ends(qtbot, make_window, csv_file: Path,
                                                     big_paths: None) -> None:
    window = make_window()
    window.settings.model = ""
    marks = _open(qtbot, window, csv_file)
    qtbot.waitUntil(lambda: "opened" in marks, timeout=30_000)
    assert marks["complete_at_open"] == 0.0  # drawn from the skim, indexing still running
    qtbot.waitUntil(lambda: window.plot.last_time is not None, timeout=5000)
    assert window.job_progress.isVisible() or "indexed" in marks
    x0, x1 = window.plot.lanes[0].getViewBox().viewRange()[0]
    assert x1 - x0 == pytest.approx(29.9999, rel=1e-3)  # the whole file, at once
    assert window.overview.isVisible() and window.overview.curves
    qtbot.waitUntil(lambda: "indexed" in marks, timeout=60_000)
    assert marks["opened"] < marks["indexed"]
    assert window.session.view.complete and window.session.view.rows == 300_000
    assert window.rate_label.text().endswith("Hz × 4 ch")
    print(f"\nfirst view {marks['opened']:.2f} s, indexed {marks['indexed']:.2f} s")

    # Zoom and pan redraws: the frame's own cost (view + setData), measured.
    buffer, plot = window.session.buffer, window.plot
    costs = []
    for span in (30.0, 10.0, 1.0, 0.1, 0.01, 0.001):
        for start in np.linspace(0, 30 - span, 5):
            plot.set_view_range(start, start + span)
            t = time.perf_counter()
            assert plot.draw(buffer)
            costs.append((time.perf_counter() - t) * 1000)
    print(f"redraw ms: median {statistics.median(costs):.1f}, max {max(costs):.1f}")
    assert statistics.median(costs) < 50


def test_cancel_stops_indexing_and_keeps_the_view(qtbot, make_window, csv_file: Path,
                                                  big_paths: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_chunks, "CHUNK_BYTES", 64 << 10)  # slow enough to catch
    window = make_window()
    window.settings.model = ""
    marks = _open(qtbot, window, csv_file)
    qtbot.waitUntil(lambda: "opened" in marks, timeout=30_000)
    session = window.session
    assert session.indexing and window.job_cancel.isVisible()
    window.job_cancel.click()
    qtbot.waitUntil(lambda: not session.indexing, timeout=10_000)
    assert "indexed" not in marks and not session.view.complete
    assert "indexing cancelled" in window.state_label.text()
    assert not window.job_progress.isVisible()
    assert window.plot.draw(session.buffer)  # still drawn: indexed rows + the skim


def test_overview_click_goto_drop_and_recent(qtbot, make_window, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "small.csv", 20_000)  # 2 s at 10 kHz
    window = make_window()
    window.settings.model = ""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    assert isinstance(window.session, FileSession) and window.session.path == path
    qtbot.waitUntil(lambda: window.session.loaded is not None and window.overview.isVisible(),
                    timeout=20_000)
    assert window.settings.recent_files[0] == str(path.resolve())
    window.files.fill_recent_menu()
    assert next(a.text() for a in window.recent_menu.actions()) == "small.csv"

    window.plot.set_view_range(0.0, 0.2)
    window.frames.tick()
    assert window.overview.region.getRegion() == pytest.approx((0.0, 0.2))
    window.overview._clicked(1.5)  # a click on the strip: go there, same span
    x0, x1 = window.plot.lanes[0].getViewBox().viewRange()[0]
    assert (x0 + x1) / 2 == pytest.approx(1.5) and x1 - x0 == pytest.approx(0.2)
    window.frames.tick()
    window.overview.goto.setText("0.5")
    window.overview.goto.returnPressed.emit()
    x0, x1 = window.plot.lanes[0].getViewBox().viewRange()[0]
    assert (x0 + x1) / 2 == pytest.approx(0.5)
    window.overview.goto.setText("soon")
    window.overview.goto.returnPressed.emit()
    assert "not seconds" in window.overview.message


def test_goto_understands_seconds_durations_and_wall_clock() -> None:
    assert parse_goto("12.5", 100.0, False) == 112.5
    assert parse_goto("1:02:03", 0.0, False) == 3723.0
    assert parse_goto("02:03.5", 10.0, False) == 133.5
    import datetime as dt

    start = dt.datetime(2026, 11, 29, 9, 30).astimezone().timestamp()
    assert parse_goto("10:00:00", start, True) == start + 1800
    assert parse_goto("2026-11-29 09:45:00", start, True) == start + 900
    assert parse_goto("08:00", start, True) == pytest.approx(start + 22.5 * 3600)  # next day
    with pytest.raises(ValueError):
        parse_goto("yesterday", 0.0, False)
