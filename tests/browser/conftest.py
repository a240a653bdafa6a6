"""Browser tests of the review UI: real headless Chromium (Debian's ``chromium``) driven by Playwright.

They run in CI (``scripts/setup.sh`` installs Chromium with ``JIMU_WITH_BROWSER=1``); without Chromium
they fail under ``CI=true`` and are skipped elsewhere.  Screenshots go to ``data/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.review_live import CHROMIUM, CHROMIUM_ARGS, chromium_available
from tests.service_helpers import in_ci

SCREENSHOTS = Path(__file__).resolve().parents[2] / "data" / "screenshots"  # the checkout's data/


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives headless Chromium (tests/browser)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not chromium_available():
        msg = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium, or JIMU_WITH_BROWSER=1 make setup)"
        if in_ci():
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Open pages in fresh browser contexts (one per user); all are closed after the test."""
    contexts: list[Any] = []

    def make() -> Any:
        ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP", timezone_id="Asia/Tokyo")
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.js_errors = errors
        return page

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
