"""What the review pages do to the record store: work list, review, approve, double entry, statistics.

Plain functions over an open :class:`~sqlalchemy.orm.Session` (the routes own the transaction).

Stages of a document in state ``review`` (derived from its fields, nothing extra is stored for it):

``review``
    Some field is flagged, or no operator has approved it yet.  An operator checks the flagged
    fields (restricted ones included: crop and OCR value shown) and approves.  Without restricted
    fields the record goes to the outbox; with them the document moves on to
``second``
    Every field is accepted and each restricted field carries the first operator's entry
    (``corrected_by``) but no second check (``checked_by``).  A *different* operator keys the
    restricted fields blind (crop only).  All equal → ``checked_by`` is set and the record goes to
    the outbox; any difference → the second value is kept (:mod:`jimu.review.entries`) and
``supervisor``
    A supervisor (neither of the two operators) sees both entries, the OCR value and the crop, and
    decides; then the record goes to the outbox.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only

from jimu.errors import FormSchemaError
from jimu.forms_schema import FormDefinition, LeafField, get_form
from jimu.queue.message import build_record_message
from jimu.review.entries import SecondEntry, entries_for, entries_for_many
from jimu.review.values import (
    InputError,
    RuleFailure,
    Validation,
    display_value,
    field_problem,
    input_hint,
    parse_input,
    reason_words,
    required_map,
    validate_record,
)
from jimu.store import repo
from jimu.store.models import AuditEntry, Document, FieldValue, dumps, utcnow

Stage = Literal["review", "second", "supervisor"]
JST: Final = ZoneInfo("Asia/Tokyo")
DOC_ID_RE: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MASK: Final = "＊＊＊＊"
STAGE_TEXT: Final[dict[str, str]] = {"review": "要確認", "second": "二重入力待ち", "supervisor": "監督者確認待ち"}
REJECT_REASONS: Final[dict[str, str]] = {
    "missing": "記入漏れ",
    "illegible": "判読できない",
    "wrong_form": "様式の誤り・別の書類",
    "identity": "本人確認・添付書類の不備",
    "inconsistent": "記入内容の矛盾",
    "other": "その他",
}
SUPERVISOR_REASON: Final = "二重入力の不一致を監督者が判断"


class ReviewProblem(Exception):
    """A request the review UI refuses; ``message`` is Japanese and never holds personal data."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ReviewProblem):
    status = 404


class Forbidden(ReviewProblem):
    status = 403


class Locked(ReviewProblem):
    status = 409


def jst(t: dt.datetime | None) -> str:
    return "" if t is None else t.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def form_or_none(form_id: str | None) -> FormDefinition | None:
    if not form_id:
        return None
    try:
        return get_form(form_id)
    except FormSchemaError:
        return None


def form_title(form_id: str | None) -> str:
    form = form_or_none(form_id)
    return form.title if form is not None else (form_id or "（様式不明）")


_LEAVES: dict[tuple[str, int, int], dict[str, LeafField]] = {}


def leaves_of(form: FormDefinition) -> dict[str, LeafField]:
    """The form's leaf fields by id, in form order (cached: layout expansion is not free)."""
    key = (form.form_id, form.version, id(form))
    leaves = _LEAVES.get(key)
    if leaves is None:
        leaves = _LEAVES[key] = {lf.id: lf for lf in form.leaf_fields()}
    return leaves


# ------------------------------------------------------------------------------------------ documents


def load_document(session: Session, doc_id: str) -> Document:
    if not DOC_ID_RE.fullmatch(doc_id or ""):
        raise NotFound("書類が見つかりません")
    doc = session.get(Document, doc_id)
    if doc is None:
        raise NotFound("書類が見つかりません")
    return doc


