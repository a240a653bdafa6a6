"""The records of a batch, as handed to the queue: the latest record version of each of its documents."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jimu.errors import BadArgsError
from jimu.store.db import session_scope
from jimu.store.models import Batch, Document, OutboxMessage


@dataclass(frozen=True)
class BatchRecords:
    batch_id: str
    state: str  # running | finished | failed
    records: list[dict[str, Any]]  # record messages (jimu/schemas/record-message.schema.json), in intake order


def batch_records(factory: sessionmaker[Session], batch_id: str) -> BatchRecords:
    """Every record of ``batch_id`` at its latest version written to the outbox (published or not yet).

    A document read again (reprocessing, a review) has one record id and a new version: only the latest
    is listed, so a record appears once however often it changed. Documents never accepted (in review,
    quarantined, held as duplicates) have no record yet and are not listed."""
    with session_scope(factory) as s:
        batch = s.get(Batch, batch_id)
        if batch is None:
            raise BadArgsError(f"no batch {batch_id}", hint="List the batches with `jimu batch list` and give one of "
                                                            "their ids to --batch.")
        latest = (select(OutboxMessage.document_id, func.max(OutboxMessage.record_version).label("v"))
                  .group_by(OutboxMessage.document_id).subquery())
        q = (select(OutboxMessage.payload)
             .join(latest, (latest.c.document_id == OutboxMessage.document_id)
                   & (latest.c.v == OutboxMessage.record_version))
             .join(Document, Document.id == OutboxMessage.document_id)
             .where(Document.batch_id == batch_id)
             .order_by(Document.created_at, Document.id))
        payloads = list(s.scalars(q))
        return BatchRecords(batch_id, batch.state, [json.loads(p) for p in payloads])
