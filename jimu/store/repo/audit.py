"""The audit log: append-only entries, values masked by sensitivity."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jimu.store.models import AuditEntry, dumps, utcnow

_UNSET: Any = object()


def mask_value(value: Any, sensitivity: str = "normal") -> str | None:
    """The audit-log form of a value: JSON text, or only its shape for restricted fields."""
    if value is None:
        return None
    if sensitivity == "restricted":
        text = value if isinstance(value, str) else dumps(value)
        return "*" * len(text)
    return dumps(value)


def append_audit(
    session: Session,
    actor: str,
    action: str,
    *,
    document_id: str | None = None,
    field_id: str | None = None,
    old_value: Any = _UNSET,
    new_value: Any = _UNSET,
    sensitivity: str = "normal",
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry (the only way to write the log; there is no update or delete)."""
    entry = AuditEntry(
        at=utcnow(),
        actor=actor,
        action=action,
        document_id=document_id,
        field_id=field_id,
        old_value_masked=None if old_value is _UNSET else mask_value(old_value, sensitivity),
        new_value_masked=None if new_value is _UNSET else mask_value(new_value, sensitivity),
        reason=reason,
        detail_json=None if detail is None else dumps(dict(detail)),
    )
    session.add(entry)
    session.flush()
    return entry


def audit_entries(session: Session, *, document_id: str | None = None, limit: int = 1000) -> list[AuditEntry]:
    q = select(AuditEntry)
    if document_id is not None:
        q = q.where(AuditEntry.document_id == document_id)
    return list(session.scalars(q.order_by(AuditEntry.id).limit(limit)))
