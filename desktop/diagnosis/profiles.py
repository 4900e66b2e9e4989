"""Machine profiles: what a machine is (sensors and their bearings, how its speed is
known, its ISO 20816 class, the sensors' unit), stored as one JSON file per machine in
``<user data>/machines/`` (:func:`desktop.core.paths.data_dir`), written atomically
(:mod:`desktop.core.atomic`) and read through :mod:`desktop.core.jsonfile`.

A profile's name is also its file name, so names are restricted to letters, digits,
space, ``_``, ``-`` and ``.`` (1–64 characters, starting with a letter or digit; no path
separators, no ``..``); anything else is refused with :class:`DiagnosisError`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.analysis.bearings import BearingGeometry, parse_geometry
from desktop.diagnosis.catalogue import find_bearing
from desktop.diagnosis.errors import DiagnosisError

SCHEMA = "linewatch.machine/1"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$")
MAX_PROFILE_BYTES = 1 << 20
SPEED_KINDS = ("rpm", "rpm_channel", "tacho", "rpm_range", "unknown")
UNITS = ("g", "m/s2", "mm/s")
#: A sensor on this channel stands for any channel (a profile made without --channel).
ANY_CHANNEL = "*"


def check_name(name: str) -> str:
    """``name`` if it is a valid profile name (module docstring), else
    :class:`DiagnosisError`."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name \
            or name.strip() != name:
        raise DiagnosisError(f"bad machine name {name!r}: use 1-64 letters, digits, space, "
                             "'_', '-' or '.', starting with a letter or digit")
    return name


@dataclass(frozen=True)
class Sensor:
    """One accelerometer: the file ``channel`` it is recorded as and the ``bearing``
    under it (a designation for :func:`find_bearing`, or ``N,d,D,ANGLE``)."""

    channel: str
    bearing: str

    def geometry(self) -> BearingGeometry:
        """The bearing's geometry; :class:`DiagnosisError` for an unknown one."""
        return resolve_bearing(self.bearing)


def resolve_bearing(text: str) -> BearingGeometry:
    """A designation (``6205``) or a geometry ``N,d,D,ANGLE`` as a geometry."""
    if "," in text:
        return parse_geometry(text)
    return find_bearing(text)


@dataclass(frozen=True)
class SpeedSpec:
    """How the shaft speed is known: ``kind`` in :data:`SPEED_KINDS` — a fixed ``rpm``,
    an ``rpm_channel`` (r/min), a ``tacho`` channel with ``pulses_per_rev``, or only an
    ``rpm_range`` (lo, hi) to search the spectrum in."""

    kind: str = "unknown"
    rpm: float | None = None
    channel: str | None = None
    pulses_per_rev: int = 1
    rpm_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if self.kind not in SPEED_KINDS:
            raise DiagnosisError(f"unknown speed kind '{self.kind}'")
        if self.kind == "rpm" and not (self.rpm and math.isfinite(self.rpm) and self.rpm > 0):
            raise DiagnosisError(f"--rpm must be positive, got {self.rpm}")
        if self.kind in ("rpm_channel", "tacho") and not self.channel:
            raise DiagnosisError(f"a {self.kind} speed needs a channel")
        if self.kind == "tacho" and self.pulses_per_rev < 1:
            raise DiagnosisError("--pulses-per-rev must be at least 1")
        if self.kind == "rpm_range":
            lo, hi = self.rpm_range or (0.0, 0.0)
            if not (0 < lo < hi and math.isfinite(hi)):
                raise DiagnosisError(f"--rpm-range wants 0 < LO < HI, got {lo:g} {hi:g}")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "rpm":
            out["rpm"] = self.rpm
        if self.kind in ("rpm_channel", "tacho"):
            out["channel"] = self.channel
        if self.kind == "tacho":
            out["pulses_per_rev"] = self.pulses_per_rev
        if self.kind == "rpm_range":
            out["rpm_range"] = list(self.rpm_range or ())
        return out


