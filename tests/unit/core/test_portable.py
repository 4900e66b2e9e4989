"""Portable mode: a ``portable`` file beside the program keeps every user file beside it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from desktop.core import paths
from desktop.core.settings import Settings, load_settings, save_settings

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def frozen_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Pretend to be a PyInstaller bundle whose executable is ``tmp/linewatch/linewatch``."""
    folder = tmp_path / "linewatch"
    (folder / "_internal").mkdir(parents=True)
    monkeypatch.delenv(paths.HOME_ENV, raising=False)
    monkeypatch.setattr(paths, "IS_FROZEN", True)
    monkeypatch.setattr(sys, "executable", str(folder / "linewatch"))
    monkeypatch.setattr(sys, "_MEIPASS", str(folder / "_internal"), raising=False)
    return folder


def test_program_dir_is_repo_root_from_source() -> None:
    assert paths.program_dir() == ROOT
    assert paths.bundle_root() == ROOT


def test_frozen_program_dir_is_beside_the_executable(frozen_program: Path) -> None:
    assert paths.program_dir() == frozen_program
    assert paths.bundle_root() == frozen_program / "_internal"
    assert paths.shipped_models_dir() == frozen_program / "_internal" / "models"


def test_no_marker_means_user_profile(frozen_program: Path) -> None:
    assert paths.portable_home() is None
    assert paths.home_description() == "user profile (platformdirs)"


def test_marker_keeps_every_user_file_beside_the_program(frozen_program: Path) -> None:
    (frozen_program / paths.PORTABLE_MARKER).write_text("")
    home = frozen_program / paths.PORTABLE_HOME
    assert paths.portable_home() == home
    assert paths.config_dir() == home / "config"
    assert paths.data_dir() == home / "data"
    assert paths.log_dir() == home / "logs"
    assert paths.cache_dir() == home / "cache"
    assert paths.recordings_dir() == home / "recordings"
    assert paths.home_description() == f"portable: {home}"
    save_settings(Settings(history_seconds=12.0))
    assert (home / "config" / "settings.json").is_file()
    assert load_settings().history_seconds == 12.0

    from desktop.ml.model_files.versions import user_models_dir  # fine-tuned models too

    assert user_models_dir().is_relative_to(home)


def test_a_folder_named_portable_is_not_the_marker(frozen_program: Path) -> None:
    (frozen_program / paths.PORTABLE_MARKER).mkdir()
    assert paths.portable_home() is None


def test_linewatch_home_wins_over_the_marker(frozen_program: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (frozen_program / paths.PORTABLE_MARKER).write_text("")
    monkeypatch.setenv(paths.HOME_ENV, str(tmp_path / "explicit"))
    assert paths.config_dir() == tmp_path / "explicit" / "config"


def test_source_checkout_marker_in_repo_root(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # From source the marker belongs in the repository root; simulate that root.
    monkeypatch.delenv(paths.HOME_ENV, raising=False)
    monkeypatch.setattr(paths, "program_dir", lambda: tmp_path)
    (tmp_path / paths.PORTABLE_MARKER).touch()
    assert paths.data_dir() == tmp_path / paths.PORTABLE_HOME / "data"
