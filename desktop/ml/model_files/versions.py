"""Versions of user models: which one is active, promote, roll back, remove.

Layout under the user data dir::

    models/
      active.json             which version of each name is active, their history, the
                              model of the live window
      my-rig/v1/              card.json + weights.safetensors (card.version == "1")
      my-rig/v2/
      old-model/              a flat folder from before versions (still listed, unversioned)

Why versions at all: a fine-tune is an experiment. Training never changes what the plant
sees; the engineer looks at the side-by-side metrics and *then* promotes a version, and can
go back (:func:`rollback`) if the live verdicts disagree with the numbers.

Why one small JSON pointer file: switching the active model must be a single atomic step
(:func:`desktop.core.atomic.atomic_open`), so a crash leaves the old or the new pointer,
never half of each; the model folders themselves are never edited after they are published.
Read-modify-write of the pointer file happens under an OS file lock
(:class:`filelock.FileLock`: ``flock`` on POSIX, ``LockFileEx`` on Windows) so the app and a
``linewatch models`` command cannot lose each other's change. The OS releases the lock when
its process dies, so a crashed or killed process never blocks the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from desktop.core import paths
from desktop.core.atomic import atomic_write_text
from desktop.core.jsonfile import JSONProblem, read_json_file
from desktop.ml.errors import ModelError
from desktop.ml.model_files.card import CARD_FILE, ModelCard, load_any_card

STATE_FILE = "active.json"
STATE_FORMAT = 1
_LOCK_FILE = ".active.lock"
#: The pointer file holds a few lines per model name; a bigger one is not ours.
MAX_STATE_BYTES = 4 << 20
_VERSION_DIR = re.compile(r"^v([1-9][0-9]{0,8})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def user_models_dir() -> Path:
    """``<data dir>/models``: fine-tuned and user-trained models (created on demand)."""
    folder = paths.data_dir() / "models"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def check_name(name: str) -> str:
    """A model name is a folder name on every OS: letters, digits, ``.``, ``_``, ``-``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ModelError(f"model name {name!r} is not allowed: use up to 64 letters, digits, "
                         f"'.', '_' or '-', starting with a letter or digit")
    return name


def parse_ref(text: str) -> tuple[str, int | None]:
    """``"name"`` → (name, None); ``"name@3"`` → (name, 3): how cards name their parent."""
    name, sep, ver = text.rpartition("@")
    if sep and name and ver.isdigit():
        return name, int(ver)
    return text, None


def version_folder(name: str, version: int) -> Path:
    return user_models_dir() / check_name(name) / f"v{int(version)}"


def is_versioned(folder: Path) -> bool:
    """True for a ``<name>/`` folder holding ``v<k>/`` model folders (and no card of its own)."""
    if not folder.is_dir() or (folder / CARD_FILE).exists():
        return False
    return any(_VERSION_DIR.match(p.name) and (p / CARD_FILE).exists()
               for p in folder.iterdir())


def versions_of(name: str) -> list[int]:
    """Published versions of ``name``, ascending (folders ``v<k>`` that hold a card)."""
    root = user_models_dir() / check_name(name)
    if not root.is_dir():
        return []
    found = []
    for p in root.iterdir():
        m = _VERSION_DIR.match(p.name)
        if m and (p / CARD_FILE).exists():
            found.append(int(m.group(1)))
    return sorted(found)


# ------------------------------------------------------------------ pointer file
def _state_path() -> Path:
    return user_models_dir() / STATE_FILE


def read_state() -> dict[str, Any]:
    """The pointer file; a missing or unreadable one means "nothing promoted yet".

    Why tolerate a damaged file: it only holds choices, never model data; the registry then
    falls back to each name's latest version and the next promote rewrites it.
    """
    try:
        data = read_json_file(_state_path(), max_bytes=MAX_STATE_BYTES)
    except (OSError, JSONProblem):
        data = {}
    if not isinstance(data, dict):
        data = {}
    models = data.get("models")
    return {"format": STATE_FORMAT, "live": data.get("live") if isinstance(data.get("live"), str)
            else None, "models": models if isinstance(models, dict) else {}}


