"""The file-format registry: one module + one registration makes a format readable,
streamable, listed by ``info``, the Open filter and the self-test; and the reading
packages import each other without circles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from desktop.core.types import ChannelSpec, Recording
from desktop.recording import registry
from desktop.recording.format import FileFormat, ReadOptions


def _read_toy(path: Path, options: ReadOptions) -> Recording:
    """A toy format: one number per line after a ``TOY rate`` line."""
    lines = path.read_text().split()
    rate = options.rate or float(lines[1])
    values = np.array([float(v) for v in lines[2:]]).reshape(-1, 1)
    return Recording((ChannelSpec("toy", "V"),), values, rate, source=f"file:{path.name}",
                     metadata={"inferred": {"toy_header": "TOY"}})


TOY = FileFormat("toy", "Toy files", (".toy",), _read_toy,
                 sniff=lambda path, head: head.startswith(b"TOY "),
                 rules="a TOY line with the rate, then one value a line")


@pytest.fixture
def toy() -> Iterator[FileFormat]:
    registry.register(TOY)
    try:
        yield TOY
    finally:
        registry.unregister("toy")


def test_a_registered_format_is_read_streamed_and_summarized(
        toy: FileFormat, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from desktop.cli import main
    from desktop.recording.chunks import open_chunks
    from desktop.recording.readers import read_recording

    path = tmp_path / "a.toy"
    path.write_text("TOY 50\n1\n2\n3\n4\n")
    rec = read_recording(path)
    assert rec.sample_rate == 50 and rec.values[:, 0].tolist() == [1, 2, 3, 4]
    stream = open_chunks(path)
    assert stream.kind == "toy" and np.concatenate([c.values for c in stream.chunks]).size == 4
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "toy" and info["channels"] == ["toy"] and info["units"] == ["V"]
    assert info["sample_rate"] == 50 and info["duration_s"] == pytest.approx(0.08)
    assert info["inferred"] == {"toy_header": "TOY"}
    unnamed = tmp_path / "no-suffix"  # claimed by its first bytes
    unnamed.write_text("TOY 10\n5\n")
    assert read_recording(unnamed).sample_rate == 10


def test_a_registered_format_is_in_the_open_filter_and_the_self_test(toy: FileFormat) -> None:
    from desktop import selftest
    from desktop.recording import readers
    from desktop.ui.main_window import recording_filter

    text = recording_filter()
    assert "*.toy" in text.split(";;")[0] and "Toy files (*.toy)" in text
    assert ".toy" in selftest.readable_suffixes(readers)


def test_unregistered_it_is_gone(tmp_path: Path) -> None:
    from desktop.ui.main_window import recording_filter

    assert "*.toy" not in recording_filter()
    assert ".toy" not in registry.supported_suffixes()


def test_the_open_filter_lists_every_builtin_suffix() -> None:
    first = registry.open_filter().split(";;")[0]
    for suffix in (".parquet", ".csv", ".tsv", ".mat", ".wav", ".flac", ".tdms", ".xlsx",
                   ".arrow", ".feather"):
        assert f"*{suffix}" in first
    assert "*.xls " not in first + " " and ".journal" not in first  # refused / folder kinds


def test_a_reader_bug_is_one_line_naming_the_file(tmp_path: Path) -> None:
    from desktop.core.errors import RecordingError
    from desktop.recording.readers import read_recording

    def broken(path: Path, options: ReadOptions) -> Recording:
        raise IndexError("list index out of range")

    registry.register(FileFormat("broken", "Broken", (".brk",), broken))
    try:
        (tmp_path / "x.brk").write_text("x")
        with pytest.raises(RecordingError, match=r"x\.brk could not be read \(IndexError"):
            read_recording(tmp_path / "x.brk")
    finally:
        registry.unregister("broken")


@pytest.mark.parametrize("suffix", registry.supported_suffixes())
def test_junk_and_truncated_files_of_every_format_are_one_line(tmp_path: Path,
                                                               suffix: str) -> None:
    """Never a traceback: junk, an empty file and a valid-looking head cut short are
    read or refused in one line naming the file."""
    from desktop.core.errors import RecordingError
    from desktop.recording.readers import read_recording, summarize_recording

    rng = np.random.default_rng(len(suffix))
    heads = {".wav": b"RIFF\x00\x00\x00\x00WAVEfmt ", ".tdms": b"TDSm\x04\x00\x00\x00",
             ".mat": b"MATLAB 5.0 MAT-file".ljust(128, b" "), ".parquet": b"PAR1",
             ".xlsx": b"PK\x03\x04"}
    for k, content in enumerate([b"", rng.bytes(300), heads.get(suffix, b"") + rng.bytes(64),
                                 b"a,b\n1,2\n\xff\xfe\x00garbage\n"]):
        path = tmp_path / f"f{k}{suffix}"
        path.write_bytes(content)
        for call in (read_recording, summarize_recording):
            try:
                call(path)
            except RecordingError as exc:
                assert "\n" not in str(exc) and path.name in str(exc)
