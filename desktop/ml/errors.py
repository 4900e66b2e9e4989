"""Errors of the model layer.

They subclass :class:`~desktop.core.errors.LinewatchError`, so the CLI and the UI show the
message as one line: a refused model file is the user's problem to fix (a wrong or damaged
folder), not a bug with a traceback.
"""

from __future__ import annotations

from desktop.core.errors import LinewatchError


class ModelError(LinewatchError):
    """A model folder cannot be used: bad card, weights that do not match it, unsafe file."""


class TrainingCancelled(LinewatchError):
    """Training stopped because the caller's ``cancel()`` returned True."""


class InputError(LinewatchError):
    """An input signal cannot be fed to a model: no rate, too short, unknown channel."""
