"""Model folders: card and weights round-trip, and hostile or broken files are refused."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import pytest
import torch

from desktop.core.errors import LinewatchError
from desktop.ml import architectures
from desktop.ml.errors import ModelError
from desktop.ml.inference.predictors import load_predictor
from desktop.ml.model_files.card import CARD_FILE, WEIGHTS_FILE, ModelCard
from desktop.ml.model_files.registry import list_models, resolve, user_models_dir
from desktop.ml.model_files.weights import read_header, save_model_folder

SMALL = {"channels": [4, 8], "fc": 8, "input_length": 256, "n_classes": 3,
         "first_kernel": 16, "first_stride": 4, "first_padding": 6}


def small_card(name: str = "tiny", **over: object) -> ModelCard:
    fields = dict(name=name, kind="fault", architecture="wdcnn", hyper_parameters=dict(SMALL),
                  classes=["normal", "ball_007", "inner_007"], sample_rate=12000.0, window=256,
                  hop=256, locations={"normal": "normal", "ball_007": "ball",
                                      "inner_007": "inner_race"})
    fields.update(over)
    return ModelCard(**fields)  # type: ignore[arg-type]


def make_folder(tmp: Path, name: str = "tiny", hp: dict | None = None) -> Path:
    torch.manual_seed(0)
    card = small_card(name)
    model = architectures.build("wdcnn", hp or card.hyper_parameters)
    return save_model_folder(tmp / name, card, model.state_dict())


def test_card_json_round_trip(tmp_path: Path) -> None:
    card = small_card(metrics={"validation": {"accuracy": 0.99}}, parent="fault-cwru")
    card.save(tmp_path)
    again = ModelCard.load(tmp_path)
    assert again == card
    assert ModelCard.from_json(json.loads(json.dumps(card.to_json()))) == card
    assert again.location_of("ball_007") == "ball"


@pytest.mark.parametrize("change, message", [
    ({"kind": "oracle"}, "kind"),
    ({"classes": ["only"]}, "classes"),
    ({"sample_rate": -1}, "sample_rate"),
    ({"window": 0}, "window"),
    ({"normalisation": "magic"}, "normalisation"),
    ({"locations": {"ghost": "ball"}}, "locations"),
])
def test_card_validation_names_the_field(change: dict, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        small_card(**change)


def test_card_unknown_and_missing_fields(tmp_path: Path) -> None:
    data = small_card().to_json()
    (tmp_path / CARD_FILE).write_text(json.dumps({**data, "surprise": 1}))
    with pytest.raises(ModelError, match="unknown fields: surprise"):
        ModelCard.load(tmp_path)
    del data["classes"]
    (tmp_path / CARD_FILE).write_text(json.dumps(data))
    with pytest.raises(ModelError, match="lacks required fields: classes"):
        ModelCard.load(tmp_path)
    (tmp_path / CARD_FILE).write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        ModelCard.load(tmp_path)


def test_weights_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    torch.manual_seed(0)
    reference = architectures.build("wdcnn", SMALL).eval()
    predictor = load_predictor(folder, device="cpu")
    x = torch.randn(5, 256).numpy()
    with torch.no_grad():
        from desktop.analysis.windows import zscore
        want = torch.softmax(reference(torch.from_numpy(zscore(x)).unsqueeze(1)), 1).numpy()
    assert predictor.predict_windows(x) == pytest.approx(want, abs=1e-6)
    header = read_header(folder / WEIGHTS_FILE)
    assert header["features.0.weight"]["shape"] == [4, 1, 16]


class _Bomb:
    """Unpickling this runs code: it writes ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('boom')",))


def test_pickle_bomb_is_refused_and_never_executed(tmp_path: Path) -> None:
    # Prove the bomb is real: unpickling a twin does run its code.
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Bomb(proof)))
    assert proof.exists()

    folder = make_folder(tmp_path)
    for i, writer in enumerate((
        lambda p, m: p.write_bytes(pickle.dumps(_Bomb(m))),
        lambda p, m: torch.save({"features.0.weight": _Bomb(m)}, p),  # torch's zip format
    )):
        marker = tmp_path / f"marker{i}"
        writer(folder / WEIGHTS_FILE, marker)
        with pytest.raises(ModelError):
            load_predictor(folder, device="cpu")
        assert not marker.exists(), "loading the weights executed pickled code"


