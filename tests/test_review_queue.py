"""The review queues at scale and the hand-offs: the review index, pagination, /next's order,
postpone, escalate, assignment, unlock, taking back the last approval, the supervisor's diff and
the page image cache."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from jimu.bench.review_scale import build_backlog, index_matches
from jimu.review import index as review_index
from jimu.review.double_entry import diff_parts
from jimu.review.seed import seed_document
from jimu.review.values import reason_words
from jimu.review.worklist import Filters, next_document, work_list
from jimu.store.db import dispose_engines, session_scope
from jimu.store.models import AuditEntry, Document, FieldValue, OutboxMessage, ReviewReason, utcnow
from tests.review_helpers import Store, add_user, csrf, login, make_client, make_store, review_settings_for_tests


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = make_store(tmp_path)
    for name, role in (("op1", "operator"), ("op2", "operator"), ("sv1", "supervisor")):
        add_user(st.factory, name, role)
    yield st
    dispose_engines()


def client_as(store: Store, name: str, **settings: Any) -> Any:
    c = make_client(store, review_settings_for_tests(**settings))
    assert login(c, name).status_code == 303
    c.token = csrf(c)
    return c


def doc_of(store: Store, doc_id: str) -> Document:
    with session_scope(store.factory) as s:
        d = s.get(Document, doc_id)
        assert d is not None
        s.expunge(d)
        return d


def actions(store: Store, doc_id: str) -> list[str]:
    with session_scope(store.factory) as s:
        return list(s.scalars(select(AuditEntry.action).where(AuditEntry.document_id == doc_id)
                              .order_by(AuditEntry.id)))


# ------------------------------------------------------------------------------------------ the index


def test_the_index_follows_every_change_of_a_document(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="jumin_idou", seed=201, n_misread=2)
    doc = doc_of(store, d.id)
    assert doc.review_stage == "review" and doc.review_flagged == len(d.flagged)
    with session_scope(store.factory) as s:
        words = set(s.scalars(select(ReviewReason.words).where(ReviewReason.document_id == d.id)))
        flagged = s.scalars(select(FieldValue).where(FieldValue.document_id == d.id, FieldValue.status == "flagged"))
        assert words == {reason_words(r, _form(d.form_id)) for f in flagged for r in f.reasons} and words
    c = client_as(store, "op1", relay_after_approve=False)
    c.get(f"/documents/{d.id}")
    c.post(f"/documents/{d.id}/escalate", data={"csrf_token": c.token, "reason": "読めない"})
    assert doc_of(store, d.id).review_stage == "escalated"
    sv = client_as(store, "sv1")
    sv.post(f"/supervisor/documents/{d.id}/return", data={"csrf_token": sv.token})
    assert doc_of(store, d.id).review_stage == "review"
    c.post(f"/documents/{d.id}/reject", data={"csrf_token": c.token, "code": "illegible", "note": ""})
    doc = doc_of(store, d.id)
    assert doc.state == "rejected" and doc.review_stage is None
    with session_scope(store.factory) as s:
        assert s.scalar(select(func.count()).select_from(ReviewReason).where(ReviewReason.document_id == d.id)) == 0


def _form(form_id: str | None) -> Any:
    from jimu.forms_schema import get_form

    assert form_id
    return get_form(form_id)


def test_a_store_written_without_the_index_is_mended(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=202, n_misread=1)
    with session_scope(store.factory) as s:
        s.get(Document, d.id).review_stage = None  # type: ignore[union-attr]
        s.get(Document, d.id).review_flagged = None  # type: ignore[union-attr]
    assert doc_of(store, d.id).review_stage is None
    with session_scope(store.factory) as s:
        assert review_index.stale_count(s) == 1
        wl = work_list(s, Filters(), "op1", "operator")
    assert [r.id for r in wl.rows] == [d.id] and doc_of(store, d.id).review_stage == "review"


def test_the_bulk_backlog_agrees_with_the_index_computed_from_its_fields(store: Store) -> None:
    build_backlog(store.factory, 60, seed=3)
    with session_scope(store.factory) as s:
        assert index_matches(s) == []


# ------------------------------------------------------------------------------------------ pagination


@pytest.fixture
def backlog(store: Store) -> list[str]:
    return build_backlog(store.factory, 123, seed=5, batches=4)


def test_the_work_list_is_paginated_oldest_first(store: Store, backlog: list[str]) -> None:
    with session_scope(store.factory) as s:
        pages = [work_list(s, Filters(), "op1", "operator", page=p, per_page=50) for p in (1, 2, 3, 4)]
    assert [len(p.rows) for p in pages] == [50, 50, 23, 23]  # a page past the end shows the last one
    assert [r.id for p in pages[:3] for r in p.rows] == backlog
    assert all(p.total == 123 and p.pages == 3 for p in pages)
    assert pages[3].page == 3


def test_the_counts_cover_the_whole_backlog_not_only_the_page(store: Store, backlog: list[str]) -> None:
    with session_scope(store.factory) as s:
        wl = work_list(s, Filters(), "op1", "operator", page=2, per_page=10)
        fields_by_words: Counter[str] = Counter()
        docs_by_words: Counter[str] = Counter()
        for doc_id in backlog:
            doc = s.get(Document, doc_id)
            assert doc is not None
            form = _form(doc.form_id)
            seen: set[str] = set()
            for f in doc.fields:
                if f.status == "flagged":
                    for w in dict.fromkeys(reason_words(r, form) for r in f.reasons):
                        fields_by_words[w] += 1
                        seen.add(w)
            docs_by_words.update(seen)
    assert {w: (n, d) for w, n, d in wl.reason_counts} == {w: (fields_by_words[w], docs_by_words[w])
                                                            for w in fields_by_words}
    assert wl.stage_counts == {"review": 123} and len(wl.rows) == 10


@pytest.mark.parametrize("filt", ["form", "batch", "ward"])
def test_filters_apply_to_rows_and_counts(store: Store, backlog: list[str], filt: str) -> None:
    with session_scope(store.factory) as s:
        docs = [s.get(Document, i) for i in backlog]
        value = getattr(docs[7], {"form": "form_id", "batch": "batch_id", "ward": "ward"}[filt])
        expected = [d.id for d in docs if d is not None and getattr(d, {"form": "form_id", "batch": "batch_id",
                                                                        "ward": "ward"}[filt]) == value]
        wl = work_list(s, Filters(**{filt: value}), "op1", "operator", per_page=500)
    assert [r.id for r in wl.rows] == expected and wl.total == len(expected)
    assert sum(wl.stage_counts.values()) == len(expected)


def test_the_work_list_page_is_served_with_a_pager(store: Store, backlog: list[str]) -> None:
    c = client_as(store, "op1", worklist_limit=50)
    page2 = c.get("/worklist?page=2").text
    assert "51〜100件目" in page2 and 'rel="prev"' in page2 and 'rel="next"' in page2
    ids_on_2 = [i for i in backlog if f"/documents/{i}" in page2]
    assert ids_on_2 == backlog[50:100]


# ------------------------------------------------------------------------------------------ /next


def test_next_serves_my_assigned_documents_first_and_never_others_assigned(store: Store, backlog: list[str]) -> None:
    sv = client_as(store, "sv1")
    assert sv.post("/supervisor/assign", data={"csrf_token": sv.token, "doc": backlog[40], "assignee": "op1"},
                   follow_redirects=False).status_code == 303
    sv.post("/supervisor/assign", data={"csrf_token": sv.token, "doc": backlog[0], "assignee": "op2"})
    with session_scope(store.factory) as s:
        assert next_document(s, Filters(), "op1", "operator", set()) == backlog[40]
        assert next_document(s, Filters(), "op2", "operator", set()) == backlog[0]
        assert next_document(s, Filters(), "op1", "operator", {backlog[40]}) == backlog[1]  # not op2's
        mine = work_list(s, Filters(mine=True), "op1", "operator")
    assert [r.id for r in mine.rows] == [backlog[40]] and mine.rows[0].assignee == "op1"
    assert [a for a in actions(store, backlog[40]) if a == "review.assign"] == ["review.assign"]


def test_assigning_to_someone_unknown_is_refused(store: Store, backlog: list[str]) -> None:
    sv = client_as(store, "sv1")
    r = sv.post("/supervisor/assign", data={"csrf_token": sv.token, "doc": backlog[0], "assignee": "nobody"})
    assert r.status_code == 409 and "登録されていません" in r.text
    op = client_as(store, "op1")
    assert op.post("/supervisor/assign", data={"csrf_token": op.token, "doc": backlog[0],
                                                "assignee": "op1"}).status_code == 403


def test_a_whole_batch_is_assigned_at_once(store: Store, backlog: list[str]) -> None:
    with session_scope(store.factory) as s:
        batch = s.get(Document, backlog[0]).batch_id  # type: ignore[union-attr]
        n_batch = s.scalar(select(func.count()).select_from(Document).where(Document.batch_id == batch))
    sv = client_as(store, "sv1")
    sv.post("/supervisor/assign", data={"csrf_token": sv.token, "batch": batch, "assignee": "op2", "back": "supervisor"})
    with session_scope(store.factory) as s:
        assert s.scalar(select(func.count()).select_from(Document).where(Document.assignee == "op2")) == n_batch


def test_postponed_and_locked_documents_are_not_served(store: Store) -> None:
    a = seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=211, n_misread=1)
    b = seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=212, n_misread=1)
    op1 = client_as(store, "op1")
    op1.get(f"/documents/{a.id}")
    r = op1.post(f"/documents/{a.id}/postpone", data={"csrf_token": op1.token, "minutes": "30", "reason": "照会中"},
                 follow_redirects=False)
    assert r.status_code == 303
    doc = doc_of(store, a.id)
    assert doc.postponed_by == "op1" and doc.postponed_until is not None and doc.lock_owner is None
    op2 = client_as(store, "op2")
    assert op2.get("/next", follow_redirects=False).headers["location"] == f"/documents/{b.id}"
    assert "30" not in (doc.postpone_reason or "") and "保留" in op2.get("/worklist").text
    op2.get(f"/documents/{b.id}")  # op2 holds b now
    assert op1.get("/next", follow_redirects=False).headers["location"] == "/worklist"
    assert op1.post(f"/documents/{a.id}/postpone", data={"csrf_token": op1.token, "minutes": "7"}).status_code == 409
    with session_scope(store.factory) as s:  # the time is up: served again
        s.get(Document, a.id).postponed_until = utcnow() - dt.timedelta(minutes=1)  # type: ignore[union-attr]
    assert op1.get("/next", follow_redirects=False).headers["location"] == f"/documents/{a.id}"


def test_a_supervisor_unlocks_a_document_left_open(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=213, n_misread=1)
    op1, op2 = client_as(store, "op1"), client_as(store, "op2")
    op1.get(f"/documents/{d.id}")
    assert op2.get(f"/documents/{d.id}").status_code == 409
    sv = client_as(store, "sv1")
    assert "op1 さんが作業中" in sv.get("/worklist").text
    assert op2.post("/supervisor/unlock", data={"csrf_token": op2.token, "doc": d.id}).status_code == 403
    sv.post("/supervisor/unlock", data={"csrf_token": sv.token, "doc": d.id})
    assert op2.get(f"/documents/{d.id}").status_code == 200
    with session_scope(store.factory) as s:
        [unlock] = s.scalars(select(AuditEntry).where(AuditEntry.action == "review.unlock")).all()
        assert unlock.actor == "sv1" and unlock.detail == {"held_by": "op1"}


# ------------------------------------------------------------------------------------------ escalation


def test_escalation_waits_for_a_supervisor_who_may_approve_it(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=221, wrong={})
    op1 = client_as(store, "op1", relay_after_approve=False)
    op1.get(f"/documents/{d.id}")
    assert op1.post(f"/documents/{d.id}/escalate", data={"csrf_token": op1.token, "reason": " "}).status_code == 409
    op1.post(f"/documents/{d.id}/escalate", data={"csrf_token": op1.token, "reason": "請求者の続柄が不明"})
    op2 = client_as(store, "op2")
    assert op2.get(f"/documents/{d.id}").status_code == 403
    assert op2.get("/next", follow_redirects=False).headers["location"] == "/worklist"
    assert op2.post(f"/documents/{d.id}/approve", data={"csrf_token": op2.token}).status_code == 403
    sv = client_as(store, "sv1", relay_after_approve=False)
    home = sv.get("/supervisor").text
    assert "請求者の続柄が不明" in home and f'href="/documents/{d.id}"' in home
    assert approve_as_is(sv, d.id).status_code == 303
    doc = doc_of(store, d.id)
    assert doc.state == "accepted" and doc.escalated_by is None
    assert "review.answer" in actions(store, d.id)
    assert actions(store, d.id).count("review.escalate") == 1


# ------------------------------------------------------------------------------------------ take back


def approve_as_is(c: Any, doc_id: str) -> Any:
    import re

    page = c.get(f"/documents/{doc_id}").text
    pks = re.findall(r'data-pk="(\d+)"', page)
    data = {"csrf_token": c.token, "confirmed": ",".join(pks)}
    for pk in pks:
        m = re.search(rf'name="v{pk}"[^>]*value="([^"]*)"', page) or re.search(rf'value="([^"]*)"[^>]*data-pk="{pk}"',
                                                                              page)
        if m:
            data[f"v{pk}"] = m.group(1)
    return c.post(f"/documents/{doc_id}/approve", data=data, follow_redirects=False)


def test_the_last_approval_is_taken_back_while_its_record_waits(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=231, wrong={})
    op1 = client_as(store, "op1", relay_after_approve=False)
    assert approve_as_is(op1, d.id).status_code == 303
    with session_scope(store.factory) as s:
        [row] = s.scalars(select(OutboxMessage).where(OutboxMessage.document_id == d.id)).all()
        first_id = row.message_id
    op2 = client_as(store, "op2")
    assert op2.post("/reopen", data={"csrf_token": op2.token}).status_code == 409  # op2 approved nothing
    r = op1.post("/reopen", data={"csrf_token": op1.token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/documents/{d.id}"
    doc = doc_of(store, d.id)
    assert doc.state == "review" and doc.review_stage == "review"
    with session_scope(store.factory) as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.document_id == d.id)).all() == []
    assert "review.reopen" in actions(store, d.id)
    assert approve_as_is(op1, d.id).status_code == 303  # approved again: the next version, never the same id
    with session_scope(store.factory) as s:
        [row] = s.scalars(select(OutboxMessage).where(OutboxMessage.document_id == d.id)).all()
        assert row.message_id != first_id and row.record_version == 2


def test_a_record_already_sent_cannot_be_taken_back(store: Store) -> None:
    from jimu.outbox import relay
    from jimu.queue import get_publisher

    d = seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=232, wrong={})
    op1 = client_as(store, "op1", relay_after_approve=False)
    assert approve_as_is(op1, d.id).status_code == 303
    relay(store.factory, get_publisher(store.settings))
    r = op1.post("/reopen", data={"csrf_token": op1.token})
    assert r.status_code == 403 and "すでに送信" in r.text
    assert doc_of(store, d.id).state == "delivered"


def test_the_relay_after_an_approval_waits_out_the_undo_window(store: Store) -> None:
    import time

    d = seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=233, wrong={})
    op1 = client_as(store, "op1", undo_window_s=0.6)
    assert approve_as_is(op1, d.id).status_code == 303
    assert doc_of(store, d.id).state == "accepted"  # not sent yet: Alt+Z could still take it back
    deadline = time.monotonic() + 10
    while doc_of(store, d.id).state != "delivered":
        assert time.monotonic() < deadline, "the delayed relay never ran"
        time.sleep(0.1)


# ------------------------------------------------------------------------------------------ supervisor diff


@pytest.mark.parametrize(("a", "b", "marked_a", "marked_b"), [
    ("123456789012", "123456789012", "", ""),
    ("123456789012", "123456789019", "2", "9"),
    ("123456789012", "124356789012", "4", "4"),  # a transposition marks the moved digit
    ("0012345", "012345", "0", ""),
    ("", "4444", "", "4444"),
], ids=["same", "last-digit", "transposed", "one-missing", "first-empty"])
def test_differing_characters_are_marked(a: str, b: str, marked_a: str, marked_b: str) -> None:
    pa, pb = diff_parts(a, b)
    assert "".join(s for s, _ in pa) == a and "".join(s for s, _ in pb) == b
    assert "".join(s for s, d in pa if d) == marked_a and "".join(s for s, d in pb if d) == marked_b


# ------------------------------------------------------------------------------------------ page images


def test_page_images_are_rendered_once_and_kept_on_disk(store: Store) -> None:
    from jimu.review.pageimage import PageRenderer, original_file

    d = seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=241, n_misread=1)
    doc = doc_of(store, d.id)
    path = original_file(doc.original_path, store.settings)
    assert path is not None
    r1 = PageRenderer(store.settings)
    r1.prefetch(path, doc.sha256, doc.form_id)
    png = r1.get(path, doc.sha256, doc.form_id)
    assert png is not None and png.startswith(b"\x89PNG")
    assert list((store.data_dir / "cache" / "pages").glob("*.png"))
    r2 = PageRenderer(store.settings)  # another process (or a restart): read from disk, not rendered
    import jimu.review.pageimage as pageimage

    calls: list[int] = []
    real = pageimage.render_page_png
    pageimage.render_page_png = lambda *a, **k: calls.append(1) or real(*a, **k)  # type: ignore[assignment]
    try:
        assert r2.get(path, doc.sha256, doc.form_id) == png
    finally:
        pageimage.render_page_png = real  # type: ignore[assignment]
    assert calls == []
    r1.close()
    r2.close()


def test_opening_a_document_renders_its_page_and_the_next_ones_ahead(store: Store) -> None:
    import time

    docs = [seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=250 + i, n_misread=1)
            for i in range(3)]
    op1 = client_as(store, "op1")
    op1.get(f"/documents/{docs[0].id}")
    folder = store.data_dir / "cache" / "pages"
    deadline = time.monotonic() + 60
    while len(list(folder.glob("*.png"))) < 3:
        assert time.monotonic() < deadline, "pages were not rendered ahead"
        time.sleep(0.2)
    assert op1.get(f"/documents/{docs[0].id}/page.png").status_code == 200


@pytest.mark.slow
def test_ten_thousand_documents_in_review_are_paged_counted_and_served(store: Store) -> None:
    ids = build_backlog(store.factory, 10_000, seed=9, batches=40)
    with session_scope(store.factory) as s:
        last = work_list(s, Filters(), "op1", "operator", page=200, per_page=50)
        assert last.total == 10_000 and last.pages == 200 and [r.id for r in last.rows] == ids[-50:]
        assert sum(n for _, _, n in last.reason_counts) >= 10_000  # every document has a reason
        assert next_document(s, Filters(), "op1", "operator", set()) == ids[0]
        assert review_index.stale_count(s) == 0


def test_a_document_out_of_review_with_a_stale_stage_is_not_listed_and_is_mended(store: Store) -> None:
    d = seed_document(store.factory, store.data_dir, form_id="juminhyo_kofu", seed=260, wrong={})
    with session_scope(store.factory) as s:  # as a process that never imported the index would leave it
        s.execute(__import__("sqlalchemy").update(Document).where(Document.id == d.id).values(state="rejected"))
    assert doc_of(store, d.id).review_stage == "review"
    with session_scope(store.factory) as s:
        assert work_list(s, Filters(), "op1", "operator").total == 0
    assert doc_of(store, d.id).review_stage is None
