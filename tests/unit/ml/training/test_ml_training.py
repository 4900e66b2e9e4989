"""Training, data handling and the anomaly detector on small real excerpts (fast)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.analysis.windows import frame, resample, zscore
from desktop.core.tasks import Cancelled, TaskState
from desktop.ml import anomaly
from desktop.ml.training.data_cwru import CLASSES, LOCATIONS, Segment, parse_name, split_region
from desktop.ml.training.train import (
    TrainConfig,
    WindowSampler,
    adapt_batchnorm,
    predict_proba,
    train,
)

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "cwru_excerpt.npz"
TINY = TrainConfig(hyper_parameters={"channels": [8, 16, 16], "fc": 16}, window=2048,
                   epochs=2, steps_per_epoch=6, batch_size=16, learning_rate=3e-3,
                   speed_jitter=0.05, noise_probability=0.5, seed=3)


@pytest.fixture(scope="module")
def segments() -> list[Segment]:
    with np.load(FIXTURE, allow_pickle=False) as z:
        return [Segment(z[k].astype(np.float64), i, k, 1) for i, k in enumerate(z.files)]


def test_class_vocabulary_from_file_names() -> None:
    def label(name: str) -> str | None:
        f = parse_name(Path(name))
        return f.label if f else "??"

    assert label("12k_Drive_End_IR007_1_106.mat") == "inner_007"
    assert label("12k_Drive_End_OR014@6_1_198.mat") == "outer_014"
    assert label("12k_Drive_End_B021_0_222.mat") == "ball_021"
    assert label("12k_Drive_End_OR007@3_0_144.mat") is None  # not @6: outside the 10
    assert label("12k_Drive_End_B028_0_3005.mat") is None  # 0.028 in: outside the 10
    assert label("normal_0_97_part1.mat") == "normal"
    assert parse_name(Path("normal_0_97_part1.mat")).rate == 48000  # type: ignore[union-attr]
    assert parse_name(Path("12k_Drive_End_IR007_1_106.mat")).load_hp == 1  # type: ignore[union-attr]
    assert {LOCATIONS[c] for c in CLASSES} == {"normal", "ball", "inner_race", "outer_race"}


def test_time_split_and_windows_never_cross_the_cut() -> None:
    x = np.arange(1000.0)
    a, b = split_region(x, 0, 0.7), split_region(x, 0.7, 1)
    assert a[-1] + 1 == b[0] and len(a) + len(b) == 1000
    wa, wb = frame(a, 100, 30), frame(b, 100, 30)
    assert wa.max() < b[0] <= wb.min()
    assert frame(x[:50], 100, 10).shape == (0, 100)
    z = zscore(np.stack([x[:100] * 5 + 3, x[:100]]))
    assert np.allclose(z[0], z[1], atol=1e-5) and abs(z[0].std() - 1) < 1e-4
    assert resample(np.ones(4800), 48000, 12000).shape == (1200,)


def test_sampler_balances_classes_and_augments(segments: list[Segment]) -> None:
    sampler = WindowSampler(segments, TINY, np.random.default_rng(0))
    xb, yb = sampler.batch(400)
    assert xb.shape == (400, 2048) and xb.dtype == np.float32
    counts = np.bincount(yb, minlength=4)
    assert counts.min() > 60  # ~100 each


def test_tiny_real_training_is_deterministic_and_learns(segments: list[Segment]) -> None:
    progress: list[float] = []
    learn = replace(TINY, epochs=6, steps_per_epoch=8)
    r1 = train(segments, 4, learn, task=TaskState(lambda f, m, info: progress.append(f)))
    r2 = train(segments, 4, learn)
    assert progress[0] == 0.0 and progress[-1] == 1.0
    for (k, a), b in zip(r1.model.state_dict().items(), r2.model.state_dict().values(),
                         strict=True):
        assert torch.equal(a, b), k
    # It learns: the loss falls by 30 % or more, and 4-class accuracy is far above chance.
    assert r1.history[-1]["loss"] <= 0.7 * r1.history[0]["loss"]
    windows = np.concatenate([frame(s.x, 2048, 2048) for s in segments])
    truth = np.repeat(np.arange(4), 3)
    probs = predict_proba(r1.model, zscore(windows))
    assert probs.shape == (12, 4) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert np.mean(probs.argmax(axis=1) == truth) >= 0.6  # chance: 0.25
    # AdaBN re-estimates statistics without touching learned weights.
    before = r1.model.features[0].weight.clone()
    mean_before = r1.model.features[1].running_mean.clone()
    adapt_batchnorm(r1.model, zscore(windows))
    assert torch.equal(before, r1.model.features[0].weight)
    assert not torch.allclose(mean_before, r1.model.features[1].running_mean)


def test_cancel_stops_training_at_a_progress_report(segments: list[Segment]) -> None:
    calls = []
    task = TaskState()

    def listener(fraction: float, message: str, info: dict) -> None:
        calls.append(fraction)
        if len(calls) >= 2:
            task.cancel()  # seen at the next report

    task.add_listener(listener)
    with pytest.raises(Cancelled):
        train(segments, 4, replace(TINY, epochs=50), task=task)
    assert len(calls) == 2


def test_anomaly_detector_on_real_excerpts(segments: list[Segment]) -> None:
    healthy = segments[0].x
    fit = frame(healthy[:4096], 2048, 128)
    cal = frame(healthy[4096:], 2048, 512)[:1]
    model = anomaly.GaussianModel.fit(fit, n_bands=6, shrinkage=0.5)
    model.calibrate(cal)
    faults = np.concatenate([frame(s.x, 2048, 2048) for s in segments[1:]])
    probs, scores = model.probabilities(faults)
    assert np.all(scores > model.threshold) and np.all(probs[:, 1] > 0.5)
    assert anomaly.auroc([1, 2, 3], [4, 5]) == 1.0
    assert anomaly.auroc([1, 2], [1, 2]) == 0.5
