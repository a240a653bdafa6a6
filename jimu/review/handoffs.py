"""Handing a document on: put aside (保留), escalate to a supervisor (相談), assign to an
operator's own queue, unlock, and take back the last approved document while it is still in the
outbox.  Each is audited; reasons are short free text the operator is told not to fill with
personal data (they are shown on the work list and the supervisor's queue).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from jimu.review.common import Forbidden, ReviewProblem, document_stage, release_lock
from jimu.store import repo
from jimu.store.models import AuditEntry, Document, OutboxMessage, User, utcnow

REASON_MAX: Final = 100
POSTPONE_MINUTES: Final = (30, 60, 240)
APPROVALS: Final = ("review.approve", "review.second_entry", "review.decide")


def _reason(text: str, *, required: bool) -> str:
    text = " ".join((text or "").split())[:REASON_MAX]
    if required and not text:
        raise ReviewProblem("理由を入力してください")
    return text


def postpone(session: Session, doc: Document, user: str, minutes: int, reason: str) -> None:
    """Put the document aside: /next serves it to nobody until the time is up (it stays on the list)."""
    if minutes not in POSTPONE_MINUTES:
        raise ReviewProblem("保留する時間を選んでください")
    text = _reason(reason, required=False)
    doc.postponed_until = utcnow() + dt.timedelta(minutes=minutes)
    doc.postponed_by, doc.postpone_reason = user, text or None
    repo.append_audit(session, user, "review.postpone", document_id=doc.id, reason=text or None,
                      detail={"minutes": minutes})
    release_lock(session, doc, user)


def escalate(session: Session, doc: Document, user: str, reason: str) -> None:
    """Send the document to the supervisors' queue with the operator's question."""
    if document_stage(session, doc) != "review":
        raise ReviewProblem("この書類はいま相談に回せません（二重入力または監督者の確認を待っています）")
    text = _reason(reason, required=True)
    doc.escalated_by, doc.escalation_reason = user, text
    doc.postponed_until = None
    repo.append_audit(session, user, "review.escalate", document_id=doc.id, reason=text)
    release_lock(session, doc, user)


def clear_escalation(session: Session, doc: Document, user: str, *, action: str = "review.return") -> None:
    """A supervisor answered: the document is back with the operators (or it was just approved)."""
    if doc.escalated_by is None:
        return
    repo.append_audit(session, user, action, document_id=doc.id, detail={"escalated_by": doc.escalated_by})
    doc.escalated_by = doc.escalation_reason = None


def active_operators(session: Session) -> list[str]:
    return list(session.scalars(select(User.name).where(User.active.is_(True)).order_by(User.name)))


def assign(session: Session, doc_ids: list[str], assignee: str | None, by: str) -> int:
    """Put documents in review into ``assignee``'s own queue (None: back to everyone's)."""
    if assignee and assignee not in active_operators(session):
        raise ReviewProblem("その担当者は登録されていません")
    n = 0
    for doc_id in doc_ids:
        doc = session.get(Document, doc_id)
        if doc is None or doc.state != "review" or doc.assignee == assignee:
            continue
        repo.append_audit(session, by, "review.assign", document_id=doc.id,
                          detail={"from": doc.assignee, "to": assignee})
        doc.assignee = assignee
        n += 1
    return n


def assign_batch(session: Session, batch_id: str, assignee: str | None, by: str) -> int:
    ids = list(session.scalars(select(Document.id).where(Document.batch_id == batch_id, Document.state == "review")))
    return assign(session, ids, assignee, by)


def unlock(session: Session, doc: Document, by: str) -> str | None:
    """A supervisor frees a document someone left open; who held it (None: nobody did)."""
    holder = doc.lock_owner
    if holder is None:
        return None
    repo.append_audit(session, by, "review.unlock", document_id=doc.id, detail={"held_by": holder})
    doc.lock_owner = doc.lock_expires = None
    return holder


@dataclass
class LastApproved:
    document_id: str
    at: dt.datetime
    message_id: str | None
    withdrawable: bool  # its record is still waiting in the outbox


def last_approved(session: Session, user: str) -> LastApproved | None:
    """The document this operator approved last (within the day), and whether it can be taken back."""
    since = utcnow() - dt.timedelta(hours=24)
    e = session.scalars(select(AuditEntry).where(AuditEntry.actor == user, AuditEntry.action.in_(APPROVALS),
                                                 AuditEntry.at >= since)
                        .order_by(AuditEntry.id.desc()).limit(1)).first()
    if e is None or not e.document_id:
        return None
    message_id = (e.detail or {}).get("message_id")
    doc = session.get(Document, e.document_id)
    pending = message_id is not None and doc is not None and doc.state == "accepted" and session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.message_id == message_id, OutboxMessage.published_at.is_(None)))
    return LastApproved(document_id=e.document_id, at=e.at, message_id=message_id, withdrawable=bool(pending))


def reopen(session: Session, user: str) -> str:
    """Take the operator's last approved document back into review: its unpublished record leaves
    the outbox (the caller holds the relay's lock, :func:`jimu.outbox.holding_relay`).  The record
    version is not reused: approved again, it is queued as the next version."""
    last = last_approved(session, user)
    if last is None:
        raise ReviewProblem("戻せる書類がありません（最後に承認した書類が見つかりません）")
    if not last.withdrawable:
        raise Forbidden("最後に承認した書類はすでに送信されたため戻せません。監督者に連絡してください")
    doc = session.get(Document, last.document_id)
    assert doc is not None
    row = session.scalars(select(OutboxMessage).where(OutboxMessage.message_id == last.message_id,
                                                      OutboxMessage.published_at.is_(None))).one()
    session.delete(row)
    doc.delivered_key = None  # approved again unchanged, it is still queued (as the next version)
    repo.set_document_state(session, doc, "review", actor=user, reason="承認を取り消して確認に戻した")
    for f in doc.fields:  # what the operator decided stays, but must be confirmed again
        if f.corrected_by == user and f.sensitivity != "restricted":
            f.status = "flagged"
    repo.append_audit(session, user, "review.reopen", document_id=doc.id, detail={"message_id": last.message_id})
    return doc.id
