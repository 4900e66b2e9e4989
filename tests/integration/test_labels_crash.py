"""A process writing labels is killed with SIGKILL: the store reopens whole.

The child adds events as fast as it can, each in its own transaction, and prints an id only
after its commit returned. Notes are kilobytes long so one event spans several database
pages: a torn write would show up as a row whose fields do not match what the child wrote.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from desktop.labels.event import LabelEvent
from desktop.labels.store import LabelStore

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BATCH = 40

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path

    from desktop.labels.event import LabelEvent
    from desktop.labels.store import LabelStore

    def expected(k):
        return LabelEvent(None, f"run{k % 7}.parquet", float(k), k + 0.25, f"class{k % 5}",
                          channel=f"ch{k % 3}", note=f"{k}:" + "é,\\n\\"" * (k % 1500),
                          source="crash-test", author="child")

    store = LabelStore(Path(sys.argv[1]))
    mode, k = sys.argv[2], int(sys.argv[3])
    print("ready", flush=True)
    while True:
        if mode == "single":
            event = store.add(expected(k))
            print(event.id, k, flush=True)
            k += 1
        else:
            store.add_many(expected(j) for j in range(k, k + BATCH))
            print(k, flush=True)
            k += BATCH
""").replace("BATCH", str(BATCH))


def expected(k: int) -> LabelEvent:
    """The event the child writes for index ``k`` (kept in step with CHILD)."""
    return LabelEvent(None, f"run{k % 7}.parquet", float(k), k + 0.25, f"class{k % 5}",
                      channel=f"ch{k % 3}", note=f"{k}:" + 'é,\n"' * (k % 1500),
                      source="crash-test", author="child")


def same_content(stored: LabelEvent, want: LabelEvent) -> bool:
    fields = ("recording", "start_s", "end_s", "label", "channel", "note", "source", "author")
    return all(getattr(stored, f) == getattr(want, f) for f in fields)


def run_and_kill(path: Path, mode: str, first: int, lines_before_kill: int) -> list[str]:
    """Start the child, let it commit a while, SIGKILL it; every line it printed."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), mode, str(first)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()  # type: ignore
        lines = [proc.stdout.readline() for _ in range(lines_before_kill)]
        time.sleep(random.uniform(0.0, 0.02))  # land the kill anywhere in a transaction
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        # Through the same text stream as readline (communicate() would read the raw pipe
        # and skip what readline had already buffered). The child is dead: read() ends.
        rest = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        assert proc.stderr is not None
        errors = proc.stderr.read()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, errors
    # A line without its newline was cut by the kill: that commit was never reported.
    printed = [line for line in [*lines, *rest.splitlines(keepends=True)]
               if line.endswith("\n")]
    return printed


def check_store(path: Path) -> list[LabelEvent]:
    with LabelStore(path) as store:
        assert store._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store._conn().execute("PRAGMA foreign_key_check").fetchall() == []
        events = store.list()
    for event in events:  # no torn rows: each is exactly what the child meant to write
        assert same_content(event, expected(int(event.start_s))), event.id
    return events


def test_sigkill_while_adding_events_loses_no_committed_event(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite3"
    reported: dict[int, int] = {}
    first = 0
    for round_ in range(3):
        lines = run_and_kill(path, "single", first, 60 + 40 * round_)
        for line in lines:
            event_id, k = map(int, line.split())
            reported[event_id] = k
        events = check_store(path)
        by_id = {int(e.id): e for e in events}  # type: ignore[arg-type]
        missing = set(reported) - set(by_id)
        assert not missing, f"committed and reported, yet lost: {sorted(missing)}"
        for event_id, k in reported.items():
            assert same_content(by_id[event_id], expected(k))
        # At most the one event committed after the child's last print is unreported.
        assert len(by_id) - len(reported) <= round_ + 1
        first = max(int(e.start_s) for e in events) + 1
    # The store still takes writes after three crashes.
    with LabelStore(path) as store:
        assert store.add(expected(first)).id is not None


def test_sigkill_during_bulk_imports_keeps_whole_batches_only(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite3"
    lines = run_and_kill(path, "batch", 0, 8)
    committed = [int(line) for line in lines]
    events = check_store(path)
    starts = sorted(int(e.start_s) for e in events)
    assert len(starts) % BATCH == 0, "a bulk import was kept in part"
    assert starts == list(range(len(starts)))
    assert set(committed) <= set(range(0, len(starts), BATCH))
    assert len(starts) // BATCH - len(committed) <= 1
