"""Reproduce the fault model's development numbers: the cross-load ablation in docs/ml.md.

    .venv/bin/python tools/train_fault_cwru.py --data PATH/TO/cwru \
        --seeds 0 1 2 --out docs/ml-ablation.json

Each variant is trained on one motor load and tested on the other (0 → 1 hp and 1 → 0 hp;
the healthy class, recorded at 0 hp only, is split by time: first 70 % train, last 30 %
test), for every seed, and evaluated without AdaBN, with AdaBN over the whole test domain
(the published setting) and with AdaBN per test file (what a single live recording gives).

The shipped model itself is made by ``linewatch train --recipe fault-cwru`` (same code).
``--only "one network"`` or ``--only ensemble`` runs one variant (the ensemble takes
~6 minutes per pair and seed on two cores).

``--make-fixture tests/fixtures/cwru_excerpt.npz`` cuts the small real excerpt the unit
tests predict on (see :func:`make_fixture`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from desktop.ml.training.recipes import FAULT_CWRU, cross_load_eval  # noqa: E402
from desktop.ml.training.train import TrainConfig  # noqa: E402

SINGLE = replace(FAULT_CWRU, members=1)
VARIANTS: dict[str, TrainConfig] = {
    "baseline WDCNN (raw g, no augmentation)":
        replace(SINGLE, normalisation="none", speed_jitter=0.0, noise_probability=0.0),
    "+ per-window z-score":
        replace(SINGLE, speed_jitter=0.0, noise_probability=0.0),
    "+ speed ±5 % resampling (one network)": SINGLE,
    "+ speed ±5 % + noise (p 0.5, SNR 6-30 dB)":
        replace(SINGLE, noise_probability=0.5),
    # Seed s trains members s … s + members - 1: five times the time of one network.
    f"+ speed ±5 %, ensemble of {FAULT_CWRU.members} (shipped recipe)": FAULT_CWRU,
}
PAIRS = (((0,), (1,)), ((1,), (0,)))
MODES = ("none", "domain", "per_file")


#: Test fixture: (label, file, how many 12 kHz samples to skip before the end of the file).
#: The excerpts are 3 windows (6144 samples) from the last 20 % of each file, the region
#: the shipped model holds out for validation; fault excerpts are from 1 hp files.
FIXTURE = (("normal", "normal_0_97_part1.mat"),
           ("ball_007", "12k_Drive_End_B007_1_119.mat"),
           ("inner_021", "12k_Drive_End_IR021_1_210.mat"),
           ("outer_007", "12k_Drive_End_OR007@6_1_131.mat"))
FIXTURE_SAMPLES, FIXTURE_END_GAP = 6144, 1024


def make_fixture(data_dir: Path, out: Path) -> None:
    """Write ``out`` (.npz, float32 DE_time excerpts at 12 kHz, no pickles) + a .json note."""
    from desktop.ml.training.data_cwru import load_signal, parse_name

    arrays, notes = {}, []
    for label, name in FIXTURE:
        f = parse_name(data_dir / name)
        assert f is not None and f.label == label
        x = load_signal(f)  # 12 kHz (the healthy 48 kHz file through resample_poly(x, 1, 4))
        stop = x.shape[0] - FIXTURE_END_GAP
        start = stop - FIXTURE_SAMPLES
        arrays[label] = x[start:stop].astype(np.float32)
        notes.append({"label": label, "file": name, "load_hp": f.load_hp,
                      "range_12k": [start, stop]})
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    out.with_suffix(".json").write_text(json.dumps({
        "source": "CWRU Bearing Data Center (engineering.case.edu/bearingdatacenter); "
                  "cite the Bearing Data Center",
        "channel": "DE_time, g", "sample_rate": 12000, "excerpts": notes,
        "made_by": "tools/train_fault_cwru.py --make-fixture " + str(out),
        "note": "the normal excerpt overlaps the demo rig's healthy segment "
                "(resources/demo); fault excerpts are 1 hp, not in the demo"}, indent=1) + "\n",
        encoding="utf-8")


def stretch_check(data_dir: Path, model: str = "fault-cwru") -> None:
    """A proxy for slower shafts (heavier loads): the validation region (last 20 %) of every
    training-load file, stretched in time as if the shaft turned 2.4-6 % slower, through
    the shipped model. Speed only: a real load change also changes the vibration itself."""
    from scipy.signal import resample_poly

    from desktop.ml.inference.predictors import load_predictor
    from desktop.ml.training.data_cwru import list_files, load_signal

    predictor = load_predictor(model, device="cpu")
    files = list_files(data_dir, (0, 1))
    for stretch in (1000, 1024, 1039, 1060):
        hits = total = 0
        for f in files:
            x = load_signal(f)
            y = resample_poly(x[int(0.8 * len(x)):], stretch, 1000)
            verdicts = predictor.predict_signal(y, 12000.0, hop=1024)
            hits += sum(v.label == f.label for v in verdicts)
            total += len(verdicts)
        print(f"stretch x{stretch / 1000:.3f}: {hits / total:.2%} of {total} windows right")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True,
                   help="folder of CWRU .mat files (e.g. ../shared/data/cwru)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=FAULT_CWRU.epochs)
    p.add_argument("--only", default="", help="run only variants whose name contains this")
    p.add_argument("--out", type=Path, default=None, help="write all results as JSON here")
    p.add_argument("--make-fixture", type=Path, default=None,
                   help="only write the unit-test excerpt (.npz) to this path")
    p.add_argument("--stretch-check", action="store_true",
                   help="only run the slower-shaft proxy check on the shipped model")
    args = p.parse_args(argv)
    if args.stretch_check:
        stretch_check(args.data)
        return 0
    if args.make_fixture:
        make_fixture(args.data, args.make_fixture)
        return 0
    runs = []
    for name, cfg in VARIANTS.items():
        if args.only not in name:
            continue
        for (tr, te) in PAIRS:
            for seed in args.seeds:
                t0 = time.perf_counter()
                r = cross_load_eval(args.data, tr, te, replace(cfg, seed=seed, epochs=args.epochs),
                                    MODES)
                runs.append({"variant": name, "seed": seed, **r})
                print(f"{name} | {tr}->{te} seed {seed} | "
                      + " ".join(f"{m}: {r[f'adabn_{m}']['accuracy']:.4f}/"
                                 f"{r[f'adabn_{m}']['location_accuracy']:.4f}" for m in MODES)
                      + f" | {time.perf_counter() - t0:.0f}s", flush=True)
    print("\nmean over pairs and seeds: 10-class / location window accuracy")
    print("| variant | pair | no AdaBN | AdaBN (whole test domain) | AdaBN (per file) |")
    print("|---|---|---|---|---|")
    for name in dict.fromkeys(r["variant"] for r in runs):
        for pair in [*(f"{tr[0]}→{te[0]} hp" for tr, te in PAIRS), "mean"]:
            sel = [r for r in runs if r["variant"] == name
                   and (pair == "mean" or f"{r['train_loads'][0]}→{r['test_loads'][0]} hp" == pair)]
            cells = []
            for m in MODES:
                acc = np.mean([r[f"adabn_{m}"]["accuracy"] for r in sel]) * 100
                loc = np.mean([r[f"adabn_{m}"]["location_accuracy"] for r in sel]) * 100
                lo = min(r[f"adabn_{m}"]["accuracy"] for r in sel) * 100
                cells.append(f"{acc:.1f} % (min {lo:.1f}) / {loc:.1f} %")
            print(f"| {name} | {pair} | " + " | ".join(cells) + " |")
    if args.out:
        args.out.write_text(json.dumps(runs, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
