"""Model versions: promote, rollback, remove, and what a name resolves to.

Versions here are copies of the shipped model's folder (a real model, no training needed),
published the way a fine-tune publishes them.
"""

from __future__ import annotations

import shutil

import pytest

from desktop.core import paths
from desktop.ml.errors import ModelError
from desktop.ml.inference.predictors import load_predictor
from desktop.ml.model_files import registry, versions
from desktop.ml.model_files.card import ModelCard
from desktop.ml.model_files.registry import list_models, resolve

#: the model commands of ``linewatch`` (predict, calibrate, train, models)
ML_COMMANDS = ("predict", "calibrate", "train", "models")


def publish_copy(name: str) -> int:
    staging = versions.staging_dir(name)
    shutil.rmtree(staging)
    shutil.copytree(paths.shipped_models_dir() / "fault-cwru", staging)
    card = ModelCard.load(staging)
    card.name = name
    card.save(staging)
    version, folder = versions.publish(staging, name)
    assert folder == versions.version_folder(name, version)
    return version


def test_name_resolves_to_latest_then_active() -> None:
    assert [publish_copy("rig") for _ in range(3)] == [1, 2, 3]
    assert resolve("rig").folder.name == "v3"  # nothing promoted: the latest
    assert resolve("rig").card.version == "3"  # type: ignore[union-attr]
    versions.promote("rig", 2)
    entry = resolve("rig")
    assert entry.folder.name == "v2" and entry.active_version == 2
    assert entry.versions == (1, 2, 3)
    assert resolve("rig@1").folder.name == "v1"
    with pytest.raises(ModelError, match="no version 7"):
        resolve("rig@7")
    assert load_predictor("rig").card.version == "2"
    listed = {e.name: e for e in list_models()}
    assert listed["rig"].folder.name == "v2" and listed["fault-cwru"].shipped
    assert resolve("fault-cwru").shipped  # shipped models unchanged


def test_promote_and_rollback_walk_the_history() -> None:
    for _ in range(3):
        publish_copy("rig")
    with pytest.raises(ModelError, match="no promoted version"):
        versions.rollback("rig")
    versions.promote("rig", 1)
    versions.promote("rig", 3)
    versions.promote("rig", 2)
    assert versions.active_version("rig") == 2 and versions.history("rig") == [1, 3]
    assert versions.rollback("rig") == 3 and resolve("rig").folder.name == "v3"
    assert versions.rollback("rig") == 1
    with pytest.raises(ModelError, match="no earlier active version"):
        versions.rollback("rig")
    assert [v.active for v in versions.list_versions("rig")] == [True, False, False]
    with pytest.raises(ModelError, match="no version 9"):
        versions.promote("rig", 9)


def test_remove_refuses_the_active_version_and_numbers_are_not_reused() -> None:
    for _ in range(3):
        publish_copy("rig")
    versions.promote("rig", 3)
    with pytest.raises(ModelError, match=r"v3 is the active version of 'rig'.*promote another"):
        versions.remove("rig", 3)
    assert versions.versions_of("rig") == [1, 2, 3]
    versions.promote("rig", 2)
    versions.remove("rig", 3)
    assert versions.versions_of("rig") == [1, 2] and versions.history("rig") == []
    assert publish_copy("rig") == 4  # v3 was removed, its number is not given out again
    info = versions.list_versions("rig")
    assert [v.version for v in info] == [1, 2, 4] and info[1].active
    assert info[0].to_json()["parent"] is None


def test_live_model_pointer_and_bad_names() -> None:
    publish_copy("rig")
    assert versions.live_model() is None
    registry.set_live_model("rig")
    assert versions.live_model() == "rig"
    with pytest.raises(ModelError, match="no model named"):
        registry.set_live_model("nope")
    for bad in ("../x", ".hidden", "a/b", "", "x" * 65):
        with pytest.raises(ModelError, match="not allowed"):
            versions.check_name(bad)


