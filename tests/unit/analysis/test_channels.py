"""One channel picker for predict, live inference and fine-tune data: index and reason."""

from __future__ import annotations

import pytest

from desktop.analysis.channels import pick_channel
from desktop.core.errors import InputError

CWRU = ["X105_DE_time", "X105_FE_time", "X105_BA_time"]


def test_explicit_channel_exact_then_part_of_a_name() -> None:
    assert pick_channel(CWRU, "X105_FE_time", ["DE_time"]) == (1, "matched --channel "
                                                                   "X105_FE_time")
    index, reason = pick_channel(CWRU, "fe_time", ["DE_time"])
    assert index == 1 and "--channel fe_time" in reason
    with pytest.raises(InputError, match="no channel 'RPM'"):
        pick_channel(CWRU, "RPM", ["DE_time"])


def test_hints_match_the_same_channel_for_files_and_live_names() -> None:
    # The same names and hint give the same channel wherever they are asked.
    assert pick_channel(CWRU, None, ["DE_time"]) == (
        0, "first channel whose name contains 'DE_time'")
    assert pick_channel(["FE accel", "DE accel"], None, ["DE_time"]) == (
        1, "first channel whose name contains 'DE'")
    assert pick_channel(["x", "DE_time"], None, ["DE_time"]).index == 1
    # "DE" as a word, not a part of "decel" or "Mode".
    assert pick_channel(["Mode", "decel", "DE-accel"], None, ["DE_time"]).index == 2


def test_fallbacks_say_why() -> None:
    assert pick_channel(["a"], None, ["DE_time"]) == (0, "the only channel")
    index, reason = pick_channel(["a", "b"], None, ["DE_time"])
    assert index == 0 and reason.startswith("no channel matches the model's hints (DE_time)")
    index, reason = pick_channel(["FE", "DE accel"], "gone", ["DE_time"],
                                 wanted_from="the configured channel", required=False)
    assert index == 1 and reason.startswith("no channel 'gone'; ")
    with pytest.raises(InputError):
        pick_channel([], None, ["DE_time"])
