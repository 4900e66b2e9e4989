"""``linewatch alarms list|export|ack|check``: registered from the alarms package until its
command code moves here (issue 19)."""

from __future__ import annotations

from typing import Any


def add_commands(subparsers: Any) -> None:
    """Register ``alarms {list,export,ack,check}``."""
    from desktop.alarms.cli_alarms import add_alarms_commands

    add_alarms_commands(subparsers)
