"""Soak: the window on ``synth:16x20000`` with inference on, off-screen, for a minute (short
mode, so CI stays within its budget) or 30 minutes (long; ``LINEWATCH_SOAK_S`` overrides the
length). Frame-time p99, verdicts, RSS (start/end/max), open file handles (start/end) and the
machine's load average are reported; after warm-up RSS may not grow 10 % and no handle may
leak."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from tests.support.drill import Child, open_files, pick, report, rss_mb


def test_the_window_soaks_without_growing(tmp_path: Path) -> None:
    seconds = int(os.environ.get("LINEWATCH_SOAK_S", "0")) or pick(60, 1800)
    child = Child.linewatch("--source", "synth:16x20000", "--measure", str(seconds),
                            QT_QPA_PLATFORM="offscreen")
    samples: list[tuple[float, float, int]] = []  # (t, rss MB, open files)
    loads: list[float] = []  # the 1-minute load average, sampled each second
    started = last_progress = time.monotonic()
    try:
        while child.proc.poll() is None:
            rss, fds = rss_mb(child.pid), open_files(child.pid)
            if rss is not None and fds is not None:
                samples.append((time.monotonic() - started, rss, fds))
                loads.append(os.getloadavg()[0])
            if seconds > 300 and time.monotonic() - last_progress >= 60 and samples:
                last_progress = time.monotonic()  # a long soak says where it is
                print(f"[soak t={samples[-1][0]:.0f}s] rss={samples[-1][1]:.1f} MB "
                      f"fds={samples[-1][2]} load={loads[-1]:.2f}", flush=True)
            time.sleep(1.0)
            assert time.monotonic() - started < seconds + 600, "the window did not finish"
        child.proc.wait(timeout=60)
    finally:
        child.close()
    for pump in child._pumps:
        pump.join(timeout=10)
    assert child.proc.returncode == 0, "".join(child.stderr)
    assert "Traceback" not in "".join(child.stderr)
    result = json.loads(child.stdout[-1])
    assert result["model"] and result["verdicts"] > 0, result  # inference was on

    # Judge the settled part: start-up (torch import, model load, the first batches) took
    # 20-25 s of a 60 s run on a loaded 2-core machine (RSS 256 -> 605 MB, then flat within
    # 5 MB), so the short soak judges its last half and the long one its last 70 %.
    t = np.array([s[0] for s in samples])
    settled = t >= t[-1] * pick(0.5, 0.3)
    rss = np.array([s[1] for s in samples])[settled]
    fds = np.array([s[2] for s in samples])[settled]
    slope_mb_per_min = float(np.polyfit(t[settled] / 60.0, rss, 1)[0]) if rss.size > 2 else 0.0
    drift_mb = float(rss.max() - rss[0])  # the last samples may be the window closing
    growth = drift_mb / float(rss[0])
    all_rss = np.array([s[1] for s in samples])
    all_fds = [s[2] for s in samples]
    report("soak", seconds=seconds, frames=result["frames"],
           frame_ms_p50=result["frame_ms_p50"], frame_ms_p99=result["frame_ms_p99"],
           verdicts=result["verdicts"], peak_rss_mb=result["peak_rss_mb"],
           rss_settled_first_mb=round(float(rss[0]), 1), rss_last_mb=round(float(rss[-1]), 1),
           rss_slope_mb_per_min=round(slope_mb_per_min, 2),
           rss_start_mb=round(float(all_rss[0]), 1), rss_end_mb=round(float(all_rss[-1]), 1),
           rss_max_mb=round(float(all_rss.max()), 1), rss_growth_after_warmup=f"{growth:.1%}",
           open_files=f"{int(fds.min())}..{int(fds.max())}", fds_start=all_fds[0],
           fds_settled_start=int(fds[0]), fds_end=all_fds[-1], received=result["received"],
           dropped=result["dropped"], load_avg_mean=round(float(np.mean(loads)), 2),
           load_avg_max=round(float(np.max(loads)), 2))
    assert result["frames"] > seconds  # it drew all along (a frozen window draws none)
    assert fds.max() - fds[0] <= 3, fds  # no handle leak (closing only lowers the count)
    # No growth beyond noise: a leak of a frame's worth of points per frame would be
    # tens of MB a minute; allocator noise is a few MB.
    assert growth < 0.10, (drift_mb, float(rss[0]))  # flat RSS after warm-up
    assert drift_mb < pick(40, 60) and slope_mb_per_min < pick(20, 2), (drift_mb,
                                                                       slope_mb_per_min)

