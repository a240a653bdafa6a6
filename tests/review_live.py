"""A running review app on a free local port, and headless Chromium — for the browser tests and the benchmark.

Chromium is Debian's ``chromium`` package (``/usr/bin/chromium``, installed by ``scripts/setup.sh`` with
``JIMU_WITH_BROWSER=1``), driven by Playwright's Python API; ``playwright install`` is never used.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from argon2 import PasswordHasher
from sqlalchemy.orm import Session, sessionmaker

from jimu.settings import ReviewOptions, Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

CHROMIUM: Final = os.environ.get("JIMU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS: Final = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
# Test accounts are hashed cheaply (verification cost comes from the hash's own parameters).
CHEAP_HASHER: Final = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveApp:
    url: str
    app: FastAPI
    settings: Settings
    factory: sessionmaker[Session]


@contextmanager
def live_app(settings: Settings, review_settings: ReviewOptions | None = None,
             factory: sessionmaker[Session] | None = None) -> Iterator[LiveApp]:
    """Serve ``create_app(settings)`` with uvicorn in a background thread on 127.0.0.1 and a free port."""
    import uvicorn

    from jimu.review.app import create_app
    from jimu.store.db import init_db

    factory = factory or init_db(settings)
    from tests.review_helpers import with_review

    app = create_app(with_review(settings, review_settings), factory=factory)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="jimu-review-live", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the review app did not start")
        time.sleep(0.02)
    try:
        yield LiveApp(url=f"http://127.0.0.1:{port}", app=app, settings=settings, factory=factory)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium(**context_args: Any) -> Iterator[Any]:
    """A Playwright browser context in headless Chromium (viewport 1400×900, Japanese locale)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="ja-JP",
                                      timezone_id="Asia/Tokyo", **context_args)
            try:
                yield ctx
            finally:
                ctx.close()
        finally:
            browser.close()


def login(page: Any, base_url: str, name: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#name", name)
    page.fill("#password", password)
    with page.expect_navigation():
        page.press("#password", "Enter")
