"""Hostile files, fuzzed: model folders, recordings and label files that lie about
themselves. Each is refused in one line (a LinewatchError, never another exception), never
executes code (a marker file a pickle would write proves it), in bounded memory and time."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.core import paths
from desktop.core.errors import LinewatchError
from desktop.labels.io import import_file
from desktop.ml.model_files.card import CARD_FILE, WEIGHTS_FILE
from desktop.recording.readers import read_recording, summarize_recording
from tests.support.drill import LONG, linewatch, one_line, pick, report, rss_mb

EXAMPLES = pick(40, 400)
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW_S = 30.0  # no single hostile file may take longer than this to refuse
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids,
                                                              max_size=4),
    max_leaves=12)


class Marker:
    """Unpickling this writes the marker file: proof that code ran."""

    path = ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def pickle_payload(marker: Path) -> bytes:
    Marker.path = str(marker)
    return pickle.dumps(Marker())


def torch_style_zip(marker: Path) -> bytes:
    """What ``torch.save`` writes: a zip whose data.pkl runs code when unpickled."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("archive/data.pkl", pickle_payload(marker))
        z.writestr("archive/version", "3\n")
    return buffer.getvalue()


def refused_in_one_line(call: Any, *args: Any) -> str | None:
    """Run ``call``; a LinewatchError is fine (its message must be one line), success is
    fine, anything else fails the drill. Returns the message, if any."""
    started = time.monotonic()
    try:
        call(*args)
        message = None
    except LinewatchError as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
    elapsed = time.monotonic() - started
    assert elapsed < SLOW_S, f"{elapsed:.1f} s"
    return message


# ---------------------------------------------------------------------------- model folders
def model_folder(root: Path, base: str = "anomaly-cwru") -> Path:
    folder = root / f"m{time.monotonic_ns()}"
    shutil.copytree(paths.shipped_models_dir() / base, folder)
    return folder


def load(folder: Path) -> None:
    from desktop.ml.inference.predictors import load_predictor

    load_predictor(str(folder))


@FUZZ
@given(field=st.sampled_from(["name", "kind", "architecture", "hyper_parameters", "classes",
                              "sample_rate", "window", "hop", "input_channels",
                              "normalisation", "locations", "metrics", "parent", "format",
                              "version", "surprise"]),
       value=json_values | st.sampled_from([float("nan"), float("inf"), -1, 0, 10**400,
                                            "../../../etc/passwd", "..", "/", "a/../../b"]),
       delete=st.booleans())
def test_fuzzed_cards_are_refused_in_one_line(tmp_path: Path, field: str, value: object,
                                              delete: bool) -> None:
    folder = model_folder(tmp_path)
    card = json.loads((folder / CARD_FILE).read_text())
    if delete:
        card.pop(field, None)
    else:
        card[field] = value
    (folder / CARD_FILE).write_text(json.dumps(card))
    refused_in_one_line(load, folder)


@FUZZ
@given(kind=st.sampled_from(["pickle", "torch-zip", "huge-header", "random-header",
                             "truncated", "shape", "dtype", "offsets", "json-bomb"]),
       number=st.integers(0, 2**64 - 1), cut=st.floats(0, 1))
def test_fuzzed_weights_never_run_code_and_are_refused(tmp_path: Path, kind: str,
                                                       number: int, cut: float) -> None:
    base = "fault-cwru" if kind == "shape" and number % 4 == 0 else "anomaly-cwru"
    folder = model_folder(tmp_path, base)
    weights = folder / WEIGHTS_FILE
    marker = tmp_path / "EXECUTED"
    good = weights.read_bytes()
    (header_len,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8:8 + header_len])
    data = good[8 + header_len:]

    def with_header(h: dict[str, Any]) -> bytes:
        raw = json.dumps(h).encode()
        return struct.pack("<Q", len(raw)) + raw + data

    name = next(k for k in header if k != "__metadata__")
    if kind == "pickle":
        blob = pickle_payload(marker)
    elif kind == "torch-zip":
        blob = torch_style_zip(marker)
    elif kind == "huge-header":
        blob = struct.pack("<Q", number | (1 << 63)) + good[8:]
    elif kind == "random-header":
        blob = struct.pack("<Q", number % (len(good) + 10)) + good[8:]
    elif kind == "truncated":
        blob = good[: int(len(good) * cut)]
    elif kind == "shape":
        header[name]["shape"] = [number % 7 + 1, *header[name]["shape"][1:]]
        blob = with_header(header)
    elif kind == "dtype":
        header[name]["dtype"] = ["F16", "I64", "U8", "BOOL", "F64", "X9"][number % 6]
        blob = with_header(header)
    elif kind == "offsets":
        header[name]["data_offsets"] = [number % 1000, number % 10**12]
        blob = with_header(header)
    else:
        raw = b"[" * 200_000
        blob = struct.pack("<Q", len(raw)) + raw + data
    weights.write_bytes(blob)
    refused_in_one_line(load, folder)
    assert not marker.exists(), "a weights file ran code"


