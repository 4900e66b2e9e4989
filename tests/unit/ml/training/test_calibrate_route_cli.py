"""``linewatch calibrate`` over route snapshots (issue 22): 1-s files cut from the CWRU
excerpt fixtures are refused one by one but accepted together."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from desktop.cli import main
from desktop.ml.model_files.versions import versions_of
from desktop.recording.readers import read_recording

CWRU = Path(__file__).resolve().parents[3] / "fixtures" / "cwru"


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every fixture recording cut into 1-s .mat files (12 kHz, DE channel)."""
    out = tmp_path_factory.mktemp("route")
    for f in sorted(CWRU.glob("*.mat")):
        rec = read_recording(f)
        x = np.asarray(rec.values[:, 0], dtype=np.float64)
        for i in range(x.size // 12000):
            savemat(out / f"{f.stem}_{i}.mat",
                    {"X000_DE_time": x[i * 12000:(i + 1) * 12000, None]})
    return out


def test_one_second_file_is_refused_alone(snapshots: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    one = sorted(snapshots.iterdir())[0]
    assert main(["calibrate", str(one), "--model", "fault-cwru", "--rate", "12000"]) != 0
    err = capsys.readouterr().err
    assert "calibration needs at least" in err and len(err.strip().splitlines()) <= 2


def test_snapshots_together_are_enough(snapshots: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(snapshots.iterdir())
    assert len(files) >= 12
    # the model as the first word, then files; --rate: the cut files do not state one
    assert main(["calibrate", "fault-cwru", *map(str, files[:12]), "--rate", "12000",
                 "--name", "route-rig", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["snapshots"] == 12 and doc["windows"] >= 100
    assert doc["seconds_of_signal"] == pytest.approx(12.0)
    assert versions_of("route-rig") == [1]
    # a folder and a quoted glob work too; the text output says how many snapshots
    assert main(["calibrate", str(snapshots), "--model", "fault-cwru", "--rate", "12000",
                 "--name", "route-rig"]) == 0
    assert f"in {len(files)} snapshots" in capsys.readouterr().out
    assert main(["calibrate", str(snapshots / "*Drive_End_[IO]*"), "--model", "fault-cwru",
                 "--rate", "12000", "--name", "route-rig"]) == 0
    assert versions_of("route-rig") == [1, 2, 3]


def test_too_few_snapshots_say_so(snapshots: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(snapshots.iterdir())[:3]
    assert main(["calibrate", *map(str, files), "--model", "fault-cwru",
                 "--rate", "12000"]) != 0
    err = capsys.readouterr().err
    assert "in 3 snapshots" in err and "route snapshots count together" in err
