"""Where baselines live: beside the machine profiles, one JSON file per machine in
``<user data>/machines/baselines/NAME.json`` (a sub-folder, so the profile store's
``*.json`` listing never sees them), keyed inside by sensor. Written atomically
(:mod:`desktop.core.atomic`), read through :mod:`desktop.core.jsonfile` (size and
nesting caps).
"""

from __future__ import annotations

import json
from pathlib import Path

from desktop.analysis.errors import AnalysisError
from desktop.baseline.model import MachineBaseline, SensorBaseline
from desktop.diagnosis.profiles import check_name

MAX_BASELINE_BYTES = 8 << 20


class BaselineStore:
    """The baselines in ``folder`` (default ``<user data>/machines/baselines``)."""

    def __init__(self, folder: Path | None = None) -> None:
        if folder is None:
            from desktop.core.paths import data_dir

            folder = data_dir() / "machines" / "baselines"
        self.folder = Path(folder)

    def path(self, machine: str) -> Path:
        return self.folder / f"{check_name(machine)}.json"

    def exists(self, machine: str) -> bool:
        return self.path(machine).is_file()

    def names(self) -> list[str]:
        """The machines that have a learnt baseline, sorted (case-insensitively)."""
        if not self.folder.is_dir():
            return []
        return sorted((p.stem for p in self.folder.glob("*.json") if p.is_file()),
                      key=str.lower)

    def load(self, machine: str) -> MachineBaseline:
        """The machine's baseline; :class:`AnalysisError` when none was learnt or the
        file is damaged."""
        from desktop.core.jsonfile import read_json_file

        p = self.path(machine)
        if not p.is_file():
            raise AnalysisError(f"machine '{machine}' has no baseline yet; learn one with "
                                f"linewatch baseline {machine} FILES")
        try:
            doc = read_json_file(p, max_bytes=MAX_BASELINE_BYTES)
        except (OSError, ValueError) as exc:
            raise AnalysisError(f"baseline of '{machine}' cannot be read: {exc}") from None
        return MachineBaseline.from_json(doc)

    def save(self, base: MachineBaseline) -> Path:
        """Write ``base`` atomically (replacing the machine's previous baseline)."""
        from desktop.core.atomic import atomic_write_text

        p = self.path(base.machine)
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(p, json.dumps(base.to_json(), indent=1) + "\n")
        return p

    def put_sensor(self, machine: str, sensor: SensorBaseline) -> Path:
        """Store one sensor's baseline, keeping the machine's other sensors."""
        base = self.load(machine) if self.exists(machine) else MachineBaseline(machine, {})
        base.sensors[sensor.sensor] = sensor
        return self.save(base)
