"""JSON from outside: nesting and size are refused with a line and column, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.core.jsonfile import MAX_DEPTH, JSONProblem, loads, read_json_file, too_deep_at


def test_two_hundred_thousand_brackets_are_refused_at_the_first_too_deep_one() -> None:
    with pytest.raises(JSONProblem) as info:
        loads("[" * 200_000)
    assert str(info.value) == f"line 1, column {MAX_DEPTH + 1}: nested deeper than 64 levels"
    with pytest.raises(JSONProblem, match=r"line 3, column 64: nested"):
        loads('{"a": 1,\n "b": "x",\n' + "[" * 70)


def test_brackets_inside_strings_do_not_count() -> None:
    tricky = {"note": "[" * 500 + '\\"{{{' + "\\" * 3, "k": ["]" * 100, '"[[['], "ok": [[1]]}
    text = json.dumps(tricky)
    assert loads(text) == tricky
    assert too_deep_at(text.encode()) is None


def test_exactly_the_limit_is_fine_one_more_is_not() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(JSONProblem):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_invalid_json_and_bad_utf8_name_line_and_column() -> None:
    with pytest.raises(JSONProblem, match=r"line 2, column 3: not valid JSON"):
        loads('{"a": 1,\n  }')
    with pytest.raises(JSONProblem, match=r"line 2, column 4: not UTF-8"):
        loads(b'{"a":\n "b\xff"}')


def test_a_file_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"[" + b"1," * 1000 + b"1]")
    with pytest.raises(JSONProblem, match="2,003 bytes, more than the 1,000 bytes"):
        read_json_file(path, max_bytes=1000)
    assert read_json_file(path, max_bytes=10_000)[-1] == 1


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(),
                    lambda kids: st.lists(kids, max_size=3)
                    | st.dictionaries(st.text(), kids, max_size=3), max_leaves=20))
def test_any_json_value_within_the_depth_reads_back(value: object) -> None:
    assert loads(json.dumps(value)) == value
