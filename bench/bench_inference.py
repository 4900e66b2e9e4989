"""Fault-model inference speed on the CPU: windows per second at batch 1 and 64.

    .venv/bin/python bench/bench_inference.py [--model fault-cwru] [--seconds 2] [--json]

Measured in one process, beside a naive baseline: the same network run the obvious way
(float64 copy of the weights, autograd left on, one window per call). The Predictor rows
are what the app does: float32, ``torch.inference_mode``, the card's normalisation inside
``predict_windows``. Threads are torch intra-op threads (1 = what a GUI worker should use).
Not a test; figures go into docs/ml.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def rate(fn: Callable[[], None], windows_per_call: int, seconds: float) -> float:
    """Windows per second of ``fn``, after a warm-up, over at least ``seconds``."""
    for _ in range(3):
        fn()
    calls, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        fn()
        calls += 1
    return calls * windows_per_call / elapsed


#: The speed guard's floor: the model's windows/s as ``predict`` loads it (default backend
#: and threads) ÷ a numpy real FFT's windows/s over the same windows, same process,
#: interleaved, best of several. Measured here under load: 0.041-0.045 (c3478f0, torch on
#: its default threads: 0.005-0.015).
CHECK_MIN_RATIO = 0.02


def check(model: str, repeat: int, min_ratio: float) -> int:
    """The CI guard described at :data:`CHECK_MIN_RATIO`; returns the exit code."""
    from desktop.ml.inference.predictors import load_predictor

    predictor = load_predictor(model)  # what `linewatch predict` loads: default threads
    window = predictor.card.window
    data = np.random.default_rng(0).standard_normal((512, window)) * 0.2

    def model_run() -> None:
        predictor.predict_windows(data)

    fft_passes = 8  # one pass takes ~5 ms: too short to time on a shared box

    def fft_run() -> None:
        for _ in range(fft_passes):
            np.abs(np.fft.rfft(data, axis=1))

    model_run()  # warm-up
    fft_run()
    best = {"model": float("inf"), "fft": float("inf")}
    cpu = {"model": float("inf"), "fft": float("inf")}
    for _ in range(repeat):
        for name, fn in (("model", model_run), ("fft", fft_run)):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            best[name] = min(best[name], time.perf_counter() - w0)
            cpu[name] = min(cpu[name], time.process_time() - c0)
    wps = {"model": data.shape[0] / best["model"],
           "fft": fft_passes * data.shape[0] / best["fft"]}
    ratio = wps["model"] / wps["fft"]
    ok = ratio >= min_ratio
    backend = getattr(predictor, "backend", "numpy")
    print(f"inference check ({model}, {backend}, {data.shape[0]} windows of {window}, wall "
          f"time, best of {repeat}): model {wps['model']:,.0f} windows/s vs numpy rfft "
          f"{wps['fft']:,.0f} -> {ratio:.3f}x (floor {min_ratio:g}x): "
          f"{'PASS' if ok else 'FAIL'}")
    print(json.dumps({"model": model, "backend": backend,
                      "model_windows_per_s": round(wps["model"], 1),
                      "fft_windows_per_s": round(wps["fft"], 1), "ratio": round(ratio, 4),
                      "model_cpu_s": round(cpu["model"], 4), "model_wall_s":
                      round(best["model"], 4), "min_ratio": min_ratio, "ok": ok}))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    if argv is None and "--check" in sys.argv[1:]:
        cp = argparse.ArgumentParser()
        cp.add_argument("--check", action="store_true")
        cp.add_argument("--model", default="fault-cwru")
        cp.add_argument("--repeat", type=int, default=5)
        cp.add_argument("--min-ratio", type=float, default=CHECK_MIN_RATIO)
        cargs = cp.parse_args()
        return check(cargs.model, cargs.repeat, cargs.min_ratio)
    import torch

    from desktop.analysis.windows import zscore
    from desktop.ml.inference.predictors import FaultPredictor, load_predictor

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="fault-cwru")
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    p.add_argument("--json", action="store_true", help="also print one JSON line")
    p.add_argument("--check", action="store_true",
                   help="CI speed guard: windows/s as predict runs it vs a numpy FFT over "
                        "the same windows, exit 1 below the floor")
    args = p.parse_args(argv)

    predictor = load_predictor(args.model, device="cpu", backend="torch")
    if not isinstance(predictor, FaultPredictor):
        raise SystemExit("bench_inference measures torch fault models")
    window = predictor.card.window
    rng = np.random.default_rng(0)
    data = rng.standard_normal((64, window)) * 0.2

    naive = copy.deepcopy(predictor.model).double().eval()

    def naive_one() -> None:
        # The obvious loop: float64, autograd on, per-window Python normalisation.
        x = data[0]
        x = (x - x.mean()) / (x.std() + 1e-8)
        naive(torch.from_numpy(x).reshape(1, 1, -1)).softmax(1).detach().numpy()

    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        rows.append(("naive float64, autograd on", threads, 1,
                     rate(naive_one, 1, args.seconds)))
        for batch in (1, 64):
            xb = data[:batch]
            rows.append(("Predictor.predict_windows", threads, batch,
                         rate(lambda xb=xb: predictor.predict_windows(xb), batch, args.seconds)))
            # What the live engine calls: probabilities, energy, the open-set checks
            # (no-signal, band share, feature distance) and the verdict objects.
            rows.append(("Predictor.judge_windows", threads, batch,
                         rate(lambda xb=xb: predictor.judge_windows(xb), batch, args.seconds)))
        # The network alone (normalisation done once beforehand), to show what it costs.
        x64 = torch.from_numpy(zscore(data)).unsqueeze(1)
        with torch.inference_mode():
            rows.append(("network only, float32", threads, 64,
                         rate(lambda x64=x64: predictor.model(x64), 64, args.seconds)))

    print(f"{args.model}: window {window}, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, {args.seconds:g} s per row")
    print(f"| {'what':<28} | threads | batch | windows/s |")
    print(f"|{'-' * 30}|---------|-------|-----------|")
    for what, threads, batch, wps in rows:
        print(f"| {what:<28} | {threads:>7} | {batch:>5} | {wps:>9,.0f} |")
    if args.json:
        print(json.dumps({"bench": "inference", "model": args.model, "window": window,
                          "torch": torch.__version__,
                          "rows": [{"what": w, "threads": t, "batch": b,
                                    "windows_per_s": round(r, 1)} for w, t, b, r in rows]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
