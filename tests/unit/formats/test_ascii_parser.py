"""AsciiLineParser: detection, malformed-line accounting, chunking invariance, round trips.

Everything runs on real bytes; the vectorised block path is also checked line for line
against the per-line reference path (``_vectorised = False``), because the guarantee that
chunking never changes a result rests on the two agreeing.
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.formats.ascii import AsciiLineParser
from desktop.formats.base import FrameParser, make_parser

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    edges = sorted({c for c in cuts if 0 < c < len(data)})
    return [data[a:b] for a, b in zip([0, *edges], [*edges, len(data)], strict=True)]


def run(
    parser: AsciiLineParser, data: bytes, cuts: list[int] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Feed ``data`` cut at ``cuts`` then finish; all rows, padded to the final width."""
    blocks = [parser.feed(p) for p in pieces(data, cuts or [])] + [parser.finish()]
    width = len(parser.channel_names)
    values = []
    for b in blocks:
        assert b.values.dtype == np.float64 and b.values.shape[1] == len(b.channel_names)
        assert list(b.channel_names) == parser.channel_names[: len(b.channel_names)]
        pad = np.full((len(b), width - b.values.shape[1]), np.nan)
        values.append(np.hstack([b.values, pad]))
    times = [b.timestamps for b in blocks if b.timestamps is not None]
    return np.concatenate(values), (np.concatenate(times) if times else None)


def random_cuts(rng: random.Random, data: bytes, n: int) -> list[int]:
    return [rng.randrange(len(data) + 1) for _ in range(n)]


# -- robustness and round trips -----------------------------------------------------------


@FAST
@given(st.binary(max_size=2000), st.lists(st.integers(0, 2000), max_size=8))
def test_any_byte_stream_never_raises(data: bytes, cuts: list[int]) -> None:
    parser = AsciiLineParser()
    values, times = run(parser, data, cuts)
    assert np.isfinite(values[~np.isnan(values)]).all()
    if times is not None:
        assert times.shape == (values.shape[0],)
    assert all(isinstance(n, int) and n >= 0 for n in parser.malformed.values())
    assert isinstance(parser.description, str)


finite = st.floats(allow_nan=False, allow_infinity=False)


@FAST
@given(
    rows=st.integers(1, 8).flatmap(
        lambda w: st.lists(st.lists(finite, min_size=w, max_size=w), min_size=1, max_size=40)
    ),
    delimiter=st.sampled_from([",", ";", "\t", " "]),
    header=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n"]),
    cuts=st.lists(st.integers(0, 30000), max_size=12),
)
def test_valid_lines_round_trip_exactly_for_any_chunking(
    rows: list[list[float]], delimiter: str, header: bool, newline: str, cuts: list[int]
) -> None:
    width = len(rows[0])
    names = [f"sig{i}" for i in range(width)]
    text = delimiter.join(names) + newline if header else ""
    text += "".join(delimiter.join(repr(v) for v in row) + newline for row in rows)
    parser = AsciiLineParser()
    values, times = run(parser, text.encode(), cuts)
    assert times is None
    expected = np.array(rows, dtype=np.float64)
    assert values.shape == expected.shape
    assert np.array_equal(values.view(np.int64), expected.view(np.int64))  # bit-exact, -0.0
    assert parser.channel_names == (names if header else [f"ch{i + 1}" for i in range(width)])
    assert parser.malformed.total == 0


ATOMS = [
    "1", "-2.5", "3e5", "1e-3", ".5", "5.", "+7", "nan", "inf", "1e999", "1.2.3", "1e", "e5",
    "-", ".", "abc", "1_0", " ", "\t", ",", ";", "\x00", "\xff", '"', "1 2", "1e5.5", ".e5",
    "--1", "1-2", "time",
]  # fmt: skip


