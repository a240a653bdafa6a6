"""Shared fixtures: each test starts with settings read afresh from the environment, and leaves no
pipeline context (store engines, OCR worker processes) and no cached settings behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _close_pipeline_contexts() -> Iterator[None]:
    from jimu.settings import get_settings

    get_settings.cache_clear()
    yield
    from jimu.pipeline.batch import close_process_contexts

    close_process_contexts()
    get_settings.cache_clear()  # after monkeypatch has put the environment back