def _write_state(state: dict[str, Any]) -> None:
    atomic_write_text(_state_path(), json.dumps(state, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def _locked(timeout_s: float = 10.0) -> Iterator[dict[str, Any]]:
    """Hold the pointer-file lock and yield the state; it is written back on success.

    Raises :class:`ModelError` when another live process holds the lock for ``timeout_s``,
    or when the pointer file cannot be written (disk full): then nothing changed. A temp
    file left by a process killed mid-write is removed here, under the lock, where no one
    else can be writing one.
    """
    folder = user_models_dir()
    lock = FileLock(str(folder / _LOCK_FILE))
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout:
        raise ModelError(f"the model registry ({folder}) is busy: another "
                         f"Linewatch process is changing it; try again") from None
    try:
        for stale in folder.glob(f".{STATE_FILE}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
        state = read_state()
        yield state
        try:
            _write_state(state)
        except OSError as exc:
            raise ModelError(f"cannot save the model registry's choice in {_state_path()}: "
                             f"{exc.strerror or exc}; nothing was changed (free some space "
                             "and try again)") from None
    finally:
        lock.release()


#: A staging folder without a lock file (from an older Linewatch) is left alone this long.
STALE_UNLOCKED_S = 3600.0


def _staging_lock(staging: Path) -> FileLock:
    """The lock a fine-tune holds on its staging folder while it writes it (a sibling file,
    so :func:`publish` can rename the folder without taking the lock along)."""
    return FileLock(str(staging.with_name(staging.name + ".lock")))


_HELD: dict[Path, FileLock] = {}


def sweep_leftovers() -> list[Path]:
    """Remove what killed processes left in the user models folder: staging folders whose
    fine-tune is gone (its lock is free) and half-deleted ``.removed-*`` folders. Returns
    what was removed. A staging folder of a fine-tune that is still running is kept."""
    import time

    removed: list[Path] = []
    root = user_models_dir()
    for name_dir in root.iterdir():
        if not name_dir.is_dir() or name_dir.name.startswith("."):
            continue
        for p in name_dir.iterdir():
            if p.name.startswith(".removed-") and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
            elif p.name.startswith(".staging-") and p.is_dir():
                lock_file = p.with_name(p.name + ".lock")
                if not lock_file.exists():
                    with contextlib.suppress(OSError):
                        if time.time() - p.stat().st_mtime > STALE_UNLOCKED_S:
                            shutil.rmtree(p, ignore_errors=True)
                            removed.append(p)
                    continue
                probe = _staging_lock(p)
                try:
                    probe.acquire(timeout=0)
                except (Timeout, OSError):
                    continue  # a fine-tune is writing it now
                try:
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
                finally:
                    probe.release(force=True)
                    with contextlib.suppress(OSError):
                        lock_file.unlink()
            elif (p.name.startswith(".staging-") and p.name.endswith(".lock")
                  and not p.with_name(p.name[: -len(".lock")]).exists()):
                probe = FileLock(str(p))  # a lock whose folder was published or removed
                try:
                    probe.acquire(timeout=0)
                except (Timeout, OSError):
                    continue
                probe.release(force=True)
                with contextlib.suppress(OSError):
                    p.unlink()
        with contextlib.suppress(OSError):
            if not any(name_dir.iterdir()):
                name_dir.rmdir()
    return removed


def _record(state: dict[str, Any], name: str) -> dict[str, Any]:
    rec = state["models"].get(name)
    if not isinstance(rec, dict):
        rec = {}
    active = rec.get("active")
    history = rec.get("history")
    rec = {"active": active if isinstance(active, int) else None,
           "history": [h for h in history if isinstance(h, int)] if isinstance(history, list)
           else [],
           "last_version": rec.get("last_version") if isinstance(rec.get("last_version"), int)
           else 0}
    state["models"][name] = rec
    return rec


# ------------------------------------------------------------------ queries
def active_version(name: str) -> int | None:
    """The promoted version of ``name`` if it still exists, else None."""
    rec = read_state()["models"].get(name)
    active = rec.get("active") if isinstance(rec, dict) else None
    return active if isinstance(active, int) and active in versions_of(name) else None


def resolved_version(name: str) -> int | None:
    """What ``name`` means to the registry: the active version, else the latest one."""
    found = versions_of(name)
    if not found:
        return None
    active = active_version(name)
    return active if active is not None else found[-1]


def history(name: str) -> list[int]:
    """Previously active versions, oldest first (what :func:`rollback` walks back through)."""
    rec = read_state()["models"].get(name)
    hist = rec.get("history") if isinstance(rec, dict) else None
    return [h for h in hist if isinstance(h, int)] if isinstance(hist, list) else []


@dataclass(frozen=True)
class VersionInfo:
    """One published version as a models panel lists it."""

    name: str
    version: int
    folder: Path
    active: bool
    card: ModelCard | None
    problem: str | None = None

    @property
    def parent(self) -> str | None:
        return self.card.parent if self.card else None

    @property
    def created(self) -> str:
        return self.card.created if self.card else ""

    @property
    def labels(self) -> dict[str, Any]:
        """What the version learned from (count of spans, classes, source recordings)."""
        return dict(self.card.training_data.get("labels", {})) if self.card else {}

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self.card.metrics) if self.card else {}

    def to_json(self) -> dict[str, Any]:
        held = self.metrics.get("heldout", {})
        return {"name": self.name, "version": self.version, "folder": str(self.folder),
                "active": self.active, "parent": self.parent, "created": self.created,
                "mode": self.card.training_data.get("mode") if self.card else None,
                "labels": self.labels,
                "heldout_accuracy": held.get("accuracy") if isinstance(held, dict) else None,
                "problem": self.problem}


def list_versions(name: str) -> list[VersionInfo]:
    """Every published version of ``name`` (ascending), the active one marked."""
    active = active_version(name)
    out = []
    for v in versions_of(name):
        folder = version_folder(name, v)
        try:
            out.append(VersionInfo(name, v, folder, v == active, load_any_card(folder)))
        except ModelError as exc:
            out.append(VersionInfo(name, v, folder, v == active, None, str(exc)))
    return out


# ------------------------------------------------------------------ changes
def promote(name: str, version: int | None = None) -> int:
    """Make ``version`` (default: the latest) the active version of ``name``.

    The previously active version goes onto the history so that :func:`rollback` can
    return to it. Returns the version now active.
    """
    found = versions_of(name)
    if not found:
        raise ModelError(f"no user model named '{name}' has versions to promote")
    version = found[-1] if version is None else int(version)
    if version not in found:
        raise ModelError(f"'{name}' has no version {version} (versions: "
                         f"{', '.join(map(str, found))})")
    load_any_card(version_folder(name, version))  # refuse to promote a broken folder
    with _locked() as state:
        rec = _record(state, name)
        if rec["active"] is not None and rec["active"] != version:
            rec["history"].append(rec["active"])
        rec["active"] = version
    return version


#: What :func:`rollback` returns when it went back past the first promoted version to the
#: shipped model ``name`` was made from (:func:`shipped_base`).
SHIPPED_BASE = 0


def shipped_base(name: str) -> str | None:
    """The shipped model that ``name``'s versions were made from (fine-tune, calibrate:
    a card's ``parent`` such as ``fault-cwru@1``), or None."""
    for v in versions_of(name):
        try:
            parent = load_any_card(version_folder(name, v)).parent
        except ModelError:
            continue
        base = str(parent or "").split("@", 1)[0]
        if base and base != name and _NAME.match(base) and (
                paths.shipped_models_dir() / base / CARD_FILE).exists():
            return base
    return None


def rollback_target(name: str) -> str | None:
    """What :func:`rollback` would return to now: ``"v3"``, ``"fault-cwru (shipped)"``, or
    None when nothing is promoted or there is nothing to go back to (a button offers it)."""
    active = active_version(name)
    if active is None:
        return None
    existing = set(versions_of(name))
    earlier = [h for h in history(name) if h in existing and h != active]
    if earlier:
        return f"v{earlier[-1]}"
    base = shipped_base(name)
    return f"{base} (shipped)" if base else None


def rollback(name: str) -> int:
    """Return ``name`` to the version that was active before the current one.

    Past the first promoted version it goes back to the shipped model ``name`` was made
    from (:func:`shipped_base`): no version of ``name`` is active any more, the live
    window's model goes back to the shipped one if it was ``name``, and
    :data:`SHIPPED_BASE` is returned. Promote a version to use it again.
    """
    base = shipped_base(name)  # read before the lock: it reads cards, not the pointer
    with _locked() as state:
        rec = _record(state, name)
        if rec["active"] is None:
            raise ModelError(f"'{name}' has no promoted version to roll back from")
        existing = set(versions_of(name))
        while rec["history"]:
            previous = rec["history"].pop()
            if previous in existing and previous != rec["active"]:
                rec["active"] = previous
                return previous
        if base is not None:
            rec["active"] = None
            if state.get("live") == name:
                state["live"] = base
            return SHIPPED_BASE
        raise ModelError(f"'{name}' has no earlier active version to roll back to "
                         f"(active: v{rec['active']}) and was not made from a shipped model")


def _refuse_shipped(name: str) -> None:
    if (paths.shipped_models_dir() / name / CARD_FILE).exists():
        raise ModelError(f"'{name}' ships with Linewatch and cannot be removed (only models "
                         f"you trained or fine-tuned can)")


def remove(name: str, version: int) -> None:
    """Delete one version; the active version is refused (promote or roll back first)."""
    version = int(version)
    _refuse_shipped(name)
    found = versions_of(name)
    if version not in found:
        raise ModelError(f"'{name}' has no version {version}"
                         + (f" (versions: {', '.join(map(str, found))})" if found else ""))
    with _locked() as state:
        rec = _record(state, name)
        if rec["active"] == version:
            raise ModelError(f"v{version} is the active version of '{name}' and cannot be "
                             f"removed; promote another version or roll back first")
        rec["history"] = [h for h in rec["history"] if h != version]
        rec["last_version"] = max(rec["last_version"], *found)
        folder = version_folder(name, version)
        # Rename first: the version disappears in one step even if deleting files fails.
        trash = folder.with_name(f".removed-v{version}-{uuid.uuid4().hex[:8]}")
        os.replace(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)
        if not versions_of(name) and rec["active"] is None:
            state["models"].pop(name, None)
            if state.get("live") == name:
                state["live"] = None
            with contextlib.suppress(OSError):
                (user_models_dir() / name).rmdir()


def removal_plan(name: str) -> list[Path]:
    """The folders :func:`remove_model` would delete (the versions, or a flat folder).

    Raises :class:`ModelError` for a shipped model or a name with no user model.
    """
    _refuse_shipped(name)
    root = user_models_dir() / check_name(name)
    if (root / CARD_FILE).exists():
        return [root]
    found = [version_folder(name, v) for v in versions_of(name)]
    if not found:
        raise ModelError(f"no user model named '{name}'")
    return found


def remove_model(name: str) -> list[Path]:
    """Delete a whole user model: every version (the active one too) and its registry
    record; the live window falls back to the default model if it used ``name``. Returns
    the folders removed. Shipped models are refused."""
    plan = removal_plan(name)
    root = user_models_dir() / name
    with _locked() as state:
        state["models"].pop(name, None)
        if state.get("live") == name:
            state["live"] = None
        # Rename first: the model disappears in one step even if deleting files fails.
        trash = root.with_name(f".removed-{name}-{uuid.uuid4().hex[:8]}")
        os.replace(root, trash)
        shutil.rmtree(trash, ignore_errors=True)
    return plan


def next_version(name: str) -> int:
    """The number a new version gets: never one used before, even if removed since."""
    rec = read_state()["models"].get(name)
    last = rec.get("last_version", 0) if isinstance(rec, dict) else 0
    return max([*versions_of(name), last if isinstance(last, int) else 0]) + 1


def check_version_name(name: str) -> str:
    """``name`` if a new version may be published under it.

    Raises:
        ModelError: not a valid name, the name of a shipped model, or an unversioned user
            model folder.
    """
    check_name(name)
    if (paths.shipped_models_dir() / name / CARD_FILE).exists():
        raise ModelError(f"'{name}' is the name of a model that ships with Linewatch; choose "
                         f"another name for the new model")
    if (user_models_dir() / name / CARD_FILE).exists():
        raise ModelError(f"'{name}' is an unversioned user model folder; choose another name")
    return name


def staging_dir(name: str) -> Path:
    """An empty private folder next to the versions, for writing a model before publishing.

    Same file system as the target, so :func:`publish` is one ``rename``; the leading dot
    keeps it out of every listing while it is being written.

    Raises:
        ModelError: see :func:`check_version_name`.
    """
    root = user_models_dir() / check_version_name(name)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".staging-"))
    lock = _staging_lock(staging)
    lock.acquire(timeout=0)  # new and ours; held until published or discarded
    _HELD[staging] = lock
    return staging


