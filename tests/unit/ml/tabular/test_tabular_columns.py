"""Column matching: by name in any order; clear refusals naming the columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from desktop.core.errors import InputError
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


# ------------------------------------------------- the kinds a newcomer's files brought in
def test_a_header_without_rows_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "only-header.csv"
    path.write_text("a,b,c\n")
    with pytest.raises(InputError, match=r"only-header\.csv has a header but no data rows"):
        read_frame(path)


def test_a_repeated_header_is_named_as_repeated_not_as_pandas_renamed_it(tmp_path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,b,A,c\n1,2,3,4\n")
    with pytest.raises(ColumnError, match=r"dup\.csv: the header repeats column\(s\) A, a"):
        read_frame(path)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_decimal_commas_are_read_as_the_numbers_they_are(tmp_path: Path, sep: str) -> None:
    path = tmp_path / "de.csv"
    path.write_text(f"a{sep}b{sep}c\n0,25{sep}-1,5{sep}3\n2{sep}1,5e3{sep}-0,001\n")
    t = match_columns(read_frame(path), INPUTS)
    assert t.values.tolist() == [[0.25, -1.5, 3.0], [2.0, 1500.0, -0.001]]
    assert any("decimal commas" in n for n in t.notices)
    # a point decimal with ; separators stays a point decimal
    path.write_text(f"a{sep}b{sep}c\n0.25{sep}1{sep}3\n")
    assert match_columns(read_frame(path), INPUTS).values.tolist() == [[0.25, 1.0, 3.0]]


def test_an_infinite_value_is_named_with_column_and_row() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 3.0], "c": [3.0, float("-inf")]})
    with pytest.raises(ColumnError, match="infinite value in column c, row 2"):
        match_columns(df, INPUTS)


def test_several_id_columns_are_all_set_aside_and_the_first_echoed() -> None:
    df = pd.DataFrame({"id": ["p1", "p2"], "time": [0.0, 3.0], "a": [1, 4], "b": [2, 5],
                       "c": [3, 6]})
    t = match_columns(df, INPUTS)
    assert t.values.tolist() == [[1, 2, 3], [4, 5, 6]] and t.ids == ["p1", "p2"]
    assert any("also set aside: time" in n for n in t.notices)


def test_long_column_lists_are_cut_and_the_rename_hint_kept_for_a_few() -> None:
    df = pd.DataFrame({f"x{i}": [1.0] for i in range(20)})
    with pytest.raises(ColumnError) as e:
        match_columns(df, [f"y{i}" for i in range(12)])
    text = str(e.value)
    assert "… and 4 more" in text and "… and 12 more" in text and "renamed" not in text
