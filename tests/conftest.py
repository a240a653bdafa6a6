"""Shared fixtures: each test leaves no pipeline context (store engines, OCR worker processes) behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _close_pipeline_contexts() -> Iterator[None]:
    yield
    from jimu.pipeline.batch import close_process_contexts

    close_process_contexts()
