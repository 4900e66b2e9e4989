"""A machine's healthy baseline learnt on site, and judging snapshots against it (no Qt,
no torch).

Modules, one job each:

- :mod:`~desktop.baseline.indicators`: condition indicators of one snapshot (RMS, ISO
  20816 velocity, peak, crest factor, kurtosis, band RMS, envelope levels).
- :mod:`~desktop.baseline.evidence`: envelope levels and location from the diagnosis of
  :mod:`desktop.diagnosis` (fault-frequency evidence).
- :mod:`~desktop.baseline.limits`: the alert/alarm limit rule, with its sources.
- :mod:`~desktop.baseline.model`: per-sensor baselines, thin baselines, JSON.
- :mod:`~desktop.baseline.store`: stored beside the machine profiles.
- :mod:`~desktop.baseline.judge`: one snapshot → level, location, indicators, anomaly.
- :mod:`~desktop.baseline.alarms`: delay, hysteresis, latch until acknowledged.
- :mod:`~desktop.baseline.drift`: the bounded slow-drift rule.
- :mod:`~desktop.baseline.monitor`: learning and monitoring a sensor's snapshots.
- :mod:`~desktop.baseline.learn`: the long jobs (``task``): learning from files, judging
  a span, a route's trend — shared by the CLI and the window.
- :mod:`~desktop.baseline.snapshots`: a snapshot file's time (name, content, mtime).
- :mod:`~desktop.baseline.routes`: simulated routes for tests and the evaluation.
"""
