"""The alarm state machine: delay, hysteresis, latching until acknowledged."""

from __future__ import annotations

from desktop.baseline.alarms import AlarmLatch
from desktop.baseline.indicators import Indicators
from desktop.baseline.judge import Judgement, judge
from desktop.baseline.model import fit_sensor_baseline

BASE = fit_sensor_baseline("de", "g", 1000.0, [Indicators({"acc_rms": 1.0})] * 40, 40.0)


def _j(v: float) -> Judgement:
    return judge(Indicators({"acc_rms": v}), BASE)


def test_levels_against_limits() -> None:
    assert _j(1.0).level == "ok" and _j(1.0).location == "normal"
    assert _j(2.5).level == "alert" and _j(5.0).level == "alarm"
    j = _j(5.0)
    assert j.indicators["acc_rms"] == {"value": 5.0, "alert": 2.0, "alarm": 4.0}
    assert j.location == "unknown"          # a level rose with no bearing line
    assert 0.0 <= _j(1.0).anomaly < 0.1 and _j(2.0).anomaly >= 1.0


def test_one_or_two_spikes_do_not_raise() -> None:
    latch = AlarmLatch("de")
    for v in (1.0, 5.0, 5.0, 1.0, 1.0, 5.0, 1.0):
        assert latch.update(_j(v)) is None
    assert latch.latched == "ok"


def test_alarm_latches_through_a_quiet_spell_until_acknowledged() -> None:
    latch = AlarmLatch("de")
    events = [latch.update(_j(v)) for v in (2.5, 2.5, 2.5, 5.0, 5.0, 5.0)]
    assert events[:2] == [None, None]          # the delay: 3 snapshots in a row
    assert events[2] is not None and events[2].level == "alert"
    assert events[5] is not None and events[5].level == "alarm"
    assert events[2].sensor == "de" and events[2].indicator == "acc_rms"
    for _ in range(20):                      # the fault's indicator falls for a while
        latch.update(_j(1.0))
        assert latch.latched == "alarm"      # never self-clears
    assert latch.acknowledge() == "ok"       # cleared now: the acknowledgement clears it


def test_acknowledged_fault_that_persists_stays_raised() -> None:
    latch = AlarmLatch("de")
    for _ in range(3):
        latch.update(_j(5.0))
    assert latch.acknowledge() == "alarm" and latch.acknowledged
    latch.update(_j(5.0))
    assert latch.latched == "alarm"


def test_hysteresis_holds_the_count_near_the_limit() -> None:
    latch = AlarmLatch("de", delay_alert=3)
    latch.update(_j(2.1))
    latch.update(_j(1.9))                    # just under the alert limit: held, not reset
    latch.update(_j(2.1))
    assert latch.counts["alert"] == 2
    latch.update(_j(2.1))
    assert latch.latched == "alert"
    other = AlarmLatch("de", delay_alert=3)
    for v in (2.1, 1.0, 2.1, 2.1):          # clearly under (below limit/1.25): reset
        other.update(_j(v))
    assert other.latched == "ok"


def test_hysteresis_is_per_indicator() -> None:
    two = fit_sensor_baseline("de", "g", 1000.0,
                              [Indicators({"acc_rms": 1.0, "kurtosis": 3.0})] * 40, 40.0)
    knock = judge(Indicators({"acc_rms": 1.0, "kurtosis": 9.0}), two)
    busy = judge(Indicators({"acc_rms": 1.9, "kurtosis": 3.0}), two)  # near, not over
    latch = AlarmLatch("de")
    for j in (knock, busy, knock, busy, knock):
        latch.update(j)
    assert latch.latched == "ok"  # sporadic knocks never add up through another indicator
