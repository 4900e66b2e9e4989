"""Table models on a stream: the p-chart's limits and alarm, and a process run fed in
pieces giving exactly the verdicts of the whole run at once."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from desktop.core.errors import InputError
from desktop.ml.tabular import load_model
from desktop.ml.tabular.live import TabularStream
from desktop.ml.tabular.parts import parts_csv_text
from desktop.ml.tabular.spc import PChart

ROOT = Path(__file__).resolve().parents[4]
FIX = ROOT / "tests" / "fixtures"


def test_p_chart_limits_are_three_sigma_of_the_window() -> None:
    chart = PChart(["a", "b"], {"a": 0.9, "b": 0.1}, window=20, min_parts=5)
    for _ in range(20):
        point = chart.add("a")
    assert point.parts == 20
    assert point.upper["b"] == pytest.approx(0.1 + 3 * math.sqrt(0.09 / 20))
    assert point.lower["b"] == 0.0 and not chart.alarm
    crossed = []
    for _ in range(8):  # 8 of 20 "b": 40 % > 0.1 + 0.201
        point = chart.add("b")
        crossed += point.crossed
    assert chart.alarm and crossed == ["b"] and point.over == ["b"]
    assert point.shares["b"] == pytest.approx(8 / 20)
    for _ in range(20):
        point = chart.add("a")
    assert not chart.alarm and point.over == []


def test_p_chart_judges_nothing_before_min_parts_and_takes_centres_from_counts() -> None:
    chart = PChart.from_counts(["a", "b"], {"a": 30, "b": 10}, window=50, min_parts=10)
    assert chart.centre == {"a": 0.75, "b": 0.25}
    for _ in range(9):
        assert chart.add("b").over == []
    assert chart.add("b").over == ["b"]


def test_a_process_stream_fed_in_pieces_equals_the_whole_run() -> None:
    model = load_model(ROOT / "models" / "process-tep")
    run = pd.concat([pd.read_csv(FIX / "tep_normal_excerpt.csv"),
                     pd.read_csv(FIX / "tep_idv1_excerpt.csv")], ignore_index=True)
    X = run[model.variables].to_numpy(float)
    whole = model.predict(X)
    stream = TabularStream(model, list(run.columns))
    pieces = []
    for a, b in [(0, 1), (1, 3), (3, 4), (4, 29), (29, 31), (31, 60)]:
        pieces += stream.feed(X[a:b])
    assert len(pieces) == len(whole)
    for p, w in zip(pieces, whole, strict=True):
        assert (p["score"], p["alarm"], p["fault"], p["contributors"]) == \
               (w["score"], w["alarm"], w["fault"], w["contributors"])
    assert stream.alarm and stream.alarm_label.startswith("process alarm")


def test_a_stream_without_a_header_is_read_by_position_only_for_a_process_model() -> None:
    model = load_model(ROOT / "models" / "process-tep")
    stream = TabularStream(model, [f"ch{i}" for i in range(1, 53)])
    assert "by position" in stream.notices[0]
    with pytest.raises(InputError, match="52 columns"):
        TabularStream(model, [f"ch{i}" for i in range(1, 51)])
    quality = load_model(ROOT / "models" / "quality-steel")
    with pytest.raises(InputError, match="missing column"):
        TabularStream(quality, [f"ch{i}" for i in range(1, 28)])


def test_quality_stream_rows_carry_values_id_chart_and_export_as_parts_csv() -> None:
    model = load_model(ROOT / "models" / "quality-steel")
    df = pd.read_csv(FIX / "steel_excerpt.csv").head(5)
    cols = model.card.input_columns
    values = np.column_stack([np.arange(5) + 100, df[cols].to_numpy(float)])
    rows = TabularStream(model, ["part_id", *cols]).feed(values)
    assert [r["id"] for r in rows] == ["100", "101", "102", "103", "104"]
    assert rows[0]["values"] == pytest.approx(df[cols].iloc[0].tolist())
    assert rows[-1]["chart"]["parts"] == 5 and rows[-1]["alarm"] is False
    rows[1]["label"] = "Pastry"
    text = parts_csv_text(rows, cols)
    back = pd.read_csv(pd.io.common.StringIO(text))
    assert list(back.columns) == ["part_id", *cols, "label"] and len(back) == 1
    assert back["part_id"].tolist() == [101] and back["label"].tolist() == ["Pastry"]


def test_a_stuck_valve_alarms_names_it_and_streams_row_by_row_like_the_whole_run() -> None:
    model = load_model(ROOT / "models" / "process-tep")
    run = pd.read_csv(FIX / "tep_normal_excerpt.csv")
    X = run[model.variables].to_numpy(float)
    i = model.variables.index("xmv_4")
    X[12:, i] = X[12, i]  # the valve stops moving (IDV 21: stream-4 valve fixed)
    whole = model.predict(X)
    assert not any(r["alarm"] for r in whole[:15])
    assert all(r["alarm"] for r in whole[20:])
    assert whole[25]["contributors"][0] == "xmv_4"
    stream = TabularStream(model, list(run.columns))
    pieces = [row for k in range(len(X)) for row in stream.feed(X[k:k + 1])]
    for p, w in zip(pieces, whole, strict=True):
        assert (p["score"], p["alarm"], p["contributors"]) == \
               (w["score"], w["alarm"], w["contributors"])
