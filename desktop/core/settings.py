"""Typed settings saved as JSON.

One dataclass instead of scattered string keys, so a typo is an AttributeError rather than a
silently ignored setting. Only values that differ from the defaults are written, so changing
a default in a new release reaches users who never touched it. A damaged file never stops
the program: it is set aside (``settings.json.bad``) and defaults are used.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core import paths
from desktop.core.atomic import atomic_write_text
from desktop.core.jsonfile import read_json_file

SCHEMA_VERSION = 1
log = logging.getLogger(__name__)


@dataclass
class Settings:
    """Everything Linewatch remembers between runs."""

    history_seconds: float = 60.0
    default_baud: int = 115200
    line_format: str = "auto"
    recordings_folder: str = ""
    last_source: str = "demo"
    replay_speed: str = "1"
    window_geometry: str = ""  # Qt saveGeometry(), base64
    plot_mode: str = "lanes"  # "lanes" or "overlay": the user's last choice
    model: str = "fault-cwru"  # the live model; "" = inference off
    alarm_raise_s: float = 2.0  # a fault class must hold this long to raise the alarm
    alarm_clear_s: float = 5.0  # and normal this long to clear it
    #: opened files' caches are kept under this many GB (least recently opened deleted
    #: first; desktop/streams/cache_budget.py); LINEWATCH_CACHE_GB overrides it
    cache_limit_gb: float = 4.0
    # -- the Analysis dock (desktop/ui/analysis_panel.py) ---------------------------------
    analysis_mode: str = "envelope"  # "spectrum", "envelope" or "spectrogram"
    analysis_bearing: str = "6205-2RS JEM SKF"  # a preset's designation, or "custom"
    #: balls, ball diameter, pitch diameter (same unit), contact angle in degrees
    analysis_geometry: list[float] = field(default_factory=lambda: [9, 0.3126, 1.537, 0.0])
    analysis_rpm: float = 0.0  # typed shaft speed; 0 = none typed
    analysis_rpm_channel: str = ""  # a speed channel's name; "" = use the typed rpm
    analysis_band_auto: bool = True  # envelope band by spectral kurtosis
    analysis_band: list[float] = field(default_factory=lambda: [2000.0, 5000.0])
    analysis_markers: str = "1X,FTF,BSF,BPFO,BPFI,SB"  # marker families shown
    analysis_log_y: bool = False
    analysis_unit: str = ""  # severity unit override; "" = the channel's own
    analysis_group: int = 2  # ISO 20816-3 machine group
    analysis_foundation: str = "rigid"
    analysis_block_s: float = 10.0  # trend block length (when not chosen automatically)
    analysis_block_auto: bool = True  # block from the signal's length: ~60–150 blocks
    analysis_live_refresh: bool = False  # recompute every 2 s while following live
    #: The machine profile chosen per opened file or source (desktop/ui/diagnosis_panel.py),
    #: keyed by the file's path or the source spec; "" under a key = no machine.
    machine_by_source: dict[str, str] = field(default_factory=dict)
    #: The folder Learn baseline… and Route trend… last chose snapshots in.
    baseline_folder: str = ""
    #: Per-source view state (lane layout, colours, visibility), keyed by source spec.
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Recordings opened lately, newest first (File → Open recent).
    recent_files: list[str] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        """Non-default values only, plus the schema version."""
        defaults = Settings()
        out: dict[str, Any] = {"schema": SCHEMA_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value != getattr(defaults, f.name):
                out[f.name] = value
        return out

    @classmethod
    def from_json_dict(cls, raw: dict[str, Any]) -> Settings:
        """Build from a saved dict, ignoring unknown keys and values of the wrong type.

        A newer release may have written keys this one does not know; an older one may
        have a key with another meaning. Neither should stop the program.
        """
        settings = cls()
        known = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in raw.items():
            if key == "schema" or key not in known:
                continue
            default = getattr(settings, key)
            if isinstance(default, float) and type(value) is int:
                value = float(value)  # JSON writes 60.0 as 60
            if type(value) is type(default):
                setattr(settings, key, value)
            else:
                log.warning("settings: ignoring %s=%r (expected %s)", key, value,
                            type(default).__name__)
        return settings


def settings_path() -> Path:
    return paths.config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> Settings:
    """Read settings; a missing file gives defaults, a damaged one is set aside."""
    path = path or settings_path()
    try:
        raw = read_json_file(path, max_bytes=1 << 20)
        if not isinstance(raw, dict):
            raise ValueError("settings file does not hold a JSON object")
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError) as exc:
        log.warning("settings: %s is damaged (%s); using defaults", path, exc)
        with contextlib.suppress(OSError):
            os.replace(path, path.with_suffix(".json.bad"))
        return Settings()
    return Settings.from_json_dict(raw)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically (:func:`desktop.core.atomic.atomic_write_text`) so a crash never
    leaves half a file."""
    path = path or settings_path()
    atomic_write_text(path, json.dumps(settings.to_json_dict(), indent=2, sort_keys=True))
