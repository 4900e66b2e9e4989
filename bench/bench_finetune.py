"""Fine-tuning on a "new rig" from a few labelled seconds: accuracy before/after, time, forgetting.

The check (docs/finetune.md):

* base model: the shipped ``fault-cwru`` recipe trained on the **0 hp** CWRU files only
  (trained here once with the existing code and cached under ``/tmp``);
* the new rig: the **1 hp** files. Its classes are the 9 fault classes of the base (CWRU has
  no healthy recording at 1 hp) plus one class the base has never seen, outer race damage
  at 3 o'clock (``OR021@3``), so the head must grow;
* labels: ``--spans`` (default 4) spans of 1 s per class from the *start* of each 1 hp file,
  exactly what an engineer would mark on the timeline; 25 % of the events are held out by
  event inside :func:`desktop.ml.training.finetune.finetune` for early stopping;
* test: the **rest** of every 1 hp file (from the end of the last span), windows of 2048
  with hop 1024, through the published model folder and the normal inference path;
* forgetting: accuracy on the base's original classes on the 0 hp validation region
  (last 20 % of each 0 hp file), before and after;
* naive baseline: the base model without fine-tuning on the same test windows (windows of
  the new class count as wrong for it; its accuracy on the known classes is shown too).

Run: ``.venv/bin/python bench/bench_finetune.py [--data DIR] [--spans 4] [--seeds 0 1 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NEW_CLASS_FILE = "12k_Drive_End_OR021@3_1_247.mat"
NEW_CLASS = "outer_021_at3"
CACHE = Path(tempfile.gettempdir()) / "lw-bench-ft"
EVAL_HOP = 1024


def base_model(data: Path) -> Path:
    """The 0 hp-only base model, trained once with the shipped recipe and cached."""
    from desktop.ml.training.recipes import FAULT_CWRU, train_fault_cwru

    out = CACHE / f"base-0hp-x{FAULT_CWRU.members}"  # the recipe's ensemble size
    if not (out / "card.json").exists():
        t0 = time.perf_counter()
        print("training the 0 hp base model (shipped recipe, loads 0 only) …", flush=True)
        train_fault_cwru(data, out, FAULT_CWRU, loads=(0,),
                         command="bench_finetune base: train_fault_cwru(loads=(0,))")
        print(f"  {time.perf_counter() - t0:.1f} s, cached in {out}")
    return out


def new_rig(data: Path, n_spans: int, channel: str = "DE_time"):
    """Label spans (first ``n_spans`` s of each 1 hp file) and the test windows (the rest)."""
    from desktop.analysis.windows import frame
    from desktop.labels.event import LabelEvent
    from desktop.ml.training.data_cwru import list_files, load_signal, parse_name

    files = [f for f in list_files(data, (1,)) if f.label != "normal"]
    extra = parse_name(data / NEW_CLASS_FILE)
    assert extra is not None
    rig = [(f, f.label) for f in files] + [(extra, NEW_CLASS)]
    spans, test = [], []
    for f, label in rig:
        spans += [LabelEvent(None, str(f.path), float(i), float(i + 1), label, channel)
                  for i in range(n_spans)]
        x = load_signal(f, channel)
        w = frame(x[int(n_spans * 12000):], 2048, EVAL_HOP)
        test.append((label, np.asarray(w)))
    return spans, test


def accuracy(predictor, test, known: set[str] | None = None) -> float:
    hits = total = 0
    for label, w in test:
        if known is not None and label not in known:
            continue
        pred = predictor.predict_windows(w).argmax(1)
        hits += int(np.sum(np.array(predictor.classes)[pred] == label))
        total += w.shape[0]
    return hits / total


def scenario(args: argparse.Namespace, base_dir: Path, channel: str) -> list[dict]:
    """Fine-tune every mode on one sensor of the new rig; print and return the table rows."""
    import torch

    from desktop.ml.inference.predictors import load_predictor
    from desktop.ml.training.finetune import DEFAULT_MODE, finetune

    spans, test = new_rig(args.data, args.spans, channel)
    n_test = sum(w.shape[0] for _, w in test)
    base = load_predictor(base_dir, device="cpu")
    known = set(base.classes)
    base_all = accuracy(base, test)
    base_known = accuracy(base, test, known)
    print(f"\nnew rig, channel {channel}: {len(test)} classes ({NEW_CLASS} new), {args.spans} "
          f"labelled 1 s spans per class, test = rest of each 1 hp file: {n_test} windows; "
          f"torch threads {torch.get_num_threads()}")
    rows = [{"mode": "base (no fine-tune)", "seed": "-", "acc": base_all, "acc_known": base_known,
             "orig": None, "seconds": 0.0, "epochs": 0, "replay": "-"}]
    # The default mode once more without replay: what replay buys against forgetting.
    configs = [(m, 0.25) for m in args.modes] + [(DEFAULT_MODE, 0.0)]
    for seed in args.seeds:
        for mode, replay in configs:
            if mode not in args.modes:
                continue
            t0 = time.perf_counter()
            r = finetune(base_dir, spans, f"rig-{channel}-{mode}", mode=mode, epochs=args.epochs,
                         replay=replay, seed=seed, replay_data=args.data)
            seconds = time.perf_counter() - t0
            pred = load_predictor(f"rig-{channel}-{mode}@{r.version}", device="cpu")
            rows.append({"mode": mode, "seed": seed, "acc": accuracy(pred, test),
                         "acc_known": accuracy(pred, test, known),
                         "orig": r.original_classes_accuracy,
                         "orig_base": r.base_original_classes_accuracy,
                         "heldout": r.heldout["accuracy"] if r.heldout else None,
                         "seconds": seconds, "epochs": r.epochs_run, "replay": replay})
            print(f"  {mode:<8} seed {seed} replay {replay:.2f}: {rows[-1]['acc']:.2%} "
                  f"in {seconds:.1f} s", flush=True)
    orig_base = next((r["orig_base"] for r in rows if r.get("orig_base") is not None), None)
    print()
    print(f"| mode                | replay | seed | new rig, all 10 classes | 9 known classes "
          f"| 0 hp original classes (base {orig_base:.1%}) | epochs | seconds |"
          if orig_base is not None else "| mode | replay | seed | all | known | orig | "
                                        "epochs | seconds |")
    print("|---------------------|--------|------|-------------------------|-----------------"
          "|-------------------------------------|--------|---------|")
    for r in rows:
        orig = f"{r['orig']:.1%}" if r["orig"] is not None else "-"
        replay = r["replay"] if isinstance(r["replay"], str) else f"{r['replay']:.2f}"
        print(f"| {r['mode']:<19} | {replay:>6} | {r['seed']!s:>4} | {r['acc']:>23.1%} "
              f"| {r['acc_known']:>15.1%} | {orig:>35} | {r['epochs']:>6} "
              f"| {r['seconds']:>7.1f} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True,
                   help="folder of CWRU .mat files (e.g. ../shared/data/cwru); also the "
                        "replay data of the 0 hp base model")
    p.add_argument("--spans", type=int, default=4, help="1 s spans labelled per class (≤ 10)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--modes", nargs="+", default=["head", "adapter", "full"])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--channels", nargs="+", default=["DE_time", "FE_time"],
                   help="sensor of the new rig: DE_time (as the base; the specified check) "
                        "and/or FE_time (fan end: another sensor position, the hard check)")
    p.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    args = p.parse_args(argv)
    if not args.data.is_dir():
        print(f"{args.data} not found: this bench needs the CWRU files", file=sys.stderr)
        return 2
    os.environ["LINEWATCH_HOME"] = tempfile.mkdtemp(prefix="lw-bench-ft-home-")
    import torch

    torch.set_num_threads(args.threads)
    base_dir = base_model(args.data)
    all_rows = {}
    for channel in args.channels:
        all_rows[channel] = scenario(args, base_dir, channel)
    if args.json:
        args.json.write_text(json.dumps(all_rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
