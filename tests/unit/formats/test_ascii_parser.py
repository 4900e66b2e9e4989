from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.formats.ascii import AsciiLineParser
from desktop.formats.base import make_parser
from tests.support.streams import SensorStream


def feed_all(parser: AsciiLineParser, data: bytes, cuts: list[int] | None = None):
    """Feed ``data`` split at ``cuts`` (sorted positions); return values, times."""
    cuts = sorted(set(c for c in (cuts or []) if 0 < c < len(data)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    blocks = [parser.feed(p) for p in pieces] + [parser.finish()]
    width = len(parser.channel_names)
    values = [np.hstack([b.values, np.full((b.values.shape[0], width - b.values.shape[1]),
                                           np.nan)]) for b in blocks]
    times = [b.timestamps for b in blocks if b.timestamps is not None]
    return (np.concatenate(values) if values else np.empty((0, width)),
            np.concatenate(times) if times else None)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=8))
def test_any_byte_stream_never_raises(data: bytes, cuts: list[int]) -> None:
    parser = AsciiLineParser()
    values, _ = feed_all(parser, data, cuts)
    assert values.ndim == 2
    assert all(isinstance(v, int) and v >= 0 for v in parser.malformed.values())
    assert np.isfinite(values[~np.isnan(values)]).all()


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.integers(1, 40).flatmap(
        lambda w: st.lists(st.lists(finite, min_size=w, max_size=w), min_size=1, max_size=60)),
    delimiter=st.sampled_from([",", ";", "\t", " "]),
    header=st.booleans(),
    cuts=st.lists(st.integers(0, 20000), max_size=10),
)
def test_valid_lines_round_trip_exactly_for_any_chunking(rows, delimiter, header, cuts) -> None:
    width = len(rows[0])
    names = [f"sig{i}" for i in range(width)]
    text = (delimiter.join(names) + "\n") if header else ""
    text += "".join(delimiter.join(repr(v) for v in row) + "\n" for row in rows)
    parser = AsciiLineParser()
    values, times = feed_all(parser, text.encode(), cuts)
    assert times is None
    np.testing.assert_array_equal(values, np.asarray(rows, dtype=np.float64))
    if header:
        assert parser.channel_names == names
    assert parser.malformed.total == 0


def test_garbage_is_counted_per_kind_and_valid_lines_kept_in_order() -> None:
    stream = SensorStream(garbage_rate=0.05)
    data = stream.header() + stream.lines(20_000)
    rng = random.Random(3)
    values, _ = feed_all(AsciiLineParser(), data, [rng.randrange(len(data)) for _ in range(300)])
    np.testing.assert_array_equal(values[:, 0], np.arange(20_000))
    parser = AsciiLineParser()
    feed_all(parser, data, list(range(0, len(data), 4096)))
    assert dict(parser.malformed) == dict(stream.garbage)


def test_headerless_counter_is_a_channel_not_time() -> None:
    parser = AsciiLineParser()
    values, times = feed_all(parser, b"".join(b"%d,%d\n" % (i, i * 2) for i in range(10)))
    assert times is None and parser.channel_names == ["ch1", "ch2"]
    np.testing.assert_array_equal(values[:, 0], np.arange(10))


def test_millisecond_and_second_timestamp_headers() -> None:
    parser = AsciiLineParser()
    _values, times = feed_all(parser, b"time_ms;a\n" + b"".join(
        b"%d;%d\n" % (i * 10, i) for i in range(8)))
    assert parser.channel_names == ["a"] and parser.timestamped
    np.testing.assert_allclose(times, np.arange(8) * 0.01)
    parser = AsciiLineParser()
    _, times = feed_all(parser, b"t\tx\ty\n" + b"".join(b"%d\t1\t2\n" % i for i in range(8)))
    np.testing.assert_allclose(times, np.arange(8.0))


def test_iso_timestamps_become_the_time_axis() -> None:
    lines = b"".join(b"2024-05-01T12:00:%02d.500Z,%d,%d\n" % (i, i, -i) for i in range(10))
    parser = AsciiLineParser()
    values, times = feed_all(parser, lines + b"not-a-time,1,2\n")
    assert parser.timestamp == "iso" and parser.channel_names == ["ch1", "ch2"]
    assert times[0] == pytest.approx(1714564800.5)
    np.testing.assert_allclose(np.diff(times), 1.0)
    assert values.shape == (10, 2) and parser.malformed["timestamp"] == 1


def test_key_value_channels_appear_as_names_appear() -> None:
    parser = AsciiLineParser()
    data = b"temp:21.5,pressure:1.01\n" * 5 + b"temp=22 pressure=1.02 flow=3\n" + b"temp:23\n"
    values, _ = feed_all(parser, data)
    assert parser.layout == "keyvalue"
    assert parser.channel_names == ["temp", "pressure", "flow"]
    assert np.isnan(values[:5, 2]).all() and values[5, 2] == 3.0
    assert values[6, 0] == 23.0 and np.isnan(values[6, 1])


def test_resync_drops_the_next_line_as_torn_but_keeps_a_header() -> None:
    parser = AsciiLineParser()
    parser.resync()
    values, _ = feed_all(parser, b"45,1.0,2.0\n" + b"".join(b"%d,1,2\n" % i for i in range(6)))
    assert parser.malformed["torn"] == 1 and values.shape == (6, 3)
    parser = AsciiLineParser()
    parser.resync()
    feed_all(parser, b"count,a,b\n" + b"".join(b"%d,1,2\n" % i for i in range(6)))
    assert parser.channel_names == ["count", "a", "b"] and parser.malformed.total == 0


def test_overlong_lines_crlf_and_repeated_header() -> None:
    parser = AsciiLineParser(max_line_bytes=1000)
    data = b"a,b\r\n" + b"1,2\r\n" * 5 + b"9" * 5000 + b",1\n" + b"a,b\r\n" + b"3,4\n"
    values, _ = feed_all(parser, data, list(range(0, len(data), 700)))
    assert parser.malformed["overlong"] == 1
    np.testing.assert_array_equal(values, [[1, 2]] * 5 + [[3, 4]])


def test_detection_survives_garbage_among_first_lines_and_options_override() -> None:
    parser = AsciiLineParser()
    values, _ = feed_all(parser, b"1;2;3\nxx\n4;5;6\n7;8;9\n1;1;1\n2;2;2\n")
    assert parser.delimiter == ";" and values.shape == (5, 3)
    parser = AsciiLineParser(delimiter=",", header=False, timestamp="none")
    values, _ = feed_all(parser, b"t,a\n1,2\n")
    assert parser.malformed["non_numeric"] == 1 and values.tolist() == [[1.0, 2.0]]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown line format"):
        make_parser("binary")
