"""Documents in the record store: the state machine, their form and fields, an operator's decision,
quarantine, rescans of the same paper (content keys), and the review lock."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jimu.errors import StateTransitionError, StoreError, quarantine_message
from jimu.queue.message import record_id_for
from jimu.store.models import DOCUMENT_STATES, Document, FieldValue, dumps, utcnow
from jimu.store.repo.audit import append_audit

DocumentState = Literal[
    "received", "extracting", "review", "accepted", "delivered", "quarantined", "rejected", "duplicate"
]

ALLOWED_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "received": frozenset({"extracting", "quarantined", "duplicate", "rejected"}),
    "extracting": frozenset({"received", "review", "accepted", "quarantined", "duplicate", "rejected"}),
    "review": frozenset({"extracting", "accepted", "quarantined", "duplicate", "rejected"}),
    "accepted": frozenset({"delivered", "extracting", "review"}),
    "delivered": frozenset({"extracting", "review", "accepted"}),
    "quarantined": frozenset({"received", "extracting", "rejected"}),
    "duplicate": frozenset({"extracting", "review", "accepted", "rejected"}),
    "rejected": frozenset({"extracting"}),
}
# States whose documents count as "the original" when looking for a rescan duplicate.
_LIVE_STATES: Final = ("received", "extracting", "review", "accepted", "delivered")
CONTENT_KEY_MIN_VALUES: Final = 3  # fewer non-empty values than this: too little to call two scans the same paper

_UNSET: Any = object()


@dataclass(frozen=True)
class FieldInput:
    """One field as the extractor + validators produced it (the value is canonical)."""

    field_id: str
    kind: str
    value: Any
    confidence: float | None
    status: Literal["accepted", "flagged"]
    reasons: Sequence[str] = ()
    crop_png: bytes | None = None
    crop_path: str | None = None
    source: str = "ocr"
    sensitivity: Literal["normal", "restricted"] = "normal"


def _nonempty(value: Any) -> bool:
    return value is not None and value != "" and value != []


def compute_content_key(form_id: str, values: Mapping[str, Any]) -> str | None:
    """Hash of the form id and the canonical values: equal for two scans of the same filled-in paper.

    ``None`` when fewer than ``CONTENT_KEY_MIN_VALUES`` values are non-empty (a nearly blank read
    must not make unrelated documents look like duplicates).
    """
    if sum(1 for v in values.values() if _nonempty(v)) < CONTENT_KEY_MIN_VALUES:
        return None
    return hashlib.sha256(dumps({"form_id": form_id, "values": dict(values)}).encode("utf-8")).hexdigest()


def get_document(session: Session, document_id: str) -> Document:
    doc = session.get(Document, document_id)
    if doc is None:
        raise StoreError(f"no document {document_id}", hint="Check the document id.")
    return doc


def find_document_by_sha(session: Session, sha256: str) -> Document | None:
    return session.scalars(select(Document).where(Document.sha256 == sha256)).one_or_none()


def add_document(
    session: Session,
    *,
    batch_id: str,
    sha256: str,
    file_sha256: str | None = None,
    source_name: str,
    original_path: str | Path | None = None,
    page_count: int | None = None,
    scanned_at: datetime | None = None,
    ward: str | None = None,
) -> tuple[Document, bool]:
    """Register a document by its sha256; ``(document, created)``.

    The same bytes seen again (the same file dropped twice, a batch run twice, another batch) return
    the existing document with ``created=False`` — the caller skips it unless it wants to reprocess.
    Safe against a concurrent insert of the same sha256 by another worker.
    """
    existing = find_document_by_sha(session, sha256)
    if existing is not None:
        _seen_again(session, existing, batch_id)
        return existing, False
    doc = Document(
        batch_id=batch_id,
        sha256=sha256,
        file_sha256=file_sha256 or sha256.split("#", 1)[0],
        source_name=Path(source_name).name,
        original_path=None if original_path is None else str(original_path),
        page_count=page_count,
        scanned_at=scanned_at,
        ward=ward,
        state="received",
    )
    try:
        with session.begin_nested():
            session.add(doc)
    except IntegrityError:
        existing = find_document_by_sha(session, sha256)
        if existing is None:
            raise
        _seen_again(session, existing, batch_id)
        return existing, False
    append_audit(session, "system", "document.received", document_id=doc.id,
                 detail={"batch_id": batch_id, "sha256": sha256})
    return doc, True


def _seen_again(session: Session, doc: Document, batch_id: str) -> None:
    append_audit(session, "system", "document.seen_again", document_id=doc.id,
                 detail={"batch_id": batch_id, "state": doc.state})


def set_document_state(
    session: Session, document: Document, state: DocumentState, *, actor: str = "system", reason: str | None = None
) -> Document:
    """Move ``document`` to ``state`` (a no-op when it is there); raises StateTransitionError otherwise."""
    if state not in DOCUMENT_STATES:
        raise StateTransitionError(f"unknown document state {state!r}")
    old = document.state
    if old == state:
        return document
    if state not in ALLOWED_TRANSITIONS[old]:
        raise StateTransitionError(f"document {document.id} cannot go from {old} to {state}")
    document.state = state
    if state != "quarantined":
        document.quarantine_code = document.quarantine_message = None
    if state != "duplicate":
        document.duplicate_of = None
    session.flush()
    append_audit(session, actor, "document.state", document_id=document.id, reason=reason,
                 detail={"from": old, "to": state})
    return document


def set_document_form(
    session: Session, document: Document, form_id: str, form_version: int, *, ward: str | None = _UNSET
) -> Document:
    """Record the classified form; sets the stable ``record_id`` (sha256 + form id + form version)."""
    document.form_id = form_id
    document.form_version = form_version
    document.record_id = record_id_for(document.sha256, form_id, form_version)
    if ward is not _UNSET:
        document.ward = ward
    session.flush()
    return document


def save_fields(session: Session, document: Document, fields: Sequence[FieldInput]) -> list[FieldValue]:
    """Store the document's fields (replacing any earlier read: reprocessing) and its ``content_key``."""
    ids = [f.field_id for f in fields]
    if len(set(ids)) != len(ids):
        raise StoreError(f"document {document.id}: a field id is given twice", hint="This is a bug in the caller.")
    if document.fields:
        document.fields.clear()
        session.flush()
    rows = [
        FieldValue(
            field_id=f.field_id,
            kind=f.kind,
            value_json=dumps(f.value),
            confidence=f.confidence,
            status=f.status,
            reasons_json=dumps(list(f.reasons)),
            crop_png=f.crop_png,
            crop_path=f.crop_path,
            source=f.source,
            sensitivity=f.sensitivity,
        )
        for f in fields
    ]
    document.fields.extend(rows)
    if document.form_id is not None:
        document.content_key = compute_content_key(document.form_id, {f.field_id: f.value for f in fields})
    session.flush()
    return rows


