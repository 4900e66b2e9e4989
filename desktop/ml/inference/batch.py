"""Judging many recordings at once: ``linewatch predict DIR | 'GLOB' | FILE... --out T``.

The work is spread over **Dask distributed**: by default a local cluster of N worker
processes (one thread each, so N files are judged side by side on N cores); with
``scheduler="tcp://HOST:8786"`` an existing cluster, which is how a plant with many stations
and a shared recordings store goes past one PC. Each worker process loads the model once and
keeps it (:func:`judge_file` is what runs there), so a file costs its read and its windows.

A file's own problem (corrupt, no rate, too short, no such channel) never stops the batch:
:func:`judge_file` returns it as ``error`` and the others still finish; a worker that dies
under a file reports that file as failed. The result is one table in input order —
``file, start_s, end_s, class, probability, location`` (+ ``score`` for anomaly models) —
written as Parquet, CSV or JSON, and the list of failed files.

Nothing here imports dask or torch at module level; a worker imports this module by name,
so every worker must run the same Linewatch version as the client (checked on connect).
The command's options, progress bar and summary are :mod:`desktop.cli.predict_batch`.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop import __version__
from desktop.core.errors import InputError, LinewatchError, MissingFileError, UsageError
from desktop.ml.inference.open_set import check_rate

#: What a folder is searched for (a glob or a named file may be any readable recording).
FOLDER_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".mat")
#: The table's columns, in order; ``score`` follows for anomaly models.
COLUMNS = ("file", "start_s", "end_s", "class", "probability", "location")
#: Key of the table's description in Parquet schema metadata and JSON documents.
META_KEY = b"linewatch"
OUT_SUFFIXES = (".parquet", ".csv", ".json")
#: Seconds to wait for a remote scheduler before giving up with a clear message.
CONNECT_TIMEOUT_S = 20

_GLOB_CHARS = set("*?[")
#: glibc's mmap threshold for local workers (see :func:`dask_client`), bytes.
MMAP_THRESHOLD = 32 << 20


# ---------------------------------------------------------------------------- inputs
def looks_like_batch(inputs: Sequence[str | Path]) -> bool:
    """More than one input, a folder or a pattern: the batch form of ``predict``."""
    if len(inputs) != 1:
        return True
    p = Path(inputs[0]).expanduser()
    if p.is_dir():
        return not p.name.endswith(".journal")
    return not p.exists() and bool(_GLOB_CHARS & set(str(inputs[0])))


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Recordings named by folders (their ``FOLDER_SUFFIXES`` files, not recursive),
    glob patterns (``**`` recurses; quote them so the shell does not expand them) and
    files, absolute, in the given order, each once.

    Raises :class:`InputError` for a folder without recordings, a pattern that matches
    nothing, or a file that does not exist.
    """
    out: list[Path] = []
    for spec in inputs:
        text = str(spec)
        p = Path(text).expanduser()
        if p.is_dir() and not p.name.endswith(".journal"):
            found = sorted(f for f in p.iterdir()
                           if f.is_file() and not f.name.startswith(".")
                           and f.suffix.lower() in FOLDER_SUFFIXES)
            if not found:
                raise InputError(f"{p} holds no recordings ({', '.join(FOLDER_SUFFIXES)})")
            out += found
        elif p.exists() or p.with_name(p.name + ".journal").is_dir():
            out.append(p)
        elif _GLOB_CHARS & set(text):
            found = sorted(Path(m) for m in glob.glob(os.path.expanduser(text), recursive=True)
                           if Path(m).is_file())
            if not found:
                raise MissingFileError(f"no file matches {text}")
            out += found
        else:
            raise MissingFileError(f"{p}: no such file")
    seen: set[Path] = set()
    unique = []
    for f in out:
        f = f.absolute()
        if f not in seen:
            seen.add(f)
            unique.append(f)
    return unique


# ---------------------------------------------------------------------------- one file
@dataclass(frozen=True)
class JudgeOptions:
    """What ``predict`` was asked: the same for every file of a batch."""

    model: str
    channel: str | None = None
    rate: float | None = None
    hop: int | None = None
    device: str | None = "auto"
    #: numeric threads (torch, BLAS/OpenMP) per worker; None: 1 (or ``$LINEWATCH_THREADS``),
    #: which keeps N workers on N cores from fighting.
    threads: int | None = None
    #: judge input outside the model's domain (``--force``) instead of failing the file
    force: bool = False


