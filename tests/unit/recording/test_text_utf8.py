"""A valid UTF-8 text file never shows a ``non_utf8`` count (issue #24, newcomer item).

The cause: every line with a byte outside printable ASCII was counted ``non_utf8``, even a
valid UTF-8 note (``Pumpe aus — 12,3 °C``) or a reprinted header naming ``µm/s``; and a
UTF-8 BOM split over the first reads was kept in the first column's name. Now a valid
UTF-8 line is judged like its ASCII twin (and never taken as data), a split BOM is
dropped, and only bytes that are not UTF-8 count ``non_utf8`` — at every chunk size, so
multi-byte characters cut by a read change nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.formats.base import make_parser
from desktop.recording.text_chunks import text_stream

BOM = "\ufeff"
HEADER = "time_s,Temperatur [°C],Schwingung [µm/s]"
NOTES = ["# Pumpe aus — Wartung bei 12,3 °C", "Schwingung µm/s über Grenzwert",
         "time_s,Temperatur [°C],Schwingung [µm/s]"]  # a note, prose, a reprinted header


def rows(n: int) -> list[str]:
    return [f"{k * 0.01:.2f},{20 + (k % 7) * 0.1:.2f},{(k % 5) * 0.3:.3f}" for k in range(n)]


def write(path: Path, notes: list[str], bom: bool = True) -> Path:
    body = rows(300)
    for i, note in enumerate(notes):
        body.insert(50 + 60 * i, note)
    path.write_text((BOM if bom else "") + HEADER + "\n" + "\n".join(body) + "\n",
                    encoding="utf-8")
    return path


def read(path: Path, chunk_bytes: int) -> tuple[int, tuple[str, ...], dict, bool]:
    stream = text_stream(path, chunk_bytes=chunk_bytes)
    n, names, timed = 0, (), False
    for chunk in stream.chunks:
        n += len(chunk.values)
        names, timed = chunk.names, chunk.times is not None
    return n, names, dict(stream.metadata["malformed"]), timed


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 7, 11, "°", "—", 4096])
def test_utf8_file_with_multibyte_characters_at_chunk_boundaries(
        tmp_path: Path, chunk_bytes: int | str) -> None:
    utf8 = write(tmp_path / "utf8.csv", NOTES)
    data = utf8.read_bytes()
    if isinstance(chunk_bytes, str):  # the first read ends inside this character
        chunk_bytes = data.index(chunk_bytes.encode()) + 1
    # The sizes cut "°" (C2 B0), "µ" (C2 B5) and "—" (E2 80 94) somewhere: check one does.
    cuts = {k for k in range(chunk_bytes, len(data), chunk_bytes) if 0x80 <= data[k] < 0xC0}
    assert chunk_bytes > 100 or cuts, "no multi-byte character straddles a chunk boundary"
    ascii_twin = write(tmp_path / "ascii.csv",
                       [n.replace("°", "o").replace("µ", "u").replace("—", "-")
                        .replace("ü", "ue") for n in NOTES], bom=False)
    n, names, malformed, timed = read(utf8, chunk_bytes)
    assert n == 300 and timed
    assert names == ("Temperatur", "Schwingung")  # no BOM in a name, the time found
    assert "non_utf8" not in malformed
    # Judged exactly as the same notes in ASCII.
    assert malformed == read(ascii_twin, chunk_bytes)[2]
    assert sum(malformed.values()) == len(NOTES)


def test_bytes_that_are_not_utf8_still_count_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes((HEADER + "\n").encode() + "\n".join(rows(100)).encode()
                     + b"\n12,\xff\xfe,3\n1.5,2,\xc2\n")
    assert read(path, 7)[2] == {"non_utf8": 2}


def test_a_bom_split_over_the_first_reads_is_dropped() -> None:
    parser = make_parser("auto")
    data = (BOM + HEADER + "\n" + "\n".join(rows(20)) + "\n").encode("utf-8")
    blocks = [parser.feed(data[k:k + 1]) for k in range(len(data))] + [parser.finish()]
    assert parser.channel_names == ["Temperatur", "Schwingung"]
    assert parser.timestamped and sum(len(b) for b in blocks) == 20
    assert not parser.malformed
