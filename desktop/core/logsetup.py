"""Logging to a rotating file in the user log dir.

Engineers send this file when something goes wrong on a plant PC, so it keeps a few
megabytes of history and never grows without bound.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from desktop.core import paths

LOG_FILE_NAME = "linewatch.log"


def configure_logging(level: int = logging.INFO, console_level: int | None = None) -> Path:
    """Send logs to ``<log dir>/linewatch.log`` (1 MB × 5); return the file's path.

    ``console_level`` additionally echoes records to stderr (the CLI uses WARNING so a
    user sees problems without a wall of info lines).
    """
    root = logging.getLogger()
    root.setLevel(level)
    log_path = paths.log_dir() / LOG_FILE_NAME
    for handler in list(root.handlers):
        if getattr(handler, "_linewatch", False):
            root.removeHandler(handler)
            handler.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        file_handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_path, maxBytes=1_000_000, backupCount=5, encoding="utf-8"
        )
    except OSError:
        # A read-only profile must not stop the program; logs then go nowhere on disk.
        file_handler = logging.NullHandler()
    file_handler.setFormatter(fmt)
    file_handler._linewatch = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    if console_level is not None:
        console = logging.StreamHandler()
        console.setLevel(console_level)
        console.setFormatter(logging.Formatter("linewatch: %(message)s"))
        console._linewatch = True  # type: ignore[attr-defined]
        root.addHandler(console)
    return log_path