@st.composite
def messy_streams(draw: st.DrawFn) -> tuple[bytes, dict[str, object], list[int]]:
    delim = draw(st.sampled_from([",", ";", "\t", " "]))
    ncols = draw(st.integers(1, 4))
    number = st.floats(-1e6, 1e6).map(repr)
    field = st.one_of(number, number, number, st.sampled_from(ATOMS))
    pad = st.sampled_from(["", "", " ", "\t"])
    good = st.tuples(st.lists(field, min_size=ncols, max_size=ncols), pad).map(
        lambda fp: (fp[1] + delim + fp[1]).join(fp[0])
    )
    junk = st.lists(st.sampled_from(ATOMS), max_size=6).map("".join)
    lines = draw(st.lists(st.one_of(good, good, junk), min_size=1, max_size=25))
    ends = st.sampled_from(["\n", "\r\n", "\r"])
    text = "".join(line + draw(ends) for line in lines)
    options: dict[str, object] = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "delimiter": st.just(delim),
                "timestamp": st.sampled_from(["none", "s", "ms"]),
                "header": st.booleans(),
                "max_line_bytes": st.integers(4, 40),
            },
        )
    )
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=6))
    return text.encode("latin-1"), options, cuts


@settings(max_examples=250, deadline=None)
@given(messy_streams())
def test_vectorised_path_agrees_with_reference_path(
    case: tuple[bytes, dict[str, object], list[int]],
) -> None:
    data, options, cuts = case
    slow = AsciiLineParser(**options)  # type: ignore[arg-type]
    slow._vectorised = False
    v2, t2 = run(slow, data)
    for sparse_blanks in (0, 64, 1 << 30):  # never / sometimes / always normalise blanks
        fast = AsciiLineParser(**options)  # type: ignore[arg-type]
        fast._sparse_blanks = sparse_blanks
        v1, t1 = run(fast, data, cuts)
        assert np.array_equal(v1, v2, equal_nan=True)
        assert (t1 is None and t2 is None) or np.array_equal(t1, t2)
        assert +fast.malformed == +slow.malformed
        assert fast.description == slow.description


# -- malformed accounting ---------------------------------------------------------------


def test_each_garbage_kind_is_counted_once_and_valid_rows_kept_in_order() -> None:
    rng = random.Random(5)
    garbage = {
        "non_utf8": [b"10,\xff\xfe,3", b"1,2\x00,3"],
        "columns": [b"1,2", b"1,2,3,4", b"time_ms,a,b"],
        "non_numeric": [b"10,abc,3", b"10,1.2.3,3", b"10,1 2,3", b"5,1e,2"],
        "non_finite": [b"10,nan,3", b"10,1e999,3", b"10,2,-inf"],
        "timestamp": [b"x,1,2", b"nan,1,2", b"1e999,1,2"],
        "overlong": [b"1" * 150],
    }
    lines = [b"time_ms,a,b"]
    expected_rows = []
    expected_counts: dict[str, int] = {}
    for i in range(3000):
        if rng.random() < 0.05:
            kind = rng.choice(sorted(garbage))
            lines.append(rng.choice(garbage[kind]))
            expected_counts[kind] = expected_counts.get(kind, 0) + 1
        elif rng.random() < 0.02:
            lines.append(b"   ")  # blank lines are ignored silently
        lines.append(b"%d,%d.25,-%d" % (i * 10, i, i))
        expected_rows.append((i * 10 / 1000, i + 0.25, -i))
    data = b"\n".join(lines) + b"\n"
    expected = np.array(expected_rows)
    for cuts in ([], random_cuts(rng, data, 400), list(range(0, len(data), 4096))):
        parser = AsciiLineParser(max_line_bytes=100)
        values, times = run(parser, data, cuts)
        assert times is not None
        assert np.array_equal(times, expected[:, 0])
        assert np.array_equal(values, expected[:, 1:])
        assert dict(+parser.malformed) == expected_counts
        assert parser.channel_names == ["a", "b"]


