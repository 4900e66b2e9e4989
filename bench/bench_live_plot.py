"""Live plotting: the real window vs pyqtgraph's own tools, same source, same machine, same run.

Run: .venv/bin/python bench/bench_live_plot.py [--source synth:16x20000] [--seconds 10]
     [--json]    (offscreen by default; set QT_QPA_PLATFORM=xcb under Xvfb to compare)

"ours" is `linewatch --source SOURCE --measure SECONDS` (the real window: one timer,
ring-buffer views decimated to ≤ 2 points per pixel, curves made once, the last 10 s shown).
The two baselines use the same acquisition worker and 60 s ring buffer, and every frame
call setData with the whole history of every channel:
- "naive": the textbook loop, autoranged over the whole history;
- "pg-peak": the strongest simple alternative, pyqtgraph's own
  ``setDownsampling(auto=True, mode='peak')`` + ``setClipToView(True)`` on each plot, with
  the view following the last 10 s like ours (so clipping has something to clip).
Each runs in its own process, one after the other. Targets for ours at 16 × 20 kHz:
≥ 50 FPS p50, p95 frame interval ≤ 40 ms, 0 samples dropped. "FPS p95" is 1000 / p95 frame
interval: the rate the slowest 5 % of frames fall to.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def run_ours(source: str, seconds: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    done = subprocess.run([sys.executable, "-m", "desktop", "--source", source, "--measure",
                           str(seconds)], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=seconds + 120)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


SPAN_S = 10.0  # what the real window shows by default (LivePlot.span_s)
BASELINES = ("naive", "pg-peak")


def run_baseline(mode: str, source: str, seconds: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    done = subprocess.run([sys.executable, __file__, "--baseline-child", mode, "--source",
                           source, "--seconds", str(seconds)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=seconds + 120)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_child(mode: str, source: str, seconds: float) -> None:
    """Full-history setData every frame; ``pg-peak`` lets pyqtgraph downsample and clip."""
    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.app import source_from_options
    from desktop.ui.frame_stats import FrameStats
    from desktop.workers.acquisition_worker import AcquisitionThread, AcquisitionWorker

    app = QApplication(sys.argv[:1])
    win = pg.GraphicsLayoutWidget()
    win.resize(1200, 760)
    win.show()
    stats = FrameStats()
    worker = AcquisitionWorker(lambda: source_from_options(source, {}), 60.0)
    thread = AcquisitionThread(worker)
    thread.start()
    curves: list = []
    plots: list = []

    def frame() -> None:
        started = time.perf_counter()
        acq = worker.acquisition
        drew = False
        if acq is not None and acq.buffer is not None:
            snap = acq.buffer.latest()  # the whole history, every frame
            if not curves:
                for i in range(snap.values.shape[1]):
                    plot = win.addPlot(row=i, col=0)
                    if mode == "pg-peak":
                        plot.setDownsampling(auto=True, mode="peak")
                        plot.setClipToView(True)
                    plots.append(plot)
                    curves.append(plot.plot(pen=pg.intColor(i)))
            for i, curve in enumerate(curves):
                curve.setData(snap.times, snap.values[:, i])
            drew = snap.times.size > 0
            if drew and mode == "pg-peak":
                last = float(snap.times[-1])
                for plot in plots:
                    plot.setXRange(last - SPAN_S, last, padding=0)
        stats.frame(drew, (time.perf_counter() - started) * 1000)

    timer = QTimer()
    timer.setInterval(16)
    timer.timeout.connect(frame)
    timer.start()
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    counters = worker.acquisition.counters if worker.acquisition else None
    thread.stop()
    result = dict(stats.summary())
    result.update({"received": counters.received if counters else 0,
                   "dropped": counters.dropped if counters else 0})
    print(json.dumps(result))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--source", default="synth:16x20000")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--baseline-child", choices=BASELINES, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.baseline_child:
        baseline_child(args.baseline_child, args.source, args.seconds)
        return
    results = {"ours": run_ours(args.source, args.seconds)}
    for mode in BASELINES:
        results[mode] = run_baseline(mode, args.source, args.seconds)
    for r in results.values():
        r["fps_p95"] = round(1000.0 / r["frame_ms_p95"], 1) if r["frame_ms_p95"] > 0 else None
    if args.json:
        print(json.dumps(results))
        return
    print(f"{args.source}, {args.seconds:g} s each, 60 s history, QT_QPA_PLATFORM="
          f"{os.environ.get('QT_QPA_PLATFORM', 'offscreen')}")
    print(f"{'':9}{'FPS p50':>9}{'FPS p95':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          f"{'received':>11}{'dropped':>9}{'RSS MB':>8}")
    for name, r in results.items():
        print(f"{name:9}{r['fps_p50'] or 0:>9.1f}{r['fps_p95'] or 0:>9.1f}"
              f"{r['frame_ms_p50']:>9.1f}{r['frame_ms_p95']:>9.1f}{r['frame_ms_p99']:>9.1f}"
              f"{r['received']:>11,}{r['dropped']:>9,}{r['peak_rss_mb']:>8.0f}")
    ours = results["ours"]
    ok = (ours["fps_p50"] or 0) >= 50 and ours["frame_ms_p95"] <= 40 and ours["dropped"] == 0
    print(f"target (≥ 50 FPS p50, p95 ≤ 40 ms, 0 dropped) met by ours: {ok}")


if __name__ == "__main__":
    main()
