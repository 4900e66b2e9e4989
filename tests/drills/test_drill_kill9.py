"""kill -9 at random moments of recording, label editing, fine-tuning and promote/rollback.

After each kill: the files open, the label store passes ``PRAGMA integrity_check``, the
active model is the last one promoted, no temp file is left and no lock is left behind.
"""

from __future__ import annotations

import random
import shutil
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from desktop.labels.store import LabelStore
from desktop.recording.journal import journal_is_live
from desktop.recording.readers import read_recording
from desktop.recording.writer import finalize_tmp_path, journal_path
from desktop.sources.synth import SynthSource
from tests.support.drill import Child, linewatch, pick, report

RNG = random.Random(2024)


# ------------------------------------------------------------------------------ recording
def test_kill9_while_recording(tmp_path: Path) -> None:
    kills = pick(3, 15)
    kept: list[int] = []
    for k in range(kills):
        out = tmp_path / f"rec{k}.parquet"
        rec = Child.linewatch("record", "--source", "synth:4x2000", "--out", str(out))
        try:
            rec.wait_err(": connected")
            time.sleep(RNG.uniform(0.0, 2.5))  # anywhere: before the first flush, mid-batch
            rec.kill9()
        finally:
            rec.close()
        journal = journal_path(out)
        if not journal.exists():  # killed before the journal folder was made
            assert not out.exists()
            continue
        assert not journal_is_live(journal)  # the OS dropped the recorder's lock
        info = linewatch("info", str(out), "--json")
        if info.returncode != 0:  # killed before a schema reached the disk: said in a line
            assert "holds no readable data" in info.stderr and "Traceback" not in info.stderr
            continue
        fixed = linewatch("recover", str(out))
        assert fixed.returncode == 0, fixed.stderr
        recording = read_recording(out)
        np.testing.assert_array_equal(recording.values,
                                      SynthSource(4, 2000.0).samples(0, recording.samples))
        assert not journal.exists() and not finalize_tmp_path(out).exists()
        kept.append(recording.samples)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    report("kill9-recording", kills=kills, samples_kept=kept)


# ------------------------------------------------------------------------------ labels
LABEL_CHILD = textwrap.dedent("""
    import random, sys
    from pathlib import Path
    from desktop.labels.event import LabelEvent
    from desktop.labels.store import LabelStore

    store = LabelStore(Path(sys.argv[1]))
    rng = random.Random(int(sys.argv[2]))
    k = int(sys.argv[3])
    print("ready", flush=True)
    while True:
        ids = [e.id for e in store.list()] if rng.random() < 0.05 else None
        op = rng.random()
        if op < 0.6 or not ids:
            e = store.add(LabelEvent(None, f"run{k % 5}.parquet", float(k), k + 0.5,
                                     f"class{k % 3}", note=f"{k}:" + "x" * (k % 3000)))
            print("add", e.id, k, flush=True)
            k += 1
        elif op < 0.8:
            e = store.get(rng.choice(ids))
            import dataclasses
            e = store.update(dataclasses.replace(e, note="edited " + e.note))
            print("edit", e.id, flush=True)
        else:
            victim = rng.choice(ids)
            store.delete(victim)
            print("del", victim, flush=True)
""")


def test_kill9_while_editing_labels(tmp_path: Path) -> None:
    kills = pick(3, 15)
    path = tmp_path / "labels.sqlite3"
    alive: dict[int, int] = {}  # id -> k of every reported add not reported deleted
    k = 0
    for round_ in range(kills):
        child = Child.python(LABEL_CHILD, str(path), str(round_), str(k))
        try:
            child.wait_out(1)
            child.wait_out(1 + RNG.randint(5, 60))
            time.sleep(RNG.uniform(0.0, 0.05))
            child.kill9()
        finally:
            child.close()
        for line in child.stdout[1:]:
            op, *args = line.split()
            if op == "add":
                alive[int(args[0])] = int(args[1])
            elif op == "del":
                alive.pop(int(args[0]), None)
        with LabelStore(path) as store:
            conn = store._conn()
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            events = {int(e.id): e for e in store.list()}  # type: ignore[arg-type]
        for event_id, start in alive.items():  # every reported, undeleted add is there
            assert event_id in events, (event_id, round_)
            note = events[event_id].note
            assert events[event_id].start_s == start and note.endswith(f"{start}:" + "x" * (
                start % 3000)), event_id  # not torn: the whole note, maybe edited
        # At most the one operation in flight differs from what was reported.
        assert len(set(events) ^ set(alive)) <= 1, (set(events) ^ set(alive))
        alive = {i: int(e.start_s) for i, e in events.items()}
        k = max([int(e.start_s) for e in events.values()] + [k]) + 1
    # Closed cleanly by the last check: no -wal, -shm or journal file is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.sqlite3"]
    report("kill9-labels", kills=kills, events=len(alive))