_cache_lock = threading.Lock()
_predictors: dict[tuple[str, str | None, int | None], tuple[Any, dict[str, Any]]] = {}


def model_fingerprint(predictor: Any) -> dict[str, Any]:
    """Name, version and weights checksum: what must agree between client and workers."""
    from desktop.ml import kinds
    from desktop.ml.model_files.card import WEIGHTS_FILE
    from desktop.ml.model_files.files import check_model_file
    from desktop.ml.model_files.weights import MAX_WEIGHTS_BYTES, sha256_of

    card = predictor.card
    if kinds.get(card.kind).builtin is not None:  # a built-in kind (diagnosis): no weights
        digest = f"built in: {card.kind} v{card.version}"
    else:
        weights = Path(predictor.folder) / WEIGHTS_FILE
        check_model_file(weights, MAX_WEIGHTS_BYTES)  # never read a link to /dev/zero whole
        digest = sha256_of(weights)
    return {"name": card.name, "kind": card.kind, "version": card.version,
            "weights_sha256": digest, "classes": list(card.classes),
            "sample_rate": card.sample_rate, "window": card.window}


def cached_predictor(options: JudgeOptions) -> tuple[Any, dict[str, Any]]:
    """The predictor for ``options`` and its fingerprint, loaded once per process."""
    from desktop.ml.inference.predictors import load_predictor

    key = (options.model, options.device, options.threads)
    with _cache_lock:
        if key not in _predictors:
            predictor = load_predictor(options.model, device=options.device,
                                       threads=options.threads)
            _predictors[key] = (predictor, model_fingerprint(predictor))
        return _predictors[key]


def judge_file(path: str, options: JudgeOptions) -> dict[str, Any]:
    """Verdicts for one recording, exactly as ``linewatch predict FILE`` computes them.

    Returns ``{"file", "channel", "channel_reason", "skipped", "columns": {start_s, end_s,
    class, probability, location[, score]}, "model", "linewatch", "host", "seconds"}``, or
    ``{"file", "error", "host"}`` when the file (or the model on this worker) cannot be
    judged: a file's problem is an answer, not an exception, so the batch goes on.
    """
    from desktop.analysis.channels import pick_channel
    from desktop.recording.readers import read_recording

    started = time.perf_counter()
    host = socket.gethostname()
    try:
        predictor, fingerprint = cached_predictor(options)
        rec = read_recording(path, options.rate)
        idx, reason = pick_channel([c.name for c in rec.channels], options.channel,
                                   predictor.card.input_channels)
        rate = rec.effective_rate()
        if not rate:
            raise InputError(f"{path} does not say its sample rate: give --rate HZ")
        refusal = check_rate(predictor.card.domain, rate, predictor.card.name)
        if refusal and not options.force:  # the same rule as `predict FILE`
            raise InputError(refusal)
        # a kind that reads the file's metadata (diagnosis: its RPM) gets its own copy
        judge = predictor.with_metadata(rec.metadata)
        verdicts = judge.predict_signal(rec.values[:, idx], rate, hop=options.hop)
        if not verdicts and judge.last_skipped:
            raise InputError(f"channel {rec.channels[idx].name} has no usable signal (all "
                             f"{judge.last_skipped} windows fall on gaps)")
    except LinewatchError as exc:
        return {"file": path, "error": str(exc), "host": host}
    except MemoryError:
        return {"file": path, "error": "out of memory on the worker", "host": host}
    except Exception as exc:  # a reader's or a library's bug must not stop the batch
        return {"file": path, "error": f"{type(exc).__name__}: {exc}", "host": host}
    columns: dict[str, list[Any]] = {
        "start_s": [v.start_s for v in verdicts], "end_s": [v.end_s for v in verdicts],
        "class": [v.label for v in verdicts],
        "probability": [v.probability for v in verdicts],
        "location": [v.location for v in verdicts]}
    if predictor.card.kind == "anomaly":
        columns["score"] = [v.score for v in verdicts]
    return {"file": path, "channel": rec.channels[idx].name, "channel_reason": reason,
            "skipped": judge.last_skipped, "columns": columns, "model": fingerprint,
            "linewatch": __version__, "host": host,
            "seconds": round(time.perf_counter() - started, 6)}