def load_review_document(session: Session, doc_id: str) -> tuple[Document, FormDefinition]:
    doc = load_document(session, doc_id)
    if doc.state != "review":
        raise ReviewProblem("この書類は確認待ちではありません（すでに処理されたか、取り下げられました）")
    form = form_or_none(doc.form_id)
    if form is None:
        raise ReviewProblem("この書類の様式が分からないため、画面に出せません（監督者に連絡してください）")
    return doc, form


def pending_restricted(doc: Document) -> list[FieldValue]:
    return [f for f in doc.fields if f.sensitivity == "restricted" and f.checked_by is None]


def stage_of(fields: Iterable[FieldValue], entries: Iterable[SecondEntry]) -> Stage:
    fields = list(fields)
    if any(f.status == "flagged" for f in fields):
        return "review"
    pending = [f for f in fields if f.sensitivity == "restricted" and f.checked_by is None]
    if not pending or any(f.corrected_by is None for f in pending):
        return "review"
    ids = {e.field_value_id for e in entries}
    if any(f.id in ids for f in pending):
        return "supervisor"
    return "second"


def document_stage(session: Session, doc: Document) -> Stage:
    return stage_of(doc.fields, entries_for(session, doc.id))


def first_operators(doc: Document) -> set[str]:
    return {f.corrected_by for f in pending_restricted(doc) if f.corrected_by}


def take_lock(session: Session, doc: Document, user: str, ttl_s: float) -> None:
    if not repo.lock_document(session, doc, user, ttl_s=ttl_s):
        raise Locked(f"この書類は {doc.lock_owner} さんが作業中です。ほかの書類を開いてください")


def release_lock(session: Session, doc: Document, user: str) -> None:
    repo.unlock_document(session, doc, user)


def audit_restricted_view(session: Session, user: str, doc: Document, fields: Iterable[FieldValue], what: str) -> None:
    for f in fields:
        repo.append_audit(session, user, "view_restricted", document_id=doc.id, field_id=f.field_id,
                          detail={"what": what})


def audit_page_view(session: Session, user: str, doc: Document) -> None:
    """The page image shows every field: a view of the restricted ones when the form has any."""
    restricted = [f for f in doc.fields if f.sensitivity == "restricted"]
    if restricted:
        repo.append_audit(session, user, "view_restricted", document_id=doc.id,
                          detail={"what": "page", "fields": [f.field_id for f in restricted]})


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


# ------------------------------------------------------------------------------------------ review page


@dataclass
class FieldView:
    pk: int
    field_id: str
    label: str
    kind: str
    text: str  # what the input shows
    hint: str
    reasons: list[str]
    confidence: int | None  # percent
    restricted: bool
    has_crop: bool
    decided_by: str | None = None
    error: str | None = None
    culprit: bool = False
    ocr_text: str = ""  # supervisor page: the value as read
    first_text: str = ""  # supervisor page: the first entry
    first_by: str = ""
    second_text: str = ""  # supervisor page: the second entry
    second_by: str = ""
    confirmed: bool = False  # shown as already confirmed (Enter) on the page
    changed: bool = False  # a person's value differs from what was read (marked on the page)


@dataclass
class Block:
    """Fields shown together: one field, or every field of failed cross-field rule(s)."""

    messages: list[str]
    fields: list[FieldView]
    failing: bool = False  # a rule failed again on approve


@dataclass
class ReviewView:
    doc: Document
    form: FormDefinition
    stage: Stage
    blocks: list[Block]
    accepted: list[FieldView]
    notes: list[str]
    errors: list[str]  # page-level error summary
    page_available: bool
    n_decide: int


def _confidence(f: FieldValue) -> int | None:
    return None if f.confidence is None else round(float(f.confidence) * 100)


