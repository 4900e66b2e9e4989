"""New-rig proxy for "a new machine from a few labels" (docs/finetune.md, docs/ml.md).

    PYTHONPATH=. .venv/bin/python tools/new_rig_proxy.py --data PATH/TO/cwru \
        --model fault-cwru --out /tmp/new_rig.json

Built from what the CWRU folder has, to resemble the judged rig (~48.8 kHz, inner vs
outer race, other loads) — the real judge is a different rig:
- sensor: the **fan-end** accelerometer (``FE_time``), never seen by the model;
- rate: resampled 12 kHz → 48,828 Hz and stored as .mat with ``fs`` (the model takes it
  back to 12 kHz through the normal input path);
- classes: ``inner`` = IR007/014/021 (IR028 has no fan-end channel), ``outer`` =
  OR007/OR021 at **@3 and @12** (positions the model never saw); two new class names;
- labels: 9 spans of 1 s per class, all at one load (``--label-load``, 0 hp by default;
  spread over the class's files, from the first 60 % of each); test: every window of the
  other load's files and, apart, the last 40 % of the labelled load's files.
``--sensor BA`` uses the base accelerometer instead (a second configuration: settings were
chosen on FE, 0 hp labels; BA and 1 hp labels are reported, not tuned on).
Compared: the base model as is (its location inner_race/outer_race, zero-shot);
calibrated (AdaBN, all batch norms) from unlabelled rig data; fine-tuned with the
default recipe (``full``, replay 0.25, augmentation with a random filter, envelope branch)
and with the previous recipe (neither); calibrated then fine-tuned (default recipe).
Calibration data: ``rig-all`` = every rig recording, both loads, no labels (the published
AdaBN setting); ``labelled-load`` = the labelled load's recordings only.
``--seeds``: fine-tune seeds.
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
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RIG_RATE = 48828.0
INNER = ("IR007", "IR014", "IR021", "IR028")
OUTER = ("OR007@3", "OR007@12", "OR021@3", "OR021@12")


def build_rig(data: Path, out: Path, sensor: str = "FE") -> list[dict]:
    from scipy.io import loadmat, savemat

    from desktop.analysis.windows import resample

    files = []
    for group, kinds in (("inner", INNER), ("outer", OUTER)):
        for kind in kinds:
            for p in sorted(data.glob(f"12k_Drive_End_{kind}_*.mat")):
                load = int(p.stem.split("_")[-2])
                d = loadmat(str(p))
                key = next((k for k in d if k.endswith(f"{sensor}_time")), None)
                if key is None:  # a few CWRU files carry no fan-end/base channel
                    continue
                x = resample(np.asarray(d[key], float).ravel(), 12000.0, RIG_RATE)
                dst = out / f"rig_{kind.replace('@', 'at')}_{load}hp.mat"
                savemat(str(dst), {"FE_accel": x[:, None], "fs": RIG_RATE})
                files.append({"path": str(dst), "group": group, "load": load,
                              "seconds": x.shape[0] / RIG_RATE})
    return files


def spans(files: list[dict], label_load: int = 0):
    from desktop.labels.event import LabelEvent

    events = []
    for group in ("inner", "outer"):
        fs = [f for f in files if f["group"] == group and f["load"] == label_load]
        for i in range(9):
            f = fs[i % len(fs)]
            k = i // len(fs)  # 0, 1, 2: spread in the first 60 %
            start = (0.05 + 0.2 * k) * f["seconds"]
            events.append(LabelEvent(None, f["path"], start, start + 1.0, group,
                                     channel="FE_accel"))
    return events


def group_of(label: str) -> str:
    return "inner" if label.startswith("inner") else "outer" if label.startswith("outer") \
        else "other"


def score(model: str, files: list[dict], label_load: int = 0) -> dict:
    from desktop.ml.inference.predictors import load_predictor
    from desktop.recording.readers import read_recording

    p = load_predictor(model, device="cpu", threads=1)
    res: dict = {}
    for name, sel in (("other_load", lambda f: f["load"] != label_load),
                      ("same_load_unlabelled", lambda f: f["load"] == label_load)):
        right = total = unknown = 0
        per_file = {}
        for f in filter(sel, files):
            rec = read_recording(Path(f["path"]))
            x = rec.values[:, 0]
            if f["load"] == label_load:
                x = x[int(0.6 * x.shape[0]):]
            v = p.predict_signal(x, rec.effective_rate())
            # an ``unknown`` verdict counts as wrong; its best class is counted apart
            ok = sum(group_of(w.label) == f["group"] for w in v)
            right += ok
            unknown += sum(w.label == "unknown" for w in v)
            total += len(v)
            per_file[Path(f["path"]).stem] = round(ok / max(1, len(v)), 3)
        res[name] = {"accuracy": round(right / total, 4), "windows": total,
                     "unknown_share": round(unknown / total, 4),
                     "below_90_percent": {k: v for k, v in per_file.items() if v < 0.9}}
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", default="fault-cwru")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--sensor", default="FE", choices=("FE", "BA"))
    ap.add_argument("--label-load", type=int, default=0, choices=(0, 1))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--only", default=None, help="run only the fine-tunes whose tag has this")
    ap.add_argument("--skip-calibration", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("LINEWATCH_HOME", tempfile.mkdtemp(prefix="lw-rig-"))
    import torch

    torch.set_num_threads(2)
    from desktop.ml.training.calibrate import calibrate
    from desktop.ml.training.finetune import finetune
    from desktop.recording.readers import read_recording

    rig = Path(tempfile.mkdtemp(prefix="rig-"))
    files = build_rig(args.data, rig, args.sensor)
    ev = spans(files, args.label_load)
    results: dict = {"model": args.model, "label_events": len(ev), "rig_rate": RIG_RATE,
                     "sensor": args.sensor, "label_load_hp": args.label_load,
                     "seeds": args.seeds}
    results["base"] = score(args.model, files, args.label_load)
    print("base", results["base"], flush=True)
    for which, sel in (("rig-all", lambda f: True),
                       ("labelled-load", lambda f: f["load"] == args.label_load)):
        if args.skip_calibration and which != "rig-all":
            continue
        sig = np.concatenate([read_recording(Path(f["path"])).values[:, 0]
                              for f in files if sel(f)])
        t0 = time.perf_counter()
        name = f"rig-cal-{which}"
        calibrate(args.model, sig, RIG_RATE, name)
        results[f"calibrated_{which}"] = {**score(name, files, args.label_load),
                                          "seconds": round(time.perf_counter() - t0, 1)}
        print(which, results[f"calibrated_{which}"], flush=True)
    for tag, base, new in (("finetuned", args.model, True),
                           ("finetuned_previous_recipe", args.model, False),
                           ("calibrated_rig-all_then_finetuned", "rig-cal-rig-all", True)):
        if args.only and args.only not in tag:
            continue
        runs = []
        for seed in args.seeds:
            # the proxy's labels are new classes on purpose (a rig that names them its
            # own way); since issue 22 such names are refused unless mapped explicitly
            r = finetune(base, ev, f"rig-{tag}-{seed}", seed=seed, augment=new, envelope=new,
                         class_map={"inner": "inner", "outer": "outer"})
            runs.append({**score(f"rig-{tag}-{seed}", files, args.label_load), "seed": seed,
                         "train_seconds": round(r.seconds, 1),
                         "heldout": r.heldout and r.heldout["accuracy"]})
            print(tag, runs[-1], flush=True)
        accs = [r["other_load"]["accuracy"] for r in runs]
        results[tag] = {"runs": runs, "other_load_mean": round(float(np.mean(accs)), 4),
                        "other_load_min": min(accs),
                        "train_seconds_max": max(r["train_seconds"] for r in runs)}
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
