"""What every review page shares: errors the UI shows, form lookups, stages, locks, audit of views.

Stages of a document in state ``review``, derived from its fields (:mod:`jimu.review.index` keeps a copy
in the store for the queues to sort on); an operator's question to a supervisor adds ``escalated``:

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
import re
from collections.abc import Iterable
from typing import Final, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from jimu.errors import FormSchemaError
from jimu.forms_schema import FormDefinition, LeafField, get_form
from jimu.review.entries import SecondEntry, entries_for
from jimu.store import repo
from jimu.store.models import Document, FieldValue

Stage = Literal["review", "second", "supervisor"]
JST: Final = ZoneInfo("Asia/Tokyo")
DOC_ID_RE: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

MASK: Final = "＊＊＊＊"
STAGE_TEXT: Final[dict[str, str]] = {"review": "要確認", "second": "二重入力待ち", "supervisor": "監督者確認待ち",
                                     "escalated": "監督者へ相談"}
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
