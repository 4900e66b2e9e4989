"""The seed ensemble behind the shipped fault model: built, trained, saved, loaded, tuned."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.analysis.windows import frame, zscore
from desktop.ml import architectures
from desktop.ml.errors import ModelError
from desktop.ml.inference.predictors import load_predictor
from desktop.ml.model_files.card import ModelCard, now_iso
from desktop.ml.model_files.weights import save_model_folder
from desktop.ml.training.finetune import fine_tunable
from desktop.ml.training.train import card_architecture, predict_proba, train
from tests.unit.ml.training.test_ml_training import TINY, segments  # noqa: F401 - fixture

SMALL = {"channels": [8, 16], "fc": 12, "n_classes": 3, "input_length": 512}


def test_output_is_the_log_of_the_members_mean_probability() -> None:
    torch.manual_seed(0)
    model = architectures.build("wdcnn_ensemble", {**SMALL, "members": 3}).eval()
    x = torch.randn(5, 1, 512)
    with torch.no_grad():
        mean = torch.stack([torch.softmax(m(x), 1) for m in model.members]).mean(0)
        assert torch.allclose(torch.softmax(model(x), 1), mean, atol=1e-6)
    assert len(model.members) == 3
    with pytest.raises(ModelError, match="members"):
        architectures.build("wdcnn_ensemble", {**SMALL, "members": 0})


def test_members_are_the_single_seed_runs(segments) -> None:  # noqa: F811
    two = replace(TINY, members=2, epochs=1)
    ensemble = train(segments, 4, two)
    assert isinstance(ensemble.model, architectures.WDCNNEnsemble)
    assert {row["member"] for row in ensemble.history} == {0, 1}
    # Member i is exactly the single network trained with seed + i: reproducible.
    second = train(segments, 4, replace(TINY, seed=TINY.seed + 1, epochs=1)).model
    for a, b in zip(ensemble.model.members[1].state_dict().values(),
                    second.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    windows = zscore(np.concatenate([frame(s.x, 2048, 2048) for s in segments]))
    probs = predict_proba(ensemble.model, windows)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert card_architecture(two, {"fc": 16}) == ("wdcnn_ensemble", {"fc": 16, "members": 2})
    assert card_architecture(TINY, {"fc": 16}) == ("wdcnn", {"fc": 16})
    with pytest.raises(ValueError, match="wdcnn members"):
        train(segments, 4, replace(two, architecture="other"))


def test_an_ensemble_model_folder_round_trips_and_fine_tunes_from_one_member(
        tmp_path: Path) -> None:
    hp = {**architectures.defaults("wdcnn_ensemble"), **SMALL, "members": 2}
    model = architectures.build("wdcnn_ensemble", hp).eval()
    card = ModelCard(name="ens", kind="fault", architecture="wdcnn_ensemble",
                     hyper_parameters=hp, classes=["a", "b", "c"], locations={},
                     sample_rate=1000.0, window=512, hop=512, input_channels=["x"],
                     normalisation="per_window_zscore", training_data={},
                     training_command="", metrics={}, version="1", parent=None,
                     created=now_iso(), description="test")
    save_model_folder(tmp_path / "ens", card, model.state_dict())
    loaded = load_predictor(tmp_path / "ens", device="cpu")
    x = np.random.default_rng(0).standard_normal((4, 512)).astype(np.float32)
    with torch.no_grad():
        expected = torch.softmax(model(torch.from_numpy(zscore(x)).unsqueeze(1)), 1).numpy()
    assert np.allclose(loaded.predict_windows(x), expected, atol=1e-5)

    start, arch, start_hp = fine_tunable(loaded.model, loaded.card)
    assert start is loaded.model.members[0] and arch == "wdcnn" and "members" not in start_hp
    assert isinstance(architectures.build(arch, start_hp), architectures.WDCNN)
