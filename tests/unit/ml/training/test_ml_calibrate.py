"""``linewatch calibrate`` (AdaBN to a new machine) and the domain calibration pieces,
trained for real on small data in seconds."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.analysis.noise import add_noise_snr
from desktop.cli import add_commands
from desktop.ml.inference.open_set import feature_distance
from desktop.ml.model_files.versions import versions_of
from desktop.ml.training.calibrate import adapt, batchnorms
from desktop.ml.training.data_cwru import Segment
from desktop.ml.training.open_set import (
    calibrate_open_set,
    fit_density,
    measure_band,
    ood_windows,
)
from desktop.ml.training.train import TrainConfig, normalise, predict_proba, train

#: the model commands of ``linewatch`` (predict, calibrate, train, models)
ML_COMMANDS = ("predict", "calibrate", "train", "models")

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "cwru_excerpt.npz"
TINY = TrainConfig(hyper_parameters={"channels": [8, 16, 16], "fc": 16}, window=2048,
                   epochs=3, steps_per_epoch=8, batch_size=16, learning_rate=3e-3,
                   speed_jitter=0.05, noise_probability=0.75, noise_snr_db=(-8.0, 12.0),
                   seed=0)


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    with np.load(FIXTURE, allow_pickle=False) as z:
        return {k: z[k].astype(np.float64) for k in z.files}


def test_noise_protocol_power() -> None:
    rng = np.random.default_rng(0)
    x = np.sin(np.arange(100_000) / 7.0)
    noisy = add_noise_snr(x, 0.0, rng)
    assert abs(np.mean((noisy - x) ** 2) / np.mean(x ** 2) - 1) < 0.03
    n2 = add_noise_snr(x, -4.0, rng, signal_power=1.0)
    assert abs(np.mean((n2 - x) ** 2) - 10 ** 0.4) < 0.1


def test_small_model_trains_and_calibrates_its_open_set(data) -> None:
    torch.set_num_threads(1)
    segs = [Segment(x, i, k, 1) for i, k in enumerate(data) for x in [data[k]]]
    result = train(segs, len(segs), TINY)
    windows = np.concatenate([x.reshape(-1, 2048) for x in data.values()])
    labels = np.repeat(np.arange(len(data)), [x.size // 2048 for x in data.values()])

    def probs(w: np.ndarray) -> np.ndarray:
        return predict_proba(result.model, normalise(w, "per_window_zscore"))

    band = measure_band(probs, windows, labels, 12000.0)
    assert 0 <= band["band_hz"][0] < band["band_hz"][1] <= 6000
    density = fit_density(windows, labels)
    ood = calibrate_open_set(lambda w: -np.log(probs(w).sum(1)), {"clean": windows}, density,
                             2.0)
    assert ood["distance_threshold"] >= feature_distance(windows, density).max()
    hum = ood_windows(2048, 12000.0, 8, seed=0)["mains_hum"]
    assert np.median(feature_distance(hum, density)) > ood["distance_threshold"]


def test_adabn_layers() -> None:
    from desktop.ml import architectures

    net = architectures.build("wdcnn_ensemble", {"members": 2, "channels": [4, 8], "fc": 8,
                                                 "input_length": 256, "first_padding": 24})
    assert len(batchnorms(net, "first")) == 2 and len(batchnorms(net, "all")) == 6
    x = np.random.default_rng(0).standard_normal((40, 256)).astype(np.float32) * 3 + 1
    second = batchnorms(net, "all")[1]
    before = (batchnorms(net, "first")[0].running_var.clone(), second.running_mean.clone())
    adapt(net, x, "first")
    first = batchnorms(net, "first")[0]
    assert not first.training and not torch.equal(first.running_var, before[0])
    assert torch.equal(second.running_mean, before[1])  # deeper batch norms untouched


def test_calibrate_creates_a_version(data, tmp_path, capsys) -> None:
    x = np.tile(np.concatenate(list(data.values())), 10)  # ~ 41 s at 12 kHz
    path = tmp_path / "machine.csv"
    np.savetxt(path, np.column_stack([np.arange(x.size) / 12000.0, x]), delimiter=",",
               header="time,DE accel", comments="")
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(), ML_COMMANDS)
    args = parser.parse_args(["calibrate", str(path), "--model", "fault-cwru", "--json",
                              "--name", "my-rig"])
    assert args.func(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["version"] == 1 and doc["parent"].startswith("fault-cwru@")
    assert versions_of("my-rig") == [1]
    from desktop.ml.inference.predictors import load_predictor

    p = load_predictor("my-rig", device="cpu")
    assert p.card.parent == doc["parent"] and p.card.training_data["calibration"]["windows"] > 0
    assert p.card.domain["band_hz"]  # the domain travels with the version
    v = p.predict_signal(x[:12000], 12000.0)
    assert v and all(w.ood_score is not None for w in v)
    # a second calibration is the next version of the same name
    args = parser.parse_args(["calibrate", str(path), "--model", "fault-cwru", "--name",
                              "my-rig", "--layers", "first"])
    assert args.func(args) == 0
    assert versions_of("my-rig") == [1, 2]


def test_calibrate_refuses_too_little_signal(data, tmp_path) -> None:
    from desktop.core.errors import InputError
    from desktop.ml.training.calibrate import calibrate

    with pytest.raises(InputError, match="at least"):
        calibrate("fault-cwru", data["normal"], 12000.0, "short")
    assert replace(TINY, seed=1).seed == 1
