"""Alarms of the plant's own: the crash-safe alarm log (``log``) and ``linewatch alarms``.

No Qt here: the window's dock and the live sessions use this package through plain calls.
"""
