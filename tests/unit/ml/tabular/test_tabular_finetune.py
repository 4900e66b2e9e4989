"""Fine-tuning a quality model on labelled parts through the CLI: held-out comparison of
new vs base on the same parts, a published version, promote, and predicting with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from desktop.core.errors import InputError
from desktop.ml.tabular.card import TabularCard
from desktop.ml.tabular.finetune import read_parts, split_heldout
from tests.unit.ml.tabular.test_tabular_cli import linewatch

ROOT = Path(__file__).resolve().parents[4]
STEEL = ROOT / "tests" / "fixtures" / "steel_excerpt.csv"


def test_split_keeps_single_part_classes_in_training() -> None:
    y = np.array([0] * 8 + [1] * 4 + [2])
    train, held = split_heldout(y, 0.25, seed=0)
    assert sorted([*train, *held]) == list(range(13))
    assert (y[held] == 0).sum() == 2 and (y[held] == 1).sum() == 1 and 2 not in y[held]


def test_a_parts_file_needs_a_label_column(tmp_path: Path) -> None:
    card = TabularCard.load(ROOT / "models" / "quality-steel")
    path = tmp_path / "parts.csv"
    pd.read_csv(STEEL).drop(columns=["fault"]).to_csv(path, index=False)
    with pytest.raises(InputError, match="no 'label' column"):
        read_parts(path, card)
    df = pd.read_csv(STEEL).rename(columns={"fault": "label"})
    df.loc[3:, "label"] = ""
    df.to_csv(path, index=False)
    X, labels = read_parts(path, card)
    assert X.shape == (3, 27) and labels == df["label"].tolist()[:3]


@pytest.mark.timeout(1800)  # a refit + 3 out-of-fold refits of the quality ensemble
def test_finetune_parts_publish_compare_promote_and_predict(tmp_path: Path,
                                                           linewatch_home: Path) -> None:
    df = pd.read_csv(STEEL).rename(columns={"fault": "label"})
    parts = tmp_path / "parts.csv"
    df.to_csv(parts, index=False)
    out = linewatch("train", "--base", "quality-steel", "--labels", str(parts), "--name",
                    "my-line", "--json", "--promote", "--target-accuracy", "0.9",
                    timeout=1700)
    doc = json.loads(out.stdout)
    assert doc["version"] == 1 and doc["parent"] == "quality-steel" and doc["promoted"]
    assert doc["train_parts"] + doc["heldout_parts"] == 140 and doc["heldout_parts"] == 35
    assert doc["replay_rows"] == 1358 and doc["checked"]
    held, base = doc["heldout"], doc["base_heldout"]
    assert held["parts"] == base["parts"] == 35  # the same held-out parts for both
    assert set(held["per_class"]) == set(df["label"])
    assert 0 <= held["accuracy"] <= 1 and 0 <= base["accuracy"] <= 1
    card = json.loads((Path(doc["folder"]) / "card.json").read_text())
    assert card["parent"] == "quality-steel" and card["version"] == "1"
    assert card["training_command"].startswith("linewatch train --base quality-steel")
    assert card["training_data"]["parts"]["heldout"] == 35
    # Issue 26: the reject threshold is re-chosen for the asked target (out-of-fold on the
    # replay set + training parts) and its coverage reported, also on the held-out parts.
    rej = doc["reject"]
    assert rej["target_accuracy"] == 0.9 and rej["reached"] and rej["rows"] == 1358 + 105
    assert rej["accuracy_accepted"] >= 0.9 and 0.3 < rej["coverage"] <= 1
    assert 0 <= rej["heldout_coverage"] <= 1
    assert rej["heldout_accepted_parts"] == round(rej["heldout_coverage"] * 35)
    assert card["calibration"]["reject"]["threshold"] == rej["threshold"]
    assert card["calibration"]["reject"]["target_accuracy"] == 0.9
    assert "calibration.npz" in card["files"] and card["metrics"]["reject"] == rej
    assert "--target-accuracy 0.9" in card["training_command"]
    listed = {m["name"]: m for m in json.loads(linewatch("models", "list", "--json").stdout)
              ["models"]}
    assert listed["my-line"]["kind"] == "quality" and listed["my-line"]["active_version"] == 1
    # The new version reads the original file (label column `fault`) and a parts file.
    for path in (STEEL, parts):
        rows = json.loads(linewatch("predict", str(path), "--model", "my-line", "--json")
                          .stdout)["rows"]
        assert len(rows) == 140
        assert {r["decision"] for r in rows} <= {"accept", "refer"}
