"""Double entry of restricted fields: the blind second entry and the supervisor's decision."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from jimu.forms_schema import FormDefinition
from jimu.review.common import (
    SUPERVISOR_REASON,
    Forbidden,
    ReviewProblem,
    document_stage,
    first_operators,
    leaves_of,
    pending_restricted,
    release_lock,
)
from jimu.review.entries import SecondEntry, entries_for
from jimu.review.review_page import FieldView, box_of, deliver, field_view
from jimu.review.values import (
    InputError,
    Validation,
    display_value,
    field_problem,
    input_hint,
    parse_input,
    validate_record,
)
from jimu.store import repo
from jimu.store.models import Document, dumps, utcnow

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
            error=(field_errors or {}).get(f.field_id), box=box_of(leaf, form),
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
    r = deliver(session, doc, form, user, "review.second_entry", {"match": True})
    return SecondResult(ok=True, matched=True, queued=r.queued, duplicate_of=r.duplicate_of)


def diff_parts(a: str, b: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """Both entries cut into runs that are the same in both (False) or differ (True), character by
    character: the supervisor's page marks the digits two operators keyed differently."""
    ours: list[tuple[str, bool]] = []
    theirs: list[tuple[str, bool]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        same = op == "equal"
        if a[i1:i2]:
            ours.append((a[i1:i2], not same))
        if b[j1:j2]:
            theirs.append((b[j1:j2], not same))
    return ours, theirs


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
        v.first_parts, v.second_parts = diff_parts(v.first_text, v.second_text)
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
    r = deliver(session, doc, form, user, "review.decide")
    return SecondResult(ok=True, matched=True, queued=r.queued, duplicate_of=r.duplicate_of)