def test_damaged_pointer_file_falls_back_to_latest() -> None:
    publish_copy("rig")
    publish_copy("rig")
    versions.promote("rig", 1)
    (versions.user_models_dir() / versions.STATE_FILE).write_text("{not json")
    assert resolve("rig").folder.name == "v2"
    assert versions.promote("rig", 1) == 1 and resolve("rig").folder.name == "v1"


def test_a_lock_held_by_a_killed_process_does_not_block_promote(linewatch_home) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    publish_copy("rig")
    root = Path(__file__).resolve().parents[4]
    holder = ("import sys, time\n"
              "from desktop.ml.model_files import versions\n"
              "with versions._locked():\n"
              "    print('locked', flush=True)\n"
              "    time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True,
                             cwd=root, env={**os.environ, "PYTHONPATH": str(root),
                                            "LINEWATCH_HOME": str(linewatch_home)})
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        started = time.monotonic()
        assert versions.promote("rig", 1) == 1
        assert time.monotonic() - started < 1.0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


def test_remove_a_whole_user_model_but_never_a_shipped_one(capsys) -> None:
    import argparse

    from desktop.cli import add_commands

    for _ in range(2):
        publish_copy("rig")
    versions.promote("rig", 2)
    registry.set_live_model("rig")
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(), ML_COMMANDS)

    def run(*argv: str) -> int:
        args = parser.parse_args(["models", "remove", *argv])
        return args.func(args)

    assert run("rig") == 1  # no --yes: say what would go, remove nothing
    out = capsys.readouterr().out
    assert "would remove the user model 'rig'" in out and "v1" in out and "v2" in out
    assert versions.versions_of("rig") == [1, 2]
    assert run("rig", "--yes") == 0
    assert versions.versions_of("rig") == [] and versions.live_model() is None
    assert "rig" not in versions.read_state()["models"]
    with pytest.raises(ModelError, match="no model named 'rig'"):
        resolve("rig")
    with pytest.raises(ModelError, match="ships with Linewatch and cannot be removed"):
        run("fault-cwru", "--yes")
    with pytest.raises(ModelError, match="ships with Linewatch"):
        run("fault-cwru", "--version", "1")
    with pytest.raises(ModelError, match="no user model named 'nope'"):
        run("nope")
    assert resolve("fault-cwru").shipped


def test_leftovers_of_killed_processes_are_swept_but_not_live_staging() -> None:
    import os
    import time

    from filelock import FileLock

    root = versions.user_models_dir()
    live = versions.staging_dir("rig")  # a fine-tune of this process, still writing
    dead = root / "rig" / ".staging-dead"
    dead.mkdir()
    (dead / "weights.safetensors").write_bytes(b"half")
    FileLock(str(dead.with_name(dead.name + ".lock"))).acquire()  # ...and let go: "killed"
    old = root / "rig" / ".staging-old-linewatch"  # no lock file, an hour old
    old.mkdir()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    trash = root / "rig" / ".removed-v3-abcd"
    trash.mkdir()
    tmp = root / f".{versions.STATE_FILE}.x1y2.tmp"  # a promote killed mid-write
    tmp.write_text("{")
    list_models()
    assert live.is_dir() and not dead.exists() and not old.exists() and not trash.exists()
    assert not dead.with_name(dead.name + ".lock").exists()
    versions.discard_staging(live)
    assert not live.exists() and not live.with_name(live.name + ".lock").exists()
    publish_copy("rig")
    versions.promote("rig", 1)
    assert not tmp.exists()
    assert sorted(p.name for p in (root / "rig").iterdir()) == ["v1"]


def test_a_full_disk_during_promote_changes_nothing(monkeypatch) -> None:
    publish_copy("rig")
    publish_copy("rig")
    versions.promote("rig", 1)

    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(versions, "atomic_write_text", full)
        with pytest.raises(ModelError, match="No space left on device; nothing was changed"):
            versions.promote("rig", 2)
    assert versions.active_version("rig") == 1
