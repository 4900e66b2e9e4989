"""Issue 24 item 4: ``predict DIR`` on a real local Dask cluster prints only its own lines.

Dask's logs — the scheduler's and client's in this process, and everything a worker
process writes to its stderr (a ``CommClosedError`` traceback when the cluster shuts down
under load) — go to Linewatch's log file, never to the terminal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq

from tests.support.drill import Child, linewatch, report
from tests.support.real_data import CWRU

CHILD = r"""
import logging, sys
from desktop.core.logsetup import configure_logging
from desktop.ml.inference.batch import dask_client

log_path = configure_logging(console_level=logging.WARNING)
print(log_path, flush=True)

def in_worker():
    import logging, sys, traceback
    logging.getLogger("distributed.worker").error("MARKER-WORKER-LOG")
    print("Traceback (most recent call last): MARKER-WORKER-STDERR CommClosedError",
          file=sys.stderr, flush=True)
    return True

with dask_client(2, None) as (client, where):
    assert all(client.run(in_worker).values())
    logging.getLogger("distributed.core").error("MARKER-PARENT CommClosedError")
    print("DURING", file=sys.stderr, flush=True)
print("AFTER", file=sys.stderr, flush=True)
logging.getLogger("desktop").warning("OURS")
"""


def test_dask_logs_go_to_the_log_file_not_the_terminal(tmp_path: Path) -> None:
    child = Child.python(CHILD, LINEWATCH_HOME=str(tmp_path / "home"))
    assert child.proc.wait(timeout=180) == 0, "".join(child.stderr)
    for pump in child._pumps:  # every line read
        pump.join(10)
    log_file = Path(child.stdout[0].strip())
    err = "".join(child.stderr)
    assert "MARKER" not in err and "Traceback" not in err and "CommClosed" not in err, err
    assert "DURING" in err and "AFTER" in err and "linewatch: OURS" in err, err
    log = log_file.read_text(encoding="utf-8", errors="replace")
    for marker in ("MARKER-WORKER-LOG", "MARKER-WORKER-STDERR", "MARKER-PARENT"):
        assert marker in log, marker
    report("dask-logs", stderr_lines=len(err.splitlines()), log_bytes=len(log))


def test_predict_dir_on_two_workers_prints_only_its_own_lines(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    for f in sorted(CWRU.glob("*.mat"))[:4]:
        shutil.copy(f, folder / f.name)
    out = tmp_path / "v.parquet"
    done = linewatch("predict", str(folder), "--out", str(out), "--workers", "2", "--json",
                     LINEWATCH_HOME=str(tmp_path / "home"))
    assert done.returncode == 0, done.stderr
    foreign = [line for line in done.stderr.splitlines() if not line.startswith("linewatch: ")]
    assert foreign == [], done.stderr
    assert "Traceback" not in done.stderr and "CommClosed" not in done.stderr
    summary = json.loads(done.stdout)
    assert summary["workers"] == 2
    assert len(set(pq.read_table(out).column("file").to_pylist())) == 4
    report("dask-predict-dir", files=4, stderr_lines=len(done.stderr.splitlines()))
