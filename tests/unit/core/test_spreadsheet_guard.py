"""Issue 24 item 5: every CSV writer puts the one spreadsheet-formula guard
(:mod:`desktop.core.spreadsheet`) on its text cells; each writer's real file is read back."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from desktop.cli import main
from desktop.core import paths
from desktop.core.spreadsheet import FORMULA_START, guard_formula, unguard_formula
from desktop.core.types import ChannelSpec
from desktop.recording.schema import build_schema

HOSTILE = ['=HYPERLINK("http://x","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
           "\tlead tab", "\rlead cr", "'quoted"]


def rows_of(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def assert_guarded(cell: str, original: str) -> None:
    assert cell == "'" + original, (cell, original)
    assert unguard_formula(cell) == original


def test_the_guard_is_exact_and_reversible() -> None:
    for text in [*HOSTILE, "plain", "", "1.5", "'", "''x"]:
        guarded = guard_formula(text)
        assert not guarded or guarded[0] not in FORMULA_START
        assert unguard_formula(guarded) == text
    assert guard_formula("accel x") == "accel x"


def test_export_of_a_recording_guards_channel_names(tmp_path: Path) -> None:
    names = HOSTILE[:6]
    chans = tuple(ChannelSpec(n) for n in names)
    schema = build_schema(chans, {"sample_rate": 100.0, "source": "demo"})
    values = np.arange(50 * len(names), dtype=float).reshape(50, len(names)) - 10.0
    arrays = [pa.array(np.arange(50) / 100.0)] + [pa.array(values[:, j])
                                                  for j in range(len(names))]
    src = tmp_path / "rec.parquet"
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), src)
    out = tmp_path / "x.csv"
    assert main(["export", str(src), "--out", str(out)]) == 0
    rows = rows_of(out)
    assert rows[0][0] == "time_s"
    for cell, name in zip(rows[0][1:], names, strict=True):
        assert_guarded(cell, name)
    assert float(rows[1][1]) == -10.0  # numbers stay numbers (a minus sign is not guarded)


def test_verdict_tables_guard_file_class_and_location(tmp_path: Path) -> None:
    from desktop.fleet.export import export_verdicts
    from desktop.ml.inference.batch import write_table

    columns = {"file": ["=evil.parquet", "ok.parquet"], "start_s": [0.0, 1.0],
               "end_s": [1.0, 2.0], "class": ["-bad", "normal"],
               "location": ["@here", "\rDE"], "probability": [-0.0, 0.5]}
    parquet = tmp_path / "v.parquet"
    write_table(columns, {"kind": "verdicts"}, parquet)
    out = tmp_path / "v.csv"
    assert export_verdicts(parquet, out) == 2
    rows = rows_of(out)
    header = rows[0]
    got = dict(zip(header, rows[1], strict=True))
    assert_guarded(got["file"], "=evil.parquet")
    assert_guarded(got["class"], "-bad")
    assert_guarded(got["location"], "@here")
    assert dict(zip(header, rows[2], strict=True))["class"] == "normal"
    assert_guarded(dict(zip(header, rows[2], strict=True))["location"], "\rDE")
    assert len(rows) == 3
    assert pq.read_table(parquet).column("class").to_pylist() == ["-bad", "normal"]


def test_labels_export_uses_the_same_guard(tmp_path: Path) -> None:
    from desktop.labels import io as label_io
    from desktop.labels.event import LabelEvent

    assert label_io.guard_formula is guard_formula
    out = tmp_path / "labels.csv"
    label_io.export_csv([LabelEvent(None, "run.parquet", 1.0, 2.0, "=1+1", note="+x")], out)
    row = rows_of(out)[1]
    assert_guarded(row[3], "=1+1")
    assert_guarded(row[5], "+x")
    assert [e.label for e in label_io.import_file(out)] == ["=1+1"]


def test_parts_csv_guards_and_reads_back_the_same(tmp_path: Path) -> None:
    from desktop.ml.tabular.card import TabularCard
    from desktop.ml.tabular.finetune import read_parts
    from desktop.ml.tabular.parts import write_parts_csv

    card = TabularCard.load(paths.shipped_models_dir() / "quality-steel")
    inputs = list(card.input_columns)
    rows = [{"id": "=P1", "values": [float(i) for i in range(len(inputs))], "label": "-weird"},
            {"id": "P2", "values": [1.0] * len(inputs), "label": "Bumps"}]
    out = tmp_path / "parts.csv"
    assert write_parts_csv(out, rows, inputs) == 2
    table = rows_of(out)
    assert_guarded(table[1][0], "=P1")
    assert_guarded(table[1][-1], "-weird")
    values, labels = read_parts(out, card)
    assert labels == ["-weird", "Bumps"]
    assert values.shape == (2, len(inputs))


@pytest.mark.parametrize("name", ["-x", "=x"])
def test_parts_header_names_are_guarded(name: str) -> None:
    from desktop.ml.tabular.parts import parts_csv_text

    text = parts_csv_text([{"values": [1.0], "label": "a"}], [name])
    assert next(csv.reader([text.splitlines()[0]])) == ["part_id", "'" + name, "label"]
