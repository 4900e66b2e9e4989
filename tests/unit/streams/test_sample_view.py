"""SampleView: the one read interface a ring buffer and a file view both offer the window
(docs/architecture.md, "Sessions"). ``isinstance`` checks the members exist; mypy checks
that their signatures match the protocol."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from desktop.core.types import ChannelSpec
from desktop.streams.file_view import index_file
from desktop.streams.ring import RingBuffer
from desktop.streams.sample_view import SampleView

ROOT = Path(__file__).resolve().parents[3]


def test_a_ring_buffer_is_a_sample_view() -> None:
    ring = RingBuffer((ChannelSpec("a"), ChannelSpec("b")), capacity=1024, sample_rate=100.0)
    assert isinstance(ring, SampleView)


def test_a_file_view_is_a_sample_view(tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    path.write_text("time_s,a\n" + "".join(f"{k / 100},{k % 7}\n" for k in range(500)))
    view = index_file(path)
    assert isinstance(view, SampleView) and view.written == 500


def test_something_else_is_not() -> None:
    assert not isinstance(np.zeros(3), SampleView)


def test_mypy_accepts_both_as_sample_views(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    api = pytest.importorskip("mypy.api")
    check = tmp_path / "check_sample_view.py"
    check.write_text(textwrap.dedent("""
        from desktop.streams.file_view import FileView
        from desktop.streams.ring import RingBuffer
        from desktop.streams.sample_view import SampleView

        def views(ring: RingBuffer, view: FileView) -> list[SampleView]:
            return [ring, view]
    """))
    # Errors in modules that are not clean yet are not this test's (follow-imports=silent).
    monkeypatch.chdir(ROOT)
    out, err, status = api.run(["--follow-imports=silent",
                                "--config-file", str(ROOT / "pyproject.toml"),
                                str(ROOT / "desktop/streams/sample_view.py"), str(check)])
    assert status == 0, out + err