def worker_version() -> str:
    """Run on every worker on connect: the Linewatch version it imports."""
    return __version__


def warm_worker(options: JudgeOptions) -> dict[str, Any]:
    """Run on every worker before the files: load the model (torch, weights) once, so the
    first file is not slower than the rest, and say which model it got, or why not."""
    try:
        predictor, fingerprint = cached_predictor(options)
        # The first forward pass and the readers' imports (scipy.io, h5py) cost as much as
        # a file: pay them here, not on the first file.
        import numpy as np

        import desktop.recording.mat  # noqa: F401

        predictor.predict_windows(np.zeros((1, predictor.card.window)))
        return fingerprint
    except Exception as exc:
        return {"error": str(exc) if isinstance(exc, LinewatchError)
                else f"{type(exc).__name__}: {exc}"}


# ---------------------------------------------------------------------------- many files
@dataclass
class BatchResult:
    """Every file's answer in input order; ``failed`` are ``{"file", "error"}``."""

    files: list[str]
    results: dict[str, dict[str, Any]]
    model: dict[str, Any]
    workers: int
    scheduler: str
    #: judging only: from the workers holding the model to the last answer
    seconds: float
    failed: list[dict[str, str]] = field(default_factory=list)
    #: starting (or reaching) the cluster and loading the model on every worker
    startup_s: float = 0.0

    @property
    def files_per_s(self) -> float:
        return len(self.files) / self.seconds if self.seconds > 0 else float("inf")

    @property
    def judged(self) -> list[dict[str, Any]]:
        return [self.results[f] for f in self.files
                if f in self.results and "error" not in self.results[f]]

    @property
    def windows(self) -> int:
        return sum(len(r["columns"]["start_s"]) for r in self.judged)

    def rows(self) -> dict[str, list[Any]]:
        """The table as columns: input order, then time."""
        cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        if self.model.get("kind") == "anomaly":
            cols["score"] = []
        for r in self.judged:
            n = len(r["columns"]["start_s"])
            cols["file"] += [r["file"]] * n
            for c in cols:
                if c != "file":
                    cols[c] += list(r["columns"][c])
        return cols

    def description(self) -> dict[str, Any]:
        """What the table's metadata says: model, per-file channel and counts, failures."""
        return {"kind": "verdicts", "linewatch": __version__, "model": self.model,
                "files": [{"file": r["file"], "channel": r["channel"],
                           "channel_reason": r["channel_reason"],
                           "windows": len(r["columns"]["start_s"]),
                           "skipped_windows": r["skipped"]} for r in self.judged],
                "failed": self.failed, "workers": self.workers, "scheduler": self.scheduler,
                "seconds": round(self.seconds, 3), "startup_s": round(self.startup_s, 3)}


ResultListener = Callable[[dict[str, Any], int, int], None]


