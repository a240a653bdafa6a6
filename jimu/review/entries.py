"""The second operator's blind entries of restricted fields that did not match the first entry.

A matching second entry needs no storage (``FieldValue.checked_by`` records who checked); a
mismatching one is kept here until a supervisor decides the field, then deleted (the audit log
keeps the masked trail).  The values here are as sensitive as ``field_values`` and live in the
same store.

The table belongs to the review app and is created by :func:`ensure_tables` (``CREATE TABLE IF NOT
EXISTS``) when the app starts; it is not part of ``jimu.store.models`` / Alembic yet — see the
migration sketch in ``jimu/review/README.md``.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from jimu.store.models import Base, SecondEntry

# The table is created by the Alembic migration 0002; the model lives with the store's models.
ReviewBase = Base

_done: set[str] = set()
_lock = threading.Lock()


def ensure_tables(engine: Engine) -> None:
    """Create the review app's own table(s) when missing (idempotent, cheap after the first call)."""
    key = engine.url.render_as_string(hide_password=True)
    with _lock:
        if key in _done:
            return
        ReviewBase.metadata.create_all(engine, checkfirst=True)
        _done.add(key)


def entries_for(session: Session, document_id: str) -> list[SecondEntry]:
    return list(session.scalars(select(SecondEntry).where(SecondEntry.document_id == document_id)
                                .order_by(SecondEntry.id)))


def entries_for_many(session: Session, document_ids: list[str]) -> dict[str, list[SecondEntry]]:
    out: dict[str, list[SecondEntry]] = {}
    if not document_ids:
        return out
    for e in session.scalars(select(SecondEntry).where(SecondEntry.document_id.in_(document_ids))):
        out.setdefault(e.document_id, []).append(e)
    return out


def purge_stale(session: Session) -> int:
    """Delete second entries no longer waiting for a decision (document finished or reprocessed,
    field decided): the restricted values they hold are kept no longer than needed."""
    from sqlalchemy import and_, delete, exists

    from jimu.store.models import Document, FieldValue

    waiting = exists().where(and_(
        FieldValue.id == SecondEntry.field_value_id,
        FieldValue.document_id == SecondEntry.document_id,
        FieldValue.checked_by.is_(None),
        Document.id == FieldValue.document_id,
        Document.state == "review",
    ))
    result = session.execute(delete(SecondEntry).where(~waiting).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
