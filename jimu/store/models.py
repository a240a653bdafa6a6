"""The record store's tables (SQLAlchemy 2 typed ORM).

One schema for SQLite (the embedded default) and PostgreSQL; Alembic owns the DDL
(``jimu/store/migrations``), these classes mirror it.  JSON values are stored as JSON *text*
(``*_json`` columns) so that "no value" (SQL NULL) and "the value null" (``'null'``) stay distinct
on both databases.  Times are timezone-aware UTC in Python on both databases.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

BATCH_STATES: Final = ("running", "finished", "failed")
CLAIM_STATES: Final = ("pending", "claimed", "done")
DOCUMENT_STATES: Final = (
    "received",
    "extracting",
    "review",
    "accepted",
    "delivered",
    "quarantined",
    "rejected",
    "duplicate",
)
FIELD_STATUSES: Final = ("accepted", "flagged")
ROLES: Final = ("operator", "supervisor", "admin")
SENSITIVITIES: Final = ("normal", "restricted")

# Integer primary keys: BIGINT on PostgreSQL, INTEGER (= rowid alias, autoincrement) on SQLite.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A UUIDv7-style id as text: time-ordered (sorts by creation), 74 random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68 & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


class UTCDateTime(TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE`` on PostgreSQL; on SQLite naive text that is always UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the record store; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def dumps(value: Any) -> str:
    """Canonical JSON text (sorted keys, no ASCII escaping) — used for stored values and hashes."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (CheckConstraint(f"state IN {BATCH_STATES!r}", name="state"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source_path: Mapped[str] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(32), default="manual")  # schedule | manual | cli | reprocess
    state: Mapped[str] = mapped_column(String(16), default="running")
    n_files: Mapped[int] = mapped_column(Integer, default=0)
    n_documents: Mapped[int] = mapped_column(Integer, default=0)
    n_accepted: Mapped[int] = mapped_column(Integer, default=0)  # accepted or delivered
    n_review: Mapped[int] = mapped_column(Integer, default=0)
    n_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    n_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    n_rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)  # why a batch failed (no personal data)
    owner: Mapped[str | None] = mapped_column(String(128))  # host:pid of the process running it

    documents: Mapped[list[Document]] = relationship(back_populates="batch")


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(f"state IN {DOCUMENT_STATES!r}", name="state"),
        Index("ix_documents_batch_id", "batch_id"),
        Index("ix_documents_content_key", "content_key"),
        Index("ix_documents_record_id", "record_id"),
        Index("ix_documents_state", "state"),
        Index("ix_documents_review_queue", "review_stage", "created_at", "id"),
        Index("ix_documents_assignee", "assignee"),
        Index("ix_documents_state_review_stage", "state", "review_stage"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"))
    # sha256 of the file's bytes, plus "#n" for the n-th document of a multi-document feeder file.
    sha256: Mapped[str] = mapped_column(String(80), unique=True)
    file_sha256: Mapped[str] = mapped_column(String(64))
    source_name: Mapped[str] = mapped_column(String(255))  # file name only, never a path
    page_count: Mapped[int | None] = mapped_column(Integer)
    ward: Mapped[str | None] = mapped_column(String(32))
    form_id: Mapped[str | None] = mapped_column(String(64))
    form_version: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="received")
    record_id: Mapped[str | None] = mapped_column(String(36))
    record_version: Mapped[int] = mapped_column(Integer, default=0)  # last version written to the outbox
    delivered_key: Mapped[str | None] = mapped_column(String(64))  # hash of the last record version's values
    content_key: Mapped[str | None] = mapped_column(String(64))  # form_id + canonical values (rescan check)
    duplicate_of: Mapped[str | None] = mapped_column(ForeignKey("documents.id"))
    quarantine_code: Mapped[str | None] = mapped_column(String(32))
    quarantine_message: Mapped[str | None] = mapped_column(Text)
    original_path: Mapped[str | None] = mapped_column(Text)  # inside the data dir, by sha256
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    lock_owner: Mapped[str | None] = mapped_column(String(64))
    lock_expires: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # kept by jimu.review.index from the fields (NULL when not in review): what the queues sort on
    review_stage: Mapped[str | None] = mapped_column(String(16))
    review_flagged: Mapped[int | None] = mapped_column(Integer)
    assignee: Mapped[str | None] = mapped_column(String(64))  # an operator's own queue (supervisor assigns)
    postponed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    postponed_by: Mapped[str | None] = mapped_column(String(64))
    postpone_reason: Mapped[str | None] = mapped_column(Text)
    escalated_by: Mapped[str | None] = mapped_column(String(64))  # set: waits in the supervisor's queue
    escalation_reason: Mapped[str | None] = mapped_column(Text)

    batch: Mapped[Batch] = relationship(back_populates="documents")
    fields: Mapped[list[FieldValue]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="FieldValue.id"
    )


