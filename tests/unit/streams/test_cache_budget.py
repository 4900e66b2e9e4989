"""The file cache keeps itself under a cap (least recently opened first) and File → Clear
cache empties it, never touching the file open now or a cache opened moments ago."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from desktop.streams import cache_budget
from desktop.streams.file_view import index_file


def _csv(path: Path, rows: int = 20_000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    t = np.arange(rows) / 1000.0
    data = np.column_stack([t, rng.standard_normal((rows, 2))])
    np.savetxt(path, data, delimiter=",", header="time_s,a,b", comments="", fmt="%.6f")
    return path


def _age(folder: Path, seconds_ago: float) -> None:
    when = time.time() - seconds_ago
    os.utime(folder / cache_budget.META, (when, when))


@pytest.fixture
def three_caches(tmp_path: Path) -> list[Path]:
    """Three files opened (so cached), the first opened longest ago."""
    folders = []
    for k in range(3):
        view = index_file(_csv(tmp_path / f"f{k}.csv", seed=k))
        assert view.complete
        folders.append(view.folder)
    for k, folder in enumerate(folders):
        _age(folder, 3600.0 * (3 - k))  # 3 h, 2 h, 1 h ago
    return folders


def test_prune_deletes_the_least_recently_opened_first(three_caches: list[Path]) -> None:
    total, count = cache_budget.usage()
    assert count == 3 and total > 0
    one = cache_budget.folder_bytes(three_caches[0])
    freed = cache_budget.prune(cap=total - one)  # room for two: the oldest goes
    assert freed == one
    assert [f.exists() for f in three_caches] == [False, True, True]


def test_prune_keeps_the_open_file_and_recently_opened_caches(three_caches: list[Path]
                                                                ) -> None:
    _age(three_caches[1], 5.0)  # opened seconds ago: maybe in use elsewhere
    cache_budget.prune(keep=[three_caches[0]], cap=0)
    assert [f.exists() for f in three_caches] == [True, True, False]


def test_clear_empties_all_but_the_file_open_now(three_caches: list[Path]) -> None:
    _age(three_caches[2], 1.0)
    freed = cache_budget.clear(keep=[three_caches[2]])
    assert freed > 0
    assert [f.exists() for f in three_caches] == [False, False, True]
    assert cache_budget.usage()[1] == 1


def test_opening_a_new_file_applies_the_cap(three_caches: list[Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache_budget.ENV_VAR, "0")  # keep only what is in use
    view = index_file(_csv(tmp_path / "new.csv", seed=9))
    assert view.folder.exists() and not any(f.exists() for f in three_caches)
    assert view.view(*view.time_range(), 400).times.size > 0  # still drawable


def test_reopening_marks_a_cache_recently_used(three_caches: list[Path],
                                               tmp_path: Path) -> None:
    before = (three_caches[0] / cache_budget.META).stat().st_mtime
    index_file(tmp_path / "f0.csv")  # from the cache
    assert (three_caches[0] / cache_budget.META).stat().st_mtime > before
    cache_budget.prune(cap=0)  # the reopened one is now recent: kept
    assert [f.exists() for f in three_caches] == [True, False, False]


def test_the_cap_comes_from_the_argument_environment_setting_or_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.core.settings import load_settings, save_settings

    monkeypatch.delenv(cache_budget.ENV_VAR, raising=False)
    assert cache_budget.cap_bytes() == int(cache_budget.DEFAULT_CAP_GB * 1e9)
    settings = load_settings()
    settings.cache_limit_gb = 2.5
    save_settings(settings)
    assert cache_budget.cap_bytes() == int(2.5e9)
    monkeypatch.setenv(cache_budget.ENV_VAR, "1")
    assert cache_budget.cap_bytes() == int(1e9) and cache_budget.cap_bytes(0.5) == int(5e8)
    monkeypatch.setenv(cache_budget.ENV_VAR, "lots")
    assert cache_budget.cap_bytes() == int(2.5e9)
