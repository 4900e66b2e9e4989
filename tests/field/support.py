"""Where the field cases live: ``tests/fixtures/field-cases`` in every clone (copies of the
real-world inputs the tests read, each a few KB; their right values are in the tests).

A case not copied there yet is looked up in a ``shared/field-cases`` folder beside the
checkout; the test is skipped (with the reason) only if neither has it. Every kind also
has a generated twin in the tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

IN_REPO = Path(__file__).resolve().parents[1] / "fixtures" / "field-cases"
BESIDE = Path(__file__).resolve().parents[2] / ".." / "shared" / "field-cases"
FIELD_CASES = IN_REPO


def field_case(name: str) -> Path:
    """The field case ``name`` (a path relative to the field-cases folder)."""
    for folder in (IN_REPO, BESIDE):
        path = folder / name
        if path.is_file():
            return path
    pytest.skip(f"field case {name} not found in {IN_REPO}")
