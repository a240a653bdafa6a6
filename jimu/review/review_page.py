"""The review page: fields grouped by failed rule, saving a field, approve, skip and reject."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from sqlalchemy.orm import Session

from jimu.forms_schema import FormDefinition, LeafField
from jimu.queue.message import build_record_message
from jimu.review.common import (
    MASK,
    REJECT_REASONS,
    NotFound,
    ReviewProblem,
    Stage,
    document_stage,
    leaves_of,
    pending_restricted,
    release_lock,
)
from jimu.review.entries import entries_for
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
from jimu.store.models import Document, FieldValue

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
    first_parts: list[tuple[str, bool]] = dataclass_field(default_factory=list)  # (text, differs from the other entry)
    second_parts: list[tuple[str, bool]] = dataclass_field(default_factory=list)
    box: str = ""  # where it is on the page: "x,y,w,h" as fractions of the page (the page view outlines it)


def box_of(leaf: LeafField, form: FormDefinition) -> str:
    w, h, b = form.page.width_mm, form.page.height_mm, leaf.entry
    return f"{b.x / w:.4f},{b.y / h:.4f},{b.w / w:.4f},{b.h / h:.4f}"


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
        changed=f.operator_value_json is not None and f.effective_value != f.value, box=box_of(leaf, form),
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
    return deliver(session, doc, form, user, "review.approve")


def deliver(session: Session, doc: Document, form: FormDefinition, user: str, action: str,
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
