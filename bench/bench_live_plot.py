"""Live plotting: the real window vs naive pyqtgraph, same source, same machine, same run.

Run: .venv/bin/python bench/bench_live_plot.py [--source synth:16x20000] [--seconds 10]
     [--json]    (offscreen by default; set QT_QPA_PLATFORM=xcb under Xvfb to compare)

"ours" is `linewatch --source SOURCE --measure SECONDS` (the real window: one timer,
ring-buffer views decimated to ≤ 2 points per pixel, curves made once). "naive" is the
textbook pyqtgraph loop: the same acquisition worker and 60 s ring buffer, but every frame
calls setData with the whole history of every channel. Targets for 16 × 20 kHz:
≥ 50 FPS p50, p95 frame interval ≤ 40 ms, 0 samples dropped.
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


def run_naive(source: str, seconds: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    done = subprocess.run([sys.executable, __file__, "--naive-child", "--source", source,
                           "--seconds", str(seconds)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=seconds + 120)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def naive_child(source: str, seconds: float) -> None:
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

    def frame() -> None:
        started = time.perf_counter()
        acq = worker.acquisition
        drew = False
        if acq is not None and acq.buffer is not None:
            snap = acq.buffer.latest()  # the whole history, every frame
            if not curves:
                for i in range(snap.values.shape[1]):
                    curves.append(win.addPlot(row=i, col=0).plot(pen=pg.intColor(i)))
            for i, curve in enumerate(curves):
                curve.setData(snap.times, snap.values[:, i])
            drew = snap.times.size > 0
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
    ap.add_argument("--naive-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.naive_child:
        naive_child(args.source, args.seconds)
        return
    ours = run_ours(args.source, args.seconds)
    naive = run_naive(args.source, args.seconds)
    if args.json:
        print(json.dumps({"ours": ours, "naive": naive}))
        return
    print(f"{args.source}, {args.seconds:g} s, 60 s history, QT_QPA_PLATFORM="
          f"{os.environ.get('QT_QPA_PLATFORM', 'offscreen')}")
    print(f"{'':8}{'FPS p50':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'received':>11}"
          f"{'dropped':>9}{'RSS MB':>8}")
    for name, r in (("ours", ours), ("naive", naive)):
        print(f"{name:8}{r['fps_p50'] or 0:>9.1f}{r['frame_ms_p50']:>9.1f}"
              f"{r['frame_ms_p95']:>9.1f}{r['frame_ms_p99']:>9.1f}{r['received']:>11,}"
              f"{r['dropped']:>9,}{r['peak_rss_mb']:>8.0f}")
    ok = (ours["fps_p50"] or 0) >= 50 and ours["frame_ms_p95"] <= 40 and ours["dropped"] == 0
    print(f"target (≥ 50 FPS p50, p95 ≤ 40 ms, 0 dropped) met by ours: {ok}")


if __name__ == "__main__":
    main()
