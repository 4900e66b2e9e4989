"""A process monitor for the engineer's own plant, from its normal running data.

``linewatch train --normal normal.csv [more.csv …] --name my-unit [--base process-tep]``:

* **without** ``--base``: the monitor watches the table's own columns (every column but an
  id/time column, matched by name in any order in later files). It names no fault (there
  are no fault runs to learn them from): ``fault`` stays null, ``score``, ``alarm`` and
  ``contributors`` work as for ``process-tep``;
* **with** ``--base``: the base's columns, settings and fault namer are kept and only the
  detectors and their limits are refitted on this plant's normal data (the cure for the
  train/test drift that raises a monitor's false alarms on a new normal run). The namer's
  coefficients are re-expressed for the new standardisation
  (:meth:`~desktop.ml.tabular.process.FaultClassifier.rebased`), so its scores are unchanged.

Each file is one stretch of normal operation, rows in time order (lags and windows never
span two files). The card records the files, the rows and two figures: the alarm rate of
held-out blocks of this normal data (each judged by a monitor fitted without it: the false
alarms to expect on more of the same operation) and, with ``--base``, the base's alarm rate
on the same data (how far it had drifted). The result is published as the next version of
NAME; nothing becomes active until promoted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from desktop.core.errors import InputError
from desktop.core.tasks import TaskState
from desktop.ml.errors import ModelError
from desktop.ml.tabular.card import TabularCard
from desktop.ml.tabular.process import DETECTOR_FILE, load_process, save_process
from desktop.ml.tabular.process_fit import (
    DEFAULT_SETTINGS,
    HYPER,
    check_normal_rows,
    fit_process_model,
    held_out_alarm_rate,
    longest_window,
)
from desktop.ml.tabular.table import ID_NAMES, match_columns, read_frame, refuse_empty_cells


@dataclass
class ProcessTrainResult:
    name: str
    version: int
    folder: Path
    parent: str | None
    columns: list[str]
    rows: int
    heldout_alarm_rate: float
    base_alarm_rate: float | None
    faults: list[str]
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "folder": str(self.folder),
                "parent": self.parent, "columns": self.columns, "rows": self.rows,
                "heldout_alarm_rate": round(self.heldout_alarm_rate, 4),
                "base_alarm_rate": None if self.base_alarm_rate is None
                else round(self.base_alarm_rate, 4),
                "faults": self.faults, "seconds": round(self.seconds, 1), "notes": self.notes}


def own_columns(frame: Any, path: Path) -> list[str]:
    """The columns a monitor without a base watches: all but an id/time column.

    Raises:
        InputError: the table has no header row or fewer than 2 columns to watch.
    """
    cols = list(frame.columns)
    if all(isinstance(c, int) for c in cols):
        raise InputError(f"{path} has no header row: a new process monitor needs named "
                         f"columns (one per process variable; the names are what it watches)")
    watched = [str(c) for c in cols if str(c).strip().lower() not in ID_NAMES]
    if len(watched) < 2:
        raise InputError(f"{path} has {len(watched)} process variable column(s); a "
                         f"multivariate monitor needs at least 2")
    return watched


#: larger magnitudes overflow the squared terms of the covariance: refused by column
MAX_MAGNITUDE = 1e100
#: a variable whose most common value covers more than this share of the normal rows
#: barely changes: its limits become tight (said, not refused)
STEADY_SHARE = 0.9


def check_time_order(path: Path, ids: list[str] | None, column: str | None) -> None:
    """Refuse rows that are not in time order, judged by a numeric or date id/time column.

    Raises:
        InputError: the column decreases somewhere (names the row and what to do).
    """
    if not ids or column is None:
        return
    import pandas as pd

    values = pd.to_numeric(pd.Series(ids), errors="coerce")
    if values.isna().any():
        values = pd.to_datetime(pd.Series(ids), errors="coerce", format="mixed")
        if values.isna().any():
            return  # part numbers or other labels: no order to check
        values = values.astype("int64")
    back = np.flatnonzero(np.diff(values.to_numpy()) < 0)
    if back.size:
        i = int(back[0]) + 2
        raise InputError(f"{path}: rows are not in time order ({column} goes back at row {i}: "
                         f"{ids[i - 2]} then {ids[i - 1]}); sort the file by {column}: lags "
                         f"and windows need consecutive samples")


def steady_columns(pieces: list[np.ndarray], columns: list[str]) -> list[str]:
    """Columns whose most common value covers more than :data:`STEADY_SHARE` of the rows."""
    x = np.vstack(pieces)
    out = []
    for j, name in enumerate(columns):
        _, counts = np.unique(x[:, j], return_counts=True)
        if counts.max() > STEADY_SHARE * len(x):
            out.append(name)
    return out


def read_normal(paths: list[Path], columns: list[str] | None, *, headerless_ok: bool,
                what: str) -> tuple[list[str], list[np.ndarray], list[str]]:
    """(columns, one array per file in time order, notices). The first file fixes the
    columns when ``columns`` is None.

    Raises:
        InputError: a file is unreadable, its columns do not match (naming them), or it has
            empty cells (naming the file, column and first row).
    """
    pieces: list[np.ndarray] = []
    notices: list[str] = []
    seen: set[Path] = set()
    for path in paths:
        key = Path(path).resolve()
        if key in seen:
            raise InputError(f"{path} is given twice: each file of normal operation once")
        seen.add(key)
        frame = read_frame(path)
        if columns is None:
            columns = own_columns(frame, path)
        try:
            table = match_columns(frame, columns, allow_headerless=headerless_ok, what=what)
            refuse_empty_cells(table, "the monitor needs every value of normal operation; "
                                      "fill or cut those rows")
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
        check_time_order(path, table.ids, table.id_column)
        big = np.flatnonzero(np.abs(table.values).max(axis=0) > MAX_MAGNITUDE)
        if big.size:
            raise InputError(f"{path}: column {columns[int(big[0])]} holds values beyond "
                             f"±{MAX_MAGNITUDE:.0e}; check its unit or scale it")
        notices += [f"{path.name}: {n}" for n in table.notices]
        pieces.append(table.values)
    assert columns is not None
    return columns, pieces, notices


def train_process_monitor(normal: list[Path], name: str, *, base_folder: Path | None = None,
                          base_ref: str | None = None, command: str = "",
                          task: TaskState | None = None) -> ProcessTrainResult:
    """Fit a monitor on normal running data and publish it as the next version of NAME.

    ``task`` gets the stages as progress; a cancel takes effect between them and always
    before anything is saved.

    Raises:
        InputError: no files, a file that cannot be read or does not match, too few rows
            (:func:`~desktop.ml.tabular.process_fit.min_normal_rows`).
        ModelError: ``base_folder`` is not a process model.
    """
    from desktop.ml.model_files.versions import check_version_name, publish_new, versions_of

    task = task or TaskState()
    t0 = time.monotonic()
    if not normal:
        raise InputError("give at least one file of normal operation (--normal FILE)")
    check_version_name(name)
    base = load_process(base_folder) if base_folder is not None else None
    settings = dict(DEFAULT_SETTINGS)
    if base is not None:
        settings.update({k: v for k, v in base.card.hyper_parameters.items() if k in HYPER})
        # a base trained before a detector existed keeps it off
        for key in ("window", "diff_window", "flat_limit"):
            settings[key] = int(base.card.hyper_parameters.get(key) or 0)
    task.report(0.02, "reading the normal data")
    columns, pieces, notices = read_normal(
        normal, None if base is None else list(base.variables),
        headerless_ok=base is not None, what=f"model '{base_ref}'" if base else "monitor")
    longest = longest_window(settings)
    for path, piece in zip(normal, pieces, strict=True):
        if len(piece) <= longest:
            raise InputError(f"{path} has {len(piece)} rows; each file of normal operation "
                             f"needs more than {longest} (the longest window)")
    rows = sum(len(p) for p in pieces)
    check_normal_rows(rows, settings, ", ".join(p.name for p in normal))
    faults = list(base.card.classes) if base is not None and base.classifier else []
    card = TabularCard(
        name=name, kind="process", architecture="mahalanobis_window_flatline",
        classes=faults, input_columns=list(columns), files=[DETECTOR_FILE],
        hyper_parameters={k: settings[k] for k in HYPER},
        training_data={
            "source": "normal operation: " + ", ".join(str(p) for p in normal),
            "files": [{"file": str(p), "rows": len(x)} for p, x in zip(normal, pieces,
                                                                        strict=True)],
            "rows": rows,
            "limit": f"each detector: the {settings['quantile']} quantile of out-of-block "
                     f"scores of this normal data ({settings['blocks']} contiguous blocks); "
                     f"difference window × {settings['diff_limit_margin']}",
            "fault_namer": f"kept from {base_ref} (re-expressed for the new standardisation)"
                           if faults else "none (no fault runs): fault is always null"},
        training_command=command,
        description=(f"process monitor refitted on this plant's normal data from {base_ref}"
                     if base is not None else
                     f"process monitor of {len(columns)} variables fitted on normal data"),
        parent=base_ref if base is not None else None,
        created=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))
    task.report(0.1, f"fitting the detectors on {rows:,} normal rows")
    model = fit_process_model(card, pieces, settings, task=task.part(0.1, 0.5))
    if base is not None and base.classifier is not None:
        model.classifier = base.classifier.rebased(base.detector, model.detector)
    task.report(0.5, "estimating false alarms on held-out blocks")
    heldout = held_out_alarm_rate(pieces, settings, task.part(0.5, 0.9))
    base_rate = None
    if base is not None:
        alarms = [base.analyse(p)["alarm"] for p in pieces]
        base_rate = float(np.concatenate(alarms).mean())
    card.metrics = {
        "normal_heldout_alarm_rate": round(heldout, 4),
        "base_alarm_rate_on_this_normal": None if base_rate is None else round(base_rate, 4),
        "note": "held-out: each of the contiguous blocks of this normal data judged by a "
                "monitor fitted without it (alarm = the N-of-M rule); no fault data was "
                "used, so detection is not measured here"}
    notes = list(notices)
    steady = steady_columns(pieces, list(columns))
    if steady:
        notes.append(f"barely changing in the normal data (one value in over "
                     f"{STEADY_SHARE:.0%} of rows): {', '.join(steady[:8])}"
                     f"{' …' if len(steady) > 8 else ''}; their limits are tight, so any "
                     f"change in them alarms (a coarsely rounded or idle signal?)")
    earlier = versions_of(name)
    if earlier:
        from desktop.ml.model_files.versions import version_folder

        try:
            before = TabularCard.load(version_folder(name, earlier[-1])).input_columns
        except ModelError:
            before = None
        if before is not None and before != list(columns):
            notes.append(f"{name} v{earlier[-1]} watched other columns; this version "
                         f"watches {len(columns)}: check that this is the same unit")
    if heldout > 0.05:
        notes.append(f"{heldout:.1%} of held-out normal rows alarm: the normal data may hold "
                     f"upsets or changes of operating point; give more, steadier normal data")
    task.report(0.95, "saving the new version")  # the last point where Cancel saves nothing
    version, folder = publish_new(name, lambda folder: save_process(folder, card, model))
    task.finish("saved")
    return ProcessTrainResult(name, version, folder, card.parent, list(columns), rows,
                              heldout, base_rate, faults, time.monotonic() - t0, notes)


def resolve_process_base(ref: str) -> tuple[Path, str]:
    """(folder, reference) of a process model named ``ref`` (``NAME`` or ``NAME@K``).

    Raises:
        ModelError: no such model, or not a process model.
    """
    from desktop.ml.model_files.registry import resolve

    entry = resolve(ref)
    if entry.card is None or entry.card.kind != "process":
        kind = entry.card.kind if entry.card is not None else "unknown"
        raise ModelError(f"'{ref}' is a {kind} model; --normal refits process models only")
    version = (entry.name if entry.shipped or not entry.versions
               else f"{entry.name}@{entry.card.version}")
    return entry.folder, version


def run_process_refit(files: list[Path], name: str, *, base: str | None,
                      task: TaskState) -> dict[str, Any]:
    """The window's *Refit on normal data…* as one long job: ``base`` a registry name
    (``NAME``/``NAME@K``) whose limits are refitted, or None for a monitor of the files' own
    columns; returns :meth:`ProcessTrainResult.to_json`. Raises like
    :func:`train_process_monitor` (``InputError``/``ModelError``, one line each)."""
    folder = ref = None
    if base is not None:
        folder, ref = resolve_process_base(base)
    names = ", ".join(Path(f).name for f in files)
    result = train_process_monitor(
        [Path(f) for f in files], name, base_folder=folder, base_ref=ref, task=task,
        command=f"Refit on normal data… of the Linewatch window ({names})")
    return result.to_json()


__all__ = ["ProcessTrainResult", "read_normal", "resolve_process_base",
           "run_process_refit", "train_process_monitor"]
