"""Where the shared field cases live, and how to skip when this checkout has none."""

from __future__ import annotations

from pathlib import Path

import pytest

FIELD_CASES = Path(__file__).resolve().parents[2] / ".." / "shared" / "field-cases"


def field_case(name: str) -> Path:
    """A file of ``/work/shared/field-cases``; the test is skipped (with the reason) if the
    checkout has no shared folder beside it. Every kind also has a generated twin."""
    path = FIELD_CASES / name
    if not path.is_file():
        pytest.skip(f"shared field case {name} not found at {FIELD_CASES}")
    return path
