"""Train and ship the per-part quality model ``quality-steel`` (UCI Steel Plates Faults).

    PYTHONPATH=$PWD .venv/bin/python tools/train_quality_steel.py \
        --data PATH/steel_plates_dev.csv --out models/quality-steel

Protocol (all figures go into the card and docs/quality-process.md):

1. a stratified 20 % **hold-out** is cut first (seed 0) and never used to choose anything;
2. on the other 80 %, 5-fold stratified cross-validation compares the candidates (the
   gradient-boosted trees at three settings, with and without the derived geometry
   features, a soft vote of boosted trees and extra-trees, and the torch MLP); the best
   mean accuracy wins;
3. every candidate is refitted on the 80 % and scored once on the hold-out (reported in
   the card and docs, never used to choose);
4. the winner's settings are cross-validated on the whole file (5-fold, stratified: the
   figure comparable with the published ones), then refitted on the whole file and saved;
5. calibration and reject option (issue 26, :mod:`desktop.ml.tabular.calibration`): the
   temperature and the reject threshold of the shipped model are fitted on the
   *out-of-fold* probabilities of step 4's cross-validation (every row judged by a model
   that never saw it), for ``--target-accuracy`` (default 0.95) on accepted parts;
6. figures for 5, nested, on their own split: a stratified 30 % **test** cut (seed 0)
   that nothing is fitted or chosen on; on the other 70 %, 5-fold out-of-fold
   probabilities fit the temperature and the threshold (the *calibrate* rows) and a model
   refitted on the 70 % (the *fit* rows) judges the test parts: ECE before/after,
   accuracy on accepted parts vs coverage (the curve in docs/), coverage at the target.

The numeric files are byte-identical run to run (fixed seeds, fixed zip member dates);
the card differs only in ``created`` and the ``seconds`` timings.

``--rows N`` trains on a stratified slice (tests); ``--folds`` changes k.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from desktop.ml.tabular.calibration import (  # noqa: E402
    DEFAULT_TARGET,
    ECE_BINS,
    apply_temperature,
    confidence_ece,
    coverage_curve,
    fit_calibration,
    nll,
    top_label_ece,
)
from desktop.ml.tabular.card import TabularCard  # noqa: E402
from desktop.ml.tabular.features import FEATURE_SETS, RAW  # noqa: E402
from desktop.ml.tabular.finetune import save_replay  # noqa: E402
from desktop.ml.tabular.quality import (  # noqa: E402
    FOREST_DEFAULT,
    HGB_DEFAULT,
    MLP_DEFAULT,
    cross_validate,
    make_learner,
    model_files,
    out_of_fold_proba,
    save_quality,
    split_params,
)

LABEL = "fault"
#: the shipped card's version: 2 = calibrated probabilities + reject threshold (issue 26)
SHIPPED_VERSION = "2"
#: the share of the file the calibration / reject figures are measured on (step 6)
SELECTIVE_TEST = 0.3
CLASSES = ["Pastry", "Z_Scratch", "K_Scatch", "Stains", "Dirtiness", "Bumps", "Other_Faults"]
GEOMETRY = "steel_geometry_v1"
#: slower, smaller steps with feature subsampling; set by a short exploration on the
#: tuning 80 % only (learning rate, leaves, min_samples_leaf, max_features)
HGB_TUNED = {"learning_rate": 0.03, "max_iter": 500, "max_leaf_nodes": 15,
             "min_samples_leaf": 10, "l2_regularization": 1.0, "max_features": 0.5}
CANDIDATES = {
    "hgb_default": ("hgb_trees", {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 31,
                                  "min_samples_leaf": 20, "l2_regularization": 0.0}),
    "hgb_slow": ("hgb_trees", dict(HGB_DEFAULT)),
    "hgb_tuned": ("hgb_trees", dict(HGB_TUNED)),
    "hgb_slow_geo": ("hgb_trees", {**HGB_DEFAULT, "features": GEOMETRY}),
    "hgb_et": ("hgb_forest", {"hgb": dict(HGB_TUNED), "forest": dict(FOREST_DEFAULT),
                              "weights": [0.5, 0.5]}),
    "hgb_et_geo": ("hgb_forest", {"hgb": dict(HGB_TUNED), "forest": dict(FOREST_DEFAULT),
                                  "weights": [0.5, 0.5], "features": GEOMETRY}),
    "mlp": ("mlp", dict(MLP_DEFAULT)),
}


def quick(arch: str, params: dict) -> dict:
    """Tiny settings for tests: 20 boosting iterations, 10 forest trees, 20 MLP epochs."""
    if arch == "hgb_trees":
        return {**params, "max_iter": 20}
    if arch == "hgb_forest":
        return {**params, "hgb": {**params["hgb"], "max_iter": 20},
                "forest": {**params["forest"], "n_estimators": 10}}
    return {**params, "epochs": 20}


def describe(name: str, arch: str, params: dict) -> str:
    """One line for the choice text."""
    features = split_params(arch, params)[0]
    extra = f", features {features}" if features != RAW else ""
    return f"{name} ({arch}{extra})"


def load(path: Path, rows: int | None, seed: int):
    import pandas as pd

    df = pd.read_csv(path)
    if LABEL not in df.columns:
        raise SystemExit(f"{path} has no '{LABEL}' column")
    y_text = np.array([str(v) for v in df.pop(LABEL).tolist()])
    unknown = sorted(set(y_text) - set(CLASSES))
    if unknown:
        raise SystemExit(f"unknown classes in {path}: {unknown}")
    X = df.to_numpy(dtype=np.float64)
    y = np.array([CLASSES.index(c) for c in y_text])
    if rows is not None and rows < len(y):
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(np.arange(len(y)), train_size=rows, stratify=y,
                                   random_state=seed)
        X, y = X[np.sort(keep)], y[np.sort(keep)]
    return list(df.columns), X, y


def isotonic_calibrate(p_fit: np.ndarray, y_fit: np.ndarray, p: np.ndarray) -> np.ndarray:
    """One-vs-rest isotonic maps per class (fitted on ``p_fit``, ``y_fit``) applied to ``p``
    (rows, classes), rows renormalised: what scikit-learn's CalibratedClassifierCV does."""
    from sklearn.isotonic import IsotonicRegression

    out = np.empty_like(p)
    for c in range(p.shape[1]):
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        out[:, c] = iso.fit(p_fit[:, c], (y_fit == c).astype(float)).predict(p[:, c])
    out = np.maximum(out, 1e-6)
    return out / out.sum(axis=1, keepdims=True)