# ------------------------------------------------------------------------------ registry
REGISTRY_CHILD = textwrap.dedent("""
    import sys
    from desktop.ml.model_files import versions
    cycle = [1, 2, 3]
    i = int(sys.argv[1])
    print("ready", flush=True)
    while True:
        if i % 4 == 3:
            try:
                v = versions.rollback("rig")
            except Exception:
                v = versions.promote("rig", 1)
        else:
            v = versions.promote("rig", cycle[i % 3])
        print("active", v, flush=True)
        i += 1
""")


def publish_tiny(name: str, count: int) -> None:
    from desktop.core import paths
    from desktop.ml.model_files import versions
    from desktop.ml.model_files.card import ModelCard

    for _ in range(count):
        staging = versions.staging_dir(name)
        shutil.rmtree(staging)
        shutil.copytree(paths.shipped_models_dir() / "anomaly-cwru", staging)
        card = ModelCard.load(staging)
        card.name = name
        card.save(staging)
        versions.publish(staging, name)


def test_kill9_during_promote_and_rollback(tmp_path: Path, linewatch_home: Path) -> None:
    from desktop.ml.model_files import versions

    kills = pick(2, 15)
    publish_tiny("rig", 3)
    root = versions.user_models_dir()
    waits = []
    for round_ in range(kills):
        child = Child.python(REGISTRY_CHILD, str(round_))
        try:
            child.wait_out(1)
            child.wait_out(1 + RNG.randint(3, 40))
            time.sleep(RNG.uniform(0.0, 0.01))
            child.kill9()
        finally:
            child.close()
        reported = [int(line.split()[1]) for line in child.stdout if line.startswith("active")]
        # The last promoted is active, or the one in flight when the kill came.
        active = versions.active_version("rig")
        i = round_ + len(reported)  # the child's next operation
        in_flight = {1, 2, 3} if i % 4 == 3 else {[1, 2, 3][i % 3]}
        assert active == reported[-1] or active in in_flight, (active, reported[-5:])
        # No lock left behind: the next promote does not wait for a dead process.
        started = time.monotonic()
        assert versions.promote("rig", reported[-1]) == reported[-1]
        waits.append(round(time.monotonic() - started, 3))
        assert waits[-1] < 5.0, waits
        assert versions.active_version("rig") == reported[-1]
        assert not list(root.glob(".active.json.*.tmp")), "a temp file was left"
        assert versions.read_state()["models"]["rig"]["active"] == reported[-1]
    report("kill9-registry", kills=kills, next_promote_s=waits)


# ------------------------------------------------------------------------------ fine-tune
FINETUNE_CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    import numpy as np
    from desktop.labels.event import LabelEvent
    from desktop.ml.training.finetune import finetune

    folder = Path(sys.argv[1])
    spans = []
    with np.load(sys.argv[2], allow_pickle=False) as z:
        for k in list(z.files)[:4]:
            path = folder / f"{k}.csv"
            if not path.exists():
                np.savetxt(path, z[k][:, None], header="DE accel", comments="", fmt="%.6f")
            spans += [LabelEvent(None, str(path), 0.0, 0.256, k),
                      LabelEvent(None, str(path), 0.256, 0.512, k)]
    print("ready", flush=True)
    while True:
        r = finetune("fault-cwru", spans, "rig", mode="head", epochs=2, rate=12000.0,
                     replay_data=folder / "no-replay")
        print("published", r.version, flush=True)
""")


@pytest.mark.timeout(900)
def test_kill9_while_fine_tuning(tmp_path: Path, linewatch_home: Path) -> None:
    from desktop.ml.model_files import versions
    from desktop.ml.model_files.card import ModelCard
    from desktop.ml.model_files.registry import list_models
    from desktop.ml.model_files.weights import read_header

    kills = pick(2, 15)
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "cwru_excerpt.npz"
    published: list[int] = []
    for round_ in range(kills):
        child = Child.python(FINETUNE_CHILD, str(tmp_path), str(fixture))
        try:
            # Even rounds: anywhere in the first run (loading, training); odd rounds: after a
            # first publish, somewhere in the next run, which ends by saving and publishing.
            started = time.monotonic()
            child.wait_out(1 + round_ % 2, timeout=600)
            run_s = time.monotonic() - started
            time.sleep(RNG.uniform(0.5, 8.0) if round_ % 2 == 0 else RNG.uniform(0, run_s))
            child.kill9()
        finally:
            child.close()
        published += [int(line.split()[1]) for line in child.stdout
                      if line.startswith("published")]
        entries = {e.name: e for e in list_models()}  # also sweeps what the kill left
        rig = versions.user_models_dir() / "rig"
        if rig.exists():
            leftovers = [p.name for p in rig.iterdir() if not p.name.startswith("v")]
            assert leftovers == [], leftovers  # no staging folder, no lock file
            for v in versions.versions_of("rig"):
                folder = versions.version_folder("rig", v)
                ModelCard.load(folder)  # every published version is whole
                read_header(folder / "weights.safetensors")
            assert entries["rig"].ok
        assert set(published) <= set(versions.versions_of("rig"))
    report("kill9-finetune", kills=kills, published=published)
