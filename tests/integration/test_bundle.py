"""The installer: `bash tools/build_installer.sh` builds the one-folder bundle, which passes
its own `--self-test` offscreen, stays under the size limit, ships every model folder and
honours portable mode. Slow (minutes): it runs PyInstaller on the whole program."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Issue 15: <= 600 MB unpacked (decimal megabytes), for the default (lean) variant, which
# leaves torch out; the full variant (with torch, ~935 MiB) is built on request only
# (docs/installer.md, "Variants").
MAX_BYTES = 600_000_000

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


def _pyinstaller_missing() -> bool:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        return True
    return False


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if _pyinstaller_missing():
        pytest.skip("PyInstaller is not installed; `bash tools/setup.sh --dev` installs it")
    dist = tmp_path_factory.mktemp("dist")
    env = dict(os.environ, DIST=str(dist), PYTHON=sys.executable, ZSTD_LEVEL="3",
               QT_QPA_PLATFORM="offscreen")
    env.pop("LINEWATCH_HOME", None)  # the script sets its own
    done = subprocess.run(["bash", "tools/build_installer.sh"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3000)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    return dist, output


def test_self_test_passes_in_the_bundle(bundle: tuple[Path, str]) -> None:
    _, output = bundle
    lines = output.splitlines()
    assert any(line.startswith("self-test OK") and "frozen" in line for line in lines), output
    assert not any(line.startswith("FAIL") for line in lines), output
    assert any(line.startswith("skip  training: this lean build") for line in lines), output
    models = sorted(d.name for d in (ROOT / "models").iterdir()
                    if d.is_dir() and not d.name.startswith("."))
    for name in models:
        assert any(line.startswith(f"ok  model {name} (") for line in lines), name


def test_size_files_and_models(bundle: tuple[Path, str]) -> None:
    dist, _ = bundle
    folder = dist / "linewatch"
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    size = sum(p.stat().st_size for p in files)
    assert size <= MAX_BYTES, f"the bundle is {size / 1e6:.0f} MB"
    internal = folder / "_internal"
    names = [p.relative_to(internal).as_posix() for p in files if internal in p.parents]
    for pattern in ("torch/test/*", "torch/include/*", "*.a", "*libcudnn*", "*libcublas*",
                    "PySide6/Qt/lib/libQt6WebEngine*", "PySide6/Qt/lib/libQt6Quick*"):
        assert not [n for n in names if fnmatch(n, pattern)], pattern
    assert not [n for n in names if n.startswith(("torch/", "sympy/", "captum/"))]  # lean
    for model in (ROOT / "models").iterdir():
        if model.is_dir() and not model.name.startswith("."):
            for f in model.rglob("*"):
                if f.is_file():
                    assert (internal / "models" / f.relative_to(ROOT / "models")).is_file(), f
    assert (internal / "resources" / "demo").is_dir()
    assert not (folder / "portable").exists()


def test_start_up_measured(bundle: tuple[Path, str]) -> None:
    dist, _ = bundle
    figures = json.loads((dist / "measure.json").read_text())
    assert figures["frames"] > 0 and figures["received"] > 0
    assert figures["first_draw_s"] is not None


def test_archive_holds_the_folder(bundle: tuple[Path, str]) -> None:
    dist, _ = bundle
    (archive,) = dist.glob("linewatch-*-*-*.tar.zst")
    if shutil.which("zstd") is None:
        pytest.skip("no zstd program to list the archive with")
    listing = subprocess.run(["tar", "-I", "zstd", "-tf", str(archive)], capture_output=True,
                             text=True, check=True).stdout.split()
    assert "linewatch/linewatch" in listing
    assert any(n.startswith("linewatch/_internal/models/") for n in listing)


def test_portable_marker_keeps_user_files_beside_the_program(bundle: tuple[Path, str]
                                                              ) -> None:
    dist, _ = bundle
    folder = dist / "linewatch"
    marker = folder / "portable"
    marker.write_text("")
    env = {k: v for k, v in os.environ.items() if k != "LINEWATCH_HOME"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    try:
        done = subprocess.run([str(folder / "linewatch"), "sources", "--json"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert (folder / "linewatch-data" / "logs" / "linewatch.log").is_file()
    finally:
        marker.unlink()


def test_predict_folder_on_worker_processes(bundle: tuple[Path, str], tmp_path: Path) -> None:
    """`predict DIR` spawns local Dask worker processes: in a frozen program they re-run the
    executable, which must turn them into workers (multiprocessing.freeze_support)."""
    dist, _ = bundle
    import numpy as np

    rng = np.random.default_rng(0)
    folder = tmp_path / "recs"
    folder.mkdir()
    for k in range(2):
        values = rng.standard_normal(12000 // 2)
        (folder / f"r{k}.csv").write_text(
            "time_s,DE_time\n" + "".join(f"{i / 12000:.6f},{v:.6f}\n"
                                         for i, v in enumerate(values)))
    out = tmp_path / "verdicts.csv"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LINEWATCH_HOME=str(tmp_path / "h"))
    done = subprocess.run([str(dist / "linewatch" / "linewatch"), "predict", str(folder),
                           "--model", "anomaly-cwru", "--out", str(out), "--workers", "2",
                           "--quiet"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"r0.csv", "r1.csv"} == {Path(r["file"]).name for r in rows}
