"""Threads that need scipy import it one at a time (desktop/core/heavy_imports.py): run in
a fresh interpreter, eight threads call it at once and each then uses scipy.signal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CODE = """
import threading
from desktop.core.heavy_imports import import_scientific_stack
errors = []
def work():
    try:
        import_scientific_stack()
        import scipy.signal
        scipy.signal.get_window("hann", 8)
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(errors)
"""


def test_many_threads_import_the_stack_at_once() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
