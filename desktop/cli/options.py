"""Options several commands share: a source (``record``, the window), the decimal mark,
Modbus, and the file readers' options (``--sheet``, ``--group``, dates, thousands)."""

from __future__ import annotations

import argparse
from typing import Any


def add_source_options(p: argparse.ArgumentParser, default_text: str = "demo") -> None:
    """``--source`` and how to read it (baud, speed, rate, line format, decimal mark, Modbus)."""
    p.add_argument("--source", default="demo",
                   help="serial:PORT | replay:FILE | demo | synth:CHANNELSxRATE | "
                        "modbus-tcp:HOST:PORT | modbus-rtu:PORT "
                        f"(default: {default_text})")
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate (default 115200)")
    p.add_argument("--speed", default="1",
                   help="replay/demo/synth speed: 1 = real time, 10 = ten times, max = flat out")
    p.add_argument("--rate", type=float, default=None,
                   help="nominal sample rate in Hz for sources whose lines carry no timestamp")
    p.add_argument("--format", dest="line_format", default="auto", metavar="FORMAT",
                   help="serial line format: auto (default), ascii, or binary frames "
                        "binary:SPEC, e.g. binary:sync=AA55,ch=4xi16le,crc=ccitt "
                        "(see the README)")
    add_decimal_option(p)
    add_modbus_options(p)


def add_modbus_options(p: argparse.ArgumentParser) -> None:
    """Options of the modbus-tcp:HOST:PORT and modbus-rtu:PORT sources."""
    g = p.add_argument_group("Modbus (--source modbus-tcp:HOST:PORT | modbus-rtu:PORT)")
    g.add_argument("--map", dest="modbus_map", default=None, metavar="FILE",
                   help="register map CSV: name,function,address,type,scale,offset,unit,"
                        "period_s,word_order (see the README)")
    g.add_argument("--unit", type=int, default=1, metavar="ID",
                   help="Modbus unit (slave) id, 0-247 (default 1)")
    g.add_argument("--parity", choices=("none", "even", "odd"), default="none",
                   help="RTU parity (default none); --baud sets the RTU baud rate")
    g.add_argument("--stopbits", type=int, choices=(1, 2), default=1,
                   help="RTU stop bits (default 1)")
    g.add_argument("--modbus-timeout", type=float, default=1.0, metavar="SECONDS",
                   help="seconds to wait for one reply (default 1)")


def add_decimal_option(p: argparse.ArgumentParser) -> None:
    """``--decimal . | ,``."""
    p.add_argument("--decimal", choices=(".", ","), default=None,
                   help="decimal mark of text lines and files: '.' or ',' (default: "
                        "detected; a decimal comma is read with ';', tab or blank "
                        "separators, e.g. 0,5;21,6)")


def build_source(args: argparse.Namespace) -> Any:
    """The source ``--source`` names, built with the other source options."""
    from desktop.app import SourceOptions, create_source, parse_speed

    options = SourceOptions(baud=args.baud, speed=parse_speed(args.speed), rate=args.rate,
                            line_format=args.line_format, decimal=args.decimal,
                            map_path=args.modbus_map, unit=args.unit, parity=args.parity,
                            stopbits=args.stopbits, modbus_timeout=args.modbus_timeout)
    return create_source(args.source, options)


def add_read_options(p: argparse.ArgumentParser) -> None:
    """The options every file reader honours where they apply (``--sheet`` for workbooks,
    ``--group`` for TDMS, ``--dayfirst``/``--monthfirst`` and ``--thousands`` for text)."""
    p.add_argument("--sheet", default=None, metavar="NAME",
                   help="workbook sheet to read (default: the sheet holding the data table)")
    p.add_argument("--group", default=None, metavar="NAME",
                   help="TDMS group to read (default: the fastest group; `info` lists them)")
    order = p.add_mutually_exclusive_group()
    order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True,
                       default=None, help="read dates such as 03/04/2024 as day/month")
    order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False,
                       help="read dates such as 03/04/2024 as month/day (US)")
    p.add_argument("--thousands", choices=(",", ".", "'", " "), default=None,
                   help="thousands separator of a text file's numbers (\"1,234.5\" with ',')")


def read_options(args: argparse.Namespace) -> dict[str, object]:
    """The reader options given on the command line (for ``read_recording`` & co.)."""
    names = ("sheet", "group", "dayfirst", "thousands")
    return {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
