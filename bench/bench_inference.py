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


def main(argv: list[str] | None = None) -> int:
    import torch

    from desktop.analysis.windows import zscore
    from desktop.ml.inference.predictors import FaultPredictor, load_predictor

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="fault-cwru")
    p.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    p.add_argument("--json", action="store_true", help="also print one JSON line")
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