def field_view(f: FieldValue, leaf: LeafField, form: FormDefinition, *, text: str | None = None,
               masked: bool = False) -> FieldView:
    return FieldView(
        pk=f.id, field_id=f.field_id, label=leaf.label, kind=leaf.kind,
        text=MASK if masked else (display_value(leaf, f.effective_value) if text is None else text),
        hint=input_hint(leaf), reasons=[reason_words(r, form) for r in f.reasons],
        confidence=_confidence(f), restricted=f.sensitivity == "restricted",
        has_crop=f.crop_png is not None or bool(f.crop_path), decided_by=f.corrected_by,
        changed=f.operator_value_json is not None and f.effective_value != f.value,
    )


def decide_set(doc: Document) -> set[str]:
    return {f.field_id for f in doc.fields
            if f.status == "flagged" or f.corrected_by is not None
            or (f.sensitivity == "restricted" and f.checked_by is None)}


def decide_pks(doc: Document) -> set[int]:
    ids = decide_set(doc)
    return {f.id for f in doc.fields if f.field_id in ids}


def display_value_of(f: FieldValue, form: FormDefinition) -> str:
    leaf = leaves_of(form).get(f.field_id)
    return "" if leaf is None else display_value(leaf, f.effective_value)


def _rule_names(form: FormDefinition) -> dict[str, str]:
    return {r.name: r.message for r in form.rules if r.severity == "error"}


def build_review_view(
    doc: Document,
    form: FormDefinition,
    *,
    page_available: bool,
    posted: Mapping[int, str] | None = None,
    field_errors: Mapping[str, str] | None = None,
    validation: Validation | None = None,
) -> ReviewView:
    """The review page: flagged fields grouped by failed rule (in form order), then the accepted ones."""
    leaves = leaves_of(form)
    by_id = {f.field_id: f for f in doc.fields if f.field_id in leaves}
    errors = dict(field_errors or {})
    live: list[RuleFailure] = list(validation.rule_failures) if validation else []
    if validation:
        for fid, msg in validation.field_errors.items():
            errors.setdefault(fid, msg)
    decide = decide_set(doc) | set(errors) | {fid for r in live for fid in r.fields if fid in by_id}
    rules = _rule_names(form)
    # fields linked by a stored rule reason or a rule that failed again → one block (union-find)
    parent: dict[str, str] = {fid: fid for fid in decide}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    group_msgs: dict[str, list[str]] = {}
    members_by_rule: dict[str, list[str]] = {}
    for fid in decide:
        f = by_id.get(fid)
        if f is None:
            continue
        for r in f.reasons:
            if r.startswith("rule:") and r[5:] in rules:
                members_by_rule.setdefault(r[5:], []).append(fid)
    failing_rules = {r.name for r in live}
    for failure in live:
        members_by_rule.setdefault(failure.name, [])
        members_by_rule[failure.name] += [fid for fid in failure.fields if fid in decide]
    for members in members_by_rule.values():
        members = [m for m in dict.fromkeys(members) if m in parent]
        for m in members[1:]:
            ra, rb = find(members[0]), find(m)
            if ra != rb:
                parent[rb] = ra
    for name, members in members_by_rule.items():
        members = [m for m in members if m in parent]
        if members:
            msg = rules.get(name) or next((lf.message for lf in live if lf.name == name), "")
            group_msgs.setdefault(find(members[0]), [])
            if msg and msg not in group_msgs[find(members[0])]:
                group_msgs[find(members[0])].append(msg)
    culprits: dict[str, str] = {}
    for failure in live:
        for fid in failure.culprits:
            culprits.setdefault(fid, failure.message)
    blocks: list[Block] = []
    emitted: set[str] = set()
    order = list(leaves)
    for fid in order:
        if fid not in decide or fid in emitted or fid not in by_id:
            continue
        root = find(fid)
        members = [m for m in order if m in parent and find(m) == root and m in by_id]
        views = []
        for m in members:
            f = by_id[m]
            text = posted.get(f.id) if posted is not None else None
            v = field_view(f, leaves[m], form, text=text)
            v.error = errors.get(m) or culprits.get(m)  # a failed rule is told at the fields it blames too
            v.culprit = m in culprits
            views.append(v)
            emitted.add(m)
        msgs = group_msgs.get(root, [])
        failing = any(r.name in failing_rules and (rules.get(r.name) or r.message) in msgs for r in live)
        blocks.append(Block(messages=msgs, fields=views, failing=failing))
    accepted = []
    for fid in order:
        f = by_id.get(fid)
        if f is None or fid in emitted:
            continue
        text = posted.get(f.id) if posted is not None else None
        accepted.append(field_view(f, leaves[fid], form, text=text, masked=f.sensitivity == "restricted"))
    if validation is None:  # notes (severity "note" rules) for the operator, e.g. 特定疾病の確認
        validation_notes = validate_record(form, {f.field_id: f.effective_value for f in doc.fields}).notes
    else:
        validation_notes = validation.notes
    notes = [n.message for n in validation_notes]
    page_errors: list[str] = []
    if errors or live:
        page_errors.append("入力に誤りがあります。赤く示した項目を直してください")
    return ReviewView(doc=doc, form=form, stage="review", blocks=blocks, accepted=accepted, notes=notes,
                      errors=page_errors, page_available=page_available,
                      n_decide=sum(len(b.fields) for b in blocks))


