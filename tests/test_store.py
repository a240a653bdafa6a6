"""Record store: migrations, repository functions, idempotency, audit log, outbox transactionality.

Parametrised over SQLite (always) and the real PostgreSQL (``integration``; a fresh database per test).
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from jimu.errors import AppendOnlyError, StateTransitionError, StoreError
from jimu.forms_schema import get_form
from jimu.queue.message import build_record_message, record_id_for, validate_record_message
from jimu.settings import Settings
from jimu.store import repo
from jimu.store.db import (
    current_revision,
    dispose_engines,
    downgrade,
    get_engine,
    head_revision,
    init_db,
    session_scope,
    upgrade,
)
from jimu.store.models import AuditEntry, Base, Document, OutboxMessage, User
from tests.service_helpers import create_pg_database, drop_pg_database, sample_field_inputs

FORM = "kaigo_nintei"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jimu.db'}"
        dispose_engines()
        return
    url = create_pg_database()
    try:
        yield url
    finally:
        dispose_engines()
        drop_pg_database(url)


@pytest.fixture
def factory(store_url: str) -> sessionmaker[Session]:
    return init_db(url=store_url)


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_doc(s: Session, batch_id: str, token: str, *, form_id: str = FORM) -> Document:
    doc, created = repo.add_document(s, batch_id=batch_id, sha256=sha(token), source_name=f"/inbox/{token}.pdf")
    assert created
    repo.set_document_state(s, doc, "extracting")
    repo.set_document_form(s, doc, form_id, get_form(form_id).version, ward="千葉市中央区")
    return doc


def deliver(s: Session, doc: Document, **kw: Any) -> repo.Delivery:
    return repo.deliver_record(s, doc, build_record_message(doc, doc.fields, get_form(doc.form_id or "")), **kw)


# --- migrations -----------------------------------------------------------------------------------


def test_migrations_upgrade_idempotent_and_match_models(store_url: str) -> None:
    init_db(url=store_url)
    init_db(url=store_url)  # idempotent
    engine = get_engine(store_url)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
        tables = set(inspect(conn).get_table_names())
    assert {"batches", "documents", "field_values", "audit_log", "outbox", "users", "alembic_version"} <= tables
    # down to nothing and back up again (the downgrade removes the triggers too)
    downgrade(engine, "base")
    with engine.connect() as conn:
        assert "documents" not in inspect(conn).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_default_store_is_sqlite_in_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'data' / 'jimu.db').resolve()}"
    factory = init_db(settings)
    with session_scope(factory) as s:
        repo.create_batch(s, "/inbox")
    db = tmp_path / "data" / "jimu.db"
    assert db.exists()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    dispose_engines()


def test_postgres_url_uses_psycopg3() -> None:
    s = Settings(database_url="postgresql://u:p@db.example/jimu")
    assert s.resolved_database_url == "postgresql+psycopg://u:p@db.example/jimu"


def test_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError) as ei:
        init_db(url="postgresql://nobody:secret@127.0.0.1:1/none")
    assert "secret" not in str(ei.value)
    dispose_engines()


# --- documents ------------------------------------------------------------------------------------


def test_same_sha_twice_returns_the_existing_document(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b1 = repo.create_batch(s, "/inbox", trigger="schedule")
        d1, created1 = repo.add_document(s, batch_id=b1.id, sha256=sha("a"), source_name="/inbox/scan 1.pdf")
    with session_scope(factory) as s:
        b2 = repo.create_batch(s, "/inbox")
        d2, created2 = repo.add_document(s, batch_id=b2.id, sha256=sha("a"), source_name="scan-again.pdf")
        assert s.scalar(select(func.count()).select_from(Document)) == 1
    assert (created1, created2) == (True, False)
    assert d2.id == d1.id and d2.batch_id == b1.id
    assert d1.source_name == "scan 1.pdf"  # file name only
    assert d1.file_sha256 == sha("a")
    with session_scope(factory) as s:
        assert repo.find_document_by_sha(s, sha("a")) is not None
        assert repo.find_document_by_sha(s, sha("b")) is None
        actions = [e.action for e in repo.audit_entries(s, document_id=d1.id)]
    assert actions == ["document.received", "document.seen_again"]


def test_feeder_file_documents_share_the_file_sha(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        d0, _ = repo.add_document(s, batch_id=b.id, sha256=sha("feed") + "#0", source_name="feed.tiff")
        d1, _ = repo.add_document(s, batch_id=b.id, sha256=sha("feed") + "#1", source_name="feed.tiff")
    assert d0.id != d1.id and d0.file_sha256 == d1.file_sha256 == sha("feed")


def test_state_machine(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        doc, _ = repo.add_document(s, batch_id=b.id, sha256=sha("sm"), source_name="x.png")
        assert doc.state == "received"
        with pytest.raises(StateTransitionError):
            repo.set_document_state(s, doc, "delivered")
        repo.set_document_state(s, doc, "extracting")
        repo.set_document_state(s, doc, "extracting")  # same state: no-op
        repo.set_document_state(s, doc, "review")
        with pytest.raises(StateTransitionError):
            repo.set_document_state(s, doc, "received")
        with pytest.raises(StateTransitionError):
            repo.set_document_state(s, doc, "bogus")  # type: ignore[arg-type]
        repo.set_document_state(s, doc, "rejected", actor="op1", reason="not a ward form")
        entries = [e for e in repo.audit_entries(s, document_id=doc.id) if e.action == "document.state"]
    assert [e.detail for e in entries] == [
        {"from": "received", "to": "extracting"},
        {"from": "extracting", "to": "review"},
        {"from": "review", "to": "rejected"},
    ]
    assert entries[-1].actor == "op1"


def test_quarantine_and_reprocess(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        doc, _ = repo.add_document(s, batch_id=b.id, sha256=sha("q"), source_name="q.pdf")
        repo.set_document_state(s, doc, "extracting")
        repo.quarantine_document(s, doc, "encrypted_pdf", "The PDF has a password.")
    with session_scope(factory) as s:
        doc = repo.get_document(s, doc.id)
        assert (doc.state, doc.quarantine_code, doc.quarantine_message) == (
            "quarantined", "encrypted_pdf",
            "パスワード付きのPDFです。パスワードを外すか、紙を再スキャンしてください。 / The PDF has a password.")
        repo.set_document_state(s, doc, "extracting", reason="reprocess")
        assert doc.quarantine_code is None
    with session_scope(factory) as s, pytest.raises(StoreError):
        repo.get_document(s, "no-such-id")


def test_save_fields_replaces_on_reprocess(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        doc = new_doc(s, b.id, "fields")
        repo.save_fields(s, doc, sample_field_inputs(FORM, "1", status="flagged"))
        key1 = doc.content_key
    with session_scope(factory) as s:
        doc = repo.get_document(s, doc.id)
        assert len(doc.fields) == len(get_form(FORM).leaf_fields())
        fv = next(f for f in doc.fields if f.field_id == "mynumber")
        assert fv.sensitivity == "restricted" and fv.status == "flagged" and fv.crop_png == b"\x89PNG fake"
        repo.save_fields(s, doc, sample_field_inputs(FORM, "2"))
    with session_scope(factory) as s:
        doc = repo.get_document(s, doc.id)
        assert {f.status for f in doc.fields} == {"accepted"}
        assert next(f for f in doc.fields if f.field_id == "name").value == "テスト2"
        assert doc.content_key and doc.content_key != key1


def test_finish_batch_counts(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox", trigger="schedule")
        d1 = new_doc(s, b.id, "c1")
        repo.save_fields(s, d1, sample_field_inputs(FORM, "c1"))
        deliver(s, d1)
        d2 = new_doc(s, b.id, "c2")
        repo.set_document_state(s, d2, "review")
        d3, _ = repo.add_document(s, batch_id=b.id, sha256=sha("c3"), source_name="c3.pdf")
        repo.quarantine_document(s, d3, "blank_page", "blank")
        batch = repo.finish_batch(s, b.id, n_files=3)
    assert (batch.state, batch.n_files, batch.n_documents, batch.n_accepted, batch.n_review, batch.n_quarantined) == (
        "finished", 3, 3, 1, 1, 1)
    assert batch.finished_at is not None and batch.finished_at.tzinfo is not None


# --- rescans (content key) -----------------------------------------------------------------------


def test_content_key_detects_a_rescan(factory: sessionmaker[Session]) -> None:
    token = uuid.uuid4().hex
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        first = new_doc(s, b.id, "scan-1")
        repo.save_fields(s, first, sample_field_inputs(FORM, token))
        assert deliver(s, first).queued
    with session_scope(factory) as s:  # the same paper scanned again: other bytes, same values
        b = repo.create_batch(s, "/inbox")
        again = new_doc(s, b.id, "scan-2")
        repo.save_fields(s, again, sample_field_inputs(FORM, token))
        assert again.content_key == first.content_key
        found = repo.find_by_content_key(s, again.content_key, exclude_document_id=again.id)
        assert found is not None and found.id == first.id
        result = deliver(s, again)  # deliver_record refuses it by itself
        assert (result.queued, result.duplicate_of) == (False, first.id)
        assert (again.state, again.duplicate_of) == ("duplicate", first.id)
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        # a supervisor can override: it is a genuine second application
        again = repo.get_document(s, again.id)
        result = deliver(s, again, actor="sup1", allow_duplicate=True)
        assert result.queued and again.state == "accepted" and again.duplicate_of is None


def test_corrections_that_make_a_rescan_identical_are_caught_at_delivery(factory: sessionmaker[Session]) -> None:
    token = uuid.uuid4().hex
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        first = new_doc(s, b.id, "clean-scan")
        repo.save_fields(s, first, sample_field_inputs(FORM, token))
        assert deliver(s, first).queued
        # a poor rescan of the same paper: OCR misread the name, an operator fixes it in review
        poor = new_doc(s, b.id, "poor-scan")
        repo.save_fields(s, poor, sample_field_inputs(FORM, token + "誤", status="flagged"))
        assert poor.content_key != first.content_key
        for f in sample_field_inputs(FORM, token):
            repo.correct_field(s, poor, f.field_id, f.value, operator="op1")
        assert poor.content_key == first.content_key
        result = deliver(s, poor)
        assert (result.queued, result.duplicate_of, poor.state) == (False, first.id, "duplicate")
        # the first one, re-run with the same values, is "unchanged", not a duplicate of anything
        repo.set_document_state(s, first, "extracting")
        assert deliver(s, first).unchanged
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_content_key_ignores_nearly_empty_reads() -> None:
    assert repo.compute_content_key(FORM, {"a": None, "b": "", "c": "x", "d": []}) is None
    k1 = repo.compute_content_key(FORM, {"a": "1", "b": "2", "c": "3"})
    assert k1 == repo.compute_content_key(FORM, {"c": "3", "b": "2", "a": "1"})
    assert k1 != repo.compute_content_key("other_form", {"a": "1", "b": "2", "c": "3"})


# --- delivery -------------------------------------------------------------------------------------


def test_deliver_record_versions(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        doc = new_doc(s, b.id, "ver")
        repo.save_fields(s, doc, sample_field_inputs(FORM, "v"))
        r1 = deliver(s, doc)
        assert doc.record_id == record_id_for(sha("ver"), FORM, 1)
        assert (r1.queued, r1.record_version, r1.message_id) == (True, 1, f"{doc.record_id}:1")
        assert doc.state == "accepted" and doc.accepted_at is not None
    with session_scope(factory) as s:  # re-run: unchanged record → nothing new
        doc = repo.get_document(s, doc.id)
        r2 = deliver(s, doc)
        assert (r2.queued, r2.unchanged, r2.record_version) == (False, True, 1)
        assert doc.state == "accepted"  # not yet published
        repo.correct_field(s, doc, "name", "訂正太郎", operator="op7", reason="typo")
        r3 = deliver(s, doc)
        assert (r3.queued, r3.record_version, r3.message_id) == (True, 2, f"{doc.record_id}:2")
    with session_scope(factory) as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [r.message_id for r in rows] == [f"{doc.record_id}:1", f"{doc.record_id}:2"]
        import json

        body = json.loads(rows[1].payload)
        validate_record_message(body)
        assert body["fields"]["name"] == "訂正太郎"
        assert body["acceptance"]["name"]["by"] == "operator" and body["acceptance"]["name"]["operator"] == "op7"
        assert body["acceptance"]["kana"] == {"by": "auto", "confidence": 0.97}
        assert body["record_version"] == 2


def test_outbox_row_is_in_the_same_transaction(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        doc = new_doc(s, b.id, "tx")
        repo.save_fields(s, doc, sample_field_inputs(FORM, "tx"))
        doc_id = doc.id
    s = factory()
    try:
        doc = repo.get_document(s, doc_id)
        assert deliver(s, doc).queued
        s.rollback()  # e.g. the process died before commit
    finally:
        s.close()
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        doc = repo.get_document(s, doc_id)
        assert (doc.state, doc.record_version) == ("extracting", 0)
    with session_scope(factory) as s:
        doc = repo.get_document(s, doc_id)
        deliver(s, doc)
    with session_scope(factory) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert repo.pending_outbox_count(s) == 1


def test_deliver_refuses_flagged_fields_and_wrong_form(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        doc = new_doc(s, b.id, "flag")
        repo.save_fields(s, doc, sample_field_inputs(FORM, "f", status="flagged"))
        with pytest.raises(StoreError, match="flagged"):
            build_record_message(doc, doc.fields, get_form(FORM))
        with pytest.raises(StoreError, match="not jumin_idou"):
            build_record_message(doc, doc.fields, get_form("jumin_idou"))
        with pytest.raises(StoreError, match="fields do not match"):
            build_record_message(doc, doc.fields[:-1], get_form(FORM))


# --- audit log ------------------------------------------------------------------------------------


def test_audit_is_append_only(factory: sessionmaker[Session], store_url: str) -> None:
    with session_scope(factory) as s:
        entry = repo.append_audit(s, "op1", "field.correct", document_id="d", field_id="name",
                                  old_value="山田", new_value="山本", reason="typo", detail={"k": 1})
        entry_id = entry.id
    # through the ORM: refused in code
    with pytest.raises(AppendOnlyError), session_scope(factory) as s:
        e = s.get(AuditEntry, entry_id)
        assert e is not None
        e.reason = "rewritten"
    with pytest.raises(AppendOnlyError), session_scope(factory) as s:
        e = s.get(AuditEntry, entry_id)
        s.delete(e)
    with pytest.raises(AppendOnlyError), session_scope(factory) as s:
        s.execute(update(AuditEntry).values(reason="x"))
    # below the ORM: the database triggers refuse it (SQLite and PostgreSQL)
    for sql in ("UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log"):
        with get_engine(store_url).connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(sql))
    with pytest.raises(AppendOnlyError), session_scope(factory) as s:
        s.execute(text("UPDATE audit_log SET reason = 'x'"))
    with session_scope(factory) as s:
        e = s.get(AuditEntry, entry_id)
        assert e is not None and e.reason == "typo" and e.detail == {"k": 1}
        assert (e.old_value_masked, e.new_value_masked) == ('"山田"', '"山本"')


@pytest.mark.integration
def test_postgres_trigger_refuses_truncate() -> None:
    url = create_pg_database()
    try:
        init_db(url=url)
        with get_engine(url).connect() as conn, pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("TRUNCATE audit_log"))
    finally:
        dispose_engines()
        drop_pg_database(url)


def test_audit_masks_restricted_values(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        doc = new_doc(s, b.id, "mask")
        repo.save_fields(s, doc, sample_field_inputs(FORM, "m", status="flagged"))
        repo.correct_field(s, doc, "mynumber", "123456789018", operator="op2")
        e = next(e for e in repo.audit_entries(s, document_id=doc.id) if e.field_id == "mynumber")
    assert e.action == "field.correct"
    assert "1234" not in (e.old_value_masked or "") + (e.new_value_masked or "")
    assert e.new_value_masked == "*" * 12


# --- users ----------------------------------------------------------------------------------------


def test_users_have_unique_names(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        s.add(User(name="sato", role="supervisor", password_hash="argon2$..."))
    with pytest.raises(StoreError), session_scope(factory) as s:
        s.add(User(name="sato", role="operator", password_hash="x"))
    with session_scope(factory) as s:
        u = s.scalars(select(User)).one()
        assert (u.role, u.active) == ("supervisor", True)


def test_review_lock(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        b = repo.create_batch(s, "/inbox")
        doc = new_doc(s, b.id, "lock")
        assert repo.lock_document(s, doc, "op1")
        assert not repo.lock_document(s, doc, "op2")
        assert repo.lock_document(s, doc, "op1")  # renew
        repo.unlock_document(s, doc, "op1")
        assert repo.lock_document(s, doc, "op2")
