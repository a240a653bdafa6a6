"""The work list, the next document to open, the supervisor's queue — one page at a time.

Everything sorts and counts on the review index (:mod:`jimu.review.index`): a page reads its
own fifty documents' fields, never the whole backlog, and the counts are SQL aggregates.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Final, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, load_only

from jimu.review import index as review_index
from jimu.review.common import STAGE_TEXT, form_or_none, form_title, jst
from jimu.review.entries import entries_for_many
from jimu.store.models import Document, FieldValue, ReviewReason, utcnow

PER_PAGE: Final = 50
NEXT_CHUNK: Final = 50
_Q = TypeVar("_Q", bound=Select)  # any select over documents


@dataclass
class WorkRow:
    id: str
    form_id: str | None
    form_title: str
    batch_id: str
    ward: str | None
    created: str
    n_flagged: int
    reasons: list[str]
    stage: str
    stage_text: str
    locked_by: str | None  # someone else holds an unexpired lock
    openable: bool
    assignee: str | None = None
    postponed: str | None = None  # "until HH:MM (reason)" while put aside
    escalation: str | None = None  # the operator's reason, at the supervisor stage


@dataclass
class WorkList:
    rows: list[WorkRow]
    total: int  # documents matching the filters
    reason_counts: list[tuple[str, int, int]]  # (reason words, fields, documents)
    stage_counts: dict[str, int]
    forms: list[tuple[str, str]]
    batches: list[str]
    wards: list[str]
    page: int = 1
    pages: int = 1
    per_page: int = PER_PAGE


@dataclass(frozen=True)
class Filters:
    form: str | None = None
    batch: str | None = None
    ward: str | None = None
    mine: bool = False  # only documents assigned to this user

    def query(self) -> dict[str, str]:
        q = {k: v for k, v in (("form", self.form), ("batch", self.batch), ("ward", self.ward)) if v}
        if self.mine:
            q["mine"] = "1"
        return q

    @classmethod
    def from_query(cls, q: dict[str, str]) -> Filters:
        return cls(form=q.get("form"), batch=q.get("batch"), ward=q.get("ward"), mine=q.get("mine") == "1")

    def admits(self, form: str | None, batch: str | None, ward: str | None, mine: bool) -> bool:
        return ((not self.form or form == self.form) and (not self.batch or batch == self.batch)
                and (not self.ward or ward == self.ward) and (not self.mine or mine))

    def where(self, q: _Q, user: str) -> _Q:
        if self.form:
            q = q.where(Document.form_id == self.form)
        if self.batch:
            q = q.where(Document.batch_id == self.batch)
        if self.ward:
            q = q.where(Document.ward == self.ward)
        if self.mine:
            q = q.where(Document.assignee == user)
        return q


def _restricted_fields(session: Session, doc_ids: list[str]) -> dict[str, list[FieldValue]]:
    """The restricted fields of these documents (who keyed them decides who may open a second entry)."""
    out: dict[str, list[FieldValue]] = {d: [] for d in doc_ids}
    if not doc_ids:
        return out
    q = select(FieldValue).options(load_only(
        FieldValue.id, FieldValue.document_id, FieldValue.field_id, FieldValue.status, FieldValue.reasons_json,
        FieldValue.sensitivity, FieldValue.corrected_by, FieldValue.checked_by,
    )).where(FieldValue.document_id.in_(doc_ids), FieldValue.sensitivity == "restricted")
    for f in session.scalars(q):
        out[f.document_id].append(f)
    return out


def may_open(stage: str, fields: list[FieldValue], user: str, role: str) -> bool:
    if stage == "second":
        return user not in {f.corrected_by for f in fields if f.sensitivity == "restricted" and f.checked_by is None}
    if stage in ("supervisor", "escalated"):
        return role in ("supervisor", "admin")
    return True


def _locked_by_other(d: Document, user: str, now: dt.datetime) -> str | None:
    if d.lock_owner and d.lock_owner != user and d.lock_expires is not None and d.lock_expires > now:
        return d.lock_owner
    return None


_ROW_COLUMNS: Final = (Document.id, Document.form_id, Document.batch_id, Document.ward, Document.created_at,
                       Document.lock_owner, Document.lock_expires, Document.state, Document.review_stage,
                       Document.review_flagged, Document.assignee, Document.postponed_until,
                       Document.postpone_reason, Document.escalation_reason)


def _rows(session: Session, docs: list[Document], user: str, role: str) -> list[WorkRow]:
    """Work-list rows for one page of documents (their fields and reasons read for that page only)."""
    ids = [d.id for d in docs]
    fields = _restricted_fields(session, ids)
    words: dict[str, list[str]] = {d: [] for d in ids}
    if ids:
        for doc_id, w in session.execute(select(ReviewReason.document_id, ReviewReason.words)
                                         .where(ReviewReason.document_id.in_(ids)).order_by(ReviewReason.id)):
            words[doc_id].append(w)
    now = utcnow()
    rows = []
    for d in docs:
        stage = d.review_stage or "review"
        form = form_or_none(d.form_id)
        locked = _locked_by_other(d, user, now)
        postponed = None
        if d.postponed_until is not None and d.postponed_until > now:
            postponed = f"{jst(d.postponed_until)[11:]}まで保留" + (f"（{d.postpone_reason}）" if d.postpone_reason else "")
        rows.append(WorkRow(
            id=d.id, form_id=d.form_id, form_title=form.title if form else "（様式不明）", batch_id=d.batch_id,
            ward=d.ward, created=jst(d.created_at), n_flagged=d.review_flagged or 0,
            reasons=words[d.id] if stage == "review" else [STAGE_TEXT[stage]], stage=stage,
            stage_text=STAGE_TEXT[stage], locked_by=locked,
            openable=locked is None and may_open(stage, fields[d.id], user, role),
            assignee=d.assignee, postponed=postponed, escalation=d.escalation_reason if stage == "escalated" else None,
        ))
    return rows


def _mend(session: Session) -> None:
    if review_index.stale_count(session):
        review_index.reindex_stale(session)
        session.flush()


def work_list(session: Session, filters: Filters, user: str, role: str, page: int = 1,
              per_page: int = PER_PAGE) -> WorkList:
    """One page of the documents in review (oldest first) with counts over all of them, all in SQL."""
    _mend(session)
    in_review = and_(Document.state == "review", Document.review_stage.is_not(None))
    # one pass over the backlog, grouped: totals, stage counts and the filters' choices all come from it
    mine = (Document.assignee == user).label("mine")
    groups = session.execute(select(Document.form_id, Document.batch_id, Document.ward, Document.review_stage, mine,
                                    func.count()).where(in_review)
                             .group_by(Document.form_id, Document.batch_id, Document.ward, Document.review_stage,
                                       mine)).all()
    chosen = [g for g in groups if filters.admits(g[0], g[1], g[2], bool(g[4]))]
    total = sum(int(g[5]) for g in chosen)
    stage_counts: dict[str, int] = {}
    for g in chosen:
        stage_counts[str(g[3])] = stage_counts.get(str(g[3]), 0) + int(g[5])
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    docs = list(session.scalars(filters.where(select(Document).options(load_only(*_ROW_COLUMNS)).where(in_review), user)
                                .order_by(Document.created_at, Document.id)
                                .offset((page - 1) * per_page).limit(per_page)))
    # review_reasons holds rows of documents in review only: no join unless a filter needs one
    reasons = select(ReviewReason.words, func.sum(ReviewReason.fields), func.count())
    if filters.query():
        reasons = filters.where(reasons.join(Document, Document.id == ReviewReason.document_id).where(in_review), user)
    counts = sorted(((str(w), int(n), int(d)) for w, n, d in session.execute(reasons.group_by(ReviewReason.words))),
                    key=lambda t: (-t[1], t[0]))
    form_ids = sorted({str(g[0]) for g in groups if g[0]})
    batches = sorted({str(g[1]) for g in groups}, reverse=True)
    wards = sorted({str(g[2]) for g in groups if g[2]})
    return WorkList(rows=_rows(session, docs, user, role), total=total, reason_counts=counts,
                    stage_counts=stage_counts, forms=[(f, form_title(f)) for f in form_ids], batches=batches,
                    wards=wards, page=page, pages=pages, per_page=per_page)


def next_document(session: Session, filters: Filters, user: str, role: str, skipped: set[str]) -> str | None:
    """The oldest document this user can work on now: assigned to them first, then nobody's; not
    locked by someone else, not put aside, not skipped, not at a supervisor's stage."""
    _mend(session)
    now = utcnow()
    base = filters.where(select(Document).options(load_only(*_ROW_COLUMNS)).where(
        Document.state == "review", Document.review_stage.in_(("review", "second")),
        or_(Document.lock_owner.is_(None), Document.lock_owner == user, Document.lock_expires <= now),
        or_(Document.postponed_until.is_(None), Document.postponed_until <= now),
    ), user)
    if skipped:
        base = base.where(Document.id.not_in(sorted(skipped)))
    for owner in (Document.assignee == user, Document.assignee.is_(None)):
        offset = 0
        while True:
            docs = list(session.scalars(base.where(owner).order_by(Document.created_at, Document.id)
                                        .offset(offset).limit(NEXT_CHUNK)))
            if not docs:
                break
            fields = _restricted_fields(session, [d.id for d in docs])
            for d in docs:
                if may_open(d.review_stage or "review", fields[d.id], user, role):
                    return d.id
            offset += len(docs)
    return None


