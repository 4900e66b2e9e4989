"""Alarms of the plant's own, independent of any model (no Qt here).

``log``: the crash-safe SQLite alarm log (raise, clear, acknowledge); ``rules``: the rule
kinds (limits, rate of change, ISO 20816 zone, machine baseline, a model's class and
score) with delay, hysteresis and latching, judged on any stream in pieces; ``rulefile``:
reading and checking a rules file; ``derived``: the 1-s block values indicator, zone and
baseline rules watch; ``live``: rules on a ring buffer as samples arrive (``record
--rules``, the window); ``filecheck``: rules over a whole recording; ``rows``: rules over
``predict``/``trend`` rows; ``actions``: per-rule actions (a Modbus coil, a configured
command, never a shell). ``linewatch alarms`` is :mod:`desktop.cli.alarms`.
"""
