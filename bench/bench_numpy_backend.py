"""Fault-model inference speed, numpy backend vs torch, in one process.

    .venv/bin/python bench/bench_numpy_backend.py [--model fault-cwru] [--batch 256]
        [--seconds 3] [--threads N] [--json]

Both run ``FaultPredictor.predict_windows_scored`` (the card's z-score, probabilities and
open-set energy) on the same random 2048-sample windows, batch 256 by default. The numpy
backend is what the lean build (no torch) runs; torch threads are set with ``--threads``
(default: torch's own choice), numpy's matrix products use the BLAS threads numpy came with.
Not a test; figures go into the README's lean-build paragraph.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from bench_inference import rate  # noqa: E402  (the one windows/s meter of the benches)


def main(argv: list[str] | None = None) -> int:
    from desktop.ml.inference.predictors import FaultPredictor, load_predictor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fault-cwru")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    lean = load_predictor(args.model, device="cpu", backend="numpy")
    full = load_predictor(args.model, device="cpu", threads=args.threads, backend="torch")
    assert isinstance(lean, FaultPredictor) and isinstance(full, FaultPredictor)
    windows = np.random.default_rng(0).standard_normal((args.batch, lean.card.window))
    p_n, e_n = lean.predict_windows_scored(windows, batch=args.batch)
    p_t, e_t = full.predict_windows_scored(windows, batch=args.batch)
    import torch

    out = {
        "model": args.model, "architecture": lean.card.architecture,
        "window": lean.card.window, "batch": args.batch, "cpu": platform.processor() or
        platform.machine(), "torch_threads": torch.get_num_threads(),
        "numpy_windows_per_s": round(rate(
            lambda: lean.predict_windows_scored(windows, batch=args.batch), args.batch,
            args.seconds), 1),
        "torch_windows_per_s": round(rate(
            lambda: full.predict_windows_scored(windows, batch=args.batch), args.batch,
            args.seconds), 1),
        "max_abs_diff_probabilities": float(np.abs(p_n - p_t).max()),
        "max_abs_diff_energy": float(np.abs(e_n - e_t).max()),
    }
    out["numpy_over_torch"] = round(out["numpy_windows_per_s"] / out["torch_windows_per_s"], 3)
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>28}: {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