class FieldValue(Base):
    __tablename__ = "field_values"
    __table_args__ = (
        UniqueConstraint("document_id", "field_id"),
        CheckConstraint(f"status IN {FIELD_STATUSES!r}", name="status"),
        CheckConstraint(f"sensitivity IN {SENSITIVITIES!r}", name="sensitivity"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    field_id: Mapped[str] = mapped_column(String(128))  # leaf id, e.g. "members[0].name"
    kind: Mapped[str] = mapped_column(String(32))
    value_json: Mapped[str] = mapped_column(Text, default="null")  # canonical value as read
    confidence: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="flagged")
    reasons_json: Mapped[str] = mapped_column(Text, default="[]")  # list of reason strings
    crop_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    crop_path: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32), default="ocr")  # ocr | text_layer | operator
    operator_value_json: Mapped[str | None] = mapped_column(Text)  # NULL: no operator value; 'null': set empty
    corrected_by: Mapped[str | None] = mapped_column(String(64))  # operator who decided (changed or confirmed)
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    checked_by: Mapped[str | None] = mapped_column(String(64))  # supervisor second check (restricted fields)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sensitivity: Mapped[str] = mapped_column(String(16), default="normal")

    document: Mapped[Document] = relationship(back_populates="fields")

    @property
    def value(self) -> Any:
        """The value as read (canonical)."""
        return json.loads(self.value_json)

    @property
    def reasons(self) -> list[str]:
        return list(json.loads(self.reasons_json))

    @property
    def effective_value(self) -> Any:
        """The operator's value when there is one, else the value as read."""
        if self.operator_value_json is not None:
            return json.loads(self.operator_value_json)
        return self.value


class AuditEntry(Base):
    """Append-only: no update or delete API, refused by the session hooks in ``jimu.store.db`` and by
    database triggers (SQLite and PostgreSQL) created in the initial migration."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_document_id", "document_id"), Index("ix_audit_log_at", "at"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # user name, or "system" / "batch"
    action: Mapped[str] = mapped_column(String(64))  # e.g. document.state, field.correct, record.queued
    document_id: Mapped[str | None] = mapped_column(String(36))  # no FK: the log outlives anything it names
    field_id: Mapped[str | None] = mapped_column(String(128))
    old_value_masked: Mapped[str | None] = mapped_column(Text)
    new_value_masked: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    detail_json: Mapped[str | None] = mapped_column(Text)

    @property
    def detail(self) -> dict[str, Any] | None:
        return None if self.detail_json is None else dict(json.loads(self.detail_json))


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "published_at", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(String(36))
    record_version: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(80), unique=True)  # f"{record_id}:{record_version}"
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"))
    payload: Mapped[str] = mapped_column(Text)  # the record message, JSON text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="operator")
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


def _refuse_audit_change(_mapper: Any, _connection: Any, target: AuditEntry) -> None:
    from jimu.errors import AppendOnlyError

    raise AppendOnlyError(f"the audit log is append-only; entry {target.id} cannot be changed or deleted")


event.listen(AuditEntry, "before_update", _refuse_audit_change)
event.listen(AuditEntry, "before_delete", _refuse_audit_change)


class SecondEntry(Base):
    """A blind second entry of a restricted field (review UI), kept until it matches or a supervisor decides."""

    __tablename__ = "review_second_entries"
    __table_args__ = (Index("ix_review_second_entries_document_id", "document_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(String(36))
    field_value_id: Mapped[int] = mapped_column(BigInteger)  # FieldValue.id (a reprocessed field gets a new id)
    field_id: Mapped[str] = mapped_column(String(128))
    operator: Mapped[str] = mapped_column(String(64))
    value_json: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReviewReason(Base):
    """One flag reason (in the words the work list shows) of a document in review, with how many of
    its fields carry it: the work list counts reasons over the backlog in SQL (jimu.review.index)."""

    __tablename__ = "review_reasons"
    __table_args__ = (
        Index("ix_review_reasons_document_id", "document_id"),
        Index("ix_review_reasons_words", "words"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    words: Mapped[str] = mapped_column(String(400))
    fields: Mapped[int] = mapped_column(Integer)


class FileClaim(Base):
    """An inbox file taken by a batch: the ledger of what was read, and the unit of work a worker
    claims (an owner and a lease; a lease that runs out frees the file for another worker).

    ``file_key`` names the file as it lay in the inbox (path, size, modification time): a file
    already done is not read again, and two runs over one inbox never take the same file."""

    __tablename__ = "file_claims"
    __table_args__ = (
        CheckConstraint(f"state IN {CLAIM_STATES!r}", name="state"),
        Index("ix_file_claims_batch_state", "batch_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    file_key: Mapped[str] = mapped_column(String(64), unique=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"))
    path: Mapped[str] = mapped_column(Text)  # as the batch listed it (an absolute inbox path)
    ward: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    owner: Mapped[str | None] = mapped_column(String(128))  # host:pid of the worker holding it
    lease_expires: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result_json: Mapped[str | None] = mapped_column(Text)  # what became of the file (no values)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
