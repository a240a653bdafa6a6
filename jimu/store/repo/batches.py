"""Batches: opened when a run takes its files in, closed with counts recomputed from its documents."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jimu.errors import StoreError
from jimu.store.models import Batch, Document, utcnow
from jimu.store.repo.audit import append_audit


def create_batch(
    session: Session, source_path: str | Path, *, trigger: str = "manual", batch_id: str | None = None,
    owner: str | None = None,
) -> Batch:
    batch = Batch(source_path=str(source_path), trigger=trigger, state="running", owner=owner)
    if batch_id is not None:
        batch.id = batch_id
    session.add(batch)
    session.flush()
    append_audit(session, "system", "batch.start", detail={"batch_id": batch.id, "trigger": trigger})
    return batch


def get_batch(session: Session, batch_id: str) -> Batch:
    batch = session.get(Batch, batch_id)
    if batch is None:
        raise StoreError(f"no batch {batch_id}", hint="Check the batch id (jimu batch list).")
    return batch


def finish_batch(
    session: Session, batch_id: str, *, failed: bool = False, error: str | None = None, n_files: int | None = None
) -> Batch:
    """Close a batch: state finished/failed, counts recomputed from its documents."""
    batch = get_batch(session, batch_id)
    session.flush()
    counts = {
        str(state): int(n)
        for state, n in session.execute(
            select(Document.state, func.count()).where(Document.batch_id == batch_id).group_by(Document.state)
        )
    }
    batch.n_documents = sum(counts.values())
    batch.n_accepted = counts.get("accepted", 0) + counts.get("delivered", 0)
    batch.n_review = counts.get("review", 0)
    batch.n_quarantined = counts.get("quarantined", 0)
    batch.n_duplicate = counts.get("duplicate", 0)
    batch.n_rejected = counts.get("rejected", 0)
    if n_files is not None:
        batch.n_files = n_files
    batch.state = "failed" if failed else "finished"
    batch.error = error
    batch.finished_at = utcnow()
    session.flush()
    append_audit(session, "system", "batch.finish", reason=error,
                 detail={"batch_id": batch_id, "state": batch.state, "counts": counts})
    return batch