def _let_go(staging: Path) -> None:
    lock = _HELD.pop(staging, None)
    if lock is not None:
        lock.release(force=True)
        with contextlib.suppress(OSError):
            Path(lock.lock_file).unlink()


def discard_staging(staging: Path) -> None:
    """Remove a staging folder (after a failure) and the name's folder if it is now empty."""
    shutil.rmtree(staging, ignore_errors=True)
    _let_go(staging)
    with contextlib.suppress(OSError):
        staging.parent.rmdir()  # only succeeds when no version exists


def publish_new(name: str, write: Callable[[Path], None]) -> tuple[int, Path]:
    """Publish the next version of ``name``: ``write(folder)`` fills a fresh
    :func:`staging_dir`, which is then :func:`publish`-ed; on any failure (a cancel
    included) the staging folder is discarded and nothing is published.

    Raises:
        ModelError: see :func:`check_version_name`; whatever ``write`` raises.
    """
    staging = staging_dir(name)
    try:
        write(staging)
        return publish(staging, name)
    except BaseException:
        discard_staging(staging)
        raise


def publish(staging: Path, name: str) -> tuple[int, Path]:
    """Move a complete model folder from :func:`staging_dir` to ``<name>/v<k>`` atomically.

    The card's ``version`` is set to ``k`` first. If another process published ``k`` in the
    meantime, the rename fails and the next number is tried. The active pointer is not
    touched: a new version is used once promoted (or while no version has been promoted).
    """
    card = load_any_card(staging)
    for _ in range(100):
        version = next_version(name)
        card.version = str(version)
        card.save(staging)
        target = version_folder(name, version)
        try:
            os.rename(staging, target)
        except OSError:
            if target.exists():
                continue
            raise
        _let_go(staging)
        return version, target
    raise ModelError(f"could not find a free version number for '{name}'")


def live_model() -> str | None:
    """The model the live window should run (a name), or None for the program's default."""
    return read_state()["live"]


def store_live_model(name: str | None) -> None:
    """Store the live window's model name as given (None: back to the default); callers
    check the name resolves first (:func:`desktop.ml.model_files.registry.set_live_model`:
    this module sits below the registry and does not import it)."""
    with _locked() as state:
        state["live"] = name
