"""Modbus polling soak: 50 holding registers at 10 Hz from pymodbus's own TCP server on
loopback, for ``--seconds`` (default 600), through the real ModbusSource.

Prints one JSON line: requests, replies, lost replies, late polls, failures per kind and
the reply-interval statistics (s). The issue's figure is 0 lost replies over 10 minutes.

    .venv/bin/python tools/modbus_soak.py --seconds 600
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(port: int, registers: int) -> None:
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    async def count_up(function_code: int, start: int, address: int, count: int,
                       regs: list[int], values: object) -> None:
        regs[0] = (regs[0] + 1) & 0xFFFF  # fresh data every poll
        return None

    device = SimDevice(id=1, simdata=[SimData(0, count=registers, values=0,
                                              datatype=DataType.REGISTERS)], action=count_up)

    async def serve() -> None:
        server = ModbusTcpServer(device, address=("127.0.0.1", port))
        await server.serve_forever()

    asyncio.run(serve())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--registers", type=int, default=50)
    parser.add_argument("--period", type=float, default=0.1)
    args = parser.parse_args()
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    from desktop.sources.modbus import ModbusSource
    from desktop.sources.modbus_map import HEADER, read_map

    port = _free_port()
    threading.Thread(target=_serve, args=(port, args.registers), daemon=True).start()
    time.sleep(0.5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.csv"
        rows = [f"r{i},holding,{i},uint16,,,,{args.period}," for i in range(args.registers)]
        path.write_text("\n".join([",".join(HEADER), *rows]) + "\n")
        source = ModbusSource("tcp", f"127.0.0.1:{port}", read_map(path))
    source.open()
    stamps: list[np.ndarray] = []
    started = time.monotonic()
    while time.monotonic() - started < args.seconds:
        block = source.read(0.05)
        if len(block) and block.timestamps is not None:
            stamps.append(block.timestamps)
    source.close()
    times = np.concatenate(stamps) if stamps else np.empty(0)
    gaps = np.diff(times)
    result = {
        "seconds": args.seconds, "registers": args.registers, "period_s": args.period,
        **source.stats(), "rows": int(times.size),
        "interval_s": {"median": float(np.median(gaps)) if gaps.size else None,
                       "p99": float(np.percentile(gaps, 99)) if gaps.size else None,
                       "max": float(gaps.max()) if gaps.size else None},
    }
    print(json.dumps(result), flush=True)
    return 0 if source.lost_replies == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
