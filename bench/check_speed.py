"""The CI speed guard: every headline figure as a ratio to a baseline measured in the same
run, so a regression fails the build instead of waiting for someone to notice.

Run: .venv/bin/python bench/check_speed.py [--only live,parser,open,inference]

Each bench runs its own ``--check`` (a few seconds each, ~45 s in all on 2 shared cores)
in a child process and prints its figures; the exit code is 1 when any falls past its
threshold. Ratios, not absolute times: CI is a shared 2-core box without a GPU, drawing
offscreen. The thresholds sit in each bench (``CHECK_*``) with the figures they were
chosen from:

- live: the real ``LivePlot`` vs pyqtgraph's ``setDownsampling(peak)`` + ``setClipToView``
  on the same 16 × 20 kHz ring buffer (frames per CPU-second, ≥ 5×), and the real
  window's first draw with the shipped model on vs a bare pyqtgraph window (≤ 3×);
- parser: clean lines through the serial parser vs ``pyarrow.csv`` (≥ 0.25× its rate);
- open: a 40 MB CSV opened cold (index, cache, pyramid) ≤ 6× and reopened ≤ 0.1× one
  plain ``pyarrow.csv`` read of it;
- inference: the fault model's windows/s as ``predict`` loads it vs a numpy FFT over the
  same windows (≥ 0.02×).

``LINEWATCH_SPEED_GUARD=0`` skips it (tools/test.sh honours that, for a quick local run).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKS = {
    "live": ["bench/bench_live_plot.py", "--check"],
    "parser": ["bench/bench_parse_ascii.py", "--check"],
    "open": ["bench/bench_open_file.py", "--check"],
    "inference": ["bench/bench_inference.py", "--check"],
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(CHECKS),
                    help=f"comma-separated subset of {', '.join(CHECKS)}")
    args = ap.parse_args(argv)
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in CHECKS]
    if unknown:
        ap.error(f"unknown check(s): {', '.join(unknown)}")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    failed = []
    print(f"speed guard: {', '.join(wanted)} (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)", flush=True)
    for name in wanted:
        tic = time.perf_counter()
        done = subprocess.run([sys.executable, *CHECKS[name]], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)
        lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
        for line in lines:
            print(f"  {line}")
        if done.returncode != 0:
            failed.append(name)
            if not any("FAIL" in ln for ln in lines):
                print(done.stderr[-3000:])
        print(f"  ({name}: {time.perf_counter() - tic:.0f} s)", flush=True)
    if failed:
        print(f"speed guard FAILED: {', '.join(failed)}")
        return 1
    print("speed guard passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
