"""Helpers of the reliability drills (tests/drills): scale, subprocesses, memory, tmpfs.

``LINEWATCH_DRILLS=long`` runs the long drills (10⁶ serial lines, 60 kills, a 30-minute
soak); anything else runs the short ones the normal test command includes.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
LONG = os.environ.get("LINEWATCH_DRILLS", "short").strip().lower() == "long"
T = TypeVar("T")


def pick(short: T, long: T) -> T:
    """The short-mode figure, or the long one under ``LINEWATCH_DRILLS=long``."""
    return long if LONG else short


def env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), **extra)


def linewatch(*args: str, timeout: float = 300, **extra_env: str
              ) -> subprocess.CompletedProcess[str]:
    """Run ``linewatch ARGS`` to the end."""
    return subprocess.run([sys.executable, "-m", "desktop", *args], capture_output=True,
                          text=True, env=env(**extra_env), cwd=ROOT, timeout=timeout)


def one_line(stderr: str) -> str:
    """The single ``linewatch: …`` problem line of a failed command (no traceback)."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("linewatch: ")]
    assert lines, stderr
    return lines[-1]


def rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """Resident memory of a process (``VmRSS`` now, ``VmHWM`` its peak), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def open_files(pid: int) -> int | None:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


class Child:
    """A ``linewatch …`` (or ``python -c``) subprocess whose stderr lines can be awaited
    and whose stdout lines are collected as they come."""

    def __init__(self, argv: list[str], **extra_env: str) -> None:
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env(**extra_env), cwd=ROOT)
        self.err: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self.stdout: list[str] = []
        self._out_lines: queue.Queue[str] = queue.Queue()
        self._pumps = [threading.Thread(target=self._pump_err, daemon=True),
                       threading.Thread(target=self._pump_out, daemon=True)]
        for pump in self._pumps:
            pump.start()

    @classmethod
    def linewatch(cls, *args: str, **extra_env: str) -> Child:
        return cls([sys.executable, "-m", "desktop", *args], **extra_env)

    @classmethod
    def python(cls, code: str, *args: str, **extra_env: str) -> Child:
        return cls([sys.executable, "-c", code, *args], **extra_env)

    def _pump_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            self.err.put(line)

    def _pump_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.endswith("\n"):  # a line cut by a kill was never reported
                self.stdout.append(line)
                self._out_lines.put(line)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_err(self, word: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.err.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.err.empty():
                    break
                continue
            if word in line:
                return line
        raise AssertionError(f"never said {word!r}; stderr: {''.join(self.stderr)}")

    def wait_out(self, count: int, timeout: float = 120.0) -> list[str]:
        """Wait until ``count`` stdout lines have come."""
        deadline = time.monotonic() + timeout
        while len(self.stdout) < count:
            if time.monotonic() > deadline or (self.proc.poll() is not None
                                               and self._out_lines.empty()):
                raise AssertionError(f"{len(self.stdout)} of {count} lines; stderr: "
                                     f"{''.join(self.stderr)}")
            time.sleep(0.01)
        return list(self.stdout)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)
        for pump in self._pumps:
            pump.join(timeout=10)

    def interrupt(self, timeout: float = 120.0) -> int:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=timeout)
        for pump in self._pumps:
            pump.join(timeout=10)
        return self.proc.returncode

    def last_json(self) -> dict[str, object]:
        return json.loads(self.stdout[-1])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=60)


@contextlib.contextmanager
def tiny_disk(path: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` at ``path`` (root only: else the test is skipped)."""
    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command: the disk-full drill needs a small tmpfs")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def fill(folder: Path, name: str = "filler.bin") -> Path:
    """Fill the file system of ``folder`` to the last byte; returns the filler file."""
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 65536)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 512)
    finally:
        os.close(fd)
    return path


def report(name: str, **figures: object) -> None:
    """Print a drill's figures (shown with ``-s``, kept in the log otherwise)."""
    print(f"\n[drill {name}{' long' if LONG else ''}] "
          + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
