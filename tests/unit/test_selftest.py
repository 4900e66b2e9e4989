"""The self-test's pieces without the window: failures name their step, models and formats
are found from the registry and the readers, and the CLI maps the result to exit 0/1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from desktop import selftest
from desktop.cli import main
from desktop.core import paths


def test_readable_suffixes_come_from_the_readers() -> None:
    from desktop.recording import readers

    found = selftest.readable_suffixes(readers)
    # readers.py's own sets, and those of the reader modules beside it (wav.py …)
    assert {".csv", ".parquet", ".mat", ".wav"} <= found
    assert ".journal" not in found  # a folder kind, not a file format
    listed = SimpleNamespace(supported_suffixes=lambda: [".CSV", ".wav"], CSV_SUFFIXES={".x"})
    assert selftest.readable_suffixes(listed) == {".csv", ".wav"}


def test_a_predictor_may_run_its_own_check() -> None:
    predictor = SimpleNamespace(self_check=lambda: "3 rows -> ok")
    assert selftest._one_inference(predictor, SimpleNamespace(kind="quality")) == "3 rows -> ok"


def test_a_table_model_gets_rows_of_its_input_columns() -> None:
    seen = []
    model = SimpleNamespace(predict=lambda x: seen.append(x.shape) or [{"class": "ok"}] * len(x))
    card = SimpleNamespace(kind="quality", input_columns=["a", "b", "c"])
    assert selftest._one_inference(model, card).endswith("-> ok")
    assert seen == [(selftest.TABLE_ROWS, 3)]


def test_a_predictor_without_a_way_in_fails_clearly() -> None:
    with pytest.raises(selftest.StepFailed, match="no self_check"):
        selftest._one_inference(SimpleNamespace(), SimpleNamespace(kind="quality"))


def test_shipped_models_all_run(capsys: pytest.CaptureFixture[str]) -> None:
    lines: list[str] = []
    assert selftest.check_models(lines.append) == []
    shipped = sorted(p.name for p in paths.shipped_models_dir().iterdir()
                     if (p / "card.json").is_file())
    assert shipped, "the repository ships models"
    for name in shipped:
        assert any(line.startswith(f"ok  model {name} (") for line in lines), lines


def test_a_broken_model_fails_its_own_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    models = tmp_path / "models"
    shutil.copytree(paths.shipped_models_dir() / "anomaly-cwru", models / "anomaly-cwru")
    broken = models / "broken"
    broken.mkdir()
    (broken / "card.json").write_text(json.dumps({"name": "broken"}))
    monkeypatch.setattr(paths, "shipped_models_dir", lambda: models)
    monkeypatch.setattr(selftest, "check_window", lambda: "not run here")
    lines: list[str] = []
    assert selftest.run_self_test(lines.append) is False
    assert any(line.startswith("ok  model anomaly-cwru (anomaly)") for line in lines), lines
    assert any(line.startswith("FAIL  model broken") for line in lines), lines
    assert lines[-1].startswith("self-test FAILED")
    assert "model broken" in lines[-1]


def test_no_shipped_models_is_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    monkeypatch.setattr(paths, "shipped_models_dir", lambda: tmp_path / "none")
    with pytest.raises(selftest.StepFailed, match="no shipped models"):
        selftest.check_models(lambda _line: None)


def test_formats_recording_and_label_round_trip(tmp_path: Path) -> None:
    from desktop.recording import readers

    suffixes = selftest.readable_suffixes(readers)
    ran = 0
    for name, suffix, write, tol in selftest.FORMATS:
        if suffix in suffixes:
            assert "1,000 samples" in selftest.check_format(name, tmp_path / f"f{suffix}",
                                                            write, tol)
            ran += 1
    assert ran >= 2  # CSV and Parquet at least
    assert "1,000 samples" in selftest.check_recording(tmp_path)
    assert "1 label" in selftest.check_label(tmp_path)


def test_the_run_leaves_linewatch_home_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    before = paths.config_dir()
    seen: list[Path] = []
    monkeypatch.setattr(selftest, "check_window", lambda: seen.append(paths.config_dir()) or "")
    monkeypatch.setattr(selftest, "check_models", lambda report: [])
    selftest.run_self_test(lambda _line: None)
    assert seen and seen[0] != before  # the run used its own temporary home
    assert paths.config_dir() == before


@pytest.mark.parametrize(("passed", "code"), [(True, 0), (False, 1)])
def test_cli_self_test_exit_code(passed: bool, code: int, monkeypatch: pytest.MonkeyPatch
                                 ) -> None:
    monkeypatch.setattr(selftest, "run_self_test", lambda report: passed)
    assert main(["--self-test"]) == code
