"""Every user-writable location, in one place.

Paths come from platformdirs so they follow each OS's conventions. ``LINEWATCH_HOME``
overrides them all with one folder: tests point it at a temp dir. **Portable mode**: a file
named ``portable`` beside the executable (frozen) or in the repository root (source) makes
that folder's ``linewatch-data/`` the home, so settings, labels, recordings, logs and user
models stay beside the program on PCs whose user profile is wiped. ``LINEWATCH_HOME``, when
set, still wins (tests stay isolated whatever lies beside the program).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "Linewatch"
APP_AUTHOR = "Linewatch"
HOME_ENV = "LINEWATCH_HOME"
PORTABLE_MARKER = "portable"  # an empty file beside the executable turns portable mode on
PORTABLE_HOME = "linewatch-data"

#: True inside a PyInstaller bundle, where bundled files live under ``sys._MEIPASS``.
IS_FROZEN = bool(getattr(sys, "frozen", False) and hasattr(sys, "_MEIPASS"))


def program_dir() -> Path:
    """The folder holding the executable (frozen) or the repository root (source)."""
    if IS_FROZEN:
        return Path(sys.executable).resolve().parent
    return Path(__file__).resolve().parents[2]


def portable_home() -> Path | None:
    """``<program dir>/linewatch-data`` when a ``portable`` marker lies beside the program."""
    folder = program_dir()
    return folder / PORTABLE_HOME if (folder / PORTABLE_MARKER).is_file() else None


def _home_override() -> Path | None:
    value = os.environ.get(HOME_ENV, "").strip()
    return Path(value).expanduser() if value else portable_home()


def home_description() -> str:
    """Where user files go, in words (for ``--self-test`` and bug reports)."""
    if os.environ.get(HOME_ENV, "").strip():
        return f"{HOME_ENV}={_home_override()}"
    portable = portable_home()
    return f"portable: {portable}" if portable else "user profile (platformdirs)"


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _user_dir(sub: str, platform_dir: str) -> Path:
    """``LINEWATCH_HOME/sub`` when set, else the platformdirs location, created."""
    home = _home_override()
    if home is not None:
        return _ensure(home / sub)
    return _ensure(Path(getattr(platformdirs, platform_dir)(APP_NAME, APP_AUTHOR)))


def config_dir() -> Path:
    """Where settings.json lives."""
    return _user_dir("config", "user_config_dir")


def data_dir() -> Path:
    """Where user data lives: label store, fine-tuned models."""
    return _user_dir("data", "user_data_dir")


def log_dir() -> Path:
    """Where the rotating log file lives."""
    return _user_dir("logs", "user_log_dir")


def cache_dir() -> Path:
    """Where rebuildable caches live (the columnar copies and min/max pyramids of opened
    recordings): deleting it loses nothing but the time to rebuild."""
    return _user_dir("cache", "user_cache_dir")


def recordings_dir() -> Path:
    """Default folder for recordings until the user picks one (remembered in settings)."""
    home = _home_override()
    if home is not None:
        return _ensure(home / "recordings")
    return _ensure(Path(platformdirs.user_documents_dir()) / APP_NAME / "recordings")


def bundle_root() -> Path:
    """Root of read-only bundled files (``resources/``, ``models/``).

    The repository root when running from source, the unpack folder when frozen.
    """
    if IS_FROZEN:
        return Path(sys._MEIPASS)  # type: ignore[attr-defined]
    return Path(__file__).resolve().parents[2]


def resources_dir() -> Path:
    return bundle_root() / "resources"


def shipped_models_dir() -> Path:
    return bundle_root() / "models"
