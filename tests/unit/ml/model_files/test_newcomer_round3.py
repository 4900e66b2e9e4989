"""Issue 24, what a newcomer tripped on (headless): rollback after the first fine-tune goes
back to the shipped model (and is offered); a table given to ``predict`` without
``--model`` names the table model that fits; ``--device gpu`` and a missing file exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.core import paths
from desktop.ml.errors import ModelError
from desktop.ml.model_files import versions
from desktop.ml.model_files.card import ModelCard
from desktop.ml.model_files.registry import resolve

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"


def publish_child(name: str, parent: str | None) -> int:
    """A version published the way a fine-tune publishes it (its card names its parent)."""
    staging = versions.staging_dir(name)
    shutil.rmtree(staging)
    shutil.copytree(paths.shipped_models_dir() / "anomaly-cwru", staging)
    card = ModelCard.load(staging)
    card.name, card.parent = name, parent
    card.save(staging)
    return versions.publish(staging, name)[0]


def test_rollback_after_the_first_fine_tune_returns_to_the_shipped_model(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert publish_child("my-rig", "anomaly-cwru@1") == 1
    assert versions.rollback_target("my-rig") is None  # nothing promoted: nothing offered
    assert main(["models", "promote", "my-rig", "--live"]) == 0
    out = capsys.readouterr().out
    assert "returns to anomaly-cwru (shipped)" in out, out
    assert versions.rollback_target("my-rig") == "anomaly-cwru (shipped)"
    assert versions.live_model() == "my-rig"

    assert main(["models", "rollback", "my-rig"]) == 0
    out = capsys.readouterr().out
    assert "rolled back to the shipped model anomaly-cwru" in out, out
    assert versions.active_version("my-rig") is None
    assert versions.live_model() == "anomaly-cwru"
    assert resolve(versions.live_model()).shipped
    assert versions.rollback_target("my-rig") is None
    # a second fine-tune: the history walks back to v1, then to the shipped model
    assert publish_child("my-rig", "my-rig@1") == 2
    versions.promote("my-rig", 1)
    versions.promote("my-rig", 2)
    assert versions.rollback_target("my-rig") == "v1"
    assert versions.rollback("my-rig") == 1
    assert versions.rollback("my-rig") == versions.SHIPPED_BASE
    with pytest.raises(ModelError, match="no promoted version"):
        versions.rollback("my-rig")


def test_a_model_not_made_from_a_shipped_one_still_refuses() -> None:
    publish_child("scratch", None)
    versions.promote("scratch")
    assert versions.rollback_target("scratch") is None
    with pytest.raises(ModelError, match="not made from a shipped model"):
        versions.rollback("scratch")


@pytest.mark.parametrize("table, model", [("steel_excerpt.csv", "quality-steel"),
                                          ("tep_normal_excerpt.csv", "process-tep")])
def test_a_table_without_model_names_the_table_model(
        table: str, model: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = FIXTURES / table
    assert main(["predict", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert f"fit the table model '{model}'" in err and f"--model {model}" in err, err
    assert "numeric samples" not in err and "--rate" not in err


@pytest.mark.parametrize("args", [
    ["predict", "{fixture}", "--device", "gpu"],
    ["predict", "/nonexistent/run.parquet"],
    ["predict", "/nonexistent/run.parquet", "--model", "anomaly-cwru"],
    ["info", "/nonexistent/run.parquet"],
    ["export", "/nonexistent/run.parquet", "--out", "{tmp}/x.csv"],
    ["predict", "/nonexistent/*.parquet", "--out", "{tmp}/v.csv"],
    ["predict", "/nonexistent/plates.csv", "--model", "quality-steel"],
    ["labels", "import", "/nonexistent/labels.csv"],
    ["train", "--base", "quality-steel", "--labels", "/nonexistent/parts.csv", "--name", "x"],
    ["calibrate", "/nonexistent/run.parquet"],
])
def test_bad_input_exits_2_in_one_line(args: list[str], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "signal.csv"
    rec.write_text("time_s,x\n" + "".join(f"{i / 1000},{(i % 7) / 7}\n" for i in range(3000)))
    argv = [a.format(fixture=rec, tmp=tmp_path) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("linewatch: "), err
    assert any(words in err for words in ("no such file", "no file matches", "does not exist",
                                          "no such label file",
                                          "give --device auto, cpu or cuda")), err
