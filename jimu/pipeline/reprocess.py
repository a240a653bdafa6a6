"""Reprocess a batch with the current code and thresholds.

* ``--from extract``: read the stored originals again (OCR and all), then decide and route;
* ``--from validate``: keep the values read, decide again with the current thresholds and rules;
* ``--from deliver``: route again only (records whose values did not change are not published again).

A value an operator corrected or confirmed is never overwritten. Only records whose values
changed are published, as new versions under the same record id.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sqlalchemy import select

import jimu.review.index  # noqa: F401  (keeps each document's review stage on every commit)
from jimu.errors import BadArgsError
from jimu.forms_schema import get_form
from jimu.pipeline.views import field_value
from jimu.pipeline.work import DocOut, FieldOut, extract_file, init_worker
from jimu.queue.message import build_record_message
from jimu.settings import get_settings
from jimu.store import repo
from jimu.store.db import init_db, session_scope
from jimu.store.models import Batch, Document, FieldValue, dumps
from jimu.validators.policy import FieldInput, Thresholds, decide

# worker processes are spawned, not forked: forking a process that has threads (engines, DB pools,
# Prefect) can deadlock the child
SPAWN = multiprocessing.get_context("spawn")

STAGES = ("extract", "validate", "deliver")


def _operator_decided(f: FieldValue) -> bool:
    return f.corrected_by is not None or f.operator_value_json is not None


def reprocess_batch(batch_id: str, from_stage: str = "extract", *, only_flagged: bool = False,
                    dry_run: bool = False, workers: int = 2) -> dict[str, Any]:
    if from_stage not in STAGES:
        raise BadArgsError(f"unknown stage '{from_stage}'", hint=f"Use --from {' | '.join(STAGES)}.")
    settings = get_settings()
    factory = init_db(settings)
    thresholds = Thresholds.load()
    with session_scope(factory) as s:
        batch = s.get(Batch, batch_id)
        if batch is None:
            raise BadArgsError(f"no batch {batch_id}", hint="See `jimu batch list`.")
        intake = settings.intake_date or batch.created_at.date()  # filing dates are judged against the batch's day
        q = select(Document).where(Document.batch_id == batch_id)
        if only_flagged:
            q = q.where(Document.state == "review")
        else:
            q = q.where(Document.state.in_(("review", "accepted", "delivered", "quarantined")))
        targets = [(d.id, d.original_path, d.sha256, d.state) for d in s.scalars(q.order_by(Document.created_at))]

    fresh: dict[str, DocOut] = {}
    missing: set[str] = set()  # documents whose original is not in the storage (recorded, not a crash)
    if from_stage == "extract":
        from jimu.storage import resolve_original

        local = {d: resolve_original(p, settings) for d, p, _, _ in targets}
        missing = {d for d, p in local.items() if p is None}
        paths = sorted({str(p) for p in local.values() if p is not None})
        with ProcessPoolExecutor(max_workers=workers, mp_context=SPAWN, initializer=init_worker) as pool:
            for out in pool.map(extract_file, paths):
                for d in out.docs:
                    fresh[d.sha256] = d
                if out.error_code:
                    fresh[out.file_sha256] = DocOut(0, out.file_sha256, 0, error_code=out.error_code,
                                                    error_message=out.error_message)

    report: dict[str, Any] = {"batch_id": batch_id, "from": from_stage, "dry_run": dry_run, "documents": [],
                              "changed": 0, "published": 0}
    for doc_id, _path, sha, state_before in targets:
        with session_scope(factory) as s:
            doc = repo.get_document(s, doc_id)
            entry: dict[str, Any]
            if doc_id in missing:
                entry = {"document_id": doc.id, "source_name": doc.source_name, "form_id": doc.form_id,
                         "changed_fields": [], "published": None, "state_after": doc.state,
                         "note": "original not found in the storage"}
                if not dry_run:
                    repo.append_audit(s, "reprocess", "document.original_missing", document_id=doc.id,
                                      detail={"key": _path})
            else:
                entry = _reprocess_one(s, doc, fresh.get(sha), from_stage, thresholds, dry_run, intake)
            entry["state_before"] = state_before
            report["documents"].append(entry)
            report["changed"] += bool(entry["changed_fields"])
            report["published"] += bool(entry["published"])
            if dry_run:
                s.rollback()
    if not dry_run and report["published"]:
        report["outbox_pending"], report["relay_error"] = _relay(factory, settings)
    return report


def _relay(factory: Any, settings: Any) -> tuple[int, str | None]:
    from jimu.errors import QueueError
    from jimu.outbox import relay_until_empty
    from jimu.queue import get_publisher

    try:
        publisher = get_publisher(settings)
    except QueueError as e:
        with session_scope(factory) as s:
            return repo.pending_outbox_count(s), e.message
    try:
        r = relay_until_empty(factory, publisher, retry_delay_s=0.5, max_retry_delay_s=5.0, deadline_s=20.0)
    finally:
        getattr(publisher, "close", lambda: None)()
    return r.pending, r.last_error


def _reprocess_one(s: Any, doc: Document, out: DocOut | None, stage: str, thresholds: Thresholds,
                   dry_run: bool, today: dt.date | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"document_id": doc.id, "source_name": doc.source_name,
                             "form_id": doc.form_id, "changed_fields": [], "published": None, "state_after": doc.state}
    if stage == "extract" and (out is None or out.error_code or out.form_id is None):
        entry["note"] = out.error_code if out else "original not found"
        return entry
    if stage == "extract" and out is not None and doc.form_id != out.form_id:
        entry["note"] = f"now read as {out.form_id}; left for a supervisor"
        return entry
    if doc.form_id is None:
        return entry
    form = get_form(doc.form_id)
    rows = {f.field_id: f for f in doc.fields}
    new_read: dict[str, FieldOut] = {f.field_id: f for f in out.fields} if (stage == "extract" and out) else {}
    inputs: dict[str, FieldInput] = {}
    for lf in form.leaf_fields():
        row = rows.get(lf.id)
        if row is not None and _operator_decided(row):
            inputs[lf.id] = FieldInput(field_value(row), 1.0)
        elif lf.id in new_read:
            n = new_read[lf.id]
            inputs[lf.id] = FieldInput(n.value, n.confidence, n.problem, n.snapped_from)
            if (row := rows.get(lf.id)) is not None:
                row.confidence = n.confidence
        elif row is not None:
            inputs[lf.id] = FieldInput(json.loads(row.value_json), row.confidence or 0.0)
    decision = decide(form, inputs, thresholds, today)
    changed = []
    for fid, row in rows.items():
        if _operator_decided(row):
            continue  # never overwrite what an operator decided
        dec = decision.fields[fid]
        new_val = inputs[fid].value
        before = (json.loads(row.value_json), row.status, json.loads(row.reasons_json))
        after = (new_val, dec.status, dec.reasons)
        if before != after:
            changed.append(fid)
            row.value_json = dumps(new_val)
            row.status = dec.status
            row.reasons_json = dumps(dec.reasons)
            png = new_read[fid].crop_png if fid in new_read else None
            if png:
                row.crop_png = png
    entry["changed_fields"] = changed
    doc.content_key = repo.compute_content_key(doc.form_id, {f: inputs[f].value for f in inputs})
    all_ok = all(r.status == "accepted" or _operator_decided(r) for r in rows.values())
    if all_ok and doc.state in ("review", "accepted", "delivered"):
        for r in rows.values():
            if _operator_decided(r):
                r.status = "accepted"
        delivery = repo.deliver_record(s, doc, build_record_message(doc, list(rows.values()), form),
                                       actor="reprocess")
        if delivery.queued:
            entry["published"] = delivery.message_id
    elif not all_ok and doc.state in ("accepted", "delivered") and changed:
        repo.set_document_state(s, doc, "review", actor="reprocess", reason="reprocess flagged fields")
    entry["state_after"] = doc.state
    if not dry_run and changed:
        repo.append_audit(s, "reprocess", "document.reprocess", document_id=doc.id,
                          detail={"stage": stage, "changed": len(changed), "thresholds": thresholds.version})
    return entry
