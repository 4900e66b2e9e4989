"""Quality verdicts with their ``top_features``: the occlusion shortcut vs predicting every
occluded copy, in one process.

    .venv/bin/python bench/bench_quality_explain.py [--model quality-steel] [--rows 512]
        [--data tests/fixtures/steel_excerpt.csv] [--json]

Both compute, for every part and every input column, the class probabilities with that
column set to its training median (what ``top_features`` ranks). The plain way predicts all
``rows × inputs`` occluded copies with the shipped trees; the shortcut
(``TreeLearner.occluded_proba``) walks the parts once, recording which columns each
(part, tree) path splits on, and re-walks only the paths an occlusion changes. Both run the
same numpy tree walk; the results are checked equal. The plates are the fixture's, tiled to
``--rows``. Not a test; the figure goes into docs/quality-process.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    from desktop.ml.model_files.registry import resolve
    from desktop.ml.tabular import load_model
    from desktop.ml.tabular.quality import occluded_copies_proba

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="quality-steel")
    ap.add_argument("--rows", type=int, default=512)
    ap.add_argument("--data", type=Path, default=ROOT / "tests/fixtures/steel_excerpt.csv")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    model = load_model(resolve(args.model).folder)
    if model.occluded is None:
        raise SystemExit(f"{args.model} is not a tree model: no shortcut to compare")
    X = pd.read_csv(args.data)[model.card.input_columns].to_numpy(float)
    X = np.resize(X, (args.rows, X.shape[1]))
    n, d = X.shape

    t0 = time.perf_counter()
    plain = occluded_copies_proba(model.predict_proba, X, model.median)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    fast = model.occluded(X, model.median)
    t_fast = time.perf_counter() - t0
    same = float(np.abs(fast - plain).max())
    doc = {"model": args.model, "rows": n, "inputs": d,
           "plain_s": round(t_plain, 2), "shortcut_s": round(t_fast, 2),
           "plain_parts_per_s": round(n / t_plain, 1),
           "shortcut_parts_per_s": round(n / t_fast, 1),
           "speedup": round(t_plain / t_fast, 2), "max_abs_difference": same,
           "machine": f"{platform.machine()}, {platform.python_version()}"}
    if args.json:
        print(json.dumps(doc))
    else:
        print(f"{args.model}: {n} parts × {d} occluded inputs")
        print(f"  predict every occluded copy: {t_plain:6.2f} s  ({n / t_plain:7.1f} parts/s)")
        print(f"  shortcut (touched paths):    {t_fast:6.2f} s  ({n / t_fast:7.1f} parts/s)"
              f"  ×{t_plain / t_fast:.1f}, max difference {same:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
