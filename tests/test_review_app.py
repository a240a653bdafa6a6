"""Review app routes: login, sessions, roles, CSRF, image routes, work list, locks, headers.

FastAPI's TestClient against a temporary SQLite store seeded with rendered documents.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from jimu.review.seed import SeededDocument, seed_document
from jimu.store.db import dispose_engines, session_scope
from jimu.store.models import AuditEntry, Document, FieldValue
from tests.review_helpers import (
    PASSWORD,
    Store,
    add_user,
    csrf,
    login,
    make_client,
    make_store,
    review_settings_for_tests,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = make_store(tmp_path)
    add_user(st.factory, "op1", "operator")
    add_user(st.factory, "op2", "operator")
    add_user(st.factory, "sv1", "supervisor")
    add_user(st.factory, "gone", "operator", active=False)
    yield st
    dispose_engines()


@pytest.fixture
def docs(store: Store) -> list[SeededDocument]:
    return [
        seed_document(store.factory, store.data_dir, form_id="inkan_toroku", seed=11, n_misread=2, ward="中央区"),
        seed_document(store.factory, store.data_dir, form_id="kaigo_nintei", seed=12, n_misread=1, ward="花見川区"),
    ]


def client_as(store: Store, name: str | None, **settings: Any) -> Any:
    c = make_client(store, review_settings_for_tests(relay_after_approve=False, **settings))
    if name is not None:
        r = login(c, name)
        assert r.status_code == 303, r.text
    return c


def hold_lock(store: Store, doc_id: str, user: str) -> None:
    """``user`` has the document open (the review lock), as opening its page does."""
    from jimu.store import repo

    with session_scope(store.factory) as s:
        doc = s.get(Document, doc_id)
        assert doc is not None and repo.lock_document(s, doc, user, ttl_s=600)


def first_field(store: Store, doc_id: str, restricted: bool = False) -> FieldValue:
    with session_scope(store.factory) as s:
        q = select(FieldValue).where(FieldValue.document_id == doc_id)
        if restricted:
            q = q.where(FieldValue.sensitivity == "restricted")
        f = s.scalars(q.order_by(FieldValue.id)).first()
        assert f is not None
        return f


def concrete(path: str, doc_id: str, field_id: int) -> str:
    return path.replace("{doc_id}", doc_id).replace("{field_id}", str(field_id))


def app_routes(client: Any) -> list[tuple[str, str]]:
    from jimu.review.routes import ROUTERS

    out = []
    for r in (r for router in ROUTERS for r in router.routes):
        if isinstance(r, APIRoute):
            out += [(m, r.path) for m in sorted(r.methods or ())]
    return out


# ------------------------------------------------------------------------------------------ access


def test_every_route_needs_a_login(store: Store, docs: list[SeededDocument]) -> None:
    c = client_as(store, None)
    f = first_field(store, docs[0].id)
    routes = app_routes(c)
    assert len(routes) >= 18
    for method, path in routes:
        if path == "/login":
            continue
        url = concrete(path, docs[0].id, f.id)
        r = c.request(method, url, follow_redirects=False)
        if method == "GET" and not url.endswith(".png"):
            assert r.status_code == 303, url
            assert r.headers["location"].startswith("/login"), url
        else:
            assert r.status_code == 401, (method, url, r.status_code)


def test_login_logout_and_session_cookie(store: Store) -> None:
    c = client_as(store, None)
    page = c.get("/login")
    assert page.status_code == 200 and "ログイン" in page.text
    r = login(c, "op1")
    assert r.status_code == 303 and r.headers["location"] == "/worklist"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert c.get("/worklist").status_code == 200
    token = csrf(c)
    r = c.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/worklist", follow_redirects=False).status_code == 303


def test_login_failures(store: Store) -> None:
    c = client_as(store, None)
    assert login(c, "op1", "wrong-password").status_code == 401
    assert login(c, "nobody", PASSWORD).status_code == 401
    assert login(c, "gone", PASSWORD).status_code == 401  # disabled account
    # no login CSRF token → refused
    r = c.post("/login", data={"name": "op1", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    # a login page's token does not fit another browser's cookie
    other = client_as(store, None)
    token = re.search(r'name="csrf_token" value="([^"]+)"', other.get("/login").text)
    assert token is not None
    fresh = client_as(store, None)
    fresh.get("/login")
    r = fresh.post("/login", data={"name": "op1", "password": PASSWORD, "csrf_token": token.group(1)},
                   follow_redirects=False)
    assert r.status_code == 403


def test_login_rate_limit_per_name_and_per_address(store: Store) -> None:
    c = client_as(store, None, login_max_failures_per_name=3, login_max_failures_per_ip=5)
    for _ in range(3):
        assert login(c, "op1", "nope-nope").status_code == 401
    r = login(c, "op1")  # right password, but the name is locked out for the window
    assert r.status_code == 429 and "しばらく" in r.text
    assert login(c, "op2").status_code == 303  # another name from the same address still works
    c.cookies.clear()
    for name in ("x1", "x2"):
        assert login(c, name, "nope-nope").status_code == 401
    assert login(c, "sv1").status_code == 429  # 5 failures from this address


def test_session_expires_when_idle(store: Store) -> None:
    c = client_as(store, "op1", session_idle_s=0.2)
    assert c.get("/worklist").status_code == 200
    time.sleep(0.3)
    assert c.get("/worklist", follow_redirects=False).status_code == 303


def test_safe_next_after_login(store: Store) -> None:
    c = client_as(store, None)
    page = c.get("/login?next=//evil.example/x")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = c.post("/login", data={"name": "op1", "password": PASSWORD, "csrf_token": token.group(1),
                               "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/worklist"
    c2 = client_as(store, None)
    page = c2.get("/login?next=/supervisor")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = c2.post("/login", data={"name": "op1", "password": PASSWORD, "csrf_token": token.group(1),
                                "next": "/supervisor"}, follow_redirects=False)
    assert r.headers["location"] == "/supervisor"


def test_operator_gets_403_on_supervisor_routes(store: Store, docs: list[SeededDocument]) -> None:
    c = client_as(store, "op1")
    token = csrf(c)
    for method, path in app_routes(c):
        if not path.startswith("/supervisor"):
            continue
        url = concrete(path, docs[0].id, 1)
        r = c.request(method, url, data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 403, url
    sv = client_as(store, "sv1")
    assert sv.get("/supervisor").status_code == 200
    assert sv.get("/supervisor/audit").status_code == 200


def test_posts_without_the_csrf_token_are_403(store: Store, docs: list[SeededDocument]) -> None:
    sv = client_as(store, "sv1")
    f = first_field(store, docs[0].id)
    for method, path in app_routes(sv):
        if method != "POST" or path == "/login":
            continue
        url = concrete(path, docs[0].id, f.id)
        assert sv.post(url, follow_redirects=False).status_code == 403, url
        assert sv.post(url, data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403, url
        assert sv.post(url, headers={"X-CSRF-Token": "forged"}, json={"value": "x"},
                       follow_redirects=False).status_code == 403, url
    # nothing happened to the documents
    with session_scope(store.factory) as s:
        assert {d.state for d in s.scalars(select(Document))} == {"review"}


def test_csrf_token_of_another_session_is_refused(store: Store, docs: list[SeededDocument]) -> None:
    a, b = client_as(store, "op1"), client_as(store, "op2")
    r = b.post(f"/documents/{docs[0].id}/skip", data={"csrf_token": csrf(a)}, follow_redirects=False)
    assert r.status_code == 403


# ------------------------------------------------------------------------------------------ images


def test_crops_are_png_by_document_and_field_id(store: Store, docs: list[SeededDocument]) -> None:
    c = client_as(store, "op1")
    hold_lock(store, docs[0].id, "op1")
    f = first_field(store, docs[0].id)
    r = c.get(f"/documents/{docs[0].id}/fields/{f.id}/crop.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG")
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("tail", [
    "/fields/../../../jimu.db",
    "/fields/../../../../etc/passwd",
    "/fields/..%2F..%2Fjimu.db/crop.png",
    "/fields/%2e%2e%2f%2e%2e%2fjimu.db/crop.png",
    "/fields/1%2F2/crop.png",
    "/fields/abc/crop.png",
    "/fields/-1/crop.png",
    "/fields/1.0/crop.png",
    "/fields/99999999/crop.png",
    "/fields/999999999999999999999999/crop.png",
])
def test_path_tricks_on_crops_are_404(store: Store, docs: list[SeededDocument], tail: str) -> None:
    c = client_as(store, "op1")
    hold_lock(store, docs[0].id, "op1")
    r = c.get(f"/documents/{docs[0].id}{tail}")
    assert r.status_code == 404, (tail, r.status_code)


@pytest.mark.parametrize("doc_part", ["..", "..%2F..", "%2e%2e", "not-a-uuid", "01234567-89ab-7cde-8f01-23456789abcd",
                                      "..%2Fjimu.db", "%00"])
def test_path_tricks_on_documents_are_404(store: Store, docs: list[SeededDocument], doc_part: str) -> None:
    c = client_as(store, "op1")
    for tail in ("/page.png", "/fields/1/crop.png"):
        r = c.get(f"/documents/{doc_part}{tail}")
        assert r.status_code == 404, (doc_part, tail, r.status_code)


def test_another_documents_field_id_is_404(store: Store, docs: list[SeededDocument]) -> None:
    c = client_as(store, "op1")
    hold_lock(store, docs[0].id, "op1")
    hold_lock(store, docs[1].id, "op1")
    other = first_field(store, docs[1].id)
    assert c.get(f"/documents/{docs[0].id}/fields/{other.id}/crop.png").status_code == 404
    assert c.get(f"/documents/{docs[1].id}/fields/{other.id}/crop.png").status_code == 200


def test_page_image(store: Store, docs: list[SeededDocument]) -> None:
    c = client_as(store, "op1")
    hold_lock(store, docs[0].id, "op1")
    r = c.get(f"/documents/{docs[0].id}/page.png")
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    # no original on disk → 404 with a message, and the review page says so without asking
    with session_scope(store.factory) as s:
        doc = s.get(Document, docs[0].id)
        assert doc is not None and doc.original_path
        (store.settings.data_dir / doc.original_path).unlink()  # a storage key under the data folder
    r = c.get(f"/documents/{docs[0].id}/page.png")
    assert r.status_code == 404 and "ページ画像" in r.json()["error"]
    page = c.get(f"/documents/{docs[0].id}")
    assert "この書類にはページ画像がありません" in page.text


def test_original_outside_the_data_dir_is_never_served(store: Store, docs: list[SeededDocument],
                                                       tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "x.png"
    outside.write_bytes(b"\x89PNG not ours")
    with session_scope(store.factory) as s:
        doc = s.get(Document, docs[0].id)
        assert doc is not None
        doc.original_path = str(store.data_dir / ".." / outside.parent.name / outside.name)
    c = client_as(store, "op1")
    hold_lock(store, docs[0].id, "op1")
    assert c.get(f"/documents/{docs[0].id}/page.png").status_code == 404


def test_restricted_crop_view_is_audited(store: Store, docs: list[SeededDocument]) -> None:
    c = client_as(store, "op1")
    hold_lock(store, docs[1].id, "op1")
    f = first_field(store, docs[1].id, restricted=True)
    assert c.get(f"/documents/{docs[1].id}/fields/{f.id}/crop.png").status_code == 200
    with session_scope(store.factory) as s:
        views = s.scalars(select(AuditEntry).where(AuditEntry.action == "view_restricted",
                                                   AuditEntry.field_id == f.field_id)).all()
        assert [(v.actor, v.document_id, v.detail) for v in views] == [("op1", docs[1].id, {"what": "crop"})]


def test_operator_cannot_see_images_of_finished_documents(store: Store, docs: list[SeededDocument]) -> None:
    with session_scope(store.factory) as s:
        doc = s.get(Document, docs[0].id)
        assert doc is not None
        doc.state = "rejected"
    f = first_field(store, docs[0].id)
    assert client_as(store, "op1").get(f"/documents/{docs[0].id}/fields/{f.id}/crop.png").status_code == 404
    assert client_as(store, "sv1").get(f"/documents/{docs[0].id}/fields/{f.id}/crop.png").status_code == 200


def test_an_operator_not_involved_gets_no_image(store: Store, docs: list[SeededDocument],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the operator who has the document open sees its crops and page; nobody but a supervisor
    at the supervisor stage (two blind entries that differ)."""
    from jimu.review import service

    f = first_field(store, docs[1].id, restricted=True)
    urls = [f"/documents/{docs[1].id}/fields/{f.id}/crop.png", f"/documents/{docs[1].id}/page.png"]
    hold_lock(store, docs[1].id, "op1")
    op2 = client_as(store, "op2")  # another operator, the document not open
    assert [op2.get(u).status_code for u in urls] == [403, 403]
    monkeypatch.setattr(service, "document_stage", lambda _db, _doc: "supervisor")
    op1 = client_as(store, "op1")
    assert [op1.get(u).status_code for u in urls] == [403, 403]  # even the operator who had it open
    assert client_as(store, "sv1").get(urls[0]).status_code == 200
    with session_scope(store.factory) as s:
        views = s.scalars(select(AuditEntry).where(AuditEntry.action == "view_restricted",
                                                   AuditEntry.document_id == docs[1].id)).all()
        assert {v.actor for v in views} == {"sv1"}  # the refused requests saw nothing