def test_resync_keeps_the_first_line_when_it_parses_and_counts_it_torn_when_not() -> None:
    parser = AsciiLineParser()
    run_rows = parser.feed(b"1,2,3\n4,5,6\n7,8,9\n1,1,1\n2,2,2\n").values
    assert len(run_rows) == 5
    parser.feed(b"3,3,")  # the port closes mid-line
    parser.resync()
    # The first bytes after reopening: a line that does not parse is torn ...
    block = parser.feed(b"1.0,2")
    assert len(block) == 0
    block = parser.feed(b".5\n10,11,12\n")
    assert block.values.tolist() == [[10, 11, 12]]
    assert parser.malformed == {"torn": 1}
    # ... one that parses is kept (a board that resets on open starts at a line start).
    parser.resync()
    assert parser.feed(b"45,1.0,2.5\n13,14,15\n").values.tolist() == [
        [45, 1, 2.5], [13, 14, 15]]
    # Reopened exactly at a line start: the empty fragment costs nothing.
    parser.resync()
    assert parser.feed(b"\n16,17,18\n").values.tolist() == [[16, 17, 18]]
    assert parser.malformed == {"torn": 1}


def test_overlong_partial_line_is_dropped_once_then_parsing_goes_on() -> None:
    for chunk in (7, 100, 10_000):
        parser = AsciiLineParser(max_line_bytes=64)
        data = b"1,2\n3,4\n5,6\n7,8\n9,10\n" + b"9" * 500 + b",1\n11,12\n"
        values, _ = run(parser, data, list(range(0, len(data), chunk)))
        assert values.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12]]
        assert parser.malformed == {"overlong": 1}


def test_line_endings_crlf_and_bare_cr_and_torn_crlf() -> None:
    data = b"a,b\r\n1,2\r\n3,4\r5,6\n7,8\r\n"
    for cut in range(len(data) + 1):
        parser = AsciiLineParser()
        values, _ = run(parser, data, [cut])
        assert values.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
        assert parser.channel_names == ["a", "b"]
        assert parser.malformed.total == 0


def test_finish_parses_a_whole_last_line_and_counts_a_cut_one_as_torn() -> None:
    parser = AsciiLineParser()
    values, _ = run(parser, b"1,2,3\n4,5,6")
    assert values.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert parser.malformed.total == 0
    parser = AsciiLineParser()
    values, _ = run(parser, b"1,2,3\n4,5,6\n7,8")
    assert values.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert parser.malformed == {"torn": 1}


# -- detection ----------------------------------------------------------------------------


def test_header_names_are_stripped_of_blanks_and_quotes() -> None:
    parser = AsciiLineParser()
    values, times = run(parser, b"\"flow\" , 'level' ,temp \n1,2,3\n4,5,6\n")
    assert parser.channel_names == ["flow", "level", "temp"]
    assert values.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert times is None
    assert parser.description == "CSV ',' with header, 3 channels"


def test_description_names_delimiter_header_channels_and_time_unit() -> None:
    parser = AsciiLineParser()
    header = b"time," + b",".join(b"c%d" % i for i in range(8)) + b"\n"
    run(parser, header + b"".join(b"%d,1,2,3,4,5,6,7,8\n" % i for i in range(5)))
    assert parser.description == "CSV ',' with header, 8 channels, timestamp column 'time' in s"


def test_single_column_stream() -> None:
    parser = AsciiLineParser()
    values, _ = run(parser, b"1.5\n2.5\n-3\n4e2\n5\n6\n")
    assert values[:, 0].tolist() == [1.5, 2.5, -3, 400, 5, 6]
    assert parser.channel_names == ["ch1"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (b"1;2;3\n4;5;6\n", "CSV ';'"),
        (b"1\t2\t3\n4\t5\t6\n", "tab-separated"),
        (b"  1   2  3\n4 5\t 6 \n", "whitespace-separated"),
        (b"1, 2, 3\n4 , 5 , 6\n", "CSV ','"),
        (b"1,2,3,\n4,5,6,\n", "CSV ','"),  # Arduino loops often print a trailing ','
    ],
)
def test_delimiters_are_detected(text: bytes, kind: str) -> None:
    parser = AsciiLineParser()
    values, _ = run(parser, text)
    assert parser.channel_names == ["ch1", "ch2", "ch3"]
    assert values.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert parser.description.startswith(kind)
    assert parser.malformed.total == 0


