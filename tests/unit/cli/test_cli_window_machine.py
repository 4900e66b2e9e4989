"""``linewatch [FILE] --machine NAME``: the window opens with that machine remembered for
the file or source (the key the Diagnosis dock uses); an unknown name is one line, exit 2,
listing the known ones (issue 22)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from desktop.cli import main
from desktop.core.settings import Settings


@pytest.fixture()
def pump(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["machine", "add", "pump", "--bearing", "6205", "--rpm", "1800",
                 "--channel", "de"]) == 0
    capsys.readouterr()
    return "pump"


def test_unknown_machine_is_one_line_listing_the_known(pump: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setattr("desktop.app.run_gui", lambda *a, **k: pytest.fail("opened"))
    assert main([str(tmp_path / "rec.csv"), "--machine", "nobody"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no machine 'nobody' (machines: pump)" in err and len(err.splitlines()) == 1
    assert main(["--machine", "pump", "--workspace", str(tmp_path / "w.json")]) == 2
    assert "workspace names its own machine" in capsys.readouterr().err


def test_known_machine_reaches_the_window(pump: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake(spec: Any, file: Any, options: Any, measure: Any = None, **kw: Any) -> int:
        seen.update(file=file, **kw)
        return 0

    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr("desktop.app.run_gui", fake)
    rec = tmp_path / "rec.csv"
    assert main([str(rec), "--machine", "pump"]) == 0
    assert seen == {"file": str(rec), "workspace": None, "machine": "pump"}


def test_remember_machine_uses_the_docks_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    from desktop.app import remember_machine

    settings = Settings()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rec.csv").write_text("a\n1\n", encoding="utf-8")
    key = remember_machine(settings, "pump", "rec.csv", None)
    assert key == str((tmp_path / "rec.csv").resolve())
    assert remember_machine(settings, "fan", None, "demo") == "demo"
    assert settings.machine_by_source == {key: "pump", "demo": "fan"}
