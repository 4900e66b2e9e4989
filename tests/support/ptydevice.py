"""A serial device on a real pseudo-terminal, reachable at a stable path.

It behaves like a USB adapter behind ``/dev/serial/by-id/…``: :meth:`unplug` closes the
master side (the reader's next read fails with EIO) and removes the link; :meth:`plug`
makes a fresh pty and puts the link back at the same path. pyserial on the other end
opens the link exactly as it would a real port.
"""

from __future__ import annotations

import os
import random
import time
import tty
from pathlib import Path


class PtyDevice:
    def __init__(self, link: Path) -> None:
        self.link = Path(link)
        self.master: int | None = None
        self._slave: int | None = None

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        self.master, self._slave = master, slave
        if self.link.is_symlink() or self.link.exists():
            self.link.unlink()
        self.link.symlink_to(os.ttyname(slave))

    def unplug(self) -> None:
        if self.link.is_symlink():
            self.link.unlink()
        for fd in (self.master, self._slave):
            if fd is not None:
                os.close(fd)
        self.master = self._slave = None

    def write(self, data: bytes) -> None:
        """Write everything (a pty applies back-pressure instead of dropping)."""
        assert self.master is not None, "device is unplugged"
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]

    def write_torn(self, data: bytes, rng: random.Random, max_piece: int = 700,
                   pause_every: int = 0) -> None:
        """Write in random-sized pieces, so lines are torn across reads."""
        pos = 0
        pieces = 0
        while pos < len(data):
            step = rng.randint(1, max_piece)
            self.write(data[pos:pos + step])
            pos += step
            pieces += 1
            if pause_every and pieces % pause_every == 0:
                time.sleep(0.001)

    def __enter__(self) -> PtyDevice:
        self.plug()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.master is not None:
            self.unplug()
