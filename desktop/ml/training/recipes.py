"""Named, reproducible ways to make the shipped models from the CWRU data.

``fault-cwru`` is the recipe behind ``models/fault-cwru``; :func:`cross_load_eval` is the
honest check used while developing it: train on some motor loads, test on another load the
network never saw. Both are plain functions taking a ``task``
(:class:`~desktop.core.tasks.TaskState`) like all long work.

The healthy class has one recording only (0 hp, ~3 s at 12 kHz), so it cannot be held out
by load: it is split by time instead (first part for training, the end for testing). Its
test accuracy therefore measures unseen *time*, not unseen load; the fault classes are the
real cross-load test.
"""

from __future__ import annotations

import copy
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from desktop.analysis.windows import frame
from desktop.core.tasks import TaskState
from desktop.ml.model_files.card import WEIGHTS_FILE, ModelCard, now_iso
from desktop.ml.model_files.weights import save_tensors
from desktop.ml.training.data_cwru import (
    CLASSES,
    LOCATION_NAMES,
    LOCATIONS,
    RATE,
    CwruFile,
    Segment,
    list_files,
    load_segments,
)
from desktop.ml.training.train import (
    TrainConfig,
    TrainResult,
    adapt_batchnorm,
    card_architecture,
    normalise,
    predict_proba,
    train,
)

#: Healthy file: training part [0, NORMAL_TRAIN_END), test part [NORMAL_TRAIN_END, 1).
NORMAL_TRAIN_END = 0.7
#: Test windows overlap by half inside a test region (never across the split).
EVAL_HOP = 1024

#: The shipped model's card version: 2 = trained with noise, with a domain and an open set
#: (issue 12); 1 was the clean-trained ensemble. A shipped model has no parent.
FAULT_CWRU_VERSION, FAULT_CWRU_PARENT = "2", None

FAULT_CWRU = TrainConfig(
    architecture="wdcnn", hyper_parameters={}, window=2048, epochs=30, steps_per_epoch=80,
    batch_size=64, learning_rate=3e-3, weight_decay=1e-4, normalisation="per_window_zscore",
    speed_jitter=0.05, noise_probability=0.75, noise_snr_db=(-8.0, 12.0), seed=0, members=5,
)


@dataclass
class EvalSet:
    """Raw test windows with labels and the file each came from."""

    windows: np.ndarray
    labels: np.ndarray
    files: np.ndarray

    @classmethod
    def from_segments(cls, segments: Sequence[Segment], window: int, hop: int) -> EvalSet:
        w, y, f = [], [], []
        for s in segments:
            fr = frame(s.x, window, hop)
            w.append(fr)
            y.append(np.full(fr.shape[0], s.label))
            f.append(np.full(fr.shape[0], s.file))
        return cls(np.concatenate(w), np.concatenate(y), np.concatenate(f))


