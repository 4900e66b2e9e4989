"""Issue 24 item 8: a big Parquet recording opened and judged.

A Parquet file like a logger's export (``time_s`` + 8 channels, 4 float32 and 4 float64,
20 kHz, written in 1 M-row groups with pyarrow, uncompressed so its size is what it holds)
is made in a temp folder: 20 MB in short mode, 5 GB under ``LINEWATCH_DRILLS=long``
(``LINEWATCH_BIG_PARQUET_MB`` overrides). Then, each in its own process:

- opened as the window opens a file (``bench/bench_open_file.py --child cold|warm``:
  ``index_file`` on a worker thread, the first drawable view drawn on 8 pyqtgraph
  curves): first draw, the end of indexing, peak RSS against the file's size, and the
  reopen from the cache;
- judged whole (``linewatch predict FILE --json --channel ch0``, the fault model) under
  ``/usr/bin/time -v``: wall time and peak RSS.

The file and the cache are deleted afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from tests.support.drill import ROOT, env, pick, report

RATE = 20_000.0
GROUP_ROWS = 1_000_000
BYTES_PER_ROW = 8 + 4 * 4 + 4 * 8  # time_s float64, ch0-ch3 float32, ch4-ch7 float64


def make_parquet(path: Path, mb: float) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = int(mb * 1e6 / BYTES_PER_ROW)
    rng = np.random.default_rng(24)
    schema = pa.schema([("time_s", pa.float64())]
                       + [(f"ch{i}", pa.float32() if i < 4 else pa.float64()) for i in range(8)])
    # One group's worth of signal (tones + noise) made once and reused, so that 5 GB is
    # written in a few minutes; each group gets its own time column and spike positions.
    n = min(GROUP_ROWS, rows)
    t = np.arange(n) / RATE
    block = [(np.sin(2 * np.pi * (29.0 + 7 * i) * t) + 0.1 * rng.standard_normal(n))
             .astype(np.float32 if i < 4 else np.float64) for i in range(8)]
    with pq.ParquetWriter(path, schema, compression="NONE", use_dictionary=False,
                          write_statistics=False) as writer:
        for start in range(0, rows, GROUP_ROWS):
            k = min(GROUP_ROWS, rows - start)
            cols = [pa.array((start + np.arange(k)) / RATE)]
            for i in range(8):
                x = block[i][:k].copy()
                x[rng.integers(k)] = 25.0  # a spike a group: the whole-file view keeps it
                cols.append(pa.array(x))
            writer.write_table(pa.Table.from_arrays(cols, schema=schema),
                               row_group_size=GROUP_ROWS)
    return path


def _time_v(stderr: str) -> tuple[float, float]:
    """(wall s, peak RSS MB) from ``/usr/bin/time -v``."""
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", stderr)
    assert peak and wall, stderr[-2000:]
    secs = 0.0
    for part in wall.group(1).split(":"):
        secs = secs * 60 + float(part)
    return secs, int(peak.group(1)) / 1024


def _bench_child(case: str, path: Path, home: Path) -> dict:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_open_file.py"), "--child", case,
         "--path", str(path)], capture_output=True, text=True, cwd=ROOT,
        env=env(QT_QPA_PLATFORM="offscreen", LINEWATCH_HOME=str(home)),
        timeout=pick(240, 3 * 3600))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(pick(300, 3 * 3600))
@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="needs GNU time")
def test_big_parquet_is_opened_and_judged(tmp_path: Path) -> None:
    mb = float(os.environ.get("LINEWATCH_BIG_PARQUET_MB", "0")) or pick(20.0, 5000.0)
    work = Path(os.environ.get("LINEWATCH_BIG_PARQUET_DIR", tmp_path))
    work = Path(tempfile.mkdtemp(prefix="lw-big-parquet-", dir=work))
    try:
        tic = time.monotonic()
        path = make_parquet(work / "big.parquet", mb)
        made_s = time.monotonic() - tic
        size_mb = path.stat().st_size / 1e6
        rows = int(mb * 1e6 / BYTES_PER_ROW)

        # Open it as the window does: the bench's cold open and its reopen from the cache,
        # each in a process of its own (their peak RSS is their own).
        home = work / "home"
        cold, warm = (_bench_child(case, path, home) for case in ("cold", "warm"))
        cache_mb = sum(f.stat().st_size for f in (home / "cache").rglob("*")
                       if f.is_file()) / 1e6
        assert cold["rows"] == rows and warm["rows"] == rows
        assert cold["spikes_kept"] and warm["spikes_kept"]

        # Judge it whole: the fault model on one channel.
        judged = subprocess.run(
            ["/usr/bin/time", "-v", sys.executable, "-m", "desktop", "predict", str(path),
             "--json", "--channel", "ch0", "--quiet"], capture_output=True, text=True,
            cwd=ROOT, env=env(LINEWATCH_HOME=str(home)), timeout=pick(240, 3 * 3600))
        assert judged.returncode == 0, judged.stderr[-3000:]
        assert "Traceback" not in judged.stderr
        wall_s, peak_mb = _time_v(judged.stderr)
        verdict = json.loads(judged.stdout)
        windows = len(verdict.get("windows") or verdict.get("verdicts") or [])
        report("big-parquet", file_mb=round(size_mb, 1), rows=rows, made_s=round(made_s, 1),
               first_draw_s=cold["first_draw_s"], indexed_s=cold["indexed_s"],
               open_peak_rss_mb=cold["peak_rss_mb"],
               open_peak_rss_x_file=round(cold["peak_rss_mb"] / size_mb, 2),
               open_anon_mb_end=cold["anon_mb_end"], reopen_s=warm["first_draw_s"],
               reopen_peak_rss_mb=warm["peak_rss_mb"], cache_mb=round(cache_mb, 1),
               redraw_ms_p95=cold["redraw_ms_p95"], predict_wall_s=round(wall_s, 1),
               predict_peak_rss_mb=round(peak_mb, 1),
               predict_peak_rss_x_file=round(peak_mb / size_mb, 2), windows=windows,
               load_avg=[round(x, 2) for x in os.getloadavg()])
        assert windows > 0, verdict
        assert warm["first_draw_s"] < 5.0  # the reopen is from the cache
        if size_mb >= 1000:  # the targets of a big file (bench_open_file.py's, per GB)
            # Run for issue 24 (5 GB, load ~8 on 2 cores) these failed: a Parquet file
            # Linewatch did not write was read whole before the first draw (115 s, peak
            # RSS 13.7 GB = 2.7x the file) and predict read it whole too (16.0 GB). Since
            # it streams by row group: 2.9 s, 0.19x; predict 0.13x (load ~10).
            assert cold["first_draw_s"] <= 5.0 * size_mb / 1000, cold
            assert cold["peak_rss_mb"] <= 1.5 * size_mb, cold
            assert peak_mb <= 1.5 * size_mb, peak_mb
    finally:
        shutil.rmtree(work, ignore_errors=True)
