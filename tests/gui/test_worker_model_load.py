"""A live model worker whose model cannot be loaded says so in one line and finishes, for
both kinds of model worker (signal and table)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.workers.inference_worker import InferenceWorker
from desktop.workers.tabular_worker import TabularWorker


def _run(worker) -> tuple[list[str], int]:
    failed: list[str] = []
    finished: list[int] = []
    worker.failed.connect(failed.append)
    worker.finished.connect(lambda: finished.append(1))
    worker.run()  # loading fails first, so run returns at once (on this thread)
    return failed, len(finished)


@pytest.mark.parametrize("cls", [InferenceWorker, TabularWorker])
def test_an_unknown_model_fails_in_one_line_and_finishes(qtbot, cls) -> None:
    failed, finished = _run(cls("no-such-model", lambda: None))
    assert finished == 1 and len(failed) == 1
    assert "no-such-model" in failed[0] and "\n" not in failed[0]
    assert "Traceback" not in failed[0]


def test_a_broken_table_model_folder_fails_in_one_line_naming_it(qtbot, tmp_path: Path
                                                                 ) -> None:
    root = Path(__file__).resolve().parents[2] / "models" / "process-tep"
    user = tmp_path / "models" / "broken-tep"
    user.mkdir(parents=True)
    card = json.loads((root / "card.json").read_text())
    card["name"] = "broken-tep"
    (user / "card.json").write_text(json.dumps(card))
    (user / "detector.npz").write_bytes(b"not a zip file")
    # a folder path names a model too
    failed, finished = _run(TabularWorker(str(user), lambda: None))
    assert finished == 1 and len(failed) == 1
    assert "detector.npz" in failed[0] and "\n" not in failed[0]
