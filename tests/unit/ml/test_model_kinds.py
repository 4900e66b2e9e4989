"""The model-kind seam (``desktop/ml/kinds.py``): one registration per kind. The built-in
``diagnosis`` kind through the real CLI (``models list``, ``predict``, ``report``) on a
CWRU inner-race file, and a toy kind registered in a test that shows up in ``models
list`` and runs under ``predict``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.diagnosis.profiles import MachineProfile, ProfileStore, Sensor, SpeedSpec
from desktop.ml import kinds
from desktop.ml.inference.predictors import Predictor, load_predictor
from desktop.ml.model_files.card import ModelCard
from desktop.ml.model_files.registry import ModelEntry, list_models, resolve

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cwru"
IR_106 = FIXTURES / "12k_Drive_End_IR007_1_106.mat"  # inner race 0.007 in, X106RPM = 1772


@pytest.fixture
def machine() -> str:
    ProfileStore().save(MachineProfile("cwru-de", (Sensor("*", "6205"),), SpeedSpec()),
                        overwrite=True)
    return "cwru-de"


def test_every_kind_is_registered_once() -> None:
    names = [k.name for k in kinds.kinds()]
    assert {"fault", "anomaly", "quality", "process", "diagnosis"} <= set(names)
    assert len(names) == len(set(names))
    assert kinds.get("quality").tabular and not kinds.get("diagnosis").tabular
    with pytest.raises(Exception, match="already registered"):
        kinds.register(kinds.get("fault"))


def test_models_list_shows_the_diagnosis_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines()
                if ln.startswith("diagnosis "))
    assert "built in" in line and "any rate" in line
    assert main(["models", "list", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    entry = next(m for m in doc["models"] if m["name"] == "diagnosis")
    assert entry["kind"] == "diagnosis" and "inner_race" in entry["classes"]
    assert resolve("diagnosis:cwru-de").name == "diagnosis"


def test_predict_with_the_diagnosis_model_finds_the_inner_race(
        machine: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", str(IR_106), "--model", "diagnosis", "--machine", machine,
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"]["kind"] == "diagnosis" and doc["model"]["sample_rate"] == 12000
    rows = doc["windows"]
    assert len(rows) == 3
    for row in rows:  # the keys every model's rows have, then what the kind adds
        assert {"start_s", "end_s", "class", "probability", "location"} <= set(row)
        assert row["class"] == row["location"] == "inner_race"
        assert "BPFI" in row["present"] and row["rpm"] == 1772.0
        bpfi = next(f for f in row["faults"] if f["name"] == "BPFI")
        assert bpfi["present"] and len(bpfi["harmonics"]) == 3
    summary = doc["summary"]
    assert summary["majority_class"] == "inner_race" and summary["machine"] == machine
    assert summary["rpm_source"] == "file variable X106RPM"

    assert main(["predict", str(IR_106), "--model", "diagnosis", "--machine", machine]) == 0
    out = capsys.readouterr().out
    assert "inner_race" in out and "present: BPFI" in out and "X106RPM" in out


def test_predict_diagnosis_needs_a_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", str(IR_106), "--model", "diagnosis"]) != 0  # a model error
    assert "needs the bearing" in capsys.readouterr().err


def test_the_diagnosis_model_runs_at_any_rate(machine: str) -> None:
    from desktop.recording.readers import read_recording

    rec = read_recording(IR_106, None)
    x = np.asarray(rec.values[:, 0], dtype=np.float64)
    predictor = load_predictor(f"diagnosis:{machine}").with_metadata(rec.metadata)
    fast = predictor.for_rate(24_000.0)
    assert fast.card.window == 24_000 and predictor.card.window == 12_000
    x2 = np.repeat(x, 2)  # the same signal at 24 kHz (a crude upsampling; lines are kept)
    got = predictor.predict_signal(x2, 24_000.0)
    assert len(got) == 3 and {v.location for v in got} == {"inner_race"}


def test_report_has_a_diagnosis_section(machine: str, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(IR_106), "--model", "diagnosis", "--machine", machine,
                 "--out", str(out), "--quiet"]) == 0
    page = out.read_text()
    section = page[page.index("Bearing diagnosis"):]
    assert "INNER_RACE" in section and "1772 r/min" in section
    assert "file variable X106RPM" in section
    for head in ("fault", "order", "Hz", "SNR dB", "present"):
        assert f"<th>{head}</th>" in section
    assert "<td>BPFI</td>" in section
    verdicts = page[page.index("Verdicts</h2>"):]
    assert "inner_race (100.0%)" in verdicts


# ----------------------------------------------------------------------- a toy kind
@dataclass
class ToyCard(ModelCard):
    def validate(self) -> None:  # built in: the card check's kind list is not asked
        pass


class ToyPredictor(Predictor):
    def predict_windows(self, windows: np.ndarray) -> np.ndarray:
        w = self._check_windows(windows)
        return np.tile([0.25, 0.75], (w.shape[0], 1))


def _toy_entries() -> list[ModelEntry]:
    card = ToyCard(name="toy-model", kind="toy", architecture="constant",
                   hyper_parameters={}, classes=["normal", "odd"], sample_rate=1000.0,
                   window=500, hop=500, input_channels=["DE_time"], normalisation="none",
                   created="built in")
    return [ModelEntry("toy-model", Path("<built in>"), True, card)]


@pytest.fixture
def toy_kind() -> Iterator[kinds.ModelKind]:
    kind = kinds.register(kinds.ModelKind(
        "toy", "a constant toy", "signal",
        load=lambda entry, **_: ToyPredictor(entry.card, entry.folder),
        builtin=_toy_entries))
    yield kind
    kinds.unregister("toy")


def test_a_registered_toy_kind_is_listed_and_runs(
        toy_kind: kinds.ModelKind, capsys: pytest.CaptureFixture[str]) -> None:
    assert "toy-model" in [e.name for e in list_models()]
    assert main(["models", "list"]) == 0
    assert any(ln.startswith("toy-model ") and " toy " in ln
               for ln in capsys.readouterr().out.splitlines())
    assert main(["predict", str(IR_106), "--model", "toy-model", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"]["kind"] == "toy"
    assert {w["class"] for w in doc["windows"]} == {"odd"} and len(doc["windows"]) == 6


def test_a_folder_model_of_a_registered_kind_is_read_and_run(
        toy_kind: kinds.ModelKind, capsys: pytest.CaptureFixture[str]) -> None:
    from desktop.ml.model_files.versions import user_models_dir

    card = ModelCard(name="toy-folder", kind="toy", architecture="constant",
                     hyper_parameters={}, classes=["normal", "odd"], sample_rate=1000.0,
                     window=500, hop=500, normalisation="none")
    card.save(user_models_dir() / "toy-folder")
    entry = resolve("toy-folder")
    assert entry.card is not None and entry.card.kind == "toy" and not entry.tabular
    assert isinstance(load_predictor("toy-folder"), ToyPredictor)
    assert main(["predict", str(IR_106), "--model", "toy-folder", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["name"] == "toy-folder"
