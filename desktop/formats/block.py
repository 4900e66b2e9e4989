"""The vectorised path for delimited numeric lines: a block of bytes in, rows out, no line loop.

Why it exists: at 921,600 baud a device sends ~15 k lines/s and a replayed log far more,
and a Python ``split``/``float`` loop per line (~2 M values/s at best, on one core) would
take the core the UI needs. A block is therefore classified with numpy (line ends, bad
bytes, delimiter and token counts, characters and shapes that cannot be a number) and every
clean field of it converted with one pyarrow string→float64 cast (C++, correctly rounded,
~100 M values/s).

Lines the block pass cannot vouch for (text, ``nan``, a repeated header, oddities like
``1.2.3``) go to the per-line reference (:mod:`desktop.formats.lines`), so every line gets
the reference's verdict whichever path runs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from desktop.core.types import MalformedCounter
from desktop.formats.columns import to_seconds
from desktop.formats.detect import Dialect
from desktop.formats.lines import Rows, Verdict
from desktop.formats.tokens import TERMINATOR

# Large chunks (a file read in one go) are parsed in slices of about this many bytes so the
# per-byte work arrays stay in cache.
SLICE_BYTES = 1 << 18


def _shift(a: np.ndarray, fill: int, forward: bool) -> np.ndarray:
    """``a`` moved one place (previous element when ``forward``), ``fill`` at the edge."""
    out = np.empty_like(a)
    if forward:
        out[0] = fill
        out[1:] = a[:-1]
    else:
        out[-1] = fill
        out[:-1] = a[1:]
    return out


def slices(complete: bytes, size: int = SLICE_BYTES) -> list[tuple[int, int]]:
    """``(start, stop)`` spans of about ``size`` bytes that end at a line end."""
    spans = []
    start = 0
    total = len(complete)
    while start < total:
        stop = total
        if total - start > size:
            cut = max(
                complete.rfind(b"\n", start, start + size),
                complete.rfind(b"\r", start, start + size),
            )
            if cut < 0:  # one huge line: to its end
                end = TERMINATOR.search(complete, start + size)
                cut = end.start() if end is not None else total - 1
            stop = cut + 1
        spans.append((start, stop))
        start = stop
    return spans


class BlockParser:
    """Parses blocks of complete lines in one delimited, non-ISO :class:`Dialect`.

    ``judge`` is the per-line reference verdict for a line; rejected lines are counted in
    ``malformed`` (the stream's own counter).
    """

    def __init__(
        self,
        dialect: Dialect,
        max_line_bytes: int,
        judge: Callable[[bytes], Verdict],
        malformed: MalformedCounter,
    ) -> None:
        if dialect.layout != "delimited" or dialect.timestamp == "iso":
            raise ValueError("the block path reads delimited lines with numeric time only")
        self._delim = dialect.delimiter
        self._trailing = dialect.trailing
        self._ncols = dialect.ncols
        self._ts = dialect.timestamp
        self._time_index = dialect.time_index
        self._max = max_line_bytes
        self._delete = dialect.separators
        self._judge = judge
        self._malformed = malformed

    def parse_all(self, complete: bytes, out: Rows, sparse_blanks: int = 64) -> None:
        """Parse complete lines of any size, slice by slice (see :data:`SLICE_BYTES`)."""
        for start, stop in slices(complete):
            self.parse(complete[start:stop], out, sparse_blanks)

    def parse(self, chunk: bytes, out: Rows, sparse_blanks: int = 64) -> None:
        """Classify and convert a block of complete delimited lines without a line loop.

        Every non-blank line that is not provably clean (wrong delimiter count, a byte or
        shape that cannot be part of a number, an empty field) is handed to the per-line
        reference, so the verdict on each line is the reference's whichever path runs.
        A block whose blanks exceed ``1/sparse_blanks`` of its bytes is normalised as a
        whole; below that, its blank-holding lines go to the reference.
        """
        a = np.frombuffer(chunk, dtype=np.uint8)
        blank = a == 32
        if self._delim != "\t":
            blank |= a == 9
        glue_lines = None
        raw = chunk
        c = a
        t_full = None
        n_blank = int(np.count_nonzero(blank))
        blank_pos = None
        if self._delim is None or n_blank * sparse_blanks > a.size:
            raw, t_full, glue_lines = self._normalise_blanks(chunk, a, blank)
            c = np.frombuffer(raw, dtype=np.uint8)
        elif n_blank:
            # A few blanks (a status message among the numbers): cheaper to hand those
            # lines to the reference than to normalise the whole block.
            blank_pos = np.flatnonzero(blank)
        sep_byte = 32 if self._delim is None else ord(self._delim)

        is_t = (c == 10) | (c == 13)
        sep = is_t | (c == sep_byte)
        is_dot = c == 46
        is_e = (c | 32) == 101
        # Separators, '.' and 'e' in stream order: enough to find the lines and fields and
        # to spot "1.2.3" or "1e5.0" (two marks in one field) without per-field loops.
        events = np.flatnonzero(sep | is_dot | is_e)
        ev_bytes = c[events]
        ev_t = (ev_bytes == 10) | (ev_bytes == 13)
        ev_sep = ev_t | (ev_bytes == sep_byte)
        seps = events[ev_sep]
        sep_is_t = ev_t[ev_sep]
        ev_dot = ev_bytes == 46
        ev_mark = ~ev_sep
        twice = ev_mark[1:] & ev_mark[:-1] & ~(ev_dot[:-1] & ~ev_dot[1:])
        ti = np.flatnonzero(sep_is_t)  # index in seps of each line's terminator
        n_lines = ti.size
        if n_lines == 0:
            return
        t_c = seps[ti]
        if t_full is None:
            t_full = t_c
        prev_ti = np.empty_like(ti)
        prev_ti[0] = -1
        prev_ti[1:] = ti[:-1]
        d_count = ti - prev_ti - 1
        len_c = np.diff(t_c, prepend=-1) - 1
        length = np.diff(t_full, prepend=-1) - 1

        # Empty fields: two separators side by side (except an empty line), or a line that
        # starts with a delimiter; "1,2,3," is fine when the stream always ends that way.
        adj = np.flatnonzero(np.diff(seps) == 1)
        first_t = sep_is_t[adj]
        second_t = sep_is_t[adj + 1]
        empty_pair = ~(first_t & second_t)
        if self._trailing:
            empty_pair &= first_t | ~second_t
        suspect_pos = [seps[adj[empty_pair] + 1], events[1:][twice]]
        if blank_pos is not None:
            suspect_pos.append(blank_pos)
        if seps[0] == 0 and not sep_is_t[0]:
            suspect_pos.append(seps[:1])

        # Bytes that cannot be (part of) a number where they stand. Valid numbers never
        # trip these; what they miss (".e5") the cast refuses below.
        digit = (c - 48) < 10  # uint8 wraps, so this is '0' <= c <= '9'
        is_sign = (c == 43) | (c == 45)
        other = ~(digit | is_dot | is_e | is_sign | sep)
        prev_sep = _shift(sep, True, forward=True)
        prev_digit = _shift(digit, False, forward=True)
        next_digit = _shift(digit, False, forward=False)
        prev_dot = _shift(is_dot, False, forward=True)
        next_dot = _shift(is_dot, False, forward=False)
        prev_e = _shift(is_e, False, forward=True)
        next_sign = _shift(is_sign, False, forward=False)
        sign_bad = is_sign & (
            (prev_sep & ~(next_digit | next_dot)) | (~prev_sep & ~(prev_e & next_digit))
        )
        e_bad = is_e & ~((prev_digit | prev_dot) & (next_digit | next_sign))
        dot_bad = is_dot & ~(prev_digit | next_digit)
        suspect_pos.append(np.flatnonzero(other | sign_bad | e_bad | dot_bad))

        odd = length > self._max
        positions = np.concatenate(suspect_pos)
        if positions.size:
            odd[np.searchsorted(t_c, positions)] = True
        if glue_lines is not None and glue_lines.size:
            odd[glue_lines] = True
        content = len_c > 0
        cand = content & ~odd & (d_count == self._ncols - 1 + self._trailing)
        if self._trailing:
            # The extra field must be the empty one after the last delimiter, not "1,2,3".
            before_t = np.maximum(ti - 1, 0)
            cand &= (seps[before_t] == t_c - 1) & ~sep_is_t[before_t] & (ti > 0)
        judge = (content | (length > self._max)) & ~cand

        values = np.empty((0, self._ncols))
        cand_idx = np.flatnonzero(cand)
        if cand_idx.size:
            values, rejected = self._convert_lines(raw, seps, t_c, prev_ti, d_count, cand)
            if rejected.size:
                # Lines the cast refused go to the reference, like the suspect ones.
                judge[cand_idx[rejected]] = True
                keep_rows = np.ones(cand_idx.size, dtype=bool)
                keep_rows[rejected] = False
                cand_idx = cand_idx[keep_rows]
                values = values[keep_rows]

        # The reference judges the rest one by one; the rare valid line among them is
        # merged back in stream order.
        m = self._malformed
        extra_idx: list[int] = []
        extra_rows: list[list[float]] = []
        extra_times: list[float] = []
        line_start = t_full - length
        for i in np.flatnonzero(judge).tolist():
            verdict = self._judge(chunk[line_start[i] : t_full[i]])
            if verdict is None:
                continue
            if isinstance(verdict, str):
                m[verdict] += 1
                continue
            extra_idx.append(i)
            extra_rows.append(verdict[0])
            if verdict[1] is not None:
                extra_times.append(verdict[1])

        timed = self._ts != "none"
        stamps = np.empty(0)
        if timed:
            time_col = self._time_index
            stamps = np.array(to_seconds(values[:, time_col], self._ts), dtype=np.float64)
            values = np.delete(values, time_col, axis=1) if time_col else values[:, 1:]
        finite = np.isfinite(values).all(axis=1)
        good = finite & np.isfinite(stamps) if timed else finite
        n_good = int(np.count_nonzero(good))
        if n_good != values.shape[0]:
            n_nonfinite = int(values.shape[0] - np.count_nonzero(finite))
            if n_nonfinite:
                m["non_finite"] += n_nonfinite
            if values.shape[0] - n_good - n_nonfinite:
                m["timestamp"] += values.shape[0] - n_good - n_nonfinite
            values = values[good]
            cand_idx = cand_idx[good]
            if timed:
                stamps = stamps[good]
        if extra_idx:
            order = np.argsort(np.concatenate([cand_idx, extra_idx]), kind="stable")
            width = self._ncols - timed
            extra = np.array(extra_rows, dtype=np.float64).reshape(len(extra_rows), width)
            values = np.concatenate([values, extra])[order]
            if timed:
                stamps = np.concatenate([stamps, extra_times])[order]
        out.add(values, stamps if timed else None)

    def _normalise_blanks(
        self, chunk: bytes, a: np.ndarray, blank: np.ndarray
    ) -> tuple[bytes, np.ndarray, np.ndarray]:
        """Remove blanks so the block reads like plain ``1,2,3`` lines.

        Returns the blank-free bytes, the terminator positions in the original bytes (the
        reference needs the original lines) and the lines whose blanks glued two tokens
        into one field ("1 2,3"): those go to the reference. For whitespace-separated
        streams a blank run between two tokens becomes a single space separator instead.
        """
        is_t = (a == 10) | (a == 13)
        t_full = np.flatnonzero(is_t)
        token = ~(blank | is_t)
        if self._delim is not None:
            token &= a != ord(self._delim)
        run_start = np.flatnonzero(blank & ~_shift(blank, False, forward=True))
        run_end = np.flatnonzero(blank & ~_shift(blank, False, forward=False))
        left = np.zeros(run_start.size, dtype=bool)
        inner = run_start > 0
        left[inner] = token[run_start[inner] - 1]
        right = np.zeros(run_end.size, dtype=bool)
        inner = run_end < a.size - 1
        right[inner] = token[run_end[inner] + 1]
        glue = run_end[left & right]
        if self._delim is None:
            keep = ~blank
            keep[glue] = True
            c = a[keep]
            c[c == 9] = 32
            return c.tobytes(), t_full, np.empty(0, dtype=np.int64)
        blanks = b" \t" if self._delim != "\t" else b" "
        return chunk.translate(None, blanks), t_full, np.searchsorted(t_full, glue)

    def _convert_lines(
        self,
        raw: bytes,
        seps: np.ndarray,
        t_c: np.ndarray,
        prev_ti: np.ndarray,
        d_count: np.ndarray,
        cand: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fields of the candidate lines → ``(n, ncols)`` float64 with one cast.

        The token bytes are gathered with ``bytes.translate`` (separators deleted, in C)
        after cutting out the few non-candidate lines; each field's offset follows from the
        separator positions, so no per-byte cumulative sums are needed.
        """
        ncols = self._ncols
        len_c = np.diff(t_c, prepend=-1) - 1
        include = cand | (len_c == 0)  # blank lines hold only separators: harmless
        if include.all():
            kept = raw
            excluded_before = None
        else:
            line_start = t_c - len_c
            edges = np.flatnonzero(np.diff(include.view(np.int8), prepend=0, append=0))
            runs = edges.reshape(-1, 2).tolist()
            kept = b"".join([raw[line_start[s] : t_c[e - 1] + 1] for s, e in runs])
            dropped = np.where(include, 0, len_c - d_count)
            excluded_before = np.cumsum(dropped) - dropped
        data = kept.translate(None, self._delete)
        # Non-separator bytes before each separator: a field after separator j starts at
        # that many token bytes into ``data`` (less the bytes of cut-out lines).
        before = np.empty(seps.size + 1, dtype=np.int64)
        before[0] = 0
        before[1:] = seps - np.arange(seps.size)
        rows = np.flatnonzero(cand)
        first = prev_ti[rows] + 1
        offsets_2d = before[first[:, None] + np.arange(ncols)]
        if excluded_before is not None:
            offsets_2d -= excluded_before[rows][:, None]
        offsets = np.empty(rows.size * ncols + 1, dtype=np.int32)
        offsets[:-1] = offsets_2d.ravel()
        offsets[-1] = len(data)
        strings = pa.StringArray.from_buffers(
            rows.size * ncols, pa.py_buffer(offsets), pa.py_buffer(data)
        )
        return self._convert(strings, rows.size)

    def _convert(self, strings: pa.StringArray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """Cast ``n_rows × ncols`` strings to float64; rows the cast refuses are listed.

        One cast does the whole block; only when it fails is the block halved until the
        refusing rows are found, so one odd line costs a few extra casts, not a slow path.
        """
        ncols = self._ncols
        try:
            flat = _floats(pc.cast(strings, pa.float64()))
            return flat.reshape(n_rows, ncols), np.empty(0, dtype=np.int64)
        except pa.ArrowInvalid:
            pass
        values = np.full((n_rows, ncols), np.nan)
        rejected: list[int] = []
        stack = [(0, n_rows)]
        while stack:
            lo, hi = stack.pop()
            part = strings.slice(lo * ncols, (hi - lo) * ncols)
            try:
                values[lo:hi] = _floats(pc.cast(part, pa.float64())).reshape(hi - lo, ncols)
            except pa.ArrowInvalid:
                if hi - lo == 1:
                    rejected.append(lo)
                else:
                    mid = (lo + hi) // 2
                    stack += [(mid, hi), (lo, mid)]
        return values, np.array(sorted(rejected), dtype=np.int64)


def _floats(array: pa.Array) -> np.ndarray:
    """A float64 Arrow array as a writable numpy copy, nulls as NaN.

    Read from the array's buffers: ``Array.to_numpy(zero_copy_only=False)`` imports pandas
    on its first call (about a second), which once held a slow sensor's first lines back
    until they reached the host as one burst and were stamped milliseconds apart.
    """
    values = np.frombuffer(array.buffers()[1], dtype=np.float64, count=len(array),
                           offset=array.offset * 8).copy()
    if array.null_count:
        valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        values[~valid] = np.nan
    return values
