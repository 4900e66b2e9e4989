"""How many CPU threads a model run may use: one by default, torch and BLAS/OpenMP alike.

Why one: Linewatch runs models beside a redrawing window, an acquisition thread, other
Dask workers or other programs on plant PCs with 2-4 cores. Every numeric library starts
one thread per core by default, and those threads spin while waiting for each other; on a
busy 2-core PC the fault model ran 3-8× slower on torch's default threads than on one
(``bench/bench_inference.py --check``, load average 8: 205-900 vs 1,500-4,200 windows/s),
and the numpy backend's OpenBLAS 4.6-8.5× slower uncapped (issue 20). The models
are small (a WDCNN ensemble, ~54 k parameters each), so one thread per process loses
little even on an idle machine; ``--threads N`` raises it where that is measured faster.

The cap is process-wide (torch's intra-op pool, every loaded BLAS and OpenMP runtime via
``threadpoolctl``), applied when a predictor is loaded and again before each whole-signal
run (libraries loaded later, e.g. scipy's own OpenBLAS, are caught then).
"""

from __future__ import annotations

import os
import sys

#: Numeric threads for a model run unless the user asks for more (``--threads``).
DEFAULT_THREADS = 1
#: ``linewatch --threads N`` (the window) sets this, so every model run of the process and
#: of the Dask workers it starts (they inherit the environment) gets N.
ENV_VAR = "LINEWATCH_THREADS"


def thread_count(threads: int | None = None) -> int:
    """``threads`` when it is a positive number, else ``$LINEWATCH_THREADS`` when that is
    one, else :data:`DEFAULT_THREADS` (1)."""
    if threads is not None and int(threads) >= 1:
        return int(threads)
    try:
        env = int(os.environ.get(ENV_VAR, "") or 0)
    except ValueError:
        env = 0
    return env if env >= 1 else DEFAULT_THREADS


def limit_numeric_threads(threads: int | None = None) -> int:
    """Cap torch (when imported) and every loaded BLAS/OpenMP pool to ``threads`` (None:
    :func:`thread_count`'s default) for the rest of the process; returns the count."""
    n = thread_count(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a bundle without it: torch's own cap still applies below
        pass
    else:
        threadpool_limits(limits=n)  # called, not entered: stays in force
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def numeric_thread_info() -> dict[str, int]:
    """``{library: threads}`` as now in force (``torch`` included when imported): for
    tests and ``--measure`` style diagnostics."""
    info: dict[str, int] = {}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        for pool in threadpool_info():
            info[f"{pool.get('internal_api')}:{pool.get('prefix')}"] = int(
                pool.get("num_threads", 0))
    torch = sys.modules.get("torch")
    if torch is not None:
        info["torch"] = int(torch.get_num_threads())
    return info