def metrics(probs: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Window accuracy (10-class and location), per-class accuracy, confusion matrix."""
    pred = probs.argmax(axis=1)
    loc = np.array([LOCATION_NAMES.index(LOCATIONS[c]) for c in CLASSES])
    per_class = {CLASSES[c]: round(float(np.mean(pred[labels == c] == c)), 4)
                 for c in np.unique(labels)}
    confusion = np.zeros((len(CLASSES), len(CLASSES)), dtype=int)
    np.add.at(confusion, (labels, pred), 1)
    return {"windows": int(labels.shape[0]),
            "accuracy": round(float(np.mean(pred == labels)), 4),
            "location_accuracy": round(float(np.mean(loc[pred] == loc[labels])), 4),
            "per_class_accuracy": per_class,
            "confusion": confusion.tolist()}


def evaluate(result: TrainResult, test: EvalSet, adabn: str = "none") -> dict[str, Any]:
    """Metrics on ``test``; ``adabn``: ``none``, ``domain`` (batch-norm statistics from all
    test windows, the published AdaBN setting) or ``per_file`` (from each recording alone,
    what a live single-machine stream can actually provide)."""
    cfg = result.config
    x = normalise(test.windows, cfg.normalisation)
    if adabn == "none":
        probs = predict_proba(result.model, x)
    elif adabn == "domain":
        probs = predict_proba(adapt_batchnorm(copy.deepcopy(result.model), x), x)
    elif adabn == "per_file":
        probs = np.empty((x.shape[0], len(CLASSES)), dtype=np.float32)
        for f in np.unique(test.files):
            sel = test.files == f
            model = adapt_batchnorm(copy.deepcopy(result.model), x[sel])
            probs[sel] = predict_proba(model, x[sel])
    else:
        raise ValueError(f"unknown adabn mode {adabn!r}")
    return metrics(probs, test.labels)


def _split_normal(files: list[CwruFile], train_part: bool) -> list[Segment]:
    normal = [f for f in files if f.label == "normal"]
    start, stop = (0.0, NORMAL_TRAIN_END) if train_part else (NORMAL_TRAIN_END, 1.0)
    return load_segments(normal, start, stop)


def cross_load_eval(data_dir: Path, train_loads: tuple[int, ...], test_loads: tuple[int, ...],
                    config: TrainConfig, adabn_modes: Sequence[str] = ("none",),
                    device: str = "cpu", task: TaskState | None = None) -> dict[str, Any]:
    """Train on fault files at ``train_loads`` (+ healthy first 70 %), test on fault files at
    ``test_loads`` (+ healthy last 30 %). Returns metrics per AdaBN mode and the history."""
    files = list_files(data_dir)
    faults = [f for f in files if f.label != "normal"]
    train_segs = load_segments([f for f in faults if f.load_hp in train_loads])
    train_segs += _split_normal(files, train_part=True)
    test_segs = load_segments([f for f in faults if f.load_hp in test_loads])
    test_segs += _split_normal(files, train_part=False)
    test = EvalSet.from_segments(test_segs, config.window, EVAL_HOP)
    result = train(train_segs, len(CLASSES), config, device=device, task=task)
    return {"train_loads": list(train_loads), "test_loads": list(test_loads),
            "seconds": round(result.seconds, 1), "parameters": result.n_parameters,
            "final_loss": result.history[-1]["loss"],
            **{f"adabn_{m}": evaluate(result, test, m) for m in adabn_modes}}


def train_fault_cwru(data_dir: Path, out: Path, config: TrainConfig = FAULT_CWRU,
                     loads: tuple[int, ...] = (0, 1), val_fraction: float = 0.2,
                     cross_load: dict[str, Any] | None = None, command: str | None = None,
                     device: str = "cpu", task: TaskState | None = None) -> ModelCard:
    """The shipped fault model: train on the first ``1 - val_fraction`` of every 10-class
    file at ``loads``, validate on the last ``val_fraction`` (time split, no overlap), and
    write ``weights.safetensors`` + ``card.json`` into ``out``.

    ``cross_load`` (results of :func:`cross_load_eval` for the same recipe) is stored in the
    card's metrics, because validation on the training loads says little about new loads.
    """
    files = list_files(data_dir, loads)
    cut = 1.0 - val_fraction
    train_segs = load_segments(files, 0.0, cut)
    result = train(train_segs, len(CLASSES), config, device=device, task=task)
    return write_fault_card(result, files, out, loads, val_fraction, cross_load, command)


def write_fault_card(result: TrainResult, files: list[CwruFile], out: Path,
                     loads: tuple[int, ...], val_fraction: float = 0.2,
                     cross_load: dict[str, Any] | None = None, command: str | None = None
                     ) -> ModelCard:
    """Validate a trained fault model (clean and noisy), calibrate its domain and open set
    (:func:`fault_domain`) and write its folder."""
    config = result.config
    cut = 1.0 - val_fraction
    train_segs = load_segments(files, 0.0, cut)
    val_segs = load_segments(files, cut, 1.0)
    val = EvalSet.from_segments(val_segs, config.window, EVAL_HOP)
    val_metrics = evaluate(result, val, "none")
    domain, open_set = fault_domain(result, train_segs, files, cut)
    model = result.model
    hp = {**config.hyper_parameters, "n_classes": len(CLASSES), "in_channels": 1,
          "input_length": config.window}
    architecture, hp = card_architecture(config, hp)
    sha = save_tensors(out / WEIGHTS_FILE, model.state_dict(),
                       metadata={"architecture": architecture})
    card = ModelCard(
        name=out.name, kind="fault", architecture=architecture,
        hyper_parameters={**_full_hp(architecture, hp)},
        classes=list(CLASSES), locations=dict(LOCATIONS), sample_rate=RATE,
        window=config.window, hop=config.window, input_channels=["DE_time"],
        normalisation=config.normalisation,
        training_data={
            "source": "CWRU Bearing Data Center, 12 kHz drive-end data "
                      "(engineering.case.edu/bearingdatacenter)",
            "channel": "DE_time (drive-end accelerometer, g)",
            "loads_hp": list(loads),
            "files": [f.path.name for f in files],
            "split": time_split(files, loads, cut),
            "normal_resampling": "normal_0_97_part1.mat 48 kHz → 12 kHz with "
                                 "scipy.signal.resample_poly(x, 1, 4)",
            "train_config": config.to_json(),
            "training_seconds": round(result.seconds, 1),
            "parameters": result.n_parameters,
            "weights_sha256": sha,
        },
        training_command=command or shlex.join([Path(sys.executable).name, *sys.argv]),
        metrics={"validation": {k: v for k, v in val_metrics.items() if k != "confusion"},
                 "validation_confusion": val_metrics["confusion"],
                 "validation_noise": noise_accuracy(result, val_segs),
                 "open_set": open_set,
                 **({"cross_load": cross_load} if cross_load else {}),
                 "history_last": result.history[-1]},
        version=FAULT_CWRU_VERSION, parent=FAULT_CWRU_PARENT, created=now_iso(), domain=domain,
        description="10-class bearing fault classifier ("
                    + (f"ensemble of {config.members} WDCNNs" if config.members > 1 else "WDCNN")
                    + ", raw drive-end vibration, 12 kHz, 2048-sample windows)",
    )
    card.save(out)
    return card


#: Noise levels of the robustness protocol (docs/ml.md): SNR in dB, None = clean.
NOISE_SNRS: tuple[float | None, ...] = (None, 4.0, 0.0, -4.0)
#: Feature-distance threshold = this x the largest validation distance; chosen on the
#: 1 hp → 0 hp direction (smallest margin with no clean window of the other load unknown).
DISTANCE_MARGIN = 2.0


def noisy_eval_set(segments: Sequence[Segment], window: int, snr: float | None, seed: int
                   ) -> EvalSet:
    """Windows (hop :data:`EVAL_HOP`) of each segment after white noise at ``snr`` dB
    relative to the segment's mean power (the whole-recording protocol applied to the
    region); a fixed seed per segment and SNR."""
    import zlib

    from desktop.analysis.noise import add_noise_snr

    if snr is None:
        return EvalSet.from_segments(segments, window, EVAL_HOP)
    noisy = []
    for s in segments:
        rng = np.random.default_rng(seed + zlib.crc32(f"{s.file}|{snr}".encode()))
        noisy.append(Segment(add_noise_snr(s.x, snr, rng), s.label, s.file, s.load_hp))
    return EvalSet.from_segments(noisy, window, EVAL_HOP)


def noise_accuracy(result: TrainResult, segments: Sequence[Segment], seed: int = 0
                   ) -> dict[str, Any]:
    """10-class and location accuracy at every :data:`NOISE_SNRS` level."""
    out: dict[str, Any] = {"protocol": "white Gaussian noise, SNR = 10 log10(Ps/Pn), Ps = "
                                       "mean power of each file's validation region"}
    for snr in NOISE_SNRS:
        m = evaluate(result, noisy_eval_set(segments, result.config.window, snr, seed))
        out["clean" if snr is None else f"{snr:+g}dB"] = {
            "accuracy": m["accuracy"], "location_accuracy": m["location_accuracy"],
            "windows": m["windows"]}
    return out


def fault_domain(result: TrainResult, train_segs: Sequence[Segment], files: list[CwruFile],
                 cut: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The card's ``domain`` and the open-set figures for ``metrics``.

    The validation region is halved by time: the first half calibrates the thresholds
    (clean and at +4/0/-4 dB), the second half measures how many in-domain windows come
    out ``unknown``; synthetic out-of-domain windows (another seed than any choice) give
    the AUROC of each score.
    """
    from dataclasses import replace as dc_replace

    import torch

    from desktop.ml.anomaly import auroc
    from desktop.ml.architectures import probabilities_and_energy
    from desktop.ml.inference.open_set import feature_distance, ood_scores, reasons
    from desktop.ml.training.open_set import (
        calibrate_open_set,
        fit_density,
        measure_band,
        ood_windows,
        signal_limits,
    )
    from desktop.ml.training.train import WindowSampler

    cfg = result.config
    model = result.model.eval()
    mid = cut + (1 - cut) / 2
    val_a = load_segments(files, cut, mid)
    val_b = load_segments(files, mid, 1.0)

    def scored(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(normalise(w, cfg.normalisation))[:, None]
        with torch.inference_mode():
            p, e = probabilities_and_energy(model, x)
        return p.numpy(), e.numpy()

    whole_val = EvalSet.from_segments([*val_a, *val_b], cfg.window, EVAL_HOP)
    band = measure_band(lambda w: scored(w)[0], whole_val.windows, whole_val.labels, RATE)
    train_w = EvalSet.from_segments(train_segs, cfg.window, EVAL_HOP).windows
    limits = signal_limits(train_w, RATE, band["band_hz"])
    sampler = WindowSampler(train_segs, dc_replace(cfg, normalisation="none", members=1),
                            np.random.default_rng(12345))
    xs, ys = zip(*[sampler.batch(256) for _ in range(8)], strict=True)
    density = fit_density(np.concatenate(xs), np.concatenate(ys))
    calib = {("clean" if snr is None else f"{snr:+g}dB"):
             noisy_eval_set(val_a, cfg.window, snr, 1).windows for snr in NOISE_SNRS}
    ood = calibrate_open_set(lambda w: scored(w)[1], calib, density, DISTANCE_MARGIN)
    domain: dict[str, Any] = {
        "sample_rate_hz": {"min": 2 * band["band_hz"][1], "max": 1_000_000.0},
        "band_hz": band["band_hz"],
        "units": "g (acceleration)",
        "channel_kind": "accelerometer on a rolling-bearing housing (CWRU drive end, "
                        "radial), one channel",
        "no_signal_std": round(limits["no_signal_std"], 8),
        "min_band_share": round(limits["min_band_share"], 6),
        "ood": ood,
    }
    # --- figures: in-domain windows never used above, and synthetic out-of-domain ones
    figures: dict[str, Any] = {"band": band, "signal_limits": limits,
                               "in_domain_unknown_share": {}, "auroc": {}, "detected": {}}
    in_scores: dict[str, np.ndarray] = {}
    for snr in NOISE_SNRS:
        key = "clean" if snr is None else f"{snr:+g}dB"
        w = noisy_eval_set(val_b, cfg.window, snr, 2).windows
        p, e = scored(w)
        why = reasons(w, ood_scores(w, e, domain), domain, RATE)
        figures["in_domain_unknown_share"][key] = round(
            float(np.mean([r is not None for r in why])), 4)
        if snr is None:
            in_scores = {"energy": e, "max_softmax": 1 - p.max(1),
                         "feature_distance": feature_distance(w, density),
                         "combined": ood_scores(w, e, domain)}
    for family, w in ood_windows(cfg.window, RATE, 64, seed=2024).items():
        p, e = scored(w)
        s = {"energy": e, "max_softmax": 1 - p.max(1),
             "feature_distance": feature_distance(w, density),
             "combined": ood_scores(w, e, domain)}
        figures["auroc"][family] = {k: round(auroc(in_scores[k], v), 4) for k, v in s.items()}
        why = reasons(w, s["combined"], domain, RATE)
        figures["detected"][family] = {
            "unknown_share": round(float(np.mean([r is not None for r in why])), 4),
            "reasons": {r: int(sum(x == r for x in why)) for r in set(why) if r}}
    figures["note"] = ("thresholds from the first half of the validation region (clean, +4, "
                       "0, -4 dB); unknown shares on its second half; out-of-domain windows "
                       "are synthetic (desktop/ml/training/open_set.py)")
    return domain, figures


def time_split(files: Sequence[CwruFile], loads: Sequence[int], cut: float) -> dict[str, Any]:
    """The card's structured split for "by time inside every file, first ``cut`` trains"."""
    names = [f.path.name for f in files]
    return {"method": "time",
            "train": {"loads_hp": list(loads), "files": names, "region": [0.0, round(cut, 4)]},
            "validation": {"loads_hp": list(loads), "files": names,
                           "region": [round(cut, 4), 1.0]},
            "note": "regions are fractions of every file's length; no window spans the cut"}


def _full_hp(name: str, hp: dict[str, Any]) -> dict[str, Any]:
    from desktop.ml.architectures import defaults

    return {**defaults(name), **hp}


# ------------------------------------------------------------------ anomaly detector
#: Healthy file regions: fit [0, 0.55), calibrate the threshold [0.55, 0.7), test [0.7, 1).
ANOMALY_FIT_END, ANOMALY_CAL_END = 0.55, NORMAL_TRAIN_END
ANOMALY_TRAIN_HOP = 256


def train_anomaly_cwru(data_dir: Path, out: Path, n_bands: int = 10, shrinkage: float = 0.3,
                       margin: float = 1.5, window: int = 2048, command: str | None = None,
                       task: TaskState | None = None
                       ) -> ModelCard:
    """Healthy-only detector from the 0 hp healthy file; judged against fault files.

    AUROC is computed between the held-out last 30 % of the (0 hp) healthy file and the
    fault files at 1 hp (and, separately, 0 hp and the extra fault types outside the
    10 classes). There is no 1 hp healthy recording, so healthy-at-another-load is not
    measured: the false-alarm rate on other loads is unknown.
    """
    from desktop.analysis.features import feature_names
    from desktop.ml import anomaly
    from desktop.ml.training.data_cwru import load_signal, parse_name, split_region

    report = (task if task is not None else TaskState()).report
    report(0.0, "loading healthy data")
    files = list_files(data_dir)
    normal = next(f for f in files if f.label == "normal")
    x = load_signal(normal)
    fit_w = frame(split_region(x, 0.0, ANOMALY_FIT_END), window, ANOMALY_TRAIN_HOP)
    cal_w = frame(split_region(x, ANOMALY_FIT_END, ANOMALY_CAL_END), window, ANOMALY_TRAIN_HOP)
    test_w = frame(split_region(x, ANOMALY_CAL_END, 1.0), window, EVAL_HOP)
    model = anomaly.GaussianModel.fit(fit_w, n_bands, shrinkage)
    model.calibrate(cal_w, margin)
    report(0.3, "scoring fault files")
    healthy_scores = model.scores(test_w)
    groups: dict[str, list[np.ndarray]] = {"1hp": [], "0hp": [], "extra_fault_types": []}
    for p in sorted(data_dir.glob("*.mat")):
        f = parse_name(p)
        if f is None or f.label == "normal":
            continue
        s = model.scores(frame(load_signal(f), window, EVAL_HOP))
        key = "extra_fault_types" if f.label is None else f"{f.load_hp}hp"
        groups.setdefault(key, []).append(s)
    report(0.9, "writing model")
    evaluation: dict[str, Any] = {
        "healthy_test_windows": int(healthy_scores.shape[0]),
        "false_alarm_rate_healthy_test": round(float(np.mean(healthy_scores > model.threshold)),
                                               4),
        "healthy_calibration_windows": int(cal_w.shape[0]),
        "healthy_fit_windows": int(fit_w.shape[0]),
    }
    for key, parts in groups.items():
        if not parts:
            continue
        s = np.concatenate(parts)
        evaluation[f"auroc_vs_faults_{key}"] = round(anomaly.auroc(healthy_scores, s), 4)
        evaluation[f"detection_rate_faults_{key}"] = round(float(np.mean(s > model.threshold)),
                                                           4)
        evaluation[f"fault_windows_{key}"] = int(s.shape[0])
        # How wide the gap is, not just whether it exists: AUROC saturates at 1.
        evaluation[f"min_fault_score_over_threshold_{key}"] = round(
            float(s.min() / model.threshold), 3)
    evaluation["max_healthy_test_score_over_threshold"] = round(
        float(healthy_scores.max() / model.threshold), 3)
    sha = save_tensors(out / WEIGHTS_FILE, model.tensors())
    card = ModelCard(
        name=out.name, kind="anomaly", architecture=anomaly.ARCHITECTURE,
        hyper_parameters=model.hyper_parameters(shrinkage),
        classes=list(anomaly.CLASSES), locations={"normal": "normal", "anomaly": "unknown"},
        sample_rate=RATE, window=window, hop=window, input_channels=["DE_time"],
        normalisation="none",
        training_data={
            "source": "CWRU Bearing Data Center, healthy baseline (file 97, 0 hp)",
            "channel": "DE_time (drive-end accelerometer, g)",
            "files": [normal.path.name],
            "split": {
                "method": "time",
                "train": {"files": [normal.path.name], "loads_hp": [normal.load_hp],
                          "region": [0.0, ANOMALY_FIT_END], "windows": int(fit_w.shape[0]),
                          "hop": ANOMALY_TRAIN_HOP},
                "calibration": {"files": [normal.path.name], "loads_hp": [normal.load_hp],
                                "region": [ANOMALY_FIT_END, ANOMALY_CAL_END],
                                "windows": int(cal_w.shape[0]), "margin": margin},
                "test": {"files": [normal.path.name], "loads_hp": [normal.load_hp],
                         "region": [ANOMALY_CAL_END, 1.0], "windows": int(test_w.shape[0])},
                "note": "regions are fractions of the file's length: fit on the first, "
                        "threshold = margin x the largest calibration score, test on the "
                        "last"},
            "features": feature_names(n_bands),
            "weights_sha256": sha,
        },
        training_command=command or shlex.join([Path(sys.executable).name, *sys.argv]),
        metrics={"evaluation": evaluation,
                 "note": "healthy test = last 30 % of the 0 hp healthy file (no healthy "
                         "recording exists at 1 hp); faults = whole fault files"},
        version="1", parent=None, created=now_iso(),
        description="Healthy-only anomaly detector: Mahalanobis distance of vibration "
                    "features (level, kurtosis, crest, envelope kurtosis, band shares)",
    )
    card.save(out)
    report(1.0, "done")
    return card
