"""Modbus polling soak and reconnect drill through the real ``ModbusSource``.

Run: .venv/bin/python bench/modbus_soak.py [--seconds 600] [--json]
     .venv/bin/python bench/modbus_soak.py --check        (about 11 s; exit code 0 or 1)

A pymodbus ``ModbusTcpServer`` (pymodbus's own, not ours) serves ``--registers`` holding
registers on loopback **in a subprocess** (this script with ``--serve PORT``), so stopping
it is a real server going away: its process ends, the socket closes. The source polls
them every ``--period`` s (default 50 registers at 10 Hz: one read of 50 registers per
0.1 s) for ``--seconds``, then the **reconnect drill**: the server process is killed,
stays away ``--outage`` s (default 5), is started again on the same port, and the time
from "listening again" (the new server's ready line) to the first good reply (the
timestamp of the first row with data) is measured.

Prints one JSON object:

- ``soak``: ``requests``, ``replies``, ``lost`` (requests without a usable reply),
  ``timeouts`` (of them, no byte back), ``failures`` (per kind, the source's counters),
  ``late`` (polls that fell a period behind), ``latency_ms`` ``p50``/``p95``/``max`` (one
  request: sent → reply decoded), ``rate_hz`` (replies per second achieved) and
  ``target_hz`` (1 / period);
- ``drill``: ``outage_s``, ``reconnect_s`` (listening again → first good reply),
  ``reconnects`` and ``outages_s`` as the source counted them;
- ``pass``: 0 lost replies in the soak and ``reconnect_s`` ≤ 2 (the issue's figures).

``--check`` runs a 4-s soak and the drill and exits 1 when either figure fails (a
ratio-free check for the test command). Latency is timed around the source's request
method (a wrapper in this script: the source keeps no per-request timings of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MAX_RECONNECT_S = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(port: int, registers: int) -> None:
    """The server process: pymodbus's TCP server; prints ``ready`` once it listens."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    from pymodbus.server import ModbusTcpServer
    from pymodbus.simulator import DataType, SimData, SimDevice

    async def count_up(function_code: int, start: int, address: int, count: int,
                       regs: list[int], values: object) -> None:
        regs[0] = (regs[0] + 1) & 0xFFFF  # fresh data every poll
        return None

    device = SimDevice(id=1, simdata=[SimData(0, count=registers, values=0,
                                              datatype=DataType.REGISTERS)], action=count_up)

    async def run() -> None:
        server = ModbusTcpServer(device, address=("127.0.0.1", port))
        task = asyncio.ensure_future(server.serve_forever())
        for _ in range(500):
            await asyncio.sleep(0.01)
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", port), timeout=0.2):
                break
        print("ready", flush=True)
        await task

    asyncio.run(run())


class ServerProcess:
    """The server subprocess; :attr:`ready_wall` is the wall time it said ``ready``."""

    def __init__(self, port: int, registers: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", str(port),
             "--registers", str(registers)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.ready_wall = time.time()
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError("the pymodbus server process did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)) * 1000, 3) if values else None


def run(seconds: float, registers: int, period: float, outage: float) -> dict[str, Any]:
    """The soak then the drill (module doc); returns the figures."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    from desktop.sources.modbus import ModbusSource
    from desktop.sources.modbus_map import HEADER, read_map

    port = _free_port()
    server = ServerProcess(port, registers)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "map.csv"
        rows = [f"r{i},holding,{i},uint16,,,,{period}," for i in range(registers)]
        path.write_text("\n".join([",".join(HEADER), *rows]) + "\n", encoding="utf-8")
        source = ModbusSource("tcp", f"127.0.0.1:{port}", read_map(path))
    latencies: list[float] = []
    request = source._request  # timed here: the source keeps no per-request timings

    def timed(group: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return request(group)
        finally:
            latencies.append(time.perf_counter() - t0)

    source._request = timed  # type: ignore[method-assign]
    source.open()
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            source.read(0.05)
        elapsed = time.monotonic() - started
        soak = {"seconds": round(elapsed, 3), "registers": registers, "period_s": period,
                "requests": source.requests, "replies": source.replies,
                "lost": source.lost_replies, "timeouts": source.malformed.get("timeout", 0),
                "failures": dict(source.malformed), "late": source.late,
                "latency_ms": {"p50": _pct(latencies, 50), "p95": _pct(latencies, 95),
                               "max": _pct(latencies, 100)},
                "rate_hz": round(source.replies / elapsed, 3),
                "target_hz": round(1 / period, 3)}
        drill = _drill(source, server, port, registers, outage)
        server = drill.pop("server")
    finally:
        source.close()
        server.stop()
    ok = soak["lost"] == 0 and drill["reconnect_s"] is not None \
        and drill["reconnect_s"] <= MAX_RECONNECT_S
    return {"soak": soak, "drill": drill, "pass": ok}


def _drill(source: Any, server: ServerProcess, port: int, registers: int,
           outage: float) -> dict[str, Any]:
    """Kill the server, keep polling ``outage`` s, start it again, time the first reply."""
    box: dict[str, Any] = {}

    def away_and_back() -> None:
        server.stop()
        time.sleep(outage)
        box["server"] = ServerProcess(port, registers)

    thread = threading.Thread(target=away_and_back, daemon=True)
    thread.start()
    first: float | None = None
    end = time.monotonic() + outage + 15
    while time.monotonic() < end:
        block = source.read(0.05)
        back = box.get("server")
        if back is None or not len(block) or block.timestamps is None:
            continue
        good = np.flatnonzero(np.isfinite(block.values).all(axis=1)
                              & (block.timestamps >= back.ready_wall))
        if good.size:
            first = float(block.timestamps[good[0]])
            break
    thread.join(30)
    back = box.get("server") or server
    return {"outage_s": outage,
            "reconnect_s": None if first is None or "server" not in box
            else round(max(0.0, first - back.ready_wall), 3),
            "reconnects": source.reconnects,
            "outages_s": [round(x, 3) for x in source.outages], "server": back}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0,
                        help="soak length in seconds (default 600: the issue's 10 minutes)")
    parser.add_argument("--registers", type=int, default=50)
    parser.add_argument("--period", type=float, default=0.1, help="poll period, s")
    parser.add_argument("--outage", type=float, default=5.0,
                        help="seconds the server stays away in the drill")
    parser.add_argument("--check", action="store_true",
                        help="short run (4-s soak + drill): exit 1 unless 0 lost and "
                             f"reconnect <= {MAX_RECONNECT_S:g} s")
    parser.add_argument("--json", action="store_true", help="(the output is always JSON)")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.registers)
        return 0
    result = run(4.0 if args.check else args.seconds, args.registers, args.period,
                 args.outage)
    print(json.dumps(result), flush=True)
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
