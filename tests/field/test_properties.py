"""Any byte stream: the parsers never raise and never yield a value that was not in a valid
line or frame (a NaN gap is not a value)."""

from __future__ import annotations

import binascii
import re
import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.formats.ascii import AsciiLineParser
from desktop.formats.binary import BinaryFrameParser

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    edges = sorted({c for c in cuts if 0 < c < len(data)})
    return [data[a:b] for a, b in zip([0, *edges], [*edges, len(data)], strict=True)]


def numbers_in(data: bytes) -> set[float]:
    """Every number any token of the stream could mean (either decimal mark)."""
    out: set[float] = set()
    text = data.decode("latin-1")
    for token in re.split(r"[\s,;:=\x00-\x1f\x7f]+", text) + re.split(r"[\s;:=\x00-\x1f]+",
                                                                        text):
        for candidate in (token, token.replace(",", ".")):
            try:
                value = float(candidate.strip("\"'"))
            except ValueError:
                continue
            out.add(value)
    return out


LINE_ATOMS = ["1", "-2.5", "21,5", "0,25", ";", ",", "\t", " ", "\x00", "\x13", "\xff",
              "nan", "inf", "time", "t_ms", "I(mA)", "\r", "\n", "\r\n", "4294967295",
              "1e3", "x:1", "é"]


@FAST
@given(st.lists(st.sampled_from(LINE_ATOMS), max_size=80).map("".join),
       st.lists(st.integers(0, 400), max_size=6), st.booleans(),
       st.sampled_from([None, ".", ","]))
def test_ascii_any_stream_never_raises_and_never_invents(text: str, cuts: list[int],
                                                          resync: bool,
                                                          decimal: str | None) -> None:
    data = text.encode("utf-8")
    parser = AsciiLineParser(decimal=decimal)
    if resync:
        parser.resync()
    blocks = [parser.feed(c) for c in chunks(data, cuts)] + [parser.finish()]
    allowed = numbers_in(data)
    for b in blocks:
        values = b.values[~np.isnan(b.values)]
        assert np.isfinite(values).all()
        assert all(v in allowed for v in values.tolist())
        if b.timestamps is not None:
            assert (np.diff(b.timestamps) >= 0).all()  # never backwards


def _frame(values: list[int]) -> bytes:
    body = struct.pack("<2h", *values)
    return b"\xaa\x55" + body + struct.pack(">H", binascii.crc_hqx(body, 0xFFFF))


def valid_frames_in(data: bytes) -> set[tuple[float, ...]]:
    """Values of every position of the stream that holds a frame with a good CRC."""
    out = set()
    for pos in range(len(data) - 7):
        if data[pos:pos + 2] == b"\xaa\x55":
            body = data[pos + 2:pos + 6]
            if binascii.crc_hqx(body, 0xFFFF) == int.from_bytes(data[pos + 6:pos + 8], "big"):
                out.add(tuple(float(v) for v in struct.unpack("<2h", body)))
    return out


frames = st.lists(st.integers(-32768, 32767), min_size=2, max_size=2).map(_frame)
junk = st.binary(max_size=12) | st.sampled_from([b"\xaa", b"\xaa\x55", b"\x55\xaa\x55"])


@FAST
@given(st.lists(st.one_of(frames, frames, junk), max_size=40).map(b"".join),
       st.lists(st.integers(0, 400), max_size=6), st.booleans())
def test_binary_any_stream_never_raises_and_never_invents(data: bytes, cuts: list[int],
                                                           resync: bool) -> None:
    parser = BinaryFrameParser("sync=AA55,ch=2xi16le,crc=ccitt")
    if resync:
        parser.resync()
    blocks = [parser.feed(c) for c in chunks(data, cuts)] + [parser.finish()]
    allowed = valid_frames_in(data)
    for b in blocks:
        assert all(tuple(row) in allowed for row in b.values.tolist())
    assert all(v >= 0 for v in parser.malformed.values())


@FAST
@given(st.lists(st.lists(st.integers(-32768, 32767), min_size=2, max_size=2), max_size=60),
       st.lists(st.integers(0, 500), max_size=8))
def test_binary_clean_frames_come_out_exactly_for_any_chunking(rows: list[list[int]],
                                                               cuts: list[int]) -> None:
    data = b"".join(_frame(r) for r in rows)
    parser = BinaryFrameParser("sync=AA55,ch=2xi16le,crc=ccitt")
    blocks = [parser.feed(c) for c in chunks(data, cuts)] + [parser.finish()]
    got = np.concatenate([b.values for b in blocks]).tolist()
    assert got == rows and parser.malformed.total == 0


@FAST
@given(st.lists(st.lists(st.integers(0, 255), min_size=3, max_size=3), max_size=40),
       st.lists(st.integers(0, 300), max_size=6), st.sampled_from(["crc8", "sum8"]))
def test_cobs_frames_with_zeros_in_the_payload(rows: list[list[int]], cuts: list[int],
                                               check: str) -> None:
    from desktop.formats.binary import CRC8_TABLE

    def cobs(raw: bytes) -> bytes:
        out, block = bytearray(), bytearray()
        for byte in raw:
            if byte == 0:
                out += bytes([len(block) + 1]) + block
                block = bytearray()
            else:
                block.append(byte)
        return bytes(out + bytes([len(block) + 1]) + block) + b"\x00"

    def check_byte(body: bytes) -> int:
        if check == "sum8":
            return sum(body) & 0xFF
        crc = 0
        for byte in body:
            crc = int(CRC8_TABLE[crc ^ byte])
        return crc

    data = b"".join(cobs(bytes(r) + bytes([check_byte(bytes(r))])) for r in rows)
    parser = BinaryFrameParser(f"cobs,ch=3xu8,crc={check}")
    blocks = [parser.feed(c) for c in chunks(data, cuts)] + [parser.finish()]
    got = np.concatenate([b.values for b in blocks]).tolist()
    assert got == rows and parser.malformed.total == 0