def correct_field(
    session: Session,
    document: Document,
    field_id: str,
    value: Any,
    *,
    operator: str,
    reason: str | None = None,
) -> FieldValue:
    """An operator decides a field (changes or confirms its value): accepted, audited (masked if restricted)."""
    fv = next((f for f in document.fields if f.field_id == field_id), None)
    if fv is None:
        raise StoreError(f"document {document.id} has no field {field_id}")
    old = fv.effective_value
    fv.operator_value_json = dumps(value)
    fv.status = "accepted"
    fv.corrected_by = operator
    fv.corrected_at = utcnow()
    if document.form_id is not None:  # the rescan check compares what the record will say
        document.content_key = compute_content_key(
            document.form_id, {f.field_id: f.effective_value for f in document.fields}
        )
    session.flush()
    append_audit(session, operator, "field.correct" if old != value else "field.confirm", document_id=document.id,
                 field_id=field_id, old_value=old, new_value=value, sensitivity=fv.sensitivity, reason=reason)
    return fv


def quarantine_document(
    session: Session, document: Document, code: str, message: str, *, actor: str = "system"
) -> Document:
    """Park a document that cannot be read, with a reason code (e.g. ``InputFileError.reason_code``)."""
    set_document_state(session, document, "quarantined", actor=actor, reason=code)
    document.quarantine_code = code
    document.quarantine_message = quarantine_message(code, message)
    session.flush()
    return document


def find_by_content_key(
    session: Session, content_key: str | None, *, exclude_document_id: str | None = None
) -> Document | None:
    """The first live document (not a duplicate, quarantined or rejected one) with this content key.

    On PostgreSQL this takes a transaction-scoped advisory lock on the key, so two workers checking
    rescans of the same paper at the same time serialise and the second sees the first.
    """
    if not content_key:
        return None
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(content_key, 0))))
    q = select(Document).where(Document.content_key == content_key, Document.state.in_(_LIVE_STATES))
    if exclude_document_id is not None:
        q = q.where(Document.id != exclude_document_id)
    return session.scalars(q.order_by(Document.created_at, Document.id).limit(1)).first()


def mark_duplicate(
    session: Session, document: Document, original: Document, *, actor: str = "system"
) -> Document:
    """Flag ``document`` as a likely rescan of ``original``: never delivered unless someone overrides it."""
    if original.id == document.id:
        raise StoreError("a document cannot be a duplicate of itself")
    set_document_state(session, document, "duplicate", actor=actor, reason="same form and values as an earlier scan")
    document.duplicate_of = original.id
    session.flush()
    return document


def lock_document(session: Session, document: Document, owner: str, *, ttl_s: float = 900.0) -> bool:
    """Take the review lock (True), or False when someone else holds an unexpired lock."""
    now = utcnow()
    if document.lock_owner not in (None, owner) and document.lock_expires is not None and document.lock_expires > now:
        return False
    document.lock_owner = owner
    document.lock_expires = now + timedelta(seconds=ttl_s)
    session.flush()
    return True


def unlock_document(session: Session, document: Document, owner: str) -> None:
    if document.lock_owner == owner:
        document.lock_owner = None
        document.lock_expires = None
        session.flush()


def document_counts(session: Session) -> dict[str, int]:
    """Documents by state (for status pages)."""
    return {str(s): int(n) for s, n in session.execute(select(Document.state, func.count()).group_by(Document.state))}
