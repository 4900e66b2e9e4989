"""Alarms of the plant's own, independent of any model (no Qt here).

``log``: the crash-safe SQLite alarm log (raise, clear, acknowledge); ``rules``: limit and
rate-of-change rules with delay, hysteresis and latching, judged on any stream in pieces;
``live``: rules on a ring buffer as samples arrive (``record --rules``, the window);
``filecheck``: rules over a whole recording; ``actions``: per-rule actions (a Modbus coil,
a configured command, never a shell); ``cli_alarms``: ``linewatch alarms``.
"""