def judge_many(files: Sequence[Path], options: JudgeOptions, *, workers: int | None = None,
               scheduler: str | None = None, on_result: ResultListener | None = None
               ) -> BatchResult:
    """Judge ``files`` on Dask distributed; ``on_result(result, done, total)`` per file.

    ``scheduler`` (``tcp://host:8786``) uses that cluster; otherwise a local cluster of
    ``workers`` processes (default: one per core, at most one per file). One worker and no
    scheduler judges in this process: the same answers without starting a cluster.
    The model is loaded here first, so a bad model name fails at once, and every answer
    is checked to come from the same model (version and weights) as the one here.
    Raises :class:`InputError` for an unreachable scheduler or workers of another
    Linewatch version.
    """
    names = [str(f) for f in files]
    t0 = time.perf_counter()
    _, fingerprint = cached_predictor(options)
    n_workers = max(1, workers or min(os.cpu_count() or 1, len(names)))
    results: dict[str, dict[str, Any]] = {}
    failed: list[dict[str, str]] = []
    started = t0

    def take(result: dict[str, Any]) -> None:
        if "error" not in result and result.get("model", {}).get("weights_sha256") != \
                fingerprint["weights_sha256"]:
            theirs = result.get("model", {})
            result = {"file": result["file"], "host": result.get("host", "?"),
                      "error": f"worker {result.get('host', '?')} has model "
                               f"{theirs.get('name')} version {theirs.get('version')}, not "
                               f"the version {fingerprint['version']} loaded here (other "
                               f"weights): install the same model on every worker"}
        results[result["file"]] = result
        if "error" in result:
            failed.append({"file": result["file"], "error": result["error"]})
        if on_result is not None:
            on_result(result, len(results), len(names))

    if scheduler is None and n_workers == 1:
        started = time.perf_counter()
        for name in names:
            take(judge_file(name, options))
        where = "this process"
    else:
        with dask_client(n_workers, scheduler) as (client, where):
            n_workers = check_workers(client, options, fingerprint)
            started = time.perf_counter()
            _run_on_cluster(client, names, options, take)
    return BatchResult(names, results, fingerprint, n_workers, where,
                       time.perf_counter() - started, failed, startup_s=started - t0)


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None) -> Iterator[tuple[Any, str]]:
    """A connected ``distributed.Client`` and a description of where it runs."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise InputError("judging many files needs dask[distributed]: pip install "
                         "'dask[distributed]'") from exc
    if scheduler:
        with _dask_logs_to_file():
            try:
                client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {exc} (is "
                                 "`dask scheduler` running there, its port open in the "
                                 "firewall?)") from exc
            try:
                yield client, scheduler
            finally:
                client.close()
        return
    import dask

    # processes=True: torch and the readers hold the GIL, so threads would not add cores.
    # The nanny's shutdown chatter ("still alive after 4 s, killing") is not the user's news.
    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which pins glibc's mmap
    # threshold at 128 KiB: every window array is then a fresh mmap and page faults, and a
    # file took 2-3x as long as in one process. 32 MiB (glibc's own upper bound) restores it.
    # Dask's own logs (a worker's CommClosedError when the cluster shuts down under load)
    # go to the log file: the workers are started, and the cluster closed, with stderr
    # pointing at it (see _dask_logs_to_file).
    with _dask_logs_to_file() as log_file, \
            dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_":
                             MMAP_THRESHOLD}), \
            contextlib.ExitStack() as stack:
        with _stderr_to(log_file):
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster))
        try:
            yield client, f"local cluster of {workers} processes"
        finally:
            with _stderr_to(log_file):
                stack.close()  # client, then cluster: workers and nannies stop here


#: Loggers of Dask and the libraries under it, sent to the log file while a cluster runs.
DASK_LOGGERS = ("distributed", "dask", "tornado", "asyncio")


@contextlib.contextmanager
def _dask_logs_to_file(level: int = logging.WARNING) -> Iterator[Path]:
    """Route Dask's loggers in this process to Linewatch's log file only (never the
    terminal) and yield that file's path, for :func:`_stderr_to`.

    Why: a local cluster that shuts down while a worker still talks to the scheduler
    logs ``CommClosedError`` tracebacks. They are Dask's housekeeping, not the user's news;
    an engineer sending the log file still has them. Restored on exit.
    """
    from desktop.core import paths
    from desktop.core.logsetup import LOG_FILE_NAME

    root = logging.getLogger()
    ours = next((h for h in root.handlers if getattr(h, "_linewatch", False)
                 and isinstance(h, logging.FileHandler)), None)
    log_file = Path(ours.baseFilename) if ours is not None else paths.log_dir() / LOG_FILE_NAME
    handler: logging.Handler = ours if ours is not None else logging.FileHandler(
        log_file, encoding="utf-8", delay=True)
    saved = []
    for name in DASK_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, list(logger.handlers), logger.propagate, logger.level))
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level)
    try:
        yield log_file
    finally:
        for logger, handlers, propagate, before in saved:
            logger.handlers = handlers
            logger.propagate = propagate
            logger.setLevel(before)
        if ours is None:
            handler.close()


@contextlib.contextmanager
def _stderr_to(log_file: Path) -> Iterator[None]:
    """Point file descriptor 2 at ``log_file`` for the block: worker processes started in
    it inherit that stderr for their whole life, and what the cluster prints while it
    closes lands there too. This process's ``sys.stderr`` is back on the terminal after
    the block (the progress lines are written between the two blocks)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # None under pythonw
        sys.stderr.flush()
    try:
        target = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError:  # a read-only profile: leave stderr as it is
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (a windowed process): nothing to redirect
        os.close(target)
        yield
        return
    os.dup2(target, 2)
    os.close(target)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def check_workers(client: Any, options: JudgeOptions, fingerprint: dict[str, Any]) -> int:
    """Wait for a worker; refuse workers that run another Linewatch version or cannot load
    the same model (version and weights) as this PC. Returns the number of workers."""
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError as exc:
        raise InputError(f"the Dask cluster has no workers after {CONNECT_TIMEOUT_S} s "
                         "(start `dask worker tcp://SCHEDULER:8786` on the stations)") from exc
    versions: dict[str, str] = client.run(worker_version)
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        listing = ", ".join(f"{w} has {v}" for w, v in sorted(wrong.items()))
        raise InputError(f"every worker must run Linewatch {__version__} like this PC: "
                         f"{listing}")
    models: dict[str, dict[str, Any]] = client.run(warm_worker, options)
    problems = []
    for w, got in sorted(models.items()):
        if "error" in got:
            problems.append(f"{w} cannot load the model: {got['error']}")
        elif got.get("weights_sha256") != fingerprint["weights_sha256"]:
            problems.append(f"{w} has {got.get('name')} version {got.get('version')} with "
                            f"other weights than the version {fingerprint['version']} here")
    if problems:
        raise InputError("every worker must have the same model as this PC: "
                         + "; ".join(problems))
    return len(versions)