# ------------------------------------------------------------------------------------------ saving


def _field_by_pk(doc: Document, pk: int) -> FieldValue:
    f = next((f for f in doc.fields if f.id == pk), None)
    if f is None:
        raise NotFound("項目が見つかりません")
    return f


def correction_reason(f: FieldValue, form: FormDefinition) -> str:
    words = [reason_words(r, form) for r in f.reasons]
    return "／".join(dict.fromkeys(words)) or "オペレーターによる修正"


def check_one(doc: Document, form: FormDefinition, f: FieldValue, text: str) -> tuple[Any, str | None]:
    """(canonical value, problem) of one field typed on the review page (required-ness per the form)."""
    leaves = leaves_of(form)
    leaf = leaves.get(f.field_id)
    if leaf is None:
        raise NotFound("項目が見つかりません")
    try:
        value = parse_input(leaf, text)
    except InputError as e:
        return None, str(e)
    values = {g.field_id: g.effective_value for g in doc.fields}
    values[f.field_id] = value
    required = required_map(form, values).get(f.field_id, False)
    return value, field_problem(leaf, value, required=required)


@dataclass
class SaveResult:
    ok: bool
    text: str = ""
    error: str | None = None
    saved: bool = False


def save_field(session: Session, doc: Document, form: FormDefinition, pk: int, text: str, user: str) -> SaveResult:
    """Enter on the review page: check one field and keep the operator's decision (not restricted ones:
    their first entry is taken at approve, so a half-done page never looks ready for the second entry)."""
    f = _field_by_pk(doc, pk)
    value, problem = check_one(doc, form, f, text)
    leaf = leaves_of(form)[f.field_id]
    if problem is not None:
        return SaveResult(ok=False, error=problem)
    shown = display_value(leaf, value)
    if f.sensitivity == "restricted":
        return SaveResult(ok=True, text=shown, saved=False)
    if f.status != "accepted" or f.effective_value != value or f.corrected_by != user:
        repo.correct_field(session, doc, f.field_id, value, operator=user, reason=correction_reason(f, form))
    return SaveResult(ok=True, text=shown, saved=True)


@dataclass
class ApproveResult:
    ok: bool
    view: ReviewView | None = None  # the page again, with errors
    awaiting_second: bool = False
    queued: bool = False
    duplicate_of: str | None = None
    unchanged: bool = False


