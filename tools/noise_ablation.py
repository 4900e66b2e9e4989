"""The noise-robustness ablation of docs/ml.md ("Noise robustness").

    PYTHONPATH=. .venv/bin/python tools/noise_ablation.py --data PATH/TO/cwru --seed 0 \
        --out /tmp/ablation_seed0.json

Split (nothing here is tuned on the test side):
- train: 0 hp fault files, time [0, 0.8); healthy file (0 hp) time [0, 0.56)
- validation (for choices): 0 hp fault files [0.8, 1); healthy [0.56, 0.7)
- test (reported): 1 hp fault files, whole; healthy [0.7, 1)  (no 1 hp healthy recording)
Noise: white Gaussian, SNR = 10·log10(Ps/Pn), Ps = mean power of the whole 12 kHz
recording (Zhang et al. 2017), added before windowing; clean, +4, 0, -4 dB; the noise is
drawn from a fixed seed per file and SNR so every variant sees the same noisy windows.
Windows: 2048, hop 1024 inside each region. Single networks, ``--epochs`` (default 20)
x 80 steps, last epoch kept. Test-time options per trained network: none, AdaBN of the
first batch-norm only or of all of them from each recording alone, spectral subtraction.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from desktop.analysis.noise import add_noise_snr, spectral_subtraction  # noqa: E402
from desktop.analysis.windows import frame, zscore  # noqa: E402
from desktop.ml.training import train as train_mod  # noqa: E402
from desktop.ml.training.data_cwru import CLASSES, Segment, list_files, load_signal  # noqa: E402
from desktop.ml.training.recipes import FAULT_CWRU  # noqa: E402
from desktop.ml.training.train import adapt_batchnorm, predict_proba, train  # noqa: E402

SNRS: tuple[float | None, ...] = (None, 4.0, 0.0, -4.0)
HOP = 1024
NOISE = dict(noise_probability=0.75, noise_snr_db=(-8.0, 12.0))
SINGLE = replace(FAULT_CWRU, members=1, epochs=20)
VARIANTS = {
    "shipped v1 recipe (speed ±5 %, no noise)": replace(SINGLE),
    "+ training noise (p 0.75, SNR -8..12 dB)": replace(SINGLE, **NOISE),
    "+ noise + first kernel 112": replace(
        SINGLE, **NOISE, hyper_parameters={"first_kernel": 112, "first_padding": 48}),
    "+ noise + spectral/envelope branch": replace(SINGLE, **NOISE, architecture="wdcnn_spectral"),
    "+ noise + spectral-subtraction front-end": replace(SINGLE, **NOISE,
                                                        normalisation="denoise_zscore"),
}


def _normalise(windows: np.ndarray, how: str) -> np.ndarray:
    if how == "denoise_zscore":
        return zscore(spectral_subtraction(windows))
    return _orig_normalise(windows, how)


_orig_normalise = train_mod.normalise
train_mod.normalise = _normalise  # the experiment's extra front-end, train and test alike


def load(data: Path) -> dict[str, list[tuple[int, np.ndarray, str]]]:
    """Per split: (label, region signal with noise-ready whole-file power, file name)."""
    out: dict[str, list] = {"train": [], "val": [], "test": [], "power": {}}
    for f in list_files(data):
        x = load_signal(f)
        n = x.shape[0]
        out["power"][f.path.name] = float(np.mean(x ** 2))
        lab = CLASSES.index(f.label)

        def cut(a: float, b: float, x: np.ndarray = x, n: int = n) -> np.ndarray:
            return x[round(a * n):round(b * n)]
        if f.label == "normal":
            out["train"].append((lab, cut(0, 0.56), f.path.name))
            out["val"].append((lab, cut(0.56, 0.7), f.path.name))
            out["test"].append((lab, cut(0.7, 1.0), f.path.name))
        elif f.load_hp == 0:
            out["train"].append((lab, cut(0, 0.8), f.path.name))
            out["val"].append((lab, cut(0.8, 1.0), f.path.name))
        else:
            out["test"].append((lab, x, f.path.name))
    return out


def noisy_windows(parts, power, snr):
    """{file: (windows raw, labels)} with the protocol's noise (fixed seed per file/SNR)."""
    res = {}
    for lab, x, name in parts:
        if snr is not None:
            rng = np.random.default_rng(zlib.crc32(f"{name}|{snr}".encode()))
            x = add_noise_snr(x, snr, rng, signal_power=power[name])
        w = np.array(frame(x, 2048, HOP))
        res[name] = (w, np.full(w.shape[0], lab))
    return res


def adabn_first(model, x):
    """AdaBN of the first batch norm only (its statistics follow the recording's level of
    broadband noise; deeper ones carry the class)."""
    m = copy.deepcopy(model)
    first = next(b for b in m.modules() if isinstance(b, torch.nn.BatchNorm1d))
    bak = [(b, b.training) for b in m.modules()]
    first.reset_running_stats()
    first.momentum = None
    m.eval()
    first.train()
    with torch.no_grad():
        m(torch.from_numpy(np.ascontiguousarray(x[:, None], dtype=np.float32)))
    del bak
    return m.eval()


def evaluate(model, cfg, sets):
    """accuracy per SNR and test-time mode."""
    out = {}
    for snr, files in sets.items():
        modes = {"none": [], "adabn_first": [], "adabn_all": [], "spectral_sub_test": []}
        ys = []
        for _name, (w, y) in files.items():
            x = _normalise(w, cfg.normalisation)
            ys.append(y)
            modes["none"].append(predict_proba(model, x).argmax(1))
            modes["adabn_first"].append(predict_proba(adabn_first(model, x), x).argmax(1))
            modes["adabn_all"].append(
                predict_proba(adapt_batchnorm(copy.deepcopy(model), x), x).argmax(1))
            if cfg.normalisation == "per_window_zscore":
                xd = zscore(spectral_subtraction(w))
                modes["spectral_sub_test"].append(predict_proba(model, xd).argmax(1))
        y = np.concatenate(ys)
        key = "clean" if snr is None else f"{snr:+g}dB"
        out[key] = {m: round(float(np.mean(np.concatenate(p) == y)), 4)
                    for m, p in modes.items() if p}
        out[key]["windows"] = int(y.shape[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", type=Path, default=None, help="save state dicts here")
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cache = load(args.data)
    segs = [Segment(x, lab, name, 0) for lab, x, name in cache["train"]]
    val = {snr: noisy_windows(cache["val"], cache["power"], snr) for snr in SNRS}
    test = {snr: noisy_windows(cache["test"], cache["power"], snr) for snr in SNRS}
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    for name, cfg in VARIANTS.items():
        if args.only and args.only not in name:
            continue
        if name in results:
            continue
        cfg = replace(cfg, seed=args.seed, epochs=args.epochs)
        t0 = time.time()
        r = train(segs, len(CLASSES), cfg)
        if args.models:
            args.models.mkdir(parents=True, exist_ok=True)
            torch.save(r.model.state_dict(),
                       args.models / f"{zlib.crc32(name.encode())}_{args.seed}.pt")
        results[name] = {"seed": args.seed, "epochs": cfg.epochs, "train_s": round(r.seconds, 1),
                         "config": cfg.to_json(),
                         "validation": evaluate(r.model, cfg, val),
                         "test": evaluate(r.model, cfg, test)}
        print(name, round(time.time() - t0), json.dumps(results[name]["test"]), flush=True)
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