@dataclass(frozen=True)
class MachineProfile:
    """A machine: ``name``, its ``sensors`` (each with a channel and bearing), its
    ``speed`` spec, ISO 20816-3 ``group`` (1 or 2) and ``foundation`` (rigid/flexible),
    and the sensors' ``unit`` (g, m/s2 or mm/s)."""

    name: str
    sensors: tuple[Sensor, ...] = ()
    speed: SpeedSpec = field(default_factory=SpeedSpec)
    group: int | None = None
    foundation: str | None = None
    unit: str = "g"

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.group not in (None, 1, 2):
            raise DiagnosisError(f"--group must be 1 or 2, got {self.group}")
        if self.foundation not in (None, "rigid", "flexible"):
            raise DiagnosisError(f"--foundation must be rigid or flexible, "
                                 f"got {self.foundation}")
        if self.unit not in UNITS:
            raise DiagnosisError(f"--unit must be one of {', '.join(UNITS)}, got {self.unit}")
        for s in self.sensors:
            resolve_bearing(s.bearing)  # refuse unknown bearings when the profile is made

    def sensor_for(self, channel: str | None) -> Sensor:
        """The sensor on ``channel`` (exact, then case-insensitive, then a unique
        substring), or the first sensor when ``channel`` is None. Raises
        :class:`DiagnosisError` when the machine has no such sensor."""
        if not self.sensors:
            raise DiagnosisError(f"machine '{self.name}' has no sensors; add one with "
                                 f"linewatch machine edit {self.name} --channel C --bearing B")
        if channel is None:
            return self.sensors[0]
        for test in (lambda s: s.channel == channel,
                     lambda s: s.channel == ANY_CHANNEL,
                     lambda s: s.channel.lower() == channel.lower(),
                     lambda s: channel.lower() in s.channel.lower()
                     or s.channel.lower() in channel.lower()):
            hits = [s for s in self.sensors if test(s)]
            if len(hits) == 1:
                return hits[0]
        listing = ", ".join(s.channel for s in self.sensors)
        raise DiagnosisError(f"machine '{self.name}' has no sensor on '{channel}' "
                             f"(sensors: {listing})")

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "name": self.name,
                "sensors": [{"channel": s.channel, "bearing": s.bearing}
                            for s in self.sensors],
                "speed": self.speed.to_json(), "group": self.group,
                "foundation": self.foundation, "unit": self.unit}

    @classmethod
    def from_json(cls, doc: Any) -> MachineProfile:
        """A profile from its JSON object; :class:`DiagnosisError` for anything that is
        not one."""
        try:
            if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
                raise DiagnosisError("not a Linewatch machine profile")
            sp = doc.get("speed") or {}
            rng = sp.get("rpm_range")
            speed = SpeedSpec(str(sp.get("kind", "unknown")), sp.get("rpm"),
                              sp.get("channel"), int(sp.get("pulses_per_rev", 1)),
                              (float(rng[0]), float(rng[1])) if rng else None)
            sensors = tuple(Sensor(str(s["channel"]), str(s["bearing"]))
                            for s in doc.get("sensors", []))
            return cls(str(doc["name"]), sensors, speed, doc.get("group"),
                       doc.get("foundation"), str(doc.get("unit", "g")))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            if isinstance(exc, DiagnosisError):
                raise
            raise DiagnosisError(f"damaged machine profile: {exc}") from None


class ProfileStore:
    """The machine profiles in ``folder`` (default ``<user data>/machines``)."""

    def __init__(self, folder: Path | None = None) -> None:
        if folder is None:
            from desktop.core.paths import data_dir

            folder = data_dir() / "machines"
        self.folder = Path(folder)

    def path(self, name: str) -> Path:
        return self.folder / f"{check_name(name)}.json"

    def names(self) -> list[str]:
        """Profile names, sorted (case-insensitively)."""
        if not self.folder.is_dir():
            return []
        return sorted((p.stem for p in self.folder.glob("*.json")
                       if _NAME.match(p.stem)), key=str.lower)

    def exists(self, name: str) -> bool:
        return self.path(name).is_file()

    def load(self, name: str) -> MachineProfile:
        """The profile ``name``; :class:`DiagnosisError` when absent or damaged."""
        from desktop.core.jsonfile import read_json_file

        p = self.path(name)
        if not p.is_file():
            known = ", ".join(self.names()) or "none yet"
            raise DiagnosisError(f"no machine '{name}' (machines: {known}); add one with "
                                 "linewatch machine add NAME")
        try:
            doc = read_json_file(p, max_bytes=MAX_PROFILE_BYTES)
        except (OSError, ValueError) as exc:
            raise DiagnosisError(f"machine '{name}' cannot be read: {exc}") from None
        prof = MachineProfile.from_json(doc)
        if prof.name != name:
            raise DiagnosisError(f"machine file {p.name} holds '{prof.name}', not '{name}'")
        return prof

    def save(self, profile: MachineProfile, *, overwrite: bool = False) -> Path:
        """Write ``profile`` atomically; refuses to replace an existing one unless
        ``overwrite``. Returns its path."""
        from desktop.core.atomic import atomic_write_text

        p = self.path(profile.name)
        if p.exists() and not overwrite:
            raise DiagnosisError(f"machine '{profile.name}' exists; change it with "
                                 f"linewatch machine edit {profile.name}")
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(p, json.dumps(profile.to_json(), indent=1) + "\n")
        return p

    def remove(self, name: str) -> None:
        """Delete the profile; :class:`DiagnosisError` when there is none."""
        p = self.path(name)
        if not p.is_file():
            raise DiagnosisError(f"no machine '{name}'")
        p.unlink()
