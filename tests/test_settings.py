"""The one settings object: defaults, the review app's nested part, and where the data folder is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jimu.settings import ReviewOptions, Settings, get_settings


def test_data_dir_is_data_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIMU_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.data_dir == Path("data")
    assert s.data_dir.resolve() == tmp_path.resolve() / "data"  # not inside the installed package
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'data' / 'jimu.db'}"
    assert s.resolved_queue_url == f"sqlite:///{tmp_path.resolve() / 'data' / 'queue.db'}"


def test_review_settings_are_jimu_review_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIMU_REVIEW_LOCK_TTL_S", "5")
    monkeypatch.setenv("JIMU_REVIEW_COOKIE_SECURE", "true")
    monkeypatch.setenv("JIMU_REVIEW_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("JIMU_MAX_PAGES", "7")
    s = Settings()
    assert (s.review.lock_ttl_s, s.review.cookie_secure, s.review.argon2_time_cost) == (5.0, True, 1)
    assert s.review.session_idle_s == ReviewOptions().session_idle_s
    assert s.max_pages == 7


def test_variables_once_read_elsewhere_are_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("JIMU_FORMS_DIRS", f"{a}{os.pathsep}{b}")
    monkeypatch.setenv("JIMU_THRESHOLDS_FILE", str(tmp_path / "th.json"))
    monkeypatch.setenv("JIMU_TEMPLATE_DISK_CACHE", "0")
    monkeypatch.setenv("JIMU_GLYPH_FONT", str(tmp_path / "font.ttf"))
    get_settings.cache_clear()
    s = get_settings()
    assert s.extra_forms_dirs == (a, b)
    assert s.thresholds_file == tmp_path / "th.json"
    assert s.template_disk_cache is False
    assert s.glyph_font == tmp_path / "font.ttf"
    from jimu.forms_schema.loader import FORMS_DIR, forms_dirs

    assert forms_dirs() == (FORMS_DIR, a, b)


def test_defaults_without_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("JIMU_FORMS_DIRS", "JIMU_THRESHOLDS_FILE", "JIMU_TEMPLATE_DISK_CACHE", "JIMU_GLYPH_FONT"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert (s.extra_forms_dirs, s.thresholds_file, s.template_disk_cache, s.glyph_font) == ((), None, True, None)
