"""Helpers for the review app's tests and benchmark (not part of the installed package): a temporary store, accounts,
a logged-in client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from jimu.settings import ReviewOptions, Settings

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct-horse-42"


@dataclass
class Store:
    settings: Settings
    factory: sessionmaker[Session]
    data_dir: Path


def make_store(tmp: Path) -> Store:
    """A fresh SQLite store and embedded queue in ``tmp`` (nothing shared with the real data dir)."""
    from jimu.review.entries import ensure_tables
    from jimu.store.db import init_db

    settings = Settings(data_dir=tmp, database_url=None, queue_url=None)
    factory = init_db(settings)
    ensure_tables(factory.kw["bind"])
    return Store(settings=settings, factory=factory, data_dir=tmp)


def add_user(factory: sessionmaker[Session], name: str, role: str = "operator", password: str = PASSWORD,
             active: bool = True) -> None:
    from jimu.review.auth import create_user
    from jimu.store.db import session_scope
    from tests.review_live import CHEAP_HASHER

    with session_scope(factory) as s:
        user = create_user(s, name, role, password, CHEAP_HASHER)
        user.active = active


def review_settings_for_tests(**overrides: Any) -> ReviewOptions:
    """Review settings for tests: cheap password hashing (the same parameters as the test accounts)."""
    from tests.review_live import CHEAP_HASHER

    p = CHEAP_HASHER
    values: dict[str, Any] = {"argon2_time_cost": p.time_cost, "argon2_memory_kib": p.memory_cost,
                              "argon2_parallelism": p.parallelism, "undo_window_s": 0.0}
    values.update(overrides)
    return ReviewOptions(**values)


def with_review(settings: Settings, review: ReviewOptions | None = None) -> Settings:
    """``settings`` with the review app's part replaced (by default: :func:`review_settings_for_tests`)."""
    return settings.model_copy(update={"review": review or review_settings_for_tests()})


def make_client(store: Store, review_settings: ReviewOptions | None = None) -> Any:
    from fastapi.testclient import TestClient

    from jimu.review.app import create_app

    app = create_app(with_review(store.settings, review_settings), factory=store.factory)
    return TestClient(app, base_url="http://testserver")


def login(client: Any, name: str, password: str = PASSWORD) -> Any:
    page = client.get("/login")
    m = CSRF_RE.search(page.text)
    assert m is not None, "no CSRF token on the login page"
    return client.post("/login", data={"name": name, "password": password, "csrf_token": m.group(1)},
                       follow_redirects=False)


def csrf(client: Any) -> str:
    """The session's CSRF token (read from a page, as a browser would)."""
    page = client.get("/worklist")
    m = CSRF_RE.search(page.text)
    assert m is not None, f"no CSRF token on the work list (status {page.status_code})"
    return m.group(1)
