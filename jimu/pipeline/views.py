"""Read-only views of batches and documents for the CLI (restricted values masked)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from jimu.errors import BadArgsError
from jimu.settings import get_settings
from jimu.store.db import init_db, session_scope
from jimu.store.models import Batch, Document, FieldValue


def field_value(f: FieldValue) -> Any:
    """The field's current value: the operator's when there is one, else the one read."""
    raw = f.operator_value_json if f.operator_value_json is not None else f.value_json
    return json.loads(raw)


def display(f: FieldValue) -> str:
    v = field_value(f)
    if v is None:
        return "—"
    text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    return "*" * len(text) if f.sensitivity == "restricted" else text


def batch_view(batch_id: str, with_fields: bool = True) -> dict[str, Any]:
    factory = init_db(get_settings())
    with session_scope(factory) as s:
        b = s.get(Batch, batch_id)
        if b is None:
            raise BadArgsError(f"no batch {batch_id}", hint="See `jimu batch list`.")
        docs = list(s.scalars(select(Document).where(Document.batch_id == batch_id)
                              .order_by(Document.source_name, Document.sha256)))
        out_docs = []
        seen: dict[str, int] = {}
        for d in sorted(docs, key=lambda d: (d.source_name, d.created_at)):
            index = seen.get(d.file_sha256, 0)
            seen[d.file_sha256] = index + 1
            item: dict[str, Any] = {
                "id": d.id, "source_name": d.source_name, "index": index, "ward": d.ward, "form_id": d.form_id,
                "form_version": d.form_version, "state": d.state, "record_id": d.record_id,
                "record_version": d.record_version, "sha256": d.sha256,
                "quarantine": {"code": d.quarantine_code, "message": d.quarantine_message} if d.quarantine_code else None,
                "duplicate_of": d.duplicate_of, "fields": [],
            }
            if with_fields:
                item["fields"] = [
                    {"field_id": f.field_id, "kind": f.kind, "sensitivity": f.sensitivity,
                     "value": None if f.sensitivity == "restricted" else field_value(f), "display": display(f),
                     "confidence": f.confidence, "status": f.status, "reasons": json.loads(f.reasons_json),
                     "corrected_by": f.corrected_by}
                    for f in d.fields
                ]
            out_docs.append(item)
        return {
            "batch": {"id": b.id, "created_at": b.created_at.isoformat(), "state": b.state, "source": b.source_path,
                      "trigger": b.trigger, "files": b.n_files, "documents": len(docs)},
            "documents": out_docs,
        }
