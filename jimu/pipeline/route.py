"""Main-process side of a document: decide accept/flag, store it, and route it.

Each document is written in ONE transaction (its fields, its state, and — when every field
was accepted — its record in the outbox), so a crash leaves it either untouched or final.
"""

from __future__ import annotations

import datetime as dt
import json
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import jimu.review.index  # noqa: F401  (keeps each document's review stage on every commit)
from jimu.forms_schema import get_form
from jimu.pipeline.inbox import InboxFile, display_name
from jimu.pipeline.work import DocOut, FileOut
from jimu.queue.message import build_record_message
from jimu.storage import Storage, original_key
from jimu.store import repo
from jimu.store.db import session_scope
from jimu.store.models import Document, FieldValue
from jimu.validators.policy import DocumentDecision, FieldInput, Thresholds, decide, delivered_without_person
from jimu.validators.record_model import validate_record

FINAL_STATES = ("review", "accepted", "delivered", "quarantined", "duplicate", "rejected")


@dataclass(frozen=True)
class Routed:
    document_id: str
    state: str  # the document's state after routing
    new: bool  # False when this document had already been processed (skipped)
    reason: str | None = None  # quarantine reason code


def already_done(session: Session, file_sha: str) -> list[Document] | None:
    """The file's documents when every one of them is already in a final state, else None."""
    docs = list(session.scalars(select(Document).where(Document.file_sha256 == file_sha)))
    if docs and all(d.state in FINAL_STATES for d in docs):
        return docs
    return None


def keep_original(storage: Storage, path: Path, sha: str, max_bytes: int | None = None) -> str | None:
    """The original scan kept in the shared storage under its sha256 (the inbox file may then be
    removed); returns its key. Nothing is kept for a file over ``max_bytes`` (it is quarantined as
    too large, and stays where it was dropped) or for something that is not a plain file."""
    try:
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or (max_bytes is not None and st.st_size > max_bytes):
        return None
    return storage.put(path, original_key(sha, display_name(path.suffix)))


def route_file(
    factory: sessionmaker[Session], batch_id: str, item: InboxFile, out: FileOut, thresholds: Thresholds,
    storage: Storage, today: dt.date | None = None, max_bytes: int | None = None,
) -> list[Routed]:
    original = keep_original(storage, item.path, out.file_sha256, max_bytes)
    if out.error_code is not None:
        with session_scope(factory) as s:
            doc, created = repo.add_document(s, batch_id=batch_id, sha256=out.file_sha256,
                                             source_name=display_name(item.path.name), original_path=original,
                                             ward=item.ward)
            if doc.state not in FINAL_STATES:
                repo.quarantine_document(s, doc, out.error_code, out.error_message or out.error_code)
            return [Routed(doc.id, doc.state, created, doc.quarantine_code)]
    return [route_document(factory, batch_id, item, out, d, thresholds, original, today) for d in out.docs]


def route_document(
    factory: sessionmaker[Session], batch_id: str, item: InboxFile, out: FileOut, d: DocOut, thresholds: Thresholds,
    original: str | None, today: dt.date | None = None,
) -> Routed:
    pngs = {f.field_id: f.crop_png for f in d.fields}  # encoded before the transaction: no lock held meanwhile
    with session_scope(factory) as s:
        doc, created = repo.add_document(s, batch_id=batch_id, sha256=d.sha256, file_sha256=out.file_sha256,
                                         source_name=display_name(item.path.name), original_path=original,
                                         page_count=d.page_count, ward=item.ward)
        if doc.state in FINAL_STATES:
            return Routed(doc.id, doc.state, False, doc.quarantine_code)
        if doc.state == "received":
            repo.set_document_state(s, doc, "extracting")
        if d.error_code is not None or d.form_id is None or d.form_version is None:
            repo.quarantine_document(s, doc, d.error_code or "unreadable", d.error_message or "unreadable")
            return Routed(doc.id, doc.state, created, doc.quarantine_code)
        form = get_form(d.form_id)
        repo.set_document_form(s, doc, d.form_id, d.form_version)
        decision = decide(
            form,
            {f.field_id: FieldInput(f.value, f.confidence, f.problem, f.snapped_from) for f in d.fields},
            thresholds, today,
        )
        leaves = {lf.id: lf for lf in form.leaf_fields()}
        rows = repo.save_fields(s, doc, [
            repo.FieldInput(
                field_id=f.field_id, kind=f.kind, value=f.value, confidence=f.confidence,
                status="accepted" if decision.fields[f.field_id].status == "accepted" else "flagged",
                reasons=decision.fields[f.field_id].reasons, crop_png=pngs[f.field_id], source=f.source,
                sensitivity=leaves[f.field_id].sensitivity,
            )
            for f in d.fields
        ])
        _note(s, doc, decision)
        values = {f.field_id: f.value for f in d.fields}
        if delivered_without_person(form, decision, values):  # the benchmarks' straight-through is this call
            repo.deliver_record(s, doc, build_record_message(doc, rows, form))
            return Routed(doc.id, doc.state, created)
        if decision.all_accepted:
            problems = validate_record(form, values)
            for r in rows:  # the record model refused it: a person decides
                if any(r.field_id in p.fields for p in problems):
                    r.status = "flagged"
                    r.reasons_json = json.dumps(sorted({*json.loads(r.reasons_json), "rule:record_model"}))
        original_doc = repo.find_by_content_key(s, doc.content_key, exclude_document_id=doc.id)
        if original_doc is not None:
            repo.mark_duplicate(s, doc, original_doc)
            return Routed(doc.id, doc.state, created, "likely_rescan")
        repo.set_document_state(s, doc, "review", reason=_review_reason(rows))
        return Routed(doc.id, doc.state, created)


def _review_reason(rows: list[FieldValue]) -> str:
    return f"{sum(r.status == 'flagged' for r in rows)} field(s) flagged"


def _note(s: Session, doc: Document, decision: DocumentDecision) -> None:
    if decision.notes or decision.rule_failures:
        repo.append_audit(s, "system", "document.checks", document_id=doc.id, detail={
            "notes": [n["name"] for n in decision.notes],
            "rule_failures": [r["name"] for r in decision.rule_failures],
            "thresholds": decision.thresholds_version,
        })