def supervisor_queue(session: Session, page: int = 1, per_page: int = PER_PAGE) -> tuple[list[WorkRow], int]:
    """Documents waiting for a supervisor (double-entry disagreements, escalations), oldest first,
    one page; and how many wait in all."""
    _mend(session)
    waiting = and_(Document.state == "review", Document.review_stage.in_(("supervisor", "escalated")))
    total = int(session.scalar(select(func.count()).select_from(Document).where(waiting)) or 0)
    docs = list(session.scalars(select(Document).options(load_only(*_ROW_COLUMNS)).where(waiting)
                                .order_by(Document.created_at, Document.id)
                                .offset((max(1, page) - 1) * per_page).limit(per_page)))
    rows = _rows(session, docs, "", "supervisor")
    entries = entries_for_many(session, [d.id for d in docs])
    for r in rows:
        r.locked_by = None
        if r.stage == "supervisor":
            r.n_flagged = len(entries.get(r.id, []))
    return rows, total


def following(session: Session, doc: Document, n: int) -> list[Document]:
    """The next ``n`` documents after ``doc`` in the operators' queue order (for rendering ahead)."""
    return list(session.scalars(select(Document).options(load_only(
        Document.id, Document.original_path, Document.sha256, Document.form_id, Document.created_at))
        .where(Document.state == "review", Document.review_stage.in_(("review", "second")), Document.id != doc.id,
               or_(Document.created_at > doc.created_at, (Document.created_at == doc.created_at) & (Document.id > doc.id)))
        .order_by(Document.created_at, Document.id).limit(n)))
