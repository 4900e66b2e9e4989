"""Text bytes as UTF-8: a UTF-16 file (Windows loggers) is transcoded chunk by chunk."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

_CSV_CHUNK = 1 << 20


def _text_chunks(path: Path, chunk_bytes: int = _CSV_CHUNK) -> Iterator[bytes]:
    """The file's bytes as UTF-8: UTF-16 (with a BOM, or detected from its NUL bytes) is
    transcoded chunk by chunk; anything else is passed through (a UTF-8 BOM is dropped by
    the parser)."""
    with open(path, "rb") as fh:
        head = fh.read(chunk_bytes)
        encoding = _utf16_of(head)
        if encoding is None:
            chunk = head
            while chunk:
                yield chunk
                chunk = fh.read(chunk_bytes)
            return
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        chunk = head
        while chunk:
            yield decoder.decode(chunk).encode("utf-8")
            chunk = fh.read(chunk_bytes)
        yield decoder.decode(b"", final=True).encode("utf-8")


def _utf16_of(head: bytes) -> str | None:
    """``"utf-16"`` (BOM), ``"utf-16-le"``/``"-be"`` (no BOM, every other byte NUL)."""
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"
    sample = head[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None