def _write_raw(path: Path, header: dict, data: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_huge_declared_sizes_are_refused_before_allocation(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    path = folder / WEIGHTS_FILE
    path.write_bytes(struct.pack("<Q", 2**62) + b"{}")
    with pytest.raises(ModelError, match="header claims"):
        load_predictor(folder, device="cpu")
    _write_raw(path, {"w": {"dtype": "F32", "shape": [1 << 30, 1 << 30],
                            "data_offsets": [0, 16]}}, b"\0" * 16)
    with pytest.raises(ModelError, match="declares"):
        read_header(path)
    n = 4 * (1 << 28)
    _write_raw(path, {"w": {"dtype": "F32", "shape": [1 << 28], "data_offsets": [0, n]}},
               b"\0" * 16)
    with pytest.raises(ModelError, match="truncated"):
        read_header(path)


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    path = folder / WEIGHTS_FILE
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    with pytest.raises(ModelError, match="truncated"):
        load_predictor(folder, device="cpu")
    path.write_bytes(data[:5])
    with pytest.raises(ModelError, match="truncated"):
        load_predictor(folder, device="cpu")


def test_weights_that_do_not_match_the_card_are_refused(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, hp={**SMALL, "fc": 16})  # card says fc 8
    with pytest.raises(ModelError, match=r"does not match its card.*head\.1\.weight"):
        load_predictor(folder, device="cpu")
    # Right shapes, other numbers than the card recorded: the checksum catches the swap.
    folder2 = make_folder(tmp_path, name="other")
    card = ModelCard.load(folder2)
    torch.manual_seed(1)
    from desktop.ml.model_files.weights import save_tensors
    save_tensors(folder2 / WEIGHTS_FILE, architectures.build("wdcnn", SMALL).state_dict())
    assert ModelCard.load(folder2) == card
    with pytest.raises(ModelError, match="SHA-256"):
        load_predictor(folder2, device="cpu")


def test_unknown_architecture_is_refused(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    data = json.loads((folder / CARD_FILE).read_text())
    data["architecture"] = "resnet-9000"
    (folder / CARD_FILE).write_text(json.dumps(data))
    with pytest.raises(ModelError, match=r"unknown architecture .resnet-9000.*wdcnn"):
        load_predictor(folder, device="cpu")
    data["architecture"] = "wdcnn"
    data["hyper_parameters"]["depth"] = 3
    (folder / CARD_FILE).write_text(json.dumps(data))
    with pytest.raises(ModelError, match="no hyper-parameters depth"):
        load_predictor(folder, device="cpu")


def test_registry_lists_shipped_and_user_models(tmp_path: Path) -> None:
    make_folder(user_models_dir(), name="my-model")
    broken = user_models_dir() / "broken"
    broken.mkdir()
    (broken / CARD_FILE).write_text("[]")
    entries = {e.name: e for e in list_models()}
    assert entries["fault-cwru"].shipped and entries["fault-cwru"].ok
    assert entries["anomaly-cwru"].shipped and entries["anomaly-cwru"].card.kind == "anomaly"
    assert not entries["my-model"].shipped and entries["my-model"].ok
    assert not entries["broken"].ok and "JSON object" in (entries["broken"].problem or "")
    assert resolve("my-model").folder == user_models_dir() / "my-model"
    assert resolve(str(user_models_dir() / "my-model")).name == "my-model"
    with pytest.raises(LinewatchError, match=r"no model named .nope.*fault-cwru"):
        resolve("nope")
    with pytest.raises(ModelError, match="'fault-cwru' has no version 7: it is a single folder"):
        resolve("fault-cwru@7")
    with pytest.raises(ModelError, match="JSON object"):
        resolve("broken")


def test_device_choice() -> None:
    from desktop.ml.inference.predictors import resolve_device
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in {"cpu", "cuda"}
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA"):
            resolve_device("cuda")


def test_shipped_cards_have_structured_splits_and_describe_their_replay_set() -> None:
    from desktop.core import paths
    from desktop.ml.constants import REPLAY_FILE
    from desktop.ml.model_files.weights import sha256_of

    fault = resolve("fault-cwru")
    td = fault.card.training_data
    split = td["split"]
    assert split["train"]["loads_hp"] == [0, 1] and split["train"]["region"] == [0.0, 0.8]
    assert split["validation"]["region"] == [0.8, 1.0]
    assert split["train"]["files"] == split["validation"]["files"] == td["files"]
    replay = td["replay_set"]
    path = fault.folder / REPLAY_FILE
    assert replay["file"] == REPLAY_FILE and replay["sha256"] == sha256_of(path)
    assert path.stat().st_size <= 3_000_000 and replay["dtype"] == "float16"
    assert max(replay["windows_per_class"]["train"].values()) <= 300
    assert set(replay["windows_per_class"]["train"]) == set(fault.card.classes)
    anomaly = resolve("anomaly-cwru").card.training_data["split"]
    assert anomaly["train"]["region"] == [0.0, 0.55] and anomaly["test"]["region"] == [0.7, 1.0]
    for name in ("fault-cwru", "anomaly-cwru"):  # no developer-machine paths in the data
        assert "/work/" not in (paths.shipped_models_dir() / name / CARD_FILE).read_text()


def test_a_deeply_nested_card_is_one_unusable_entry_not_an_empty_list(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_folder(user_models_dir(), name="good-model")
    deep = user_models_dir() / "deep"
    deep.mkdir()
    (deep / CARD_FILE).write_text("[" * 200_000)
    entries = {e.name: e for e in list_models()}
    assert entries["good-model"].ok and "fault-cwru" in entries
    problem = entries["deep"].problem or ""
    assert "card.json, line 1, column 65: nested deeper than 64 levels" in problem
    assert "\n" not in problem
    with pytest.raises(ModelError, match="nested deeper"):
        resolve("deep")
    from desktop.cli import main

    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "good-model" in out and "deep" in out and "UNUSABLE" in out


def test_oversized_card_and_odd_metrics_do_not_break_the_listing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = user_models_dir() / "big"
    big.mkdir()
    (big / CARD_FILE).write_bytes(b" " * (2 << 20) + b"{}")
    odd = small_card("odd", metrics={"validation": ["not", "an", "object"]})
    odd.save(user_models_dir() / "odd")
    entries = {e.name: e for e in list_models()}
    assert "bytes, more than the 1,048,576 bytes" in (entries["big"].problem or "")
    from desktop.cli import main

    assert main(["models", "list"]) == 0
    assert "odd" in capsys.readouterr().out
