from __future__ import annotations

import json
import logging
from pathlib import Path

from desktop.core import paths
from desktop.core.logsetup import configure_logging
from desktop.core.settings import Settings, load_settings, save_settings, settings_path


def test_linewatch_home_overrides_every_user_path(linewatch_home: Path) -> None:
    for folder in (paths.config_dir(), paths.data_dir(), paths.log_dir(),
                   paths.recordings_dir()):
        assert folder.is_relative_to(linewatch_home) and folder.is_dir()


def test_settings_round_trip_saves_only_non_defaults() -> None:
    settings = Settings(history_seconds=30.0, views={"demo": {"layout": "lanes"}})
    save_settings(settings)
    raw = json.loads(settings_path().read_text())
    assert raw == {"schema": 1, "history_seconds": 30.0, "views": {"demo": {"layout": "lanes"}}}
    assert load_settings() == settings


def test_damaged_or_mistyped_settings_fall_back_to_defaults() -> None:
    path = settings_path()
    path.write_text("{not json")
    assert load_settings() == Settings()
    assert path.with_suffix(".json.bad").exists()
    path.write_text(json.dumps({"history_seconds": "long", "default_baud": 9600,
                                "unknown_key": 1, "history_seconds_typo": 3}))
    loaded = load_settings()
    assert loaded.history_seconds == 60.0 and loaded.default_baud == 9600


def test_integer_json_for_float_setting_is_accepted() -> None:
    settings_path().write_text(json.dumps({"history_seconds": 120}))
    assert load_settings().history_seconds == 120.0


def test_logging_goes_to_rotating_file_in_log_dir() -> None:
    log_file = configure_logging()
    logging.getLogger("linewatch.test").warning("hello from the test")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert log_file.parent == paths.log_dir()
    assert "hello from the test" in log_file.read_text()
