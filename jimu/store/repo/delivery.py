"""Delivering a record: a new record version written to the outbox in the caller's transaction (or
nothing, for an unchanged record or a rescan), and what is still waiting there."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jimu.errors import StoreError
from jimu.queue.message import iso_utc, message_id_for, validate_record_message
from jimu.store.models import Document, OutboxMessage, dumps, utcnow
from jimu.store.repo.audit import append_audit
from jimu.store.repo.documents import find_by_content_key, mark_duplicate, set_document_state


@dataclass(frozen=True)
class Delivery:
    """What :func:`deliver_record` did."""

    queued: bool  # a new record version was written to the outbox
    message_id: str | None  # the (new or unchanged) record version's message id
    record_version: int
    unchanged: bool = False  # the values equal the last delivered version: nothing new was queued
    duplicate_of: str | None = None  # the document was found to be a rescan of this one (not queued)


def _values_key(body: Mapping[str, Any]) -> str:
    """Hash of what a record version says (form, version, values): unchanged key → no new version."""
    basis = {"form_id": body["form_id"], "form_version": body["form_version"], "fields": body["fields"]}
    return hashlib.sha256(dumps(basis).encode("utf-8")).hexdigest()


def deliver_record(
    session: Session,
    document: Document,
    message: Mapping[str, Any],
    *,
    actor: str = "system",
    allow_duplicate: bool = False,
) -> Delivery:
    """Accept ``document`` and write its record ``message`` to the outbox — in the caller's transaction.

    * the first delivery is ``record_version`` 1; a later call whose values equal the last delivered
      version queues nothing (re-runs and reprocessing never publish a second copy of an unchanged
      record); changed values queue version n+1 under the same ``record_id``;
    * a document whose ``content_key`` matches another live document (one not quarantined, rejected
      or itself a duplicate) is marked ``duplicate`` and nothing is queued, unless ``allow_duplicate``
      (a supervisor's override);
    * the message is validated against the published JSON Schema first.

    The relay (:mod:`jimu.outbox`) publishes the row after commit and moves the document to ``delivered``.
    """
    if document.record_id is None or document.form_id is None:
        raise StoreError(f"document {document.id} has no form/record id", hint="Call repo.set_document_form first.")
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.refresh(document, with_for_update=True)  # serialise concurrent deliveries of one document
    body = dict(message)
    for key, expected in (("record_id", document.record_id), ("form_id", document.form_id),
                          ("document_sha256", document.sha256)):
        if body.get(key) != expected:
            raise StoreError(f"record message {key} does not match document {document.id}",
                             hint="Build the message from this document (build_record_message).")
    key = _values_key(body)
    if document.record_version > 0 and document.delivered_key == key:
        message_id = message_id_for(document.record_id, document.record_version)
        published = session.scalar(select(OutboxMessage.published_at).where(OutboxMessage.message_id == message_id))
        set_document_state(session, document, "accepted", actor=actor, reason="unchanged record; nothing new queued")
        if published is not None:
            set_document_state(session, document, "delivered", actor=actor, reason="this record version was delivered")
        return Delivery(queued=False, message_id=message_id, record_version=document.record_version, unchanged=True)
    if not allow_duplicate and document.content_key:
        original = find_by_content_key(session, document.content_key, exclude_document_id=document.id)
        if original is not None:
            mark_duplicate(session, document, original, actor=actor)
            return Delivery(queued=False, message_id=None, record_version=document.record_version,
                            duplicate_of=original.id)
    version = document.record_version + 1
    now = utcnow()
    body["record_version"] = version
    body["timestamps"] = {**dict(body.get("timestamps") or {}), "accepted": iso_utc(now)}
    validate_record_message(body)
    set_document_state(session, document, "accepted", actor=actor)
    message_id = message_id_for(document.record_id, version)
    document.record_version = version
    document.delivered_key = key
    document.accepted_at = now
    session.add(OutboxMessage(record_id=document.record_id, record_version=version, message_id=message_id,
                              document_id=document.id, payload=dumps(body), created_at=now, attempts=0))
    session.flush()
    append_audit(session, actor, "record.queued", document_id=document.id,
                 detail={"message_id": message_id, "record_version": version})
    return Delivery(queued=True, message_id=message_id, record_version=version)


def pending_outbox_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.published_at.is_(None))) or 0)
