"""Which channel of a recording or a live source a model listens to: one rule everywhere.

``linewatch predict``, the live inference worker and the fine-tune data path all call
:func:`pick_channel`, so the same channel names and the same model hint always give the
same channel. Besides the index it returns a one-line reason, which predict prints and the
live worker reports, so an engineer can see *why* a channel was chosen.

The order of the rules:

1. an explicitly asked channel (``--channel``, a label's channel): its exact name, else the
   first channel whose name contains it (case-insensitive: ``DE_time`` → ``X105_DE_time``);
   when none matches, :class:`~desktop.core.errors.InputError` (or, with
   ``required=False``, the rules below with the miss said in the reason);
2. the model's channel hints (``DE_time``), each in turn: exact name, then a name that
   contains the hint, then a name that has the hint's part before ``_`` (``DE``) as a word
   (``DE accel``; words are split at spaces, ``_`` and ``-``);
3. the only channel; else the first channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from desktop.core.errors import InputError, UsageError


class ChannelChoice(NamedTuple):
    """The chosen channel's index and a one-line reason (for stderr and status lines)."""

    # The field shadows tuple.index on purpose (callers read `.index`); mypy flags that.
    index: int  # type: ignore[assignment]
    reason: str


def _words(name: str) -> list[str]:
    return name.lower().replace("-", " ").replace("_", " ").split()


def _match(names: Sequence[str], wanted: str) -> tuple[int, str] | None:
    """Exact name, else first name containing ``wanted`` (case-insensitive)."""
    if wanted in names:
        return names.index(wanted), "matched"
    low = wanted.lower()
    for i, name in enumerate(names):
        if low in name.lower():
            return i, "contains"
    return None


def _match_hint(names: Sequence[str], hint: str) -> tuple[int, str] | None:
    found = _match(names, hint)
    if found is not None:
        i, how = found
        return i, (f"matched the model's channel hint {hint!r}" if how == "matched" else
                   f"first channel whose name contains {hint!r}")
    prefix = hint.split("_")[0].lower()
    if prefix:
        for i, name in enumerate(names):
            if prefix in _words(name):
                return i, f"first channel whose name contains {hint.split('_')[0]!r}"
    return None


def pick_channel(names: Sequence[str], wanted: str | None = None,
                 hints: Sequence[str] = (), *, wanted_from: str = "--channel",
                 required: bool = True) -> ChannelChoice:
    """The channel to feed a model, from the channel ``names`` (at least one).

    ``wanted`` is an explicit choice named in the reason as ``wanted_from`` (``--channel``,
    ``the label's channel``). Raises :class:`InputError` when ``names`` is empty, or when
    ``wanted`` matches no channel and ``required`` is true (:class:`UsageError`, exit 2,
    when ``wanted_from`` is a command-line option, ``--…``: the command line is wrong).
    """
    names = list(names)
    if not names:
        raise InputError("the recording has no channels")
    miss = ""
    if wanted:
        found = _match(names, wanted)
        if found is not None:
            i, how = found
            if how == "matched":
                return ChannelChoice(i, f"matched {wanted_from} {wanted}")
            return ChannelChoice(i, f"channel {names[i]!r} contains {wanted_from} {wanted}")
        if required:
            error = UsageError if wanted_from.startswith("--") else InputError
            raise error(f"no channel '{wanted}' (channels: {', '.join(names)})")
        miss = f"no channel {wanted!r}; "
    for hint in hints:
        found_hint = _match_hint(names, hint)
        if found_hint is not None:
            return ChannelChoice(found_hint[0], miss + found_hint[1])
    if len(names) == 1:
        return ChannelChoice(0, miss + "the only channel")
    hint_text = f" matches the model's hints ({', '.join(hints)})" if hints else " was asked for"
    return ChannelChoice(0, f"{miss}no channel{hint_text}: the first channel")
