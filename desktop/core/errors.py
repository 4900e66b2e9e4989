"""Errors the user is meant to read.

Anything raised as a :class:`LinewatchError` is shown as its message (no traceback) by the
CLI and the UI; everything else is a bug and is logged with its traceback.
"""

from __future__ import annotations


class LinewatchError(Exception):
    """A problem the user can act on: bad input, missing file, unreachable device."""


class SourceError(LinewatchError):
    """A source cannot be opened or described (bad spec, unknown kind, missing file)."""


class RecordingError(LinewatchError):
    """A recording cannot be written or read (disk full, unwritable path, corrupt file)."""


class InputError(LinewatchError):
    """A signal cannot be used as asked: no sample rate, too short, unknown channel."""


class MissingFileError(RecordingError, InputError):
    """An input file (a recording, a table, a verdict table) that does not exist: bad
    input, exit code 2, like a bad command line."""


class UsageError(InputError):
    """An option's value is impossible whatever the input (``--hop 0``, ``--rate -5``,
    ``--out x.xlsx``): the command line is wrong, exit code 2."""