def test_headerless_monotonic_counter_is_a_channel_not_time() -> None:
    parser = AsciiLineParser()
    values, times = run(parser, b"".join(b"%d,%d.5\n" % (i, i * 2) for i in range(20)))
    assert times is None and not parser.timestamped
    assert parser.channel_names == ["ch1", "ch2"]
    assert values[:, 0].tolist() == list(range(20))


def test_millisecond_and_second_headers_make_timestamps() -> None:
    parser = AsciiLineParser()
    data = b"millis;a\n" + b"".join(b"%d;%d\n" % (i * 10, i) for i in range(8))
    values, times = run(parser, data)
    assert parser.timestamped and parser.channel_names == ["a"]
    assert times is not None and np.array_equal(times, np.arange(8) * 10 / 1000)
    assert values[:, 0].tolist() == list(range(8))
    parser = AsciiLineParser()
    _, times = run(parser, b"Time\tx\n" + b"".join(b"%d.5\t1\n" % i for i in range(8)))
    assert parser.channel_names == ["x"]
    assert times is not None and times.tolist() == [i + 0.5 for i in range(8)]


def test_iso_timestamps_become_epoch_seconds() -> None:
    def epoch(text: str) -> float:
        return dt.datetime.fromisoformat(text).timestamp()

    data = (
        b"2024-05-01T12:00:00.123,1.5,2\n"
        b"2024-05-01 12:00:01Z,2.5,3\n"
        b"2024-05-01T14:00:02+02:00,3.5,4\n"
        b"2024-13-01T12:00:03,4.5,5\n"  # month 13: a bad timestamp
        b"2024-05-01T12:00:04,5.5,6\n"
    )
    for cut in range(0, len(data), 7):
        parser = AsciiLineParser()
        values, times = run(parser, data, [cut])
        assert parser.timestamped and parser.channel_names == ["ch1", "ch2"]
        assert values.tolist() == [[1.5, 2], [2.5, 3], [3.5, 4], [5.5, 6]]
        assert times is not None
        assert times.tolist() == [
            epoch("2024-05-01T12:00:00.123+00:00"),
            epoch("2024-05-01T12:00:01+00:00"),
            epoch("2024-05-01T12:00:02+00:00"),
            epoch("2024-05-01T12:00:04+00:00"),
        ]
        assert parser.malformed == {"timestamp": 1}


def test_iso_timestamp_with_a_blank_in_a_whitespace_separated_stream() -> None:
    parser = AsciiLineParser()
    values, times = run(parser, b"2024-05-01 00:00:00 1 2\n2024-05-01 00:00:01 3 4\n")
    assert values.tolist() == [[1, 2], [3, 4]]
    assert times is not None and times[1] - times[0] == 1.0
    assert "ISO 8601" in parser.description


def test_detection_survives_a_garbage_line_among_the_first_lines() -> None:
    data = b"t_ms,a,b,c\n0,1,2,3\n12,0.5\n20,4,5,6\nERR sensor\n40,7,8,9\n50,1,1,1\n"
    parser = AsciiLineParser()
    values, times = run(parser, data)
    assert parser.channel_names == ["a", "b", "c"]
    assert times is not None and times.tolist() == [0, 0.02, 0.04, 0.05]
    assert len(values) == 4
    assert parser.malformed == {"columns": 2}


def test_detection_waits_past_a_boot_banner_and_noise() -> None:
    data = b"\xff\xfe\x00\nBooting v1.2\nready\nok\nok\nok\n1,2\n3,4\n5,6\n7,8\n"
    parser = AsciiLineParser()
    values, _ = run(parser, data)
    assert values.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert parser.malformed["non_utf8"] == 1


