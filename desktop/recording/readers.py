"""Open any recording (Parquet, CSV, MATLAB .mat, WAV, NI TDMS, Excel .xlsx, Arrow/Feather,
a crash journal) as one in-memory type.

Every reader returns a :class:`~desktop.core.types.Recording`, so replay, plotting and
the models never care which format a file came in. The formats and the dispatch live in
:mod:`desktop.recording.registry` (one module per format, one registration); this module
is the stable import for callers.
"""

from __future__ import annotations

from desktop.recording.arrow_file import ARROW_SUFFIXES, read_arrow
from desktop.recording.journal_file import read_journal
from desktop.recording.mat import MAT_SUFFIXES
from desktop.recording.parquet_file import PARQUET_SUFFIXES, read_parquet
from desktop.recording.registry import (
    _resolve,
    open_filter,
    read_recording,
    summarize_recording,
    supported_suffixes,
)
from desktop.recording.summary import RecordingSummary
from desktop.recording.tables import check_time_column
from desktop.recording.text import CSV_SUFFIXES, read_csv
from desktop.recording.textio import _text_chunks

__all__ = [
    "ARROW_SUFFIXES",
    "CSV_SUFFIXES",
    "MAT_SUFFIXES",
    "PARQUET_SUFFIXES",
    "RecordingSummary",
    "_resolve",
    "_text_chunks",
    "check_time_column",
    "open_filter",
    "read_arrow",
    "read_csv",
    "read_journal",
    "read_parquet",
    "read_recording",
    "summarize_recording",
    "supported_suffixes",
]
