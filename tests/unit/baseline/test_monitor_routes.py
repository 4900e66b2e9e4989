"""A simulated route through the monitor: quiet when healthy, a latched alarm naming the
bearing part when an outer-race fault is strong."""

from __future__ import annotations

from desktop.analysis.bearings import find_preset
from desktop.baseline.model import fit_sensor_baseline
from desktop.baseline.monitor import SensorMonitor, SensorSetup
from desktop.baseline.routes import RouteSpec, fault_db_at, route

G = find_preset("6205")
SETUP = SensorSetup("de", "g", G, None, (1500.0, 1900.0))


def _run(spec: RouteSpec, learn_n: int = 20) -> SensorMonitor:
    snaps = list(route(spec))
    inds = [SETUP.indicators(s.x, spec.fs) for s in snaps[:learn_n]]
    mon = SensorMonitor(SETUP, fit_sensor_baseline("de", "g", spec.fs, inds, learn_n))
    for s in snaps[learn_n:]:
        mon.feed(s.x, spec.fs, f"{s.t_s:.0f}")
    return mon


def test_healthy_route_stays_quiet() -> None:
    mon = _run(RouteSpec(G, 1800.0, days=0.3, seed=11))
    assert mon.latch.events == [] and mon.latch.latched == "ok"
    assert mon.baseline.drift_updates > 0


def test_strong_outer_race_fault_latches_an_alarm_with_its_location() -> None:
    spec = RouteSpec(G, 1800.0, days=0.3, seed=12, fault="outer_race", onset_day=0.15,
                     start_db=0.0, end_db=6.0)
    assert fault_db_at(spec, 0.0) == float("-inf")
    mon = _run(spec)
    assert mon.latch.latched == "alarm"
    alarm = next(e for e in mon.latch.events if e.level == "alarm")
    assert alarm.location == "outer_race" and alarm.sensor == "de"
    assert int(alarm.time) >= 0.15 * 86400