def test_explicit_options_override_detection() -> None:
    # Would auto-detect a 'time' header; timestamp="none" keeps it as a channel.
    parser = AsciiLineParser(timestamp="none")
    _, times = run(parser, b"time,a\n1,2\n3,4\n")
    assert times is None and parser.channel_names == ["time", "a"]
    # header=False: a first line of words is just a malformed line.
    parser = AsciiLineParser(header=False)
    values, _ = run(parser, b"x,y\n1,2\n3,4\n")
    assert values.tolist() == [[1, 2], [3, 4]] and parser.malformed == {"columns": 1}
    # A numeric time column without a header, by request.
    parser = AsciiLineParser(timestamp="ms")
    values, times = run(parser, b"1000,2\n2000,3\n")
    assert times is not None and times.tolist() == [1.0, 2.0] and values.tolist() == [[2], [3]]
    # An explicit delimiter: ',' is then part of the fields.
    parser = AsciiLineParser(delimiter=";")
    values, _ = run(parser, b"1;2\n3;4,5\n6;7\n")
    assert values.tolist() == [[1, 2], [6, 7]] and parser.malformed == {"non_numeric": 1}
    with pytest.raises(ValueError):
        AsciiLineParser(delimiter="x")
    with pytest.raises(ValueError):
        AsciiLineParser(timestamp="fortnights")


# -- key-value layout ---------------------------------------------------------------------


def test_keyvalue_channels_appear_as_names_appear_and_gaps_are_nan() -> None:
    data = b"temp:21.5,pressure:1.01\ntemp:21.6,pressure:1.02\ntemp:21.7\n" + (
        b"temp:21.8,pressure:1.03,flow:7\npressure: 1.04 , flow: 8\n"
    )
    expected = np.array(
        [
            [21.5, 1.01, np.nan],
            [21.6, 1.02, np.nan],
            [21.7, np.nan, np.nan],
            [21.8, 1.03, 7],
            [np.nan, 1.04, 8],
        ]
    )
    for cut in range(len(data) + 1):
        parser = AsciiLineParser()
        values, times = run(parser, data, [cut])
        assert np.array_equal(values, expected, equal_nan=True) and times is None
        assert parser.channel_names == ["temp", "pressure", "flow"]
        assert parser.malformed.total == 0
    # Each block names the columns known when it was made.
    parser = AsciiLineParser(detect_lines=1)
    early = parser.feed(data[: data.index(b"temp:21.8")])
    assert early.channel_names == ("temp", "pressure") and early.values.shape == (3, 2)
    late = parser.feed(data[data.index(b"temp:21.8") :])
    assert late.channel_names == ("temp", "pressure", "flow") and late.values.shape == (2, 3)


def test_keyvalue_space_separated_with_time_key_and_garbage() -> None:
    data = b"t=1 a=1 b=2\nt=2 a=3\nt=3 a=x\nt=4 a=1 a=2\nhello\na=5 b=6\nt=5 a=nan\nt=6 b=9\n"
    parser = AsciiLineParser()
    values, times = run(parser, data)
    assert parser.timestamped and parser.channel_names == ["a", "b"]
    assert times is not None and times.tolist() == [1, 2, 6]
    assert np.array_equal(values, np.array([[1, 2], [3, np.nan], [np.nan, 9]]), equal_nan=True)
    assert parser.malformed == {"non_numeric": 1, "columns": 2, "timestamp": 1, "non_finite": 1}
    assert parser.description.startswith("key-value")


def test_explicit_keyvalue_layout() -> None:
    parser = AsciiLineParser(layout="keyvalue")
    values, _ = run(parser, b"x:1\n")
    assert parser.channel_names == ["x"] and values.tolist() == [[1]]


# -- factory ----------------------------------------------------------------------------


def test_make_parser_gives_the_ascii_parser_and_rejects_unknown_kinds() -> None:
    parser = make_parser("auto", delimiter=",")
    assert isinstance(parser, AsciiLineParser) and isinstance(parser, FrameParser)
    assert isinstance(make_parser("ascii"), AsciiLineParser)
    assert make_parser("ascii:decimal=,").dialect is None
    with pytest.raises(ValueError, match="unknown line format"):
        make_parser("morse")
    with pytest.raises(ValueError, match="no channels"):
        make_parser("binary:sync=AA55")


def test_parsed_block_converts_to_a_core_block() -> None:
    parser = AsciiLineParser()
    block = parser.feed(b"a,b\n1,2\n3,4\n5,6\n7,8\n9,10\n")
    core = block.to_block()
    assert [c.name for c in core.channels] == ["a", "b"] and len(core) == 5