# ------------------------------------------------------------------------------------------ pages


def test_work_list_oldest_first_filters_and_reason_counts(store: Store, docs: list[SeededDocument]) -> None:
    c = client_as(store, "op1")
    page = c.get("/worklist").text
    assert page.index(docs[0].id) < page.index(docs[1].id)
    assert "理由ごとの件数" in page and "読み取りの確からしさが低い" in page
    assert "個人番号・口座情報は必ず人が確認" in page
    only = c.get("/worklist?form=kaigo_nintei").text
    assert docs[1].id in only and docs[0].id not in only
    ward = c.get("/worklist?ward=中央区").text
    assert docs[0].id in ward and docs[1].id not in ward
    with session_scope(store.factory) as s:
        batch = s.get(Document, docs[1].id).batch_id  # type: ignore[union-attr]
    by_batch = c.get(f"/worklist?batch={batch}").text
    assert docs[1].id in by_batch and docs[0].id not in by_batch
    assert c.get("/worklist?form=../../etc").status_code == 200  # odd filters are ignored
    r = c.get("/next", follow_redirects=False)
    assert r.headers["location"] == f"/documents/{docs[0].id}"


def test_review_page_shows_flagged_fields_with_crops_and_reasons(store: Store, docs: list[SeededDocument]) -> None:
    c = client_as(store, "op1")
    page = c.get(f"/documents/{docs[0].id}").text
    from jimu.forms_schema import get_form

    form = get_form("inkan_toroku")
    for fid in docs[0].flagged:
        assert form.leaf(fid).label in page
    assert page.count('class="crop-img" src=') == len(docs[0].flagged)
    assert "読み取りの確からしさが低い" in page
    assert "Ctrl+Enter" in page and "F9" in page and "F8" in page and "F4" in page and "F2" in page
    assert "自動で受け付けた項目" in page


