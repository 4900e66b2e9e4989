"""The one atomic-write helper: old or new file, never half; no temp file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.core.atomic import atomic_open, atomic_write_bytes


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "card.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_bytes_replace_the_file(tmp_path: Path) -> None:
    target = tmp_path / "weights.bin"
    atomic_write_bytes(target, b"\x00\x01")
    atomic_write_bytes(target, b"\x02")
    assert target.read_bytes() == b"\x02"


def test_atomic_files_get_the_usual_permissions(tmp_path) -> None:
    """mkstemp's private 0600 is not kept: a label export or verdict table on a shared store
    is as readable as any file this process writes (0666 less the umask)."""
    import os

    from desktop.core.atomic import atomic_write_text

    old = os.umask(0o022)
    try:
        target = tmp_path / "export.csv"
        atomic_write_text(target, "a,b\n")
        assert target.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
