"""Real-data excerpts every clone has (``tests/fixtures``), cut by
``tools/make_test_excerpts.py`` from the CWRU Bearing Data Center files
(engineering.case.edu/bearingdatacenter; cite the Bearing Data Center).

Tests read these, never a data set outside the repository, so a clone anywhere runs the
same checks; the full files are the input of the larger runs in ``tools/`` and ``bench/``.
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

#: The first 2-3 s of the drive-end channel of each CWRU file the tests need, with the
#: file's own name and MATLAB variable names (``X105_DE_time``, ``X105RPM``).
CWRU = FIXTURES / "cwru"

#: The first 2048 samples of each demo segment as its source file gives them.
DEMO_REFERENCE = FIXTURES / "demo_reference.npz"
