"""The review index: each document's review stage and flag reasons, kept beside it in the store.

The work list, ``/next`` and the supervisor's queue sort and count on these indexed columns
(``documents.review_stage``, ``review_flagged``; the ``review_reasons`` table), so they read one
page of documents, not the whole backlog (10,000 documents in review answer as fast as 100).

The index is derived, never typed in: whenever a transaction that touched a document, one of its
fields or a second entry commits, the document's entry is computed again from its fields
(:func:`refresh`, hooked on every SQLAlchemy session of the process once this module is
imported: the routing stage and the review app import it).  :func:`reindex_stale` mends a store
written by a process that had not imported it (or by an older Jimu): the review app calls it at
start and the work list whenever it finds a document in review without a stage.
"""

from __future__ import annotations

import logging
from collections import Counter
from itertools import chain
from typing import Any, Final

from sqlalchemy import and_, delete, event, func, inspect, or_, select
from sqlalchemy.orm import Session, load_only

from jimu.review.common import form_or_none, stage_of
from jimu.review.values import reason_words
from jimu.store.models import Document, FieldValue, ReviewReason, SecondEntry

log = logging.getLogger(__name__)

_TOUCHED: Final = "jimu.review.index.touched"
_BUSY: Final = "jimu.review.index.busy"
# document columns whose change cannot change the index (a lock taken or refreshed, the index itself)
_IRRELEVANT: Final = frozenset({"lock_owner", "lock_expires", "updated_at", "review_stage", "review_flagged"})
WORDS_MAX: Final = 400


def stage_for(doc: Document, fields: list[FieldValue], entries: list[SecondEntry]) -> str | None:
    """``review`` / ``second`` / ``supervisor`` / ``escalated`` for a document in review, else None."""
    if doc.state != "review":
        return None
    if doc.escalated_by:
        return "escalated"
    return stage_of(fields, entries)


def refresh(session: Session, doc_id: str) -> None:
    """Compute one document's index entry again from its fields and second entries."""
    doc = session.get(Document, doc_id)
    session.execute(delete(ReviewReason).where(ReviewReason.document_id == doc_id))
    if doc is None:
        return
    fields = list(session.scalars(select(FieldValue).options(load_only(
        FieldValue.id, FieldValue.document_id, FieldValue.field_id, FieldValue.status, FieldValue.reasons_json,
        FieldValue.sensitivity, FieldValue.corrected_by, FieldValue.checked_by,
    )).where(FieldValue.document_id == doc_id)))
    entries = list(session.scalars(select(SecondEntry).where(SecondEntry.document_id == doc_id)))
    stage = stage_for(doc, fields, entries)
    flagged = [f for f in fields if f.status == "flagged"]
    doc.review_stage = stage
    doc.review_flagged = None if stage is None else len(flagged)
    if stage is None:
        return
    form = form_or_none(doc.form_id)
    words: Counter[str] = Counter()
    for f in flagged:
        for w in dict.fromkeys(reason_words(r, form) for r in f.reasons):
            words[w[:WORDS_MAX]] += 1
    for w, n in words.items():
        session.add(ReviewReason(document_id=doc_id, words=w, fields=n))


def _stale() -> Any:
    """In review without a stage (an older store), or out of review with one (changed by a process
    that had not imported this module)."""
    return or_(and_(Document.state == "review", Document.review_stage.is_(None)),
               and_(Document.review_stage.is_not(None), Document.state != "review"))


def reindex_stale(session: Session, limit: int = 5000) -> int:
    """Index the documents whose entry is stale; how many were done."""
    ids = list(session.scalars(select(Document.id).where(_stale()).limit(limit)))
    for doc_id in ids:
        refresh(session, doc_id)
    if ids:
        log.info("review index: %d documents indexed", len(ids))
    return len(ids)


def stale_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Document).where(_stale())) or 0)


def _document_of(obj: Any) -> str | None:
    if isinstance(obj, Document):
        changed = {a.key for a in inspect(obj).attrs if a.history.has_changes()}
        return obj.id if changed - _IRRELEVANT else None  # a new document has every column changed
    if isinstance(obj, FieldValue | SecondEntry):
        return obj.document_id
    return None


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _ctx: Any) -> None:
    if session.info.get(_BUSY):
        return
    touched: set[str] = session.info.setdefault(_TOUCHED, set())
    for obj in chain(session.new, session.dirty, session.deleted):
        doc_id = _document_of(obj)
        if doc_id:
            touched.add(doc_id)


@event.listens_for(Session, "before_commit")
def _refresh_touched(session: Session) -> None:
    if session.info.get(_BUSY):
        return
    session.flush()
    touched: set[str] = session.info.pop(_TOUCHED, set())
    if not touched:
        return
    session.info[_BUSY] = True
    try:
        for doc_id in sorted(touched):
            refresh(session, doc_id)
        session.flush()
    finally:
        session.info.pop(_BUSY, None)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_TOUCHED, None)
