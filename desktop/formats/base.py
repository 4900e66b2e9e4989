"""The seam between a raw byte stream and sample arrays.

A serial source reads whatever bytes the OS hands it and passes them to a
:class:`FrameParser`; the parser owns everything about the wire format (line endings,
delimiters, headers, binary frames). Keeping this one small interface means a binary-frame
parser can be added later without the serial source or the ASCII parser changing.
"""

from __future__ import annotations

from typing import Any

from desktop.formats.parsed import FrameParser, ParsedBlock

__all__ = ["FrameParser", "ParsedBlock", "make_parser"]


def make_parser(kind: str = "auto", **options: Any) -> FrameParser:
    """Build the parser for a wire format named in settings or on the command line.

    ``"auto"`` and ``"ascii"`` both mean the text-line parser (it auto-detects the line
    layout itself); ``"ascii:decimal=,"`` (or a ``decimal=","`` option) fixes a decimal
    comma. ``"binary:SPEC"`` is a binary frame parser, e.g.
    ``binary:sync=AA55,ch=4xi16le,crc=ccitt`` (see :mod:`desktop.formats.binary`).
    Anything else is rejected here with ValueError, so a typo in a setting fails loudly at
    open time instead of producing an empty plot.
    """
    name, _, rest = kind.strip().partition(":")
    name = name.lower()
    if name in ("auto", "ascii"):
        from desktop.formats.ascii import AsciiLineParser

        if rest.strip():
            key, _, value = rest.partition("=")
            if key.strip() != "decimal" or value.strip() not in (".", ",", "auto"):
                raise ValueError(f"unknown option {rest!r} in line format {kind!r} "
                                 "(known: ascii:decimal=, or ascii:decimal=.)")
            options.setdefault("decimal", value.strip())
        if options.get("decimal") in ("", "auto"):
            options["decimal"] = None
        return AsciiLineParser(**options)
    if name == "binary":
        from desktop.formats.binary import BinaryFrameParser

        return BinaryFrameParser(rest)
    raise ValueError(f"unknown line format {kind!r} (known: 'auto', 'ascii', "
                     "'ascii:decimal=,', 'binary:SPEC' such as "
                     "'binary:sync=AA55,ch=4xi16le,crc=ccitt')")