def test_path_traversal_in_model_names_is_refused(tmp_path: Path) -> None:
    from desktop.ml.model_files import versions

    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("../../outside", "..", "a/b", "/etc", "rig/../../x", "C:\\x", ""):
        for call in (versions.promote, versions.remove_model, versions.staging_dir):
            message = refused_in_one_line(call, name)
            assert message, (call, name)
    done = linewatch("models", "promote", "../../outside")
    assert done.returncode in (1, 2) and "not allowed" in one_line(done.stderr)
    assert list(outside.iterdir()) == []


# ---------------------------------------------------------------------------- recordings
def sample_recordings(folder: Path) -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    t = np.arange(500) / 100.0
    v = rng.standard_normal((500, 3))
    csv = "time_s,a,b,c\n" + "".join(f"{t[i]!r},{v[i, 0]!r},{v[i, 1]!r},{v[i, 2]!r}\n"
                                     for i in range(500))
    table = pa.table({"time_s": t, "a": v[:, 0], "b": v[:, 1], "c": v[:, 2]})
    pq.write_table(table, folder / "s.parquet")
    import scipy.io as sio

    sio.savemat(folder / "s.mat", {"a": v[:, 0], "fs": 100.0}, do_compression=True)
    return {".csv": csv.encode(), ".parquet": (folder / "s.parquet").read_bytes(),
            ".mat": (folder / "s.mat").read_bytes()}


@FUZZ
@given(suffix=st.sampled_from([".csv", ".parquet", ".mat"]), cut=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8))
def test_fuzzed_recordings_are_read_or_refused_in_one_line(
        tmp_path: Path, suffix: str, cut: float, flips: list[tuple[float, int]]) -> None:
    blob = bytearray(sample_recordings(tmp_path)[suffix])
    for where, byte in flips:
        blob[int(where * (len(blob) - 1))] = byte
    blob = blob[: max(0, int(len(blob) * cut))] if cut < 0.98 else blob
    path = tmp_path / f"hostile{suffix}"
    path.write_bytes(bytes(blob))
    refused_in_one_line(read_recording, path)
    refused_in_one_line(summarize_recording, path)


WRONG_SCHEMAS: dict[str, pa.Table] = {
    "text-time": pa.table({"time_s": ["a", "b"], "x": [1.0, 2.0]}),
    "list-time": pa.table({"time_s": [[1.0], [2.0]], "x": [1.0, 2.0]}),
    "bool-time": pa.table({"time_s": [True, False], "x": [1.0, 2.0]}),
    "null-time": pa.table({"time_s": pa.array([None, None], pa.float64()), "x": [1.0, 2.0]}),
    "no-numbers": pa.table({"a": ["x", "y"], "b": [["l"], ["m"]]}),
    "struct": pa.table({"time_s": [1.0, 2.0], "s": [{"q": 1}, {"q": 2}]}),
    "empty": pa.table({"time_s": pa.array([], pa.float64()), "x": pa.array([], pa.float64())}),
    "wide": pa.table({f"c{i}": np.arange(10.0) for i in range(10_000)}),
}