def _run_on_cluster(client: Any, names: list[str], options: JudgeOptions,
                    take: Callable[[dict[str, Any]], None]) -> None:
    from dask.distributed import as_completed

    def size(name: str) -> int:
        try:
            return os.stat(name).st_size
        except OSError:
            return 0

    # Largest first: the long files start early and the short ones fill in behind them.
    order = sorted(names, key=size, reverse=True)
    futures = {client.submit(judge_file, name, options, pure=False,
                             priority=len(order) - i): name
               for i, name in enumerate(order)}
    try:
        for future in as_completed(futures):
            name = futures[future]
            try:
                take(future.result())
            except Exception as exc:  # the worker died under it (KilledWorker), or similar
                take({"file": name, "error": f"the worker failed: {type(exc).__name__}: "
                                             f"{exc}"})
    finally:
        client.cancel(list(futures))


# ---------------------------------------------------------------------------- output
def check_out_path(out: Path, overwrite: bool = False) -> None:
    """Refuse an ``--out`` that is not a new .parquet/.csv/.json file in an existing folder
    (an existing file only with ``--overwrite``, as ``export`` and ``record`` do)."""
    if out.suffix.lower() not in OUT_SUFFIXES:
        raise UsageError(f"--out {out}: give a .parquet, .csv or .json file")
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name")
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: the folder {out.parent} does not exist")
    if out.exists() and not overwrite:
        raise InputError(f"--out {out} already exists; pass --overwrite to replace it")


def write_table(columns: dict[str, list[Any]], description: dict[str, Any], out: Path) -> None:
    """Write the verdict table to ``out`` (.parquet with the description in its metadata,
    .csv, or .json ``{"description", "verdicts": [rows]}``), atomically."""
    import pyarrow as pa

    from desktop.core.atomic import atomic_open, atomic_write_text

    suffix = out.suffix.lower()
    if suffix == ".json":
        keys = list(columns)
        rows = [dict(zip(keys, values, strict=True))
                for values in zip(*columns.values(), strict=True)]
        atomic_write_text(out, json.dumps({**description, "verdicts": rows}) + "\n")
        return
    types = {"file": pa.string(), "class": pa.string(), "location": pa.string(),
             "start_s": pa.float64(), "end_s": pa.float64(), "probability": pa.float64(),
             "score": pa.float64()}
    table = pa.table({c: pa.array(v, type=types.get(c)) for c, v in columns.items()})
    if suffix == ".csv":  # a spreadsheet opens it: text cells and names get the guard
        import pyarrow.csv as pacsv

        from desktop.core.spreadsheet import guard_cells, guard_formula

        table = pa.table({guard_formula(c): pa.array(guard_cells(v), type=types.get(c))
                          if pa.types.is_string(table.column(c).type) else table.column(c)
                          for c, v in columns.items()})
        with atomic_open(out, "wb") as fh:
            pacsv.write_csv(table, fh)
        return
    import pyarrow.parquet as pq

    table = table.replace_schema_metadata({META_KEY: json.dumps(description).encode()})
    with atomic_open(out, "wb") as fh:
        pq.write_table(table, fh)