def test_lock_one_operator_at_a_time_and_expiry(store: Store, docs: list[SeededDocument]) -> None:
    a = client_as(store, "op1", lock_ttl_s=0.5)
    b = client_as(store, "op2", lock_ttl_s=0.5)
    assert a.get(f"/documents/{docs[0].id}").status_code == 200
    r = b.get(f"/documents/{docs[0].id}")
    assert r.status_code == 409 and "op1" in r.text
    assert "op1 さんが作業中" in b.get("/worklist").text
    assert b.get("/next", follow_redirects=False).headers["location"] == f"/documents/{docs[1].id}"
    time.sleep(0.6)
    assert b.get(f"/documents/{docs[0].id}").status_code == 200


def test_security_headers(store: Store) -> None:
    c = client_as(store, "op1")
    r = c.get("/worklist")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
    assert c.get("/static/review.js").status_code == 200
    assert c.get("/docs").status_code == 404 and c.get("/openapi.json").status_code == 404


def test_no_script_or_asset_from_elsewhere(store: Store, docs: list[SeededDocument]) -> None:
    c = client_as(store, "sv1")
    for url in ("/login", "/worklist", f"/documents/{docs[0].id}", "/supervisor", "/supervisor/audit"):
        page = c.get(url).text
        for ref in re.findall(r'(?:src|href|action)="([^"]*)"', page):
            assert ref.startswith("/") and not ref.startswith("//"), (url, ref)
        assert "<script>" not in page and "style=" not in page  # CSP: no inline script or style


def test_a_browser_disconnecting_mid_post_logs_no_traceback(store: Store, docs: list[SeededDocument],
                                                             caplog: pytest.LogCaptureFixture) -> None:
    """The body never arrives (the browser went away): one line in the log, no traceback, nothing done."""
    import asyncio
    import logging

    c = client_as(store, "op1")
    token = csrf(c)
    cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": f"/documents/{docs[0].id}/approve", "raw_path": f"/documents/{docs[0].id}/approve".encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
             "headers": [(b"host", b"testserver"), (b"cookie", cookie.encode()), (b"x-csrf-token", token.encode()),
                         (b"content-type", b"application/x-www-form-urlencoded"), (b"content-length", b"200")]}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    caplog.set_level(logging.INFO)
    asyncio.run(c.app(scope, receive, send))
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "disconnected before its POST request was read" in caplog.text
    with session_scope(store.factory) as s:
        doc = s.get(Document, docs[0].id)
        assert doc is not None and doc.state == "review"