@pytest.mark.parametrize("name", sorted(WRONG_SCHEMAS))
def test_wrong_schemas_are_read_or_refused_in_one_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.parquet"
    pq.write_table(WRONG_SCHEMAS[name], path)
    refused_in_one_line(read_recording, path)
    refused_in_one_line(summarize_recording, path)


def test_ten_thousand_csv_columns_read_in_bounded_time(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    row = ",".join("1.5" for _ in range(10_000)) + "\n"
    path.write_text(",".join(f"c{i}" for i in range(10_000)) + "\n" + row * 50)
    refused_in_one_line(read_recording, path)


def test_a_huge_single_line_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    megabytes = pick(20, 200)
    path = tmp_path / "one-line.csv"
    with open(path, "wb") as fh:
        for _ in range(megabytes):
            fh.write(b"1.25," * ((1 << 20) // 5 + 1))
    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,2\n3,4\n")
    peaks = {}
    for name, file in (("small", small), ("huge", path)):
        proc = __import__("subprocess").Popen(
            [__import__("sys").executable, "-m", "desktop", "info", str(file)],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
            stdout=-1, stderr=-1, text=True)
        peak = 0.0
        started = time.monotonic()
        while proc.poll() is None:
            peak = max(peak, rss_mb(proc.pid, "VmHWM") or 0.0)
            time.sleep(0.02)
        _out, err = proc.communicate()
        peaks[name] = (peak, time.monotonic() - started, proc.returncode, err)
    peak, seconds, code, err = peaks["huge"]
    assert code in (1, 2) and "no numeric samples" in one_line(err), err
    assert peak - peaks["small"][0] < 100, peaks  # a line is never held whole
    assert seconds < pick(120, 600), seconds
    report("hostile-long-line", megabytes=megabytes, seconds=round(seconds, 1),
           peak_mb=round(peak, 1), baseline_mb=round(peaks["small"][0], 1))


@pytest.mark.parametrize("name, content", [
    ("empty.mat", b""),
    ("page.mat", b"<!doctype html><html><body>404</body></html>"),
    ("text-time.parquet", None),
])
def test_predict_and_info_say_one_line(tmp_path: Path, name: str, content: bytes | None
                                       ) -> None:
    path = tmp_path / name
    if content is None:
        pq.write_table(pa.table({"time_s": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]}), path)
    else:
        path.write_bytes(content)
    # predict loads torch (~10 s here): run it where the drill found a traceback.
    for command in ("info", "predict") if name != "page.mat" else ("info",):
        done = linewatch(command, str(path))
        assert done.returncode in (1, 2), done
        assert name in one_line(done.stderr)


# ---------------------------------------------------------------------------- label files
def label_samples() -> dict[str, bytes]:
    rows = [("run.parquet", 1.0, 2.0, "unbalance", "", "=1+1"),
            ("run.parquet", 3.0, 4.5, "normal", "DE", 'said "hi", then\nleft')]
    csv = "recording,start_s,end_s,label,channel,note\n" + "".join(
        f'{r[0]},{r[1]},{r[2]},{r[3]},{r[4]},"{r[5].replace(chr(34), 2 * chr(34))}"\n'
        for r in rows)
    items = [dict(zip(("recording", "start_s", "end_s", "label", "channel", "note"), r,
                      strict=True)) for r in rows]
    return {".csv": csv.encode(), ".json": json.dumps(items, indent=2).encode()}


@FUZZ
@given(suffix=st.sampled_from([".csv", ".json"]), cut=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=6),
       prefix=st.sampled_from([b"", b"[" * 100_000, b"\xef\xbb\xbf", b"\xff\xfe", b"{" * 70]))
def test_fuzzed_label_files_import_or_are_refused_in_one_line(
        tmp_path: Path, suffix: str, cut: float, flips: list[tuple[float, int]],
        prefix: bytes) -> None:
    blob = bytearray(label_samples()[suffix])
    for where, byte in flips:
        blob[int(where * (len(blob) - 1))] = byte
    blob = prefix + bytes(blob[: int(len(blob) * cut)] if cut < 0.98 else blob)
    path = tmp_path / f"labels{suffix}"
    path.write_bytes(blob)
    refused_in_one_line(import_file, path)
