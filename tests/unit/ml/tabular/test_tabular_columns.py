"""Column matching: by name in any order; clear refusals naming the columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from desktop.ml.tabular.process import TEP_COLUMNS
from desktop.ml.tabular.table import ColumnError, match_columns, read_frame

INPUTS = ["a", "b", "c"]


def test_reordered_columns_are_matched_by_name_and_ids_set_aside() -> None:
    df = pd.DataFrame({"Part_ID": ["x", "y"], "c": [3, 6], "A": [1, 4], " b ": [2, 5]})
    t = match_columns(df, INPUTS)
    assert t.values.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert t.ids == ["x", "y"] and t.id_column == "Part_ID"


def test_missing_extra_and_renamed_columns_are_named() -> None:
    with pytest.raises(ColumnError, match="missing column\\(s\\): c") as e:
        match_columns(pd.DataFrame({"a": [1], "b": [2]}), INPUTS)
    assert "unexpected" not in str(e.value)
    with pytest.raises(ColumnError, match="unexpected column\\(s\\): d"):
        match_columns(pd.DataFrame({"a": [1], "b": [2], "c": [3], "d": [4]}), INPUTS)
    with pytest.raises(ColumnError, match="missing column\\(s\\): b; unexpected column\\(s\\): "
                                          "bee — if a column was renamed"):
        match_columns(pd.DataFrame({"a": [1], "bee": [2], "c": [3]}), INPUTS)


def test_text_in_a_numeric_column_is_named_with_its_row() -> None:
    df = pd.DataFrame({"a": [1, 2], "b": ["2", "oops"], "c": [3, 4]})
    with pytest.raises(ColumnError, match="non-numeric values in column\\(s\\): b \\(row 2: "
                                          "'oops'\\)"):
        match_columns(df, INPUTS)
    ok = match_columns(pd.DataFrame({"a": [1], "b": ["2.5"], "c": [None]}), INPUTS)
    assert ok.values[0, 1] == 2.5 and np.isnan(ok.values[0, 2])


def test_headerless_files_only_by_position_with_exactly_the_right_count(tmp_path: Path) -> None:
    x = np.arange(3 * 52, dtype=float).reshape(3, 52)
    path = tmp_path / "run.dat"
    np.savetxt(path, x)
    frame = read_frame(path)
    t = match_columns(frame, TEP_COLUMNS, allow_headerless=True)
    assert np.array_equal(t.values, x)
    assert "no header row" in t.notices[0] and "xmeas_1 … xmv_11" in t.notices[0]
    np.savetxt(path, x[:, :51], delimiter=",")
    with pytest.raises(ColumnError, match=r"no header and 51 columns.*exactly 52"):
        match_columns(read_frame(path), TEP_COLUMNS, allow_headerless=True)
    with pytest.raises(ColumnError, match="needs named columns"):
        match_columns(read_frame(path), INPUTS)


def test_csv_with_header_is_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("b,a,c\n2,1,3\n", encoding="utf-8")
    assert match_columns(read_frame(path), INPUTS).values.tolist() == [[1, 2, 3]]