def compare_calibrators(oof: np.ndarray, y: np.ndarray, target: float, seed: int) -> dict:
    """The calibration methods side by side on the calibrate rows only (never the test):
    5-fold cross-fitting over the out-of-fold probabilities (each method fitted on 4/5 of
    the rows, judged on the other 1/5), pooled: ECE, NLL, accuracy, and the coverage at
    which the pooled accepted rows reach ``target``."""
    from sklearn.model_selection import StratifiedKFold

    pooled = {"none": oof.copy(), "temperature": np.empty_like(oof),
              "isotonic": np.empty_like(oof)}
    for tr, va in StratifiedKFold(5, shuffle=True, random_state=seed).split(oof, y):
        pooled["temperature"][va] = apply_temperature(
            oof[va], fit_calibration(oof[tr], y[tr], target).temperature)
        pooled["isotonic"][va] = isotonic_calibrate(oof[tr], y[tr], oof[va])
    out = {}
    for name, p in pooled.items():
        conf, ok = p.max(axis=1), p.argmax(axis=1) == y
        order = np.argsort(-conf, kind="stable")
        acc = np.cumsum(ok[order]) / np.arange(1, len(y) + 1)
        reach = np.flatnonzero(acc >= target)
        out[name] = {"ece": round(top_label_ece(p, y), 4), "nll": round(nll(p, y), 4),
                     "accuracy": round(float(ok.mean()), 4),
                     "coverage_at_target": round((int(reach.max()) + 1) / len(y), 4)
                     if reach.size else 0.0}
    out["note"] = ("calibrate rows only: 5-fold cross-fitting over their out-of-fold "
                   "probabilities; ECE 15 bins; coverage at the target read off the pooled "
                   "rows")
    return out


