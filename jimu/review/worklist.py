"""The work list, the next document to open, the supervisor's queue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from jimu.review.common import STAGE_TEXT, Stage, form_or_none, form_title, jst, stage_of
from jimu.review.entries import SecondEntry, entries_for_many
from jimu.review.values import reason_words
from jimu.store.models import Document, FieldValue, utcnow

# ------------------------------------------------------------------------------------------ work list


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
    stage: Stage
    stage_text: str
    locked_by: str | None  # someone else holds an unexpired lock
    openable: bool


@dataclass
class WorkList:
    rows: list[WorkRow]
    total: int
    reason_counts: list[tuple[str, int, int]]  # (reason words, fields, documents)
    stage_counts: dict[str, int]
    forms: list[tuple[str, str]]
    batches: list[str]
    wards: list[str]


@dataclass(frozen=True)
class Filters:
    form: str | None = None
    batch: str | None = None
    ward: str | None = None

    def query(self) -> dict[str, str]:
        return {k: v for k, v in (("form", self.form), ("batch", self.batch), ("ward", self.ward)) if v}


def _light_fields(session: Session, doc_ids: list[str]) -> dict[str, list[FieldValue]]:
    out: dict[str, list[FieldValue]] = {d: [] for d in doc_ids}
    if not doc_ids:
        return out
    q = select(FieldValue).options(load_only(
        FieldValue.id, FieldValue.document_id, FieldValue.field_id, FieldValue.status, FieldValue.reasons_json,
        FieldValue.sensitivity, FieldValue.corrected_by, FieldValue.checked_by,
    )).where(FieldValue.document_id.in_(doc_ids))
    for f in session.scalars(q):
        out[f.document_id].append(f)
    return out


def _chunks(items: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def may_open(stage: Stage, fields: list[FieldValue], user: str, role: str) -> bool:
    if stage == "second":
        return user not in {f.corrected_by for f in fields if f.sensitivity == "restricted" and f.checked_by is None}
    if stage == "supervisor":
        return role in ("supervisor", "admin")
    return True


def work_list(session: Session, filters: Filters, user: str, role: str, limit: int) -> WorkList:
    q = select(Document).options(load_only(
        Document.id, Document.form_id, Document.batch_id, Document.ward, Document.created_at,
        Document.lock_owner, Document.lock_expires, Document.state,
    )).where(Document.state == "review")
    if filters.form:
        q = q.where(Document.form_id == filters.form)
    if filters.batch:
        q = q.where(Document.batch_id == filters.batch)
    if filters.ward:
        q = q.where(Document.ward == filters.ward)
    docs = list(session.scalars(q.order_by(Document.created_at, Document.id)))
    ids = [d.id for d in docs]
    fields: dict[str, list[FieldValue]] = {}
    entries: dict[str, list[SecondEntry]] = {}
    for chunk in _chunks(ids):
        fields.update(_light_fields(session, chunk))
        entries.update(entries_for_many(session, chunk))
    now = utcnow()
    reason_fields: Counter[str] = Counter()
    reason_docs: Counter[str] = Counter()
    stage_counts: Counter[str] = Counter()
    rows: list[WorkRow] = []
    for d in docs:
        form = form_or_none(d.form_id)
        fl = fields.get(d.id, [])
        stage = stage_of(fl, entries.get(d.id, []))
        stage_counts[stage] += 1
        words: list[str] = []
        for f in fl:
            if f.status != "flagged":
                continue
            for r in f.reasons:
                w = reason_words(r, form)
                reason_fields[w] += 1
                if w not in words:
                    words.append(w)
        for w in words:
            reason_docs[w] += 1
        if stage != "review":
            words = [STAGE_TEXT[stage]]
        if len(rows) >= limit:
            continue
        locked = d.lock_owner if (d.lock_owner and d.lock_owner != user and d.lock_expires is not None
                                  and d.lock_expires > now) else None
        rows.append(WorkRow(
            id=d.id, form_id=d.form_id, form_title=form.title if form else "（様式不明）", batch_id=d.batch_id,
            ward=d.ward, created=jst(d.created_at), n_flagged=sum(f.status == "flagged" for f in fl),
            reasons=words, stage=stage, stage_text=STAGE_TEXT[stage], locked_by=locked,
            openable=locked is None and may_open(stage, fl, user, role),
        ))
    every = session.execute(select(Document.form_id, Document.batch_id, Document.ward)
                            .where(Document.state == "review")).all()
    form_ids = sorted({str(f) for f, _, _ in every if f})
    forms = [(fid, form_title(fid)) for fid in form_ids]
    batches = sorted({str(b) for _, b, _ in every}, reverse=True)
    wards = sorted({str(w) for _, _, w in every if w})
    counts = sorted(((w, n, reason_docs[w]) for w, n in reason_fields.items()), key=lambda t: (-t[1], t[0]))
    return WorkList(rows=rows, total=len(docs), reason_counts=counts, stage_counts=dict(stage_counts),
                    forms=forms, batches=batches, wards=wards)


def next_document(session: Session, filters: Filters, user: str, role: str, skipped: set[str]) -> str | None:
    """The oldest document this user can work on now (not locked by someone else, not skipped)."""
    q = select(Document).options(load_only(Document.id, Document.lock_owner, Document.lock_expires,
                                           Document.created_at)).where(Document.state == "review")
    if filters.form:
        q = q.where(Document.form_id == filters.form)
    if filters.batch:
        q = q.where(Document.batch_id == filters.batch)
    if filters.ward:
        q = q.where(Document.ward == filters.ward)
    now = utcnow()
    docs = [d for d in session.scalars(q.order_by(Document.created_at, Document.id))
            if d.id not in skipped and not (d.lock_owner and d.lock_owner != user
                                            and d.lock_expires is not None and d.lock_expires > now)]
    for chunk in _chunks([d.id for d in docs], 100):
        fields = _light_fields(session, chunk)
        entries = entries_for_many(session, chunk)
        for doc_id in chunk:
            stage = stage_of(fields[doc_id], entries.get(doc_id, []))
            if stage != "supervisor" and may_open(stage, fields[doc_id], user, role):
                return doc_id
    return None



def supervisor_queue(session: Session) -> list[WorkRow]:
    wl_docs = list(session.scalars(select(Document).options(load_only(
        Document.id, Document.form_id, Document.batch_id, Document.ward, Document.created_at, Document.lock_owner,
        Document.lock_expires, Document.state)).where(Document.state == "review")
        .order_by(Document.created_at, Document.id)))
    ids = [d.id for d in wl_docs]
    rows = []
    for chunk in _chunks(ids):
        fields = _light_fields(session, chunk)
        entries = entries_for_many(session, chunk)
        for d in wl_docs:
            if d.id not in fields:
                continue
            if stage_of(fields[d.id], entries.get(d.id, [])) != "supervisor":
                continue
            form = form_or_none(d.form_id)
            rows.append(WorkRow(id=d.id, form_id=d.form_id, form_title=form.title if form else "",
                                batch_id=d.batch_id, ward=d.ward, created=jst(d.created_at),
                                n_flagged=len(entries.get(d.id, [])), reasons=[STAGE_TEXT["supervisor"]],
                                stage="supervisor", stage_text=STAGE_TEXT["supervisor"], locked_by=None,
                                openable=True))
    return rows
