"""Errors of the model layer.

They subclass :class:`~desktop.core.errors.LinewatchError`, so the CLI and the UI show the
message as one line: a refused model file is the user's problem to fix (a wrong or damaged
folder), not a bug with a traceback. Input problems (no rate, unknown channel) are
:class:`desktop.core.errors.InputError`; a cancelled job raises
:class:`desktop.core.tasks.Cancelled`.
"""

from __future__ import annotations

from desktop.core.errors import LinewatchError, UsageError


class ModelError(LinewatchError):
    """A model folder cannot be used: bad card, weights that do not match it, unsafe file."""


class DeviceError(ModelError, UsageError):
    """``--device`` names a device this machine cannot give (``gpu``, ``cuda`` without
    one): the command line is wrong for this machine, exit code 2."""


class UnknownModelError(ModelError, UsageError):
    """``--model NAME`` (or ``NAME@k``) names no installed model or version: the command
    line is wrong, exit code 2 (the known ones are listed in the message)."""


class NeedsTorchError(LinewatchError):
    """A torch-only feature (training, fine-tuning, calibration, explanations) was asked for
    in a build without torch: :func:`desktop.ml.backend.require_torch` raises it."""
