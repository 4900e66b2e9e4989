"""Issue 24 item 6 in the window: the cache's disk fills while a big text file is indexed
(a real, small tmpfs). The window says so in one line through its failure path, the partial
cache is gone, and the window keeps drawing (nothing reads the deleted segments)."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core import paths
from desktop.recording import cache, text_chunks
from desktop.session.file import FileSession
from tests.support.drill import tiny_disk
from tests.unit.streams.test_file_view import write_csv


def test_the_window_says_the_cache_disk_is_full(qtbot, make_window, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "SEGMENT_BYTES", 1 << 20)
    monkeypatch.setattr(text_chunks, "SKIM_MIN_BYTES", 0)
    monkeypatch.setattr(text_chunks, "CHUNK_BYTES", 256 << 10)
    csv_file = write_csv(tmp_path / "line3.csv", 300_000)  # ~17 MB; its cache ~12 MB
    with tiny_disk(tmp_path / "disk", "5m") as disk:
        window = make_window()
        window.settings.model = ""
        monkeypatch.setenv("LINEWATCH_HOME", str(disk / "home"))
        window.open_file(str(csv_file))
        assert isinstance(window.session, FileSession)
        qtbot.waitUntil(lambda: bool(window.errors), timeout=60_000)
        message = window.errors[-1]
        assert "\n" not in message and "is full" in message and "line3.csv" in message
        assert "partial cache was removed" in message
        assert message in window.statusBar().currentMessage()
        assert list((paths.cache_dir() / "files").iterdir()) == []
        qtbot.wait(500)  # frames go on: the view forgot the deleted segments
        assert window.isVisible() and len(window.errors) == 1, window.errors
