"""Fine-tuning on tiny real excerpts (CWRU, tests/fixtures/cwru_excerpt.npz), fast.

Each excerpt (0.512 s at 12 kHz) is written as a CSV recording and labelled as two events of
0.256 s, so every class has one training and one held-out event.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from desktop.cli import add_commands
from desktop.core.tasks import Cancelled, TaskState
from desktop.labels.event import LabelEvent
from desktop.labels.io import export_csv
from desktop.ml.inference.predictors import load_predictor
from desktop.ml.model_files import versions
from desktop.ml.model_files.registry import list_models, resolve, user_models_dir
from desktop.ml.training.adapters import extend_head
from desktop.ml.training.finetune import HISTORY_KEYS, finetune
from desktop.ml.training.labelled_data import build_windows, read_label_file, split_by_event

#: the model commands of ``linewatch`` (predict, calibrate, train, models)
ML_COMMANDS = ("predict", "calibrate", "train", "models")

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "cwru_excerpt.npz"
RATE = 12000.0
#: The outer-race excerpt is labelled with a name the base model does not know.
NEW_CLASS = "rattle"


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("recordings")
    out = {}
    with np.load(FIXTURE, allow_pickle=False) as z:
        for k in z.files:
            path = folder / f"{k}.csv"
            np.savetxt(path, z[k][:, None], header="DE accel", comments="", fmt="%.6f")
            out[k] = path
    return out


def span(recording: str, start: float, end: float, label: str, channel: str = "",
         note: str = "") -> LabelEvent:
    return LabelEvent(None, recording, start, end, label, channel, note)


def make_spans(recordings: dict[str, Path], new_class: bool = False) -> list[LabelEvent]:
    spans = []
    for k, path in recordings.items():
        label = NEW_CLASS if new_class and k == "outer_007" else k
        spans += [span(str(path), 0.0, 0.256, label),
                  span(str(path), 0.256, 0.512, label, note="second event")]
    return spans


def recorder() -> tuple[TaskState, list[tuple[float, dict]]]:
    reports: list[tuple[float, dict]] = []
    task = TaskState(lambda f, message, info: reports.append((f, {**info,
                                                                  "message": message})))
    return task, reports


def no_replay(tmp_path: Path) -> Path:
    return tmp_path / "no-cwru-here"


def test_progress_is_monotonic_and_the_model_is_published(recordings, tmp_path) -> None:
    task, reports = recorder()
    r = finetune("fault-cwru", make_spans(recordings, new_class=True), "rig", mode="full",
                 epochs=4, rate=RATE, replay_data=no_replay(tmp_path), task=task)
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert reports[-1][1]["stage"] == "done"
    epoch_rows = [info["history"] for _, info in reports if "history" in info]
    assert [row["epoch"] for row in epoch_rows] == list(range(1, r.epochs_run + 1))
    assert all(set(row) == set(HISTORY_KEYS) for row in epoch_rows)
    assert epoch_rows[0]["val_loss"] is not None and r.checked
    # New class extends the head; the base's ten classes keep their order.
    assert r.new_classes == [NEW_CLASS] and r.classes[:10] == resolve("fault-cwru").card.classes
    assert r.version == 1
    assert r.parent == f"fault-cwru@{resolve('fault-cwru').card.version}"
    assert r.heldout is not None and r.heldout["accuracy"] >= 0.75
    assert len(r.heldout["confusion"]) == 11
    base = r.base_heldout
    assert base is not None and base["unknown_class_windows"] > 0
    assert base["per_class"][NEW_CLASS]["known_to_base"] is False
    assert base["accuracy_all_windows"] < base["accuracy"]
    assert r.original_classes_accuracy is None and not r.replay["used"]
    assert any("replay and the forgetting check skipped" in n for n in r.notes)
    # The version is a model like any other: resolvable by name and by name@version.
    card = load_predictor("rig").card
    assert card.version == "1" and card.parent == r.parent
    assert card.domain["band_hz"] and "ood" not in card.domain  # input domain, no open set
    # full mode grows the envelope branch (the default recipe) and records its settings
    assert card.architecture == "wdcnn_spectral"
    assert "first member fine-tuned (full)" in card.description
    config = card.training_data["finetune_config"]
    assert config["envelope_branch"] is True and config["augment"]["eq_db"] > 0
    assert card.training_data["labels"]["count"] == 8
    assert card.training_data["labels"]["classes"][NEW_CLASS] == 2
    assert len(card.training_data["labels"]["recordings"]) == 4
    assert card.metrics["heldout"]["accuracy"] == r.heldout["accuracy"]
    with np.load(FIXTURE) as z:
        verdicts = load_predictor("rig@1").predict_signal(z["outer_007"], RATE)
    assert [v.label for v in verdicts] == [NEW_CLASS] * 3


@pytest.mark.parametrize("mode", ["head", "adapter"])
def test_other_modes_learn_and_save_a_plain_network(recordings, tmp_path, mode) -> None:
    r = finetune("fault-cwru", make_spans(recordings, new_class=True), f"rig-{mode}",
                 mode=mode, epochs=6, rate=RATE, replay_data=no_replay(tmp_path))
    assert r.heldout is not None and r.heldout["accuracy"] >= 0.75
    p = load_predictor(f"rig-{mode}")  # same architecture as the base: adapters merged
    assert p.card.architecture == "wdcnn" and p.card.hyper_parameters["n_classes"] == 11


def test_previous_recipe_keeps_the_base_architecture(recordings, tmp_path) -> None:
    r = finetune("fault-cwru", make_spans(recordings, new_class=True), "rig-plain",
                 mode="full", epochs=3, rate=RATE, replay_data=no_replay(tmp_path),
                 augment=False, envelope=False)
    card = load_predictor("rig-plain").card
    assert card.architecture == "wdcnn" and r.version == 1
    assert card.training_data["finetune_config"]["augment"] is None
    assert card.training_data["finetune_config"]["envelope_branch"] is False


def test_envelope_branch_starts_as_the_base_network() -> None:
    from desktop.ml.architectures import build, defaults
    from desktop.ml.training.adapters import SPECTRAL_BRANCH, add_spectral_branch

    torch.manual_seed(0)
    hp = {**defaults("wdcnn"), "channels": [8, 16, 16], "fc": 12, "n_classes": 3}
    plain = build("wdcnn", hp).eval()
    grown, grown_hp = add_spectral_branch(plain, hp)
    grown.eval()
    x = torch.randn(5, 1, 2048)
    assert torch.allclose(plain(x), grown(x), atol=1e-5)
    assert grown_hp == {**hp, **SPECTRAL_BRANCH}
    # the card's hyper-parameters rebuild the same network (what inference does)
    again = build("wdcnn_spectral", grown_hp)
    again.load_state_dict(grown.state_dict())


def test_augmentation_keeps_shape_and_changes_the_colour() -> None:
    from desktop.ml.training.finetune import augment_windows, random_eq

    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 2048))
    out = augment_windows(w, rng)
    assert out.shape == w.shape and np.isfinite(out).all()
    flat = random_eq(w, np.random.default_rng(1), db=0.0)
    assert np.allclose(flat, w)
    coloured = random_eq(w, np.random.default_rng(1), db=12.0)
    ratio = np.abs(np.fft.rfft(coloured[0])[1:]) / np.abs(np.fft.rfft(w[0])[1:])
    assert ratio.min() >= 10 ** (-12 / 20) - 1e-6 and ratio.max() <= 10 ** (12 / 20) + 1e-6
    assert ratio.max() / ratio.min() > 1.5


def test_cancel_leaves_no_model_and_no_pointer_change(recordings, tmp_path) -> None:
    finetune("fault-cwru", make_spans(recordings), "rig", mode="head", epochs=2, rate=RATE,
             replay_data=no_replay(tmp_path))
    versions.promote("rig", 1)
    before = sorted(p.relative_to(user_models_dir()) for p in user_models_dir().rglob("*"))
    state = versions.read_state()
    task = TaskState()
    task.add_listener(lambda f, m, info: task.cancel() if info.get("stage") == "training"
                      and info.get("epoch") else None)  # mid-training

    with pytest.raises(Cancelled):
        finetune("fault-cwru", make_spans(recordings), "rig", mode="full", epochs=30,
                 rate=RATE, replay_data=no_replay(tmp_path), task=task)
    cancelled = TaskState()
    cancelled.cancel()
    with pytest.raises(Cancelled):  # a brand-new name leaves no folder behind
        finetune("fault-cwru", make_spans(recordings), "other", mode="full", epochs=30,
                 rate=RATE, replay_data=no_replay(tmp_path), task=cancelled)
    after = sorted(p.relative_to(user_models_dir()) for p in user_models_dir().rglob("*"))
    assert after == before and versions.read_state() == state
    assert resolve("rig").folder.name == "v1"


def test_split_by_event_never_shares_an_event(recordings) -> None:
    spans = []
    for k, path in recordings.items():  # four events per class, windows overlapping 3/4
        spans += [span(str(path), i * 0.128, (i + 1) * 0.128 + 0.1, k) for i in range(3)]
    data = build_windows(spans, sorted(recordings), RATE, 2048, channel_hints=["DE_time"],
                         rate=RATE)
    assert len(data) > len(spans)  # hop window//4 gives several windows per event
    for seed in range(5):
        train, val = split_by_event(data, 0.34, seed)
        assert set(data.events[train]).isdisjoint(data.events[val])
        assert len(train) + len(val) == len(data)
        assert set(data.labels[val]) == set(data.labels[train])  # every class on both sides


def test_new_class_extends_the_head_keeping_known_rows() -> None:
    from desktop.ml.architectures import build

    model = build("wdcnn", {"channels": [8, 16], "fc": 12, "n_classes": 3})
    old = model.head[-1]
    extend_head(model, 5)
    new = model.head[-1]
    assert new.out_features == 5 and torch.equal(new.weight[:3], old.weight)
    assert torch.equal(new.bias[:3], old.bias)
    assert model(torch.zeros(2, 1, 2048)).shape == (2, 5)


def test_label_file_with_relative_path_and_multiline_note_feeds_the_finetune_data(
        recordings, tmp_path) -> None:
    """labels.io writes and reads the file; the fine-tune data path cuts windows from it."""
    folder = tmp_path / "copied"
    folder.mkdir()
    for k in ("normal", "ball_007"):
        (folder / f"{k}.csv").write_bytes(recordings[k].read_bytes())
    note = 'bearing "B" hot,\nsecond line\r\nthird'
    path = folder / "labels.csv"
    export_csv([span(f"{k}.csv", 0.0, 0.5, k, "DE accel", note)
                for k in ("normal", "ball_007")], path)
    assert b"normal.csv," in path.read_bytes()  # written relative, as a user might
    events = read_label_file(path)
    assert [e.recording for e in events] == [str(folder / "normal.csv"),
                                             str(folder / "ball_007.csv")]
    assert all(e.note == note and e.channel == "DE accel" for e in events)
    data = build_windows(events, ["normal", "ball_007"], RATE, 2048, channel_hints=["DE_time"],
                         rate=RATE)
    assert data.class_counts() == {"normal": 8, "ball_007": 8}
    assert data.recordings == sorted(e.recording for e in events)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(), ML_COMMANDS)
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    return capsys.readouterr().out


def test_cli_train_base_json_then_predict_and_models(recordings, tmp_path, capsys) -> None:
    labels = tmp_path / "labels.csv"
    export_csv(make_spans(recordings, new_class=True), labels)
    doc = json.loads(run_cli(["train", "--base", "fault-cwru", "--labels", str(labels),
                              "--name", "cli-rig", "--epochs", "3", "--mode", "head",
                              "--rate", "12000", "--replay-data", str(no_replay(tmp_path)),
                              "--quiet", "--json"], capsys))
    assert {"model", "version", "mode", "heldout", "base_heldout", "original_classes_accuracy",
            "epochs_run", "seconds"} <= set(doc)
    assert doc["model"] == "cli-rig" and doc["version"] == 1 and doc["mode"] == "head"
    for key in ("heldout", "base_heldout"):
        assert {"accuracy", "per_class", "confusion"} <= set(doc[key])
        assert all({"recall", "f1"} <= set(m) for m in doc[key]["per_class"].values())
    card = resolve("cli-rig").card
    assert card is not None and card.training_command.startswith("linewatch train --base")
    out = run_cli(["predict", str(recordings["outer_007"]), "--model", "cli-rig", "--rate",
                   "12000", "--json"], capsys)
    assert json.loads(out)["model"]["name"] == "cli-rig"
    listing = run_cli(["models", "list"], capsys)
    assert "cli-rig" in listing and "versions 1" in listing
    entries = {e["name"]: e for e in json.loads(run_cli(["models", "list", "--json"],
                                                        capsys))["models"]}
    assert entries["cli-rig"]["versions"] == [1] and entries["cli-rig"]["active_version"] is None
    assert "v1 is active" in run_cli(["models", "promote", "cli-rig"], capsys)
    assert "versions 1*" in run_cli(["models", "list"], capsys)
    assert {e.name for e in list_models()} >= {"fault-cwru", "anomaly-cwru", "cli-rig"}


def test_one_event_per_class_gives_uniform_rows_and_an_unchecked_result(recordings,
                                                                         tmp_path) -> None:
    task, reports = recorder()
    spans = [span(str(path), 0.0, 0.512, k) for k, path in recordings.items()]
    r = finetune("fault-cwru", spans, "one-event", mode="head", epochs=2, rate=RATE,
                 replay_data=no_replay(tmp_path), task=task)
    rows = [info["history"] for _, info in reports if "history" in info]
    assert len(rows) == 2 and all(set(row) == set(HISTORY_KEYS) for row in rows)
    assert all(row["val_loss"] is None and row["val_accuracy"] is None for row in rows)
    assert not r.checked and r.heldout is None and r.to_json()["checked"] is False
    assert any(n.startswith("no held-out events: the result is not checked") for n in r.notes)


def test_shipped_replay_set_is_used_and_travels_with_the_new_version(recordings) -> None:
    from desktop.ml.constants import REPLAY_FILE

    r = finetune("fault-cwru", make_spans(recordings), "replayed", mode="head", epochs=2,
                 rate=RATE)
    assert r.replay["used"] and r.replay["source"] == "replay set"
    assert r.replay["windows"] > 400 and len(r.replay["files"]) == 19
    assert r.original_classes_accuracy is not None and r.base_original_classes_accuracy >= 0.9
    shipped = resolve("fault-cwru")
    assert (r.folder / REPLAY_FILE).read_bytes() == (shipped.folder / REPLAY_FILE).read_bytes()
    # A fine-tune of the fine-tuned version replays the same set.
    again = finetune("replayed", make_spans(recordings), "replayed-2", mode="head", epochs=1,
                     rate=RATE)
    assert again.replay["source"] == "replay set" and again.original_classes_accuracy is not None


def test_a_swapped_replay_set_is_refused(recordings, tmp_path) -> None:
    import shutil

    from desktop.core import paths
    from desktop.ml.constants import REPLAY_FILE
    from desktop.ml.errors import ModelError

    folder = tmp_path / "copy"
    shutil.copytree(paths.shipped_models_dir() / "fault-cwru", folder)
    data = bytearray((folder / REPLAY_FILE).read_bytes())
    data[-1] ^= 0xFF
    (folder / REPLAY_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="replay set"):
        finetune(str(folder), make_spans(recordings), "bad", mode="head", epochs=1, rate=RATE)
