"""Issue 24 items 1-3, hostile files of round 3 through real parts: an ``.xlsx`` zip bomb,
model files that are symbolic links (to ``/dev/zero``, outside the folder) or pipes, and a
tree ``.npz`` member whose ``.npy`` header claims 10¹² elements. Each is refused in one
line (exit 1, no traceback), in bounded memory and time."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from desktop.core import paths
from desktop.core.errors import RecordingError
from desktop.ml.errors import ModelError
from tests.support.drill import ROOT, env, one_line, pick, report, rss_mb
from tests.support.real_data import FIXTURES
from tests.support.xlsx_bomb import write_xlsx

STEEL = FIXTURES / "steel_excerpt.csv"
CWRU_FILE = next(iter(sorted((FIXTURES / "cwru").glob("*.mat"))))


def peak_run(*args: str) -> tuple[int, str, float, float]:
    """``linewatch ARGS``: exit code, stderr, peak RSS (MB), seconds."""
    proc = subprocess.Popen([sys.executable, "-m", "desktop", *args], env=env(), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, started = 0.0, time.monotonic()
    while proc.poll() is None:
        peak = max(peak, rss_mb(proc.pid, "VmHWM") or 0.0)
        time.sleep(0.02)
        if time.monotonic() - started > 300:
            proc.kill()
    _out, err = proc.communicate()
    return proc.returncode, err, peak, time.monotonic() - started


# ---------------------------------------------------------------------------- 1. xlsx bombs
@pytest.mark.parametrize("case, rows, cols, words", [
    ("bomb", 1_000_000, 48, "MB of XML"),            # the drill's file: 1 M rows × 48 cells
    ("many-cells", 200_000, 45, "4,200,000 cells"),  # under the XML cap, over the cell cap
])
def test_xlsx_bombs_are_refused_in_one_line_bounded(tmp_path: Path, case: str, rows: int,
                                                    cols: int, words: str) -> None:
    path = write_xlsx(tmp_path / f"{case}.xlsx", rows, cols, dimension=False)
    packed = path.stat().st_size
    unpacked = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    code, err, peak, seconds = peak_run("info", str(path))
    line = one_line(err)
    assert code == 1 and words in line and path.name in line, err
    assert "export the sheet as CSV or Parquet" in line
    assert seconds < 60 and peak < 250, (seconds, peak)
    report(f"xlsx-{case}", packed_mb=round(packed / 2**20, 1),
           unpacked_mb=round(unpacked / 2**20), seconds=round(seconds, 1),
           peak_mb=round(peak))


def test_xlsx_limits_while_reading_declared_streamed_and_timed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    from desktop.recording import xlsx_limits
    from desktop.recording.readers import read_recording

    fine = write_xlsx(tmp_path / "fine.xlsx", 2000, 3)
    rec = read_recording(fine, 100.0)
    assert rec.values.shape == (2000, 3)
    monkeypatch.setattr(xlsx_limits, "MAX_CELLS", 3000)
    for dimension, words in ((True, "declares 2,001 rows × 3 columns"),
                             (False, "more than 3,000 cells (sheet 'data'")):
        path = write_xlsx(tmp_path / f"d{dimension}.xlsx", 2000, 3, dimension=dimension)
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            with pytest.raises(RecordingError, match=words.replace("(", r"\(")):
                list(xlsx_limits.WorkbookBudget(path).rows(book.worksheets[0]))
        finally:
            book.close()
        with pytest.raises(RecordingError) as info:  # the whole reader: the XML count first
            read_recording(path, 100.0)
        assert "\n" not in str(info.value) and "cells" in str(info.value)
    monkeypatch.setattr(xlsx_limits, "MAX_CELLS", 10**9)
    monkeypatch.setattr(xlsx_limits, "MAX_SECONDS", 0.0)
    with pytest.raises(RecordingError, match="still not read after 0 s"):
        read_recording(fine, 100.0)


# ---------------------------------------------------------------------------- 2. links
def model_copy(root: Path, base: str) -> Path:
    folder = root / f"{base}-{time.monotonic_ns()}"
    shutil.copytree(paths.shipped_models_dir() / base, folder)
    return folder


def load_any(folder: Path) -> None:
    from desktop.ml.model_files.card import load_any_card

    card = load_any_card(folder)
    if card.kind in ("quality", "process"):
        from desktop.ml.tabular import load_model

        load_model(folder)
    else:
        from desktop.ml.inference.predictors import load_predictor

        load_predictor(str(folder))


@pytest.mark.parametrize("base, member", [
    ("anomaly-cwru", "weights.safetensors"), ("anomaly-cwru", "card.json"),
    ("fault-cwru", "weights.safetensors"), ("quality-steel", "trees.npz"),
    ("quality-steel", "preprocess.npz"), ("quality-steel", "card.json"),
    ("process-tep", "detector.npz"),
])
@pytest.mark.parametrize("target", ["/dev/zero", "outside", "fifo"])
def test_model_files_must_be_regular_files_of_the_folder(tmp_path: Path, base: str,
                                                         member: str, target: str) -> None:
    folder = model_copy(tmp_path, base)
    file = folder / member
    if target == "fifo":
        file.unlink()
        os.mkfifo(file)
        words = "not a regular file"
    else:
        if target == "outside":  # the very same bytes, but outside the folder
            outside = tmp_path / f"outside-{member}"
            shutil.copy(file, outside)
            target = str(outside)
        file.unlink()
        file.symlink_to(target)
        words = f"is a symbolic link (to {target})"
    started = time.monotonic()
    with pytest.raises(ModelError) as info:
        load_any(folder)
    message = str(info.value)
    assert "\n" not in message and words in message and str(file) in message, message
    assert time.monotonic() - started < 10


def test_predict_with_a_linked_model_file_stays_small(tmp_path: Path) -> None:
    folder = model_copy(tmp_path, "quality-steel")
    (folder / "trees.npz").unlink()
    (folder / "trees.npz").symlink_to("/dev/zero")
    code, err, peak, seconds = peak_run("predict", str(STEEL), "--model", str(folder))
    line = one_line(err)
    assert code == 1 and "symbolic link" in line and "copy the file into the folder" in line
    assert peak < 400 and seconds < 60, (peak, seconds)  # 7.4 GB before the fix
    report("model-symlink", peak_mb=round(peak), seconds=round(seconds, 1))


def test_the_model_list_marks_a_linked_card_and_goes_on(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.ml.model_files.registry import list_models
    from desktop.ml.model_files.versions import user_models_dir

    monkeypatch.setenv("LINEWATCH_HOME", str(tmp_path / "home"))
    linked = user_models_dir() / "linked"
    shutil.copytree(paths.shipped_models_dir() / "anomaly-cwru", linked)
    (linked / "card.json").unlink()
    (linked / "card.json").symlink_to("/dev/zero")
    entries = {e.name: e for e in list_models()}
    assert "symbolic link" in (entries["linked"].problem or "")
    assert entries["fault-cwru"].ok


# ---------------------------------------------------------------------------- 3. npz headers
def forge_member(npz: Path, shape: tuple[int, ...], version: tuple[int, int] = (1, 0)
                 ) -> str:
    """Rewrite the first member's ``.npy`` header to claim ``shape`` (data unchanged)."""
    with zipfile.ZipFile(npz) as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    name = sorted(members)[0]
    arr = np.load(io.BytesIO(members[name]))
    head = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(arr.dtype), "fortran_order": False,
              "shape": shape}
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(head, header)
    else:
        np.lib.format.write_array_header_2_0(head, header)
    members[name] = head.getvalue() + arr.tobytes()
    with zipfile.ZipFile(npz, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return name[:-4]


@pytest.mark.parametrize("shape, version", [((10**6, 10**6), (1, 0)), ((10**12,), (2, 0)),
                                            ((1,), (1, 0)), ((2**62, 4), (1, 0))])
def test_an_npz_member_claiming_more_than_it_holds_is_refused(
        tmp_path: Path, shape: tuple[int, ...], version: tuple[int, int]) -> None:
    from desktop.ml.tabular.arrays import load_arrays

    folder = model_copy(tmp_path, "quality-steel")
    name = forge_member(folder / "trees.npz", shape, version)
    with pytest.raises(ModelError) as info:
        load_arrays(folder / "trees.npz")
    message = str(info.value)
    assert "\n" not in message and f"member {name!r} claims" in message, message


def test_predict_with_a_forged_tree_header_is_one_line(tmp_path: Path) -> None:
    folder = model_copy(tmp_path, "quality-steel")
    forge_member(folder / "trees.npz", (10**6, 10**6))
    code, err, peak, seconds = peak_run("predict", str(STEEL), "--model", str(folder))
    line = one_line(err)
    assert code == 1 and "claims 1,000,000,000,000 elements" in line, err
    assert "replace the model folder" in line and peak < 400, (line, peak)
    report("npz-forged-header", peak_mb=round(peak), seconds=round(seconds, 1))


def test_the_shipped_models_still_load() -> None:
    for base in ("anomaly-cwru", "quality-steel", "process-tep"):
        load_any(paths.shipped_models_dir() / base)
    assert pick(True, True) and CWRU_FILE.exists()