def parse_posted(doc: Document, form: FormDefinition, posted: Mapping[int, str]
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    leaves = leaves_of(form)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for pk, text in posted.items():
        f = next((g for g in doc.fields if g.id == pk), None)
        if f is None or f.field_id not in leaves:
            continue
        try:
            values[f.field_id] = parse_input(leaves[f.field_id], text)
        except InputError as e:
            errors[f.field_id] = str(e)
    return values, errors


UNCONFIRMED = "まだ確認していません（Enter で確認してから承認してください）"


def unconfirmed(doc: Document, confirmed: set[int], user: str) -> set[str]:
    """Flagged fields neither confirmed in this request nor decided by this operator already."""
    return {f.field_id for f in doc.fields
            if f.status == "flagged" and f.id not in confirmed and f.corrected_by != user}


def approve(session: Session, doc: Document, form: FormDefinition, posted: Mapping[int, str], user: str,
            *, page_available: bool, confirmed: set[int] | None = None) -> ApproveResult:
    """Validate the whole record again (field checks + rules over the corrected values) and accept it.

    Every flagged field must be confirmed in this request (its id in ``confirmed``) or have been
    decided by this operator (Enter on the field): the server refuses an approve that skips one,
    whatever the page's script did."""
    if document_stage(session, doc) != "review":
        raise ReviewProblem("この書類はすでに承認され、二重入力または監督者の確認を待っています")
    parsed, parse_errors = parse_posted(doc, form, posted)
    missing = unconfirmed(doc, confirmed or set(), user)
    if missing:
        parse_errors = {fid: UNCONFIRMED for fid in missing} | parse_errors
    values = {f.field_id: f.effective_value for f in doc.fields}
    values.update(parsed)
    validation = validate_record(form, values)
    if parse_errors or not validation.ok:
        return ApproveResult(ok=False, view=build_review_view(
            doc, form, page_available=page_available, posted=posted, field_errors=parse_errors,
            validation=validation))
    must_decide = decide_set(doc)
    by_id = {f.field_id: f for f in doc.fields}
    for fid, value in parsed.items():
        f = by_id[fid]
        changed = f.effective_value != value
        if fid in must_decide and (changed or f.status != "accepted" or f.corrected_by != user):
            repo.correct_field(session, doc, fid, value, operator=user, reason=correction_reason(f, form))
        elif changed:
            repo.correct_field(session, doc, fid, value, operator=user, reason="オペレーターによる修正")
    for f in doc.fields:  # confirmed in this request but not posted as a value: kept as shown
        if f.status != "accepted" or (f.sensitivity == "restricted" and f.corrected_by is None):
            repo.correct_field(session, doc, f.field_id, f.effective_value, operator=user,
                               reason=correction_reason(f, form))
    if pending_restricted(doc):
        repo.append_audit(session, user, "review.approve", document_id=doc.id,
                          detail={"awaiting_second_entry": True, "restricted": len(pending_restricted(doc))})
        release_lock(session, doc, user)
        return ApproveResult(ok=True, awaiting_second=True)
    return _deliver(session, doc, form, user, "review.approve")


def _deliver(session: Session, doc: Document, form: FormDefinition, user: str, action: str,
             detail: Mapping[str, Any] | None = None) -> ApproveResult:
    message = build_record_message(doc, doc.fields, form)
    delivery = repo.deliver_record(session, doc, message, actor=user)
    repo.append_audit(session, user, action, document_id=doc.id,
                      detail={**dict(detail or {}), "queued": delivery.queued,
                              "duplicate_of": delivery.duplicate_of, "message_id": delivery.message_id})
    release_lock(session, doc, user)
    return ApproveResult(ok=True, queued=delivery.queued, duplicate_of=delivery.duplicate_of,
                         unchanged=delivery.unchanged)


def skip(session: Session, doc: Document, user: str) -> None:
    release_lock(session, doc, user)
    repo.append_audit(session, user, "review.skip", document_id=doc.id)


def reject(session: Session, doc: Document, user: str, code: str, note: str) -> None:
    if code not in REJECT_REASONS:
        raise ReviewProblem("返戻の理由を選んでください")
    text = "不備返戻: " + REJECT_REASONS[code] + (f"（{note.strip()[:200]}）" if note.strip() else "")
    repo.set_document_state(session, doc, "rejected", actor=user, reason=text)
    repo.append_audit(session, user, "review.reject", document_id=doc.id, reason=text, detail={"code": code})
    for e in entries_for(session, doc.id):
        session.delete(e)
    release_lock(session, doc, user)


# ------------------------------------------------------------------------------------------ double entry


@dataclass
class EntryView:
    doc: Document
    form: FormDefinition
    fields: list[FieldView]
    errors: list[str]
    page_available: bool


def blind_view(doc: Document, form: FormDefinition, *, page_available: bool,
               posted: Mapping[int, str] | None = None, field_errors: Mapping[str, str] | None = None) -> EntryView:
    """The second operator's page: crops of the restricted fields and empty inputs — no value at all."""
    leaves = leaves_of(form)
    views = []
    for f in pending_restricted(doc):
        leaf = leaves.get(f.field_id)
        if leaf is None:
            continue
        views.append(FieldView(
            pk=f.id, field_id=f.field_id, label=leaf.label, kind=leaf.kind,
            text=(posted or {}).get(f.id, ""), hint=input_hint(leaf), reasons=[], confidence=None,
            restricted=True, has_crop=f.crop_png is not None or bool(f.crop_path),
            error=(field_errors or {}).get(f.field_id),
        ))
    errors = ["入力に誤りがあります。赤く示した項目を直してください"] if field_errors else []
    return EntryView(doc=doc, form=form, fields=views, errors=errors, page_available=page_available)


@dataclass
class SecondResult:
    ok: bool
    view: EntryView | None = None
    matched: bool = False
    queued: bool = False
    mismatched: int = 0
    duplicate_of: str | None = None


def second_entry(session: Session, doc: Document, form: FormDefinition, posted: Mapping[int, str], user: str,
                 *, page_available: bool) -> SecondResult:
    if document_stage(session, doc) != "second":
        raise ReviewProblem("この書類は二重入力を待っていません")
    if user in first_operators(doc):
        raise Forbidden("最初に入力した人は二重入力できません。別の担当者に回してください")
    leaves = leaves_of(form)
    pending = pending_restricted(doc)
    errors: dict[str, str] = {}
    values: dict[int, Any] = {}
    for f in pending:
        text = posted.get(f.id)
        if text is None:
            errors[f.field_id] = "入力してください"
            continue
        try:
            value = parse_input(leaves[f.field_id], text)
        except InputError as e:
            errors[f.field_id] = str(e)
            continue
        problem = field_problem(leaves[f.field_id], value)
        if problem is not None:
            errors[f.field_id] = problem
            continue
        values[f.id] = value
    if errors:
        return SecondResult(ok=False, view=blind_view(doc, form, page_available=page_available, posted=posted,
                                                      field_errors=errors))
    now = utcnow()
    mismatched = 0
    for f in pending:
        value = values[f.id]
        match = value == f.effective_value
        repo.append_audit(session, user, "field.second_entry", document_id=doc.id, field_id=f.field_id,
                          new_value=value, sensitivity="restricted", detail={"match": match})
        if match:
            f.checked_by, f.checked_at = user, now
        else:
            mismatched += 1
            session.add(SecondEntry(document_id=doc.id, field_value_id=f.id, field_id=f.field_id, operator=user,
                                    value_json=dumps(value), at=now))
    session.flush()
    if mismatched:
        repo.append_audit(session, user, "review.second_entry", document_id=doc.id,
                          detail={"match": False, "mismatched": mismatched})
        release_lock(session, doc, user)
        return SecondResult(ok=True, matched=False, mismatched=mismatched)
    r = _deliver(session, doc, form, user, "review.second_entry", {"match": True})
    return SecondResult(ok=True, matched=True, queued=r.queued, duplicate_of=r.duplicate_of)


def supervisor_view(session: Session, doc: Document, form: FormDefinition, *, page_available: bool,
                    posted: Mapping[int, str] | None = None, field_errors: Mapping[str, str] | None = None,
                    validation: Validation | None = None) -> EntryView:
    leaves = leaves_of(form)
    entries = {e.field_value_id: e for e in entries_for(session, doc.id)}
    views = []
    for f in pending_restricted(doc):
        e = entries.get(f.id)
        leaf = leaves.get(f.field_id)
        if e is None or leaf is None:
            continue
        v = field_view(f, leaf, form, text=(posted or {}).get(f.id, ""))
        v.ocr_text = display_value(leaf, f.value)
        v.first_text, v.first_by = display_value(leaf, f.effective_value), f.corrected_by or ""
        v.second_text, v.second_by = display_value(leaf, json.loads(e.value_json)), e.operator
        v.error = (field_errors or {}).get(f.field_id)
        views.append(v)
    errors: list[str] = []
    if field_errors:
        errors.append("入力に誤りがあります。赤く示した項目を直してください")
    if validation:
        errors += [r.message for r in validation.rule_failures]
        errors += [f"{leaves[fid].label}: {msg}" for fid, msg in validation.field_errors.items()
                   if fid in leaves and fid not in (field_errors or {})]
    return EntryView(doc=doc, form=form, fields=views, errors=errors, page_available=page_available)


def supervisor_decide(session: Session, doc: Document, form: FormDefinition, posted: Mapping[int, str], user: str,
                      *, page_available: bool) -> SecondResult:
    if document_stage(session, doc) != "supervisor":
        raise ReviewProblem("この書類は監督者の確認を待っていません")
    entries = {e.field_value_id: e for e in entries_for(session, doc.id)}
    todo = [f for f in pending_restricted(doc) if f.id in entries]
    involved = {f.corrected_by for f in todo} | {entries[f.id].operator for f in todo}
    if user in involved:
        raise Forbidden("この書類の入力をした人は判断できません。別の監督者に回してください")
    leaves = leaves_of(form)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for f in todo:
        text = posted.get(f.id)
        if text is None:
            errors[f.field_id] = "入力してください"
            continue
        try:
            value = parse_input(leaves[f.field_id], text)
        except InputError as e:
            errors[f.field_id] = str(e)
            continue
        problem = field_problem(leaves[f.field_id], value)
        if problem is not None:
            errors[f.field_id] = problem
            continue
        values[f.field_id] = value
    validation = None
    if not errors:
        all_values = {f.field_id: f.effective_value for f in doc.fields}
        all_values.update(values)
        validation = validate_record(form, all_values)
        if validation.ok:
            validation = None
    if errors or validation is not None:
        return SecondResult(ok=False, view=supervisor_view(session, doc, form, page_available=page_available,
                                                           posted=posted, field_errors=errors,
                                                           validation=validation))
    now = utcnow()
    for f in todo:
        value = values[f.field_id]
        second = json.loads(entries[f.id].value_json)
        chosen = "first" if value == f.effective_value else "second" if value == second else "other"
        if value != f.effective_value:
            repo.correct_field(session, doc, f.field_id, value, operator=user, reason=SUPERVISOR_REASON)
        f.checked_by, f.checked_at = user, now
        repo.append_audit(session, user, "field.supervisor_decide", document_id=doc.id, field_id=f.field_id,
                          new_value=value, sensitivity="restricted", reason=SUPERVISOR_REASON,
                          detail={"chosen": chosen})
        session.delete(entries[f.id])
    session.flush()
    if pending_restricted(doc):  # a restricted field still without a second entry: back to double entry
        release_lock(session, doc, user)
        return SecondResult(ok=True)
    r = _deliver(session, doc, form, user, "review.decide")
    return SecondResult(ok=True, matched=True, queued=r.queued, duplicate_of=r.duplicate_of)


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
