"""Workspaces: what a window was showing, in one small JSON file a colleague can open.

A workspace names the live source (spec and options, e.g. a Modbus map) or the recording
to open, the model, the alarm rules file, the plot's view of that source (lanes or
overlay, visible channels, colours, time span) and the window's dock layout and size.
Paths inside the workspace's own folder are stored relative to it, so the folder can be
copied or shared (a map, rules and recordings beside the workspace travel with it); other
paths are kept absolute.

The file is written atomically (:mod:`desktop.core.atomic`) and read through
:mod:`desktop.core.jsonfile` (size and nesting capped); anything that does not fit is a
:class:`WorkspaceError` naming the file and the key.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.atomic import atomic_write_text
from desktop.core.errors import InputError
from desktop.core.jsonfile import JSONProblem, read_json_file

WORKSPACE_VERSION = 1
MAX_WORKSPACE_BYTES = 4 << 20
#: source options that name a file (made relative like the other paths)
PATH_OPTIONS = ("map",)


class WorkspaceError(InputError):
    """A workspace file that cannot be read or used."""


@dataclass
class Workspace:
    """The saved state of a window (see the module doc); empty fields are left alone."""

    source: str = ""  # a live source spec, e.g. "modbus-tcp:10.0.0.5:502"
    source_options: dict[str, Any] = field(default_factory=dict)
    file: str = ""  # a recording opened instead of a live source
    model: str | None = None  # None: keep the current model; "": inference off
    rules: str = ""  # alarm rules CSV (used by `record --rules`, `alarms check`)
    view: dict[str, Any] = field(default_factory=dict)  # mode, visible, colours, span_s
    layout: str = ""  # Qt QMainWindow.saveState(), base64
    geometry: str = ""  # Qt QWidget.saveGeometry(), base64
    machine: str = ""  # the machine profile chosen for the source or file ("" none)


def _relative(text: str, folder: Path) -> str:
    if not text:
        return text
    path = Path(text).expanduser()
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def _absolute(text: str, folder: Path) -> str:
    if not text:
        return text
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (folder / path).resolve())


def _paths(ws: Workspace, fix: Any) -> Workspace:
    """A copy with every file path passed through ``fix``."""
    options = dict(ws.source_options)
    for key in PATH_OPTIONS:
        if isinstance(options.get(key), str):
            options[key] = fix(options[key])
    source = ws.source
    if source.startswith("replay:"):
        source = "replay:" + fix(source[len("replay:"):])
    return Workspace(source, options, fix(ws.file), ws.model, fix(ws.rules), dict(ws.view),
                     ws.layout, ws.geometry, ws.machine)


def save_workspace(ws: Workspace, path: Path | str) -> Path:
    """Write ``ws`` to ``path`` (atomically); returns the path written."""
    path = Path(path).expanduser()
    folder = path.parent
    data = {"linewatch_workspace": WORKSPACE_VERSION,
            **asdict(_paths(ws, lambda p: _relative(p, folder)))}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(data, indent=1, allow_nan=False) + "\n")
    except OSError as exc:
        raise WorkspaceError(f"cannot write the workspace {path}: "
                             f"{exc.strerror or exc}") from None
    return path


_TYPES: dict[str, tuple[type, ...]] = {
    "source": (str,), "source_options": (dict,), "file": (str,), "model": (str, type(None)),
    "rules": (str,), "view": (dict,), "layout": (str,), "geometry": (str,),
    "machine": (str,)}


def load_workspace(path: Path | str) -> Workspace:
    """Read a workspace; relative paths are resolved against its folder.

    Raises :class:`WorkspaceError` (one line) for a missing, oversized or invalid file, a
    newer version, or a key of the wrong type.
    """
    path = Path(path).expanduser()
    try:
        data = read_json_file(path, max_bytes=MAX_WORKSPACE_BYTES)
    except FileNotFoundError:
        raise WorkspaceError(f"no workspace file {path}") from None
    except JSONProblem as exc:
        raise WorkspaceError(f"{path} is not a Linewatch workspace ({exc})") from None
    except OSError as exc:
        raise WorkspaceError(f"cannot read the workspace {path}: {exc.strerror or exc}"
                             ) from None
    if not isinstance(data, dict) or "linewatch_workspace" not in data:
        raise WorkspaceError(f"{path} is not a Linewatch workspace (no "
                             "'linewatch_workspace' key)")
    version = data["linewatch_workspace"]
    if not isinstance(version, int) or version > WORKSPACE_VERSION:
        raise WorkspaceError(f"{path} was saved by a newer Linewatch (workspace version "
                             f"{version!r}); update Linewatch to open it")
    values: dict[str, Any] = {}
    for key, types in _TYPES.items():
        if key not in data:
            continue
        if not isinstance(data[key], types):
            raise WorkspaceError(f"{path}: {key!r} must be "
                                 f"{' or '.join(t.__name__ for t in types)}, not "
                                 f"{type(data[key]).__name__}")
        values[key] = data[key]
    if values.get("source") and values.get("file"):
        raise WorkspaceError(f"{path}: names both a source and a file; keep one")
    return _paths(Workspace(**values), lambda p: _absolute(p, path.parent))
