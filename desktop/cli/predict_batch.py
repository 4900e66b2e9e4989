"""``linewatch predict DIR | 'GLOB' | FILE... --out T``: the batch form of ``predict``.

Parsing and printing only: the files are judged on Dask by
:func:`desktop.ml.inference.batch.judge_many` (imported when the command runs, so
``linewatch --help`` never loads it), which calls :class:`Progress` once per file.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from desktop.core.errors import InputError, UsageError


class Progress:
    """A progress bar on stderr (a terminal), or one line per finished file (a log)."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.perf_counter()
        self.failed = 0

    def __call__(self, result: dict[str, Any], done: int, total: int) -> None:
        if "error" in result:
            self.failed += 1
            self._line(f"linewatch: failed: {result['file']}: {result['error']}")
        if self.quiet:
            return
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        rate = done / elapsed
        tail = f"{done}/{total} files  {rate:.2f} files/s" + (
            f"  {self.failed} failed" if self.failed else "")
        if self.tty:
            width = 30
            fill = round(width * done / total)
            print(f"\r[{'#' * fill}{'.' * (width - fill)}] {tail}", end="",
                  file=self.stream, flush=True)
            if done == total:
                print(file=self.stream, flush=True)
        elif "error" not in result:
            n = len(result["columns"]["start_s"])
            print(f"linewatch: [{done}/{total}] {result['file']}: {n} windows",
                  file=self.stream, flush=True)

    def _line(self, text: str) -> None:
        if self.tty:
            print("\r\x1b[K", end="", file=self.stream)
        print(text, file=self.stream, flush=True)


def run_predict_batch(args: Any) -> int:
    """``linewatch predict`` with a folder, a pattern, several files or ``--out``.

    Exit code 0 when every file was judged, 1 when any failed (the others are in the table).
    """
    from desktop.ml.inference.batch import (
        JudgeOptions,
        check_out_path,
        expand_inputs,
        judge_many,
        write_table,
    )
    from desktop.ml.model_files.registry import DEFAULT_FAULT_MODEL

    inputs = args.file if isinstance(args.file, list) else [args.file]
    if args.out is None:
        raise UsageError("several recordings, a folder or a pattern need --out "
                         "verdicts.parquet (or .csv, .json)")
    out = Path(args.out).expanduser()
    check_out_path(out, overwrite=bool(getattr(args, "overwrite", False)))
    if args.rate is not None and not args.rate > 0:
        raise UsageError(f"--rate must be positive, got {args.rate}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1, got {args.workers}")
    files = expand_inputs(inputs)
    if out.absolute() in files:
        raise InputError(f"--out {out} is one of the inputs")
    options = JudgeOptions(model=str(args.model or DEFAULT_FAULT_MODEL), channel=args.channel,
                           rate=args.rate, hop=args.hop, device=args.device,
                           threads=args.threads, force=bool(getattr(args, "force", False)))
    progress = Progress(quiet=args.quiet)
    result = judge_many(files, options, workers=args.workers, scheduler=args.scheduler,
                        on_result=progress)
    write_table(result.rows(), result.description(), out)
    ok = len(files) - len(result.failed)
    speed = result.files_per_s
    summary = {"out": str(out), "files": len(files), "judged": ok,
               "failed": result.failed, "windows": result.windows,
               "workers": result.workers, "scheduler": result.scheduler,
               "seconds": round(result.seconds, 3), "startup_s": round(result.startup_s, 3),
               "files_per_s": round(speed, 4),
               "model": result.model}
    if args.json:
        print(json.dumps(summary), flush=True)
    else:
        print(f"judged {ok} of {len(files)} files ({result.windows:,} windows) with "
              f"{result.model['name']} v{result.model['version']} on {result.scheduler} "
              f"in {result.seconds:.1f} s ({speed:.2f} files/s; start-up "
              f"{result.startup_s:.1f} s) -> {out}", flush=True)
    if result.failed:
        print(f"linewatch: {len(result.failed)} of {len(files)} files failed (listed above); "
              f"the other {ok} are in {out}", file=sys.stderr, flush=True)
        return 1
    return 0


def add_batch_arguments(p: Any) -> None:
    """The batch options of ``linewatch predict`` (``--out``, ``--workers``, ...)."""
    p.add_argument("--out", type=Path, default=None,
                   help="write every verdict to one table (.parquet, .csv or .json): "
                        "file,start_s,end_s,class,probability,location[,score]; needed for "
                        "a folder, a pattern or several files")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing --out file (default: refuse it)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: one per core, at most one per "
                        "file; 1 judges in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="use an existing Dask cluster, e.g. tcp://HOST:8786, instead of "
                        "local workers")
    p.add_argument("--quiet", action="store_true",
                   help="batch: no progress on stderr (failures are still listed)")
