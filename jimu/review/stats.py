"""Statistics: backlog age, operators' own figures, the audit log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only

from jimu.review.common import jst
from jimu.store.models import AuditEntry, Document, utcnow

# ------------------------------------------------------------------------------------------ statistics


BACKLOG_BUCKETS: Final = (("1時間未満", 0.0, 1.0), ("1〜24時間", 1.0, 24.0), ("1〜3日", 24.0, 72.0),
                          ("3日以上", 72.0, None))


@dataclass
class Backlog:
    """How long the documents waiting for a person have waited since they were received."""

    buckets: list[tuple[str, int]]  # (age, documents)
    total: int
    oldest: str | None  # when the oldest waiting document was received (JST)
    oldest_hours: float | None


def backlog(session: Session) -> Backlog:
    """Documents in review by age since they were received, counted in the database."""
    now = utcnow()
    waiting = select(func.count()).select_from(Document).where(Document.state == "review")
    buckets = []
    for label, lo, hi in BACKLOG_BUCKETS:
        q = waiting.where(Document.created_at <= now - dt.timedelta(hours=lo))
        if hi is not None:
            q = q.where(Document.created_at > now - dt.timedelta(hours=hi))
        buckets.append((label, int(session.scalar(q) or 0)))
    oldest = session.scalar(select(func.min(Document.created_at)).where(Document.state == "review"))
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return Backlog(buckets=buckets, total=sum(n for _, n in buckets), oldest=jst(oldest) if oldest else None,
                   oldest_hours=round((now - oldest).total_seconds() / 3600, 1) if oldest else None)


@dataclass
class OperatorStats:
    name: str
    opened: int = 0
    approved: int = 0
    second_entries: int = 0
    second_mismatches: int = 0
    decided: int = 0
    rejected: int = 0
    skipped: int = 0
    corrections: int = 0
    confirmations: int = 0
    handling_s: float = 0.0  # summed time from opening a document to finishing it

    @property
    def finished(self) -> int:
        return self.approved + self.second_entries + self.decided + self.rejected

    @property
    def per_hour(self) -> float | None:
        # under a minute of measured work the rate says nothing
        return None if self.handling_s < 60 else self.finished / (self.handling_s / 3600.0)

    @property
    def seconds_per_doc(self) -> float | None:
        return None if self.finished == 0 else self.handling_s / self.finished


STAT_ACTIONS: Final = ("review.open", "review.approve", "review.second_entry", "review.decide", "review.reject",
                       "review.skip", "field.correct", "field.confirm")
_FINISH: Final = ("review.approve", "review.second_entry", "review.decide", "review.reject", "review.skip")


def operator_stats(session: Session, since: dt.datetime, max_gap_s: float = 900.0) -> list[OperatorStats]:
    """Per operator since ``since``: documents finished, corrections, and time spent per document."""
    q = select(AuditEntry).options(load_only(AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.action,
                                             AuditEntry.document_id, AuditEntry.detail_json)) \
        .where(AuditEntry.at >= since, AuditEntry.action.in_(STAT_ACTIONS)).order_by(AuditEntry.id)
    stats: dict[str, OperatorStats] = {}
    opened_at: dict[tuple[str, str], dt.datetime] = {}
    for e in session.scalars(q):
        s = stats.setdefault(e.actor, OperatorStats(e.actor))
        a = e.action
        if a == "review.open":
            s.opened += 1
            if e.document_id:
                opened_at[(e.actor, e.document_id)] = e.at
        elif a == "review.approve":
            s.approved += 1
        elif a == "review.second_entry":
            s.second_entries += 1
            if (e.detail or {}).get("match") is False:
                s.second_mismatches += 1
        elif a == "review.decide":
            s.decided += 1
        elif a == "review.reject":
            s.rejected += 1
        elif a == "review.skip":
            s.skipped += 1
        elif a == "field.correct":
            s.corrections += 1
        elif a == "field.confirm":
            s.confirmations += 1
        if a in _FINISH and e.document_id:
            t0 = opened_at.pop((e.actor, e.document_id), None)
            if t0 is not None:
                s.handling_s += min(max_gap_s, max(0.0, (e.at - t0).total_seconds()))
    return sorted(stats.values(), key=lambda s: (-s.finished, s.name))


@dataclass
class AuditRow:
    id: int
    at: str
    actor: str
    action: str
    document_id: str | None
    field_id: str | None
    old: str | None
    new: str | None
    reason: str | None
    detail: str


def audit_rows(session: Session, *, actor: str | None, action: str | None, document_id: str | None,
               before: int | None, limit: int = 100) -> list[AuditRow]:
    q = select(AuditEntry)
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if action:
        q = q.where(AuditEntry.action == action)
    if document_id:
        q = q.where(AuditEntry.document_id == document_id)
    if before:
        q = q.where(AuditEntry.id < before)
    rows = []
    for e in session.scalars(q.order_by(AuditEntry.id.desc()).limit(limit)):
        detail = e.detail_json or ""
        rows.append(AuditRow(id=e.id, at=jst(e.at), actor=e.actor, action=e.action, document_id=e.document_id,
                             field_id=e.field_id, old=e.old_value_masked, new=e.new_value_masked, reason=e.reason,
                             detail=detail[:300]))
    return rows