def selective_holdout(arch: str, params: dict, X: np.ndarray, y: np.ndarray, k: int,
                      columns: list[str], target: float, folds: int, seed: int,
                      say) -> dict:
    """Step 6: the calibration and reject figures on a stratified ``SELECTIVE_TEST`` test
    cut that nothing is fitted or chosen on (nested: fit / calibrate+threshold / test)."""
    from sklearn.model_selection import train_test_split

    idx_rest, idx_test = train_test_split(np.arange(len(y)), test_size=SELECTIVE_TEST,
                                          stratify=y, random_state=seed)
    Xr, yr, Xs, ys = X[idx_rest], y[idx_rest], X[idx_test], y[idx_test]
    oof, _ = out_of_fold_proba(arch, Xr, yr, k, params, folds, seed, columns=columns,
                               progress=say)
    cal = fit_calibration(oof, yr, target)
    methods = compare_calibrators(oof, yr, target, seed)
    say("calibrators on the calibrate rows: " + ", ".join(
        f"{n} ECE {m['ece']:.4f} NLL {m['nll']:.4f}" for n, m in methods.items()
        if isinstance(m, dict)))
    model = make_learner(arch, Xr, yr, k, params, seed, columns=columns)
    raw = model.predict_proba(Xs)
    p = apply_temperature(raw, cal.temperature)
    conf, correct = p.max(axis=1), p.argmax(axis=1) == ys
    accepted = conf >= cal.threshold.threshold
    rng = np.random.default_rng(seed)  # ECE of a perfectly calibrated model, same confidences
    floor = np.array([confidence_ece(conf, rng.random(len(conf)) < conf) for _ in range(1000)])
    curve = coverage_curve(conf, correct)
    order = np.sort(conf)[::-1]
    acc_sorted = np.cumsum(correct[np.argsort(-conf, kind="stable")]) / np.arange(1, len(ys) + 1)
    reach = np.flatnonzero(acc_sorted >= target)
    out = {
        "rows": {"fit_and_calibrate": len(yr), "test": len(ys)},
        "split": f"stratified {SELECTIVE_TEST:.0%} test cut (seed {seed}) never fitted or "
                 f"chosen on; temperature and threshold from {folds}-fold out-of-fold "
                 f"probabilities of the other {1 - SELECTIVE_TEST:.0%}; the model judging "
                 f"the test parts refitted on that {1 - SELECTIVE_TEST:.0%}",
        "accuracy": round(float(correct.mean()), 4),
        "temperature": round(cal.temperature, 4),
        "ece_bins": ECE_BINS,
        "ece_before": round(top_label_ece(raw, ys), 4),
        "ece_after": round(top_label_ece(p, ys), 4),
        "ece_10_bins_before": round(top_label_ece(raw, ys, 10), 4),
        "ece_10_bins_after": round(top_label_ece(p, ys, 10), 4),
        "ece_noise_floor": {"mean": round(float(floor.mean()), 4),
                            "p5": round(float(np.percentile(floor, 5)), 4),
                            "p95": round(float(np.percentile(floor, 95)), 4),
                            "note": "ECE of a perfectly calibrated model with these "
                                    "confidences on this many parts (1,000 draws)"},
        "nll_before": round(nll(raw, ys), 4), "nll_after": round(nll(p, ys), 4),
        "calibrate_rows": cal.card_section(),
        "calibrators_compared": methods,
        "target_accuracy": target,
        "threshold": round(cal.threshold.threshold, 6),
        "threshold_reached_on_calibrate_rows": cal.threshold.reached,
        "coverage": round(float(accepted.mean()), 4),
        "accuracy_accepted": (round(float(correct[accepted].mean()), 4)
                              if accepted.any() else None),
        "accepted_parts": int(accepted.sum()),
        "curve": curve,
        "best_coverage_at_target_on_test": {
            "coverage": round((int(reach.max()) + 1) / len(ys), 4) if reach.size else 0.0,
            "threshold": round(float(order[int(reach.max())]), 4) if reach.size else None,
            "note": "hindsight: the largest coverage whose accepted test parts reach the "
                    "target, read off the test parts themselves; for comparison only, "
                    "never used"},
        "per_class_accepted": {CLASSES[c]: {
            "predicted": int((p.argmax(1) == c).sum()),
            "accepted": int(((p.argmax(1) == c) & accepted).sum())} for c in range(k)},
    }
    say(f"selective hold-out: ECE {out['ece_before']:.4f} -> {out['ece_after']:.4f} "
        f"(T {cal.temperature:.3f}); threshold {cal.threshold.threshold:.4f}: coverage "
        f"{out['coverage']:.3f}, accuracy on accepted {out['accuracy_accepted']}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="steel_plates_dev.csv")
    ap.add_argument("--out", type=Path, required=True, help="model folder to write")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", type=int, default=None, help="train on a stratified slice")
    ap.add_argument("--candidates", default=",".join(CANDIDATES),
                    help="comma-separated subset of " + ", ".join(CANDIDATES))
    ap.add_argument("--target-accuracy", type=float, default=DEFAULT_TARGET,
                    help="accuracy on accepted parts the reject threshold is chosen for "
                         f"(default {DEFAULT_TARGET})")
    ap.add_argument("--quick", action="store_true",
                    help="tiny settings (tests): 20 boosting iterations, 10 forest trees, "
                         "20 MLP epochs")
    args = ap.parse_args(argv)

    import torch
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)  # shared machines: one core
    t_start = time.monotonic()
    columns, X, y = load(args.data, args.rows, args.seed)
    k = len(CLASSES)
    cands = {n: CANDIDATES[n] for n in args.candidates.split(",")}
    if args.quick:
        cands = {n: (a, quick(a, p)) for n, (a, p) in cands.items()}

    def say(msg: str) -> None:
        print(msg, flush=True)

    with threadpool_limits(1):
        idx_tune, idx_hold = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y,
                                              random_state=args.seed)
        Xt, yt, Xh, yh = X[idx_tune], y[idx_tune], X[idx_hold], y[idx_hold]
        cv_tune = {}
        for name, (arch, params) in cands.items():
            cv_tune[name] = cross_validate(arch, Xt, yt, k, params, args.folds, args.seed, say,
                                           columns=columns)
            say(f"{name}: CV on the 80 % = {cv_tune[name]['accuracy_mean']:.4f} ± "
                f"{cv_tune[name]['accuracy_sd']:.4f}")
        best = max(cv_tune, key=lambda n: cv_tune[n]["accuracy_mean"])
        arch, params = cands[best]
        holdout = {}
        for name, (a, p) in cands.items():  # reported once each, never used to choose
            m = make_learner(a, Xt, yt, k, p, args.seed, columns=columns)
            pred = m.predict_proba(Xh).argmax(1)
            holdout[name] = {"accuracy": round(float((pred == yh).mean()), 4),
                             "rows": len(yh),
                             "per_class_recall": {CLASSES[c]: round(float(
                                 (pred[yh == c] == c).mean()), 4) for c in range(k)
                                 if (yh == c).any()}}
            say(f"{name}: hold-out accuracy {holdout[name]['accuracy']:.4f}")
        oof_full, cv_full = out_of_fold_proba(arch, X, y, k, params, args.folds, args.seed,
                                              columns=columns, progress=say)
        say(f"{best}: CV on the whole file = {cv_full['accuracy_mean']:.4f} ± "
            f"{cv_full['accuracy_sd']:.4f}")
        selective = selective_holdout(arch, params, X, y, k, columns, args.target_accuracy,
                                      args.folds, args.seed, say)
        learner = make_learner(arch, X, y, k, params, args.seed, columns=columns)
        calibration = fit_calibration(oof_full, y, args.target_accuracy, info={
            "fitted_on": f"out-of-fold probabilities of the {args.folds}-fold stratified CV "
                         f"on the whole file (seed {args.seed}): each row judged by a model "
                         f"that never saw it",
            "why": "temperature scaling: one parameter, cannot overfit ~1,350 rows of 7 "
                   "classes (two with 38 and 50 rows) and keeps the winning class; "
                   "isotonic / Dirichlet fit per-class maps to a few hundred rows",
            "holdout_30pct": {key: selective[key] for key in (
                "ece_before", "ece_after", "coverage", "accuracy_accepted", "accuracy")}})
        say(f"shipped: T {calibration.temperature:.3f}, threshold "
            f"{calibration.threshold.threshold:.4f} (out-of-fold coverage "
            f"{calibration.threshold.coverage:.3f} at {args.target_accuracy:.0%})")
    median = np.nanmedian(X, axis=0)
    other = [n for n in cv_tune if n != best]
    why = (f"{describe(best, arch, params)} had the best {args.folds}-fold CV accuracy on the "
           f"tuning 80 % ({cv_tune[best]['accuracy_mean']:.4f} ± "
           f"{cv_tune[best]['accuracy_sd']:.4f}) against "
           + ", ".join(f"{n} {cv_tune[n]['accuracy_mean']:.4f}" for n in other)
           + f"; whole-file CV {cv_full['accuracy_mean']:.4f} ± {cv_full['accuracy_sd']:.4f}"
           + (f", hold-out {holdout[best]['accuracy']:.4f}" if best in holdout else "")
           + ". Differences under about 1.5 points are within the CV noise (fold sd "
             "1.5-2 points).")
    hp = dict(params)
    features = split_params(arch, params)[0]
    feature_info = ({"set": features, "derived": list(FEATURE_SETS[features].derived),
                     "description": FEATURE_SETS[features].description}
                    if features != RAW else {"set": RAW})
    card = TabularCard(
        name=args.out.name, kind="quality", architecture=arch, classes=CLASSES,
        input_columns=columns,
        files=[*model_files(arch), "replay.npz"],
        hyper_parameters=hp,
        training_data={
            "source": "UCI Steel Plates Faults (Buscema et al.), CC BY 4.0; "
                      "steel_plates_dev.csv: a stratified 70 % of the 1,941 plates",
            "file": args.data.name, "rows": len(y), "label_column": LABEL,
            "class_counts": {c: int((y == i).sum()) for i, c in enumerate(CLASSES)},
            "slice": args.rows, "quick": args.quick, "features": feature_info,
            "training_seconds": round(time.monotonic() - t_start, 1)},
        training_command=("PYTHONPATH=$PWD .venv/bin/python tools/train_quality_steel.py "
                          f"--data steel_plates_dev.csv --out models/{args.out.name}"
                          + (f" --rows {args.rows}" if args.rows else "")
                          + (f" --target-accuracy {args.target_accuracy:g}"
                             if args.target_accuracy != DEFAULT_TARGET else "")
                          + (" --quick" if args.quick else "")),
        metrics={
            "cv_tuning_80pct": {**cv_tune, "note": "5-fold stratified CV on the 80 % left "
                                "after the hold-out; used to choose the learner"},
            "holdout_20pct": {**holdout, "note": "stratified 20 % of the file, never used for "
                              "any choice; every candidate fitted on the other 80 % and "
                              "scored once"},
            "cv_whole_file": {**cv_full, "note": f"5-fold stratified CV of the chosen "
                              f"settings ({best}) on the whole file"},
            "selective_holdout_30pct": {**selective, "note": "calibration and reject "
                                        "figures (issue 26), nested: fit / calibrate+"
                                        "threshold / test"},
            "contributions": "top_features: occlusion: drop in the predicted class's "
                             "(calibrated) probability when the feature is set to the "
                             "training median"},
        choice=why,
        description="Steel plate defect class from 27 plate measurements (7 classes)",
        created=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        version=SHIPPED_VERSION,
    )
    save_quality(args.out, card, learner, median, calibration)
    save_replay(args.out, X, y)  # the rows it learnt from: fine-tuning refits on them + parts
    say(json.dumps({"chosen": best, "cv_whole_file": cv_full["accuracy_mean"],
                    "holdout": holdout.get(best, {}).get("accuracy"),
                    "temperature": round(calibration.temperature, 4),
                    "threshold": round(calibration.threshold.threshold, 4),
                    "holdout_30pct": {key: selective[key] for key in (
                        "ece_before", "ece_after", "coverage", "accuracy_accepted")}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
