"""Issue 24 item 1 (last part): opening a big ``.xlsx`` in the window is a job with progress
and Cancel like any file; Cancel stops the workbook read within a second or two, and a
cancelled open leaves the window as it was (the file shown before is back, no error)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from desktop.session.file import FileSession
from tests.support.xlsx_bomb import write_xlsx
from tests.unit.streams.test_file_view import write_csv


@pytest.fixture(scope="module")
def big_workbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 600 k rows × 4 numeric cells: inside the workbook limits, tens of seconds to parse.
    return write_xlsx(tmp_path_factory.mktemp("xlsx") / "big.xlsx", 600_000, 4)


def test_cancel_stops_an_xlsx_open_and_keeps_the_window(qtbot, make_window, tmp_path: Path,
                                                        big_workbook: Path) -> None:
    window = make_window()
    window.settings.model = ""
    before = write_csv(tmp_path / "before.csv", 20_000)
    window.open_file(str(before))
    qtbot.waitUntil(lambda: window.session.loaded is not None, timeout=30_000)
    errors = list(window.errors)

    window.open_file(str(big_workbook))
    opening = window.session
    assert isinstance(opening, FileSession) and opening.indexing
    # The workbook's rows are being read (the job reports them) and Cancel is offered.
    qtbot.waitUntil(lambda: "rows" in window.job_progress.format(), timeout=60_000)
    assert window.job_cancel.isVisible() and opening.view is None
    started = time.perf_counter()
    window.job_cancel.click()
    qtbot.waitUntil(lambda: not opening.indexing, timeout=10_000)
    cancel_s = time.perf_counter() - started
    print(f"\n[xlsx cancel] the read stopped {cancel_s:.2f} s after Cancel")
    assert cancel_s < 3.0  # within a second or two (a loaded 2-core box included)

    # As it was: the file shown before is back (from its cache), nothing counted as an error.
    qtbot.waitUntil(lambda: isinstance(window.session, FileSession)
                    and window.session.path == before and window.session.loaded is not None,
                    timeout=10_000)
    assert window.errors == errors
    assert not window.job_progress.isVisible() and not window.job_cancel.isVisible()
    assert "cancelled" in window.statusBar().currentMessage()
    assert window.plot.draw(window.session.buffer)
