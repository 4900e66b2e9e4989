"""A process monitor fitted on the plant's own normal data (`linewatch train --normal`):
with its own columns (names no fault), or refitting the shipped `process-tep`'s limits
(keeping its fault namer, exactly re-expressed), and the one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from desktop.core.errors import InputError
from desktop.core.tasks import Cancelled, TaskState
from desktop.ml.errors import ModelError
from desktop.ml.model_files import versions
from desktop.ml.tabular.process import (
    TEP_COLUMNS,
    Detector,
    load_process,
)
from desktop.ml.tabular.process_fit import min_normal_rows
from desktop.ml.tabular.process_train import train_process_monitor
from tests.unit.ml.tabular.test_tabular_cli import linewatch

ROOT = Path(__file__).resolve().parents[4]
UNIT = ["reactor_T", "reactor_P", "feed_flow", "level", "cooling_T"]


def _unit(n: int, seed: int, *, shift: float = 0.0, jitter: float = 0.0) -> np.ndarray:
    """A 5-variable slow process: a shared AR(1) driver and its own noise per variable;
    ``shift`` moves ``feed_flow`` by that many normal standard deviations, ``jitter`` adds
    white noise to ``level``."""
    rng = np.random.default_rng(seed)
    drive = np.zeros(n)
    for t in range(1, n):
        drive[t] = 0.9 * drive[t - 1] + rng.normal(0, 0.3)
    mix = np.array([1.0, 0.8, -0.5, 0.3, -1.0])
    x = drive[:, None] * mix + rng.normal(0, 0.2, (n, 5)) + [350.0, 2.7, 40.0, 65.0, 300.0]
    x[:, 2] += shift * x[:, 2].std() if shift else 0.0
    x[:, 3] += rng.normal(0, jitter, n) if jitter else 0.0
    return x


def _csv(path: Path, x: np.ndarray, columns: list[str], time_col: bool = True) -> Path:
    df = pd.DataFrame(x, columns=columns)
    if time_col:
        df.insert(0, "time", np.arange(len(df)) * 60.0)
    df.to_csv(path, index=False)
    return path


def test_a_monitor_of_the_plants_own_columns_alarms_on_a_shift_and_names_the_variable(
        tmp_path: Path) -> None:
    normal = [_csv(tmp_path / "week1.csv", _unit(400, 0), UNIT),
              _csv(tmp_path / "week2.csv", _unit(300, 1), UNIT)]
    result = train_process_monitor(normal, "unit-7")
    assert (result.version, result.rows, result.columns) == (1, 700, UNIT)
    assert result.faults == [] and result.parent is None and result.heldout_alarm_rate < 0.05
    model = load_process(result.folder)
    card = json.loads((result.folder / "card.json").read_text())
    assert card["classes"] == [] and card["metrics"]["normal_heldout_alarm_rate"] < 0.05
    assert [f["rows"] for f in card["training_data"]["files"]] == [400, 300]
    # more normal operation (a new run): rarely alarms
    fresh = model.predict(_unit(300, 7))
    assert np.mean([r["alarm"] for r in fresh]) < 0.05
    # the feed flow moved by 3 normal standard deviations: alarms, names it, no fault name
    shifted = model.predict(_unit(300, 8, shift=3.0))[40:]
    assert np.mean([r["alarm"] for r in shifted]) > 0.9
    assert all(r["fault"] is None for r in shifted)
    assert np.mean([r["contributors"][:1] == ["feed_flow"] for r in shifted]) > 0.8
    # the level got noisier, its level unchanged: seen (difference window), named
    noisy = model.predict(_unit(300, 9, jitter=0.6))[40:]
    assert np.mean([r["alarm"] for r in noisy]) > 0.8
    assert np.mean(["level" in r["contributors"][:2] for r in noisy if r["alarm"]]) > 0.8


def test_refitting_process_tep_keeps_its_fault_namer_exactly() -> None:
    base = load_process(ROOT / "models" / "process-tep")
    rng = np.random.default_rng(0)
    # another plant's normal data: the same variables at other operating points
    x = base.detector.mean[:52] + rng.normal(0, 1, (400, 52)) * base.detector.scale[:52] * 2
    new = Detector.fit(x, base.detector.lags)
    assert base.classifier is not None
    moved = base.classifier.rebased(base.detector, new)
    probe = x[:50] + rng.normal(0, 0.5, (50, 52))
    assert np.allclose(moved.proba(probe, new), base.classifier.proba(probe, base.detector),
                       atol=1e-9)
    with pytest.raises(ModelError, match="same variables and lags"):
        base.classifier.rebased(base.detector, Detector.fit(x, 0))


def test_cli_refits_process_tep_on_a_drifted_normal_run_and_cuts_its_false_alarms(
        tmp_path: Path) -> None:
    base = load_process(ROOT / "models" / "process-tep")
    rng = np.random.default_rng(1)
    # "this plant": TEP's variables around other operating points (1.5 normal standard
    # deviations away) with its own slow dynamics
    offset = base.detector.mean[:52] + 1.5 * base.detector.scale[:52] * rng.choice([-1, 1], 52)
    drive = np.zeros((400, 52))
    for t in range(1, 400):
        drive[t] = 0.8 * drive[t - 1] + rng.normal(0, 0.3, 52)
    x = offset + (drive + rng.normal(0, 0.3, (400, 52))) * base.detector.scale[:52]
    path = _csv(tmp_path / "plant-normal.csv", x[:, ::-1], TEP_COLUMNS[::-1], time_col=False)
    out = linewatch("train", "--normal", str(path), "--name", "plant-tep", "--base",
                    "process-tep", "--json", "--quiet")
    doc = json.loads(out.stdout)
    assert doc["parent"] == "process-tep" and doc["columns"] == TEP_COLUMNS
    assert doc["base_alarm_rate"] > 0.5 > 0.05 > doc["heldout_alarm_rate"]
    assert len(doc["faults"]) == 18 and doc["promoted"] is False
    model = load_process(Path(doc["folder"]))
    assert model.card.hyper_parameters["diff_window"] == 30 and model.classifier is not None
    listed = json.loads(linewatch("models", "list", "--json").stdout)
    row = next(m for m in listed["models"] if m["name"] == "plant-tep")
    assert row["kind"] == "process" and row["versions"] == [1]


def test_too_little_normal_data_an_empty_cell_and_other_columns_are_refused(
        tmp_path: Path) -> None:
    short = _csv(tmp_path / "short.csv", _unit(200, 0), UNIT)
    with pytest.raises(InputError, match=f"200 rows.*at least {min_normal_rows()}"):
        train_process_monitor([short], "unit-7")
    x = _unit(400, 0)
    x[123, 2] = np.nan
    holes = _csv(tmp_path / "holes.csv", x, UNIT)
    with pytest.raises(InputError, match=r"holes.csv: empty cell in column feed_flow, row 124"):
        train_process_monitor([holes], "unit-7")
    first = _csv(tmp_path / "a.csv", _unit(400, 0), UNIT)
    renamed = _csv(tmp_path / "b.csv", _unit(400, 1), [*UNIT[:-1], "coolant_T"])
    with pytest.raises(InputError, match=r"b.csv: .*missing column\(s\): cooling_T; "
                                         r"unexpected column\(s\): coolant_T"):
        train_process_monitor([first, renamed], "unit-7")
    bare = tmp_path / "bare.csv"
    pd.DataFrame(_unit(400, 0)).to_csv(bare, index=False, header=False)
    with pytest.raises(InputError, match="no header row"):
        train_process_monitor([bare], "unit-7")
    assert versions.versions_of("unit-7") == []


def test_cli_refusals_are_one_line(tmp_path: Path) -> None:
    path = _csv(tmp_path / "n.csv", _unit(400, 0), UNIT)
    out = linewatch("train", "--normal", str(path), "--name", "q", "--base", "quality-steel",
                    ok=False)
    assert "is a quality model; --normal refits process models only" in out.stderr
    assert "Traceback" not in out.stderr
    out = linewatch("train", "--normal", str(path), ok=False)
    assert "--normal needs --name NAME" in out.stderr
    out = linewatch("train", "--normal", str(path), "--name", "u", "--labels", str(path),
                    ok=False)
    assert "--labels does not go with --normal" in out.stderr


def test_cancel_saves_nothing(tmp_path: Path) -> None:
    path = _csv(tmp_path / "n.csv", _unit(400, 0), UNIT)
    task = TaskState()

    def listener(progress: float, message: str, info: dict) -> None:
        if message.startswith("held-out block 2"):
            task.cancel()

    task.add_listener(listener)
    with pytest.raises(Cancelled):
        train_process_monitor([path], "unit-c", task=task)
    assert versions.versions_of("unit-c") == []


def test_a_monitor_without_a_fault_namer_streams_live_like_the_whole_run(tmp_path) -> None:
    from desktop.ml.tabular.live import TabularStream

    result = train_process_monitor([_csv(tmp_path / "n.csv", _unit(400, 0), UNIT)], "unit-s")
    model = load_process(result.folder)
    run = np.vstack([_unit(60, 3), _unit(60, 4, shift=4.0)])
    whole = model.predict(run)
    stream = TabularStream(model, ["time", *UNIT[::-1]])  # the source's own column order
    rows = []
    for a, b in [(0, 1), (1, 31), (31, 33), (33, 120)]:
        block = np.column_stack([np.arange(a, b), run[a:b, ::-1]])
        rows += stream.feed(block)
    assert [(r["score"], r["alarm"], r["fault"], r["contributors"]) for r in rows] == \
           [(w["score"], w["alarm"], w["fault"], w["contributors"]) for w in whole]
    assert stream.alarm and all(r["fault"] is None for r in rows)


def test_rows_out_of_time_order_and_other_bad_normal_data_are_refused(tmp_path: Path) -> None:
    x = _unit(400, 0)
    shuffled = tmp_path / "shuffled.csv"
    df = pd.DataFrame(x, columns=UNIT)
    df.insert(0, "time", np.arange(400) * 60.0)
    df.iloc[[10, 11]] = df.iloc[[11, 10]].to_numpy()
    df.to_csv(shuffled, index=False)
    with pytest.raises(InputError, match=r"shuffled.csv: rows are not in time order \(time goes"
                                         r" back at row 12: 660.0 then 600.0\); sort the file"):
        train_process_monitor([shuffled], "unit-7")
    dated = tmp_path / "dated.csv"
    df = pd.DataFrame(x, columns=UNIT)
    df.insert(0, "Date", pd.date_range("2026-01-01", periods=400, freq="min").astype(str))
    df.to_csv(dated, index=False)
    assert train_process_monitor([dated], "unit-d").columns == UNIT  # in order: fine
    df.loc[5, "Date"] = "2025-12-31 00:00:00"
    df.to_csv(dated, index=False)
    with pytest.raises(InputError, match="Date goes back at row 6"):
        train_process_monitor([dated], "unit-d")
    with pytest.raises(InputError, match="is a folder"):
        train_process_monitor([tmp_path], "unit-7")
    good = _csv(tmp_path / "good.csv", x, UNIT)
    with pytest.raises(InputError, match=r"good\.csv is given twice"):
        train_process_monitor([good, good], "unit-7")
    with pytest.raises(ModelError, match="ships with Linewatch"):
        train_process_monitor([good], "process-tep")
    huge = x.copy()
    huge[:, 4] *= 1e300
    with pytest.raises(InputError, match="column cooling_T holds values beyond"):
        train_process_monitor([_csv(tmp_path / "huge.csv", huge, UNIT)], "unit-7")
    assert versions.versions_of("unit-7") == []


def test_a_steady_column_and_a_change_of_columns_are_said(tmp_path: Path) -> None:
    x = _unit(400, 0)
    x[:, 1] = 3.0  # reactor_P read to whole bar on a quiet day: one value, a few steps
    x[::25, 1] = 4.0
    first = train_process_monitor([_csv(tmp_path / "a.csv", x, UNIT)], "unit-n")
    assert any("barely changing" in n and "reactor_P" in n for n in first.notes)
    other = ["T1", "T2", "T3", "T4", "T5"]
    second = train_process_monitor([_csv(tmp_path / "b.csv", _unit(400, 1), other)], "unit-n")
    assert second.version == 2 and any("v1 watched other columns" in n for n in second.notes)


def test_a_parquet_recording_of_normal_operation_is_read(tmp_path: Path) -> None:
    path = tmp_path / "normal.parquet"
    df = pd.DataFrame(_unit(400, 0), columns=UNIT)
    df.insert(0, "time", np.arange(400) * 60.0)
    df.to_parquet(path)
    result = train_process_monitor([path], "unit-p")
    assert result.rows == 400 and result.columns == UNIT


def test_an_empty_name_is_a_usage_error(tmp_path: Path) -> None:
    path = _csv(tmp_path / "n.csv", _unit(400, 0), UNIT)
    out = linewatch("train", "--normal", str(path), "--name", " ", ok=False)
    assert out.returncode == 2 and "--name is empty" in out.stderr
