"""Byte streams like a real sensor sends: 8 columns, a counter, ~1 % garbage of every kind."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

GARBAGE_KINDS = ("non_utf8", "columns", "non_numeric", "non_finite")


@dataclass
class SensorStream:
    """Lines ``count,v1..v7`` with garbage sprinkled in; remembers what it wrote."""

    seed: int = 7
    garbage_rate: float = 0.01
    next_count: int = 0
    garbage: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def header(self) -> bytes:
        return b"count,ax,ay,az,gx,gy,gz,temp\n"

    def _garbage_line(self) -> bytes:
        kind = self.rng.choice(GARBAGE_KINDS)
        self.garbage[kind] += 1
        if kind == "non_utf8":
            return b"12,\xff\xfe,3,4,5,6,7,8\n"
        if kind == "columns":
            return b"1,2,3\n"
        if kind == "non_numeric":
            return b"5,abc,1,2,3,4,5,6\n"
        return b"5,nan,1,2,3,inf,5,6\n"

    def lines(self, n_valid: int) -> bytes:
        """``n_valid`` valid lines (counter continues across calls) plus garbage."""
        out = []
        for _ in range(n_valid):
            if self.rng.random() < self.garbage_rate:
                out.append(self._garbage_line())
            c = self.next_count
            self.next_count += 1
            out.append(f"{c},{c * 0.5:.3f},{-c * 0.25:.4f},1.5,{c % 97},-2.25,{c % 13}e-3,"
                       f"{20 + (c % 50) / 10:.1f}\n".encode())
        return b"".join(out)
