"""The record message published for every accepted document (DESIGN.md "Queue message").

``build_record_message`` turns a stored document and its fields into the JSON body; the body's
JSON Schema is published as ``jimu/schemas/record-message.schema.json``.  The message holds the
canonical values and how each was accepted — never the image or a crop.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from jsonschema import Draft202012Validator

from jimu.errors import InvalidMessageError, StoreError

if TYPE_CHECKING:
    from jimu.forms_schema import FormDefinition
    from jimu.store.models import Document, FieldValue

SCHEMA_VERSION: Final = 1
SCHEMA_PATH: Final = Path(__file__).resolve().parent.parent / "schemas" / "record-message.schema.json"
RECORD_NAMESPACE: Final = uuid.UUID("6f1d3c52-2b8e-5a7e-9d4e-4a696d752d72")  # fixed forever: record ids depend on it


def record_id_for(sha256: str, form_id: str, form_version: int) -> str:
    """The stable record id of a document read as a form version (UUIDv5; same inputs → same id)."""
    return str(uuid.uuid5(RECORD_NAMESPACE, f"{sha256}|{form_id}|{form_version}"))


def message_id_for(record_id: str, record_version: int) -> str:
    return f"{record_id}:{record_version}"


def iso_utc(dt: datetime) -> str:
    """``2025-04-01T09:30:00.000Z``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@lru_cache(maxsize=1)
def record_message_schema() -> dict[str, Any]:
    with SCHEMA_PATH.open(encoding="utf-8") as f:
        schema: dict[str, Any] = json.load(f)
    return schema


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(record_message_schema())


def validate_record_message(body: Mapping[str, Any]) -> None:
    """Raise :class:`InvalidMessageError` naming the first problem (path only, never the value)."""
    errors = sorted(_validator().iter_errors(dict(body)), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise InvalidMessageError(
            f"record message invalid at {where}: {e.validator} check failed ({len(errors)} error(s))"
        )


def build_record_message(
    document: Document,
    fields: Sequence[FieldValue],
    form: FormDefinition,
    *,
    accepted_at: datetime | None = None,
) -> dict[str, Any]:
    """The record message for ``document`` (state review/extracting/accepted), per the JSON Schema.

    Every leaf field of ``form`` must be present and accepted (automatically, or decided by an operator).
    ``record_version`` is the *next* version (``document.record_version + 1``); :func:`jimu.store.repo.deliver_record`
    stamps the final version and acceptance time when it writes the outbox row.
    """
    if document.form_id != form.form_id or document.form_version != form.version:
        raise StoreError(
            f"document {document.id} is {document.form_id} v{document.form_version}, "
            f"not {form.form_id} v{form.version}",
            hint="Classify the document (repo.set_document_form) before building its record.",
        )
    if document.record_id is None:
        raise StoreError(f"document {document.id} has no record id", hint="Call repo.set_document_form first.")
    by_id = {f.field_id: f for f in fields}
    leaf_ids = [lf.id for lf in form.leaf_fields()]
    missing = [i for i in leaf_ids if i not in by_id]
    unknown = sorted(set(by_id) - set(leaf_ids))
    if missing or unknown:
        raise StoreError(
            f"document {document.id}: fields do not match form {form.form_id} v{form.version} "
            f"(missing {missing[:5]}, unknown {unknown[:5]})",
            hint="Save every leaf field of the form (repo.save_fields) before delivering.",
        )
    flagged = [i for i in leaf_ids if by_id[i].status != "accepted"]
    if flagged:
        raise StoreError(
            f"document {document.id} still has {len(flagged)} flagged field(s): {', '.join(flagged[:5])}",
            hint="An operator must decide every flagged field in the review UI before the record is delivered.",
        )
    values: dict[str, Any] = {}
    acceptance: dict[str, dict[str, Any]] = {}
    for fid in leaf_ids:
        fv = by_id[fid]
        values[fid] = fv.effective_value
        if fv.corrected_by:
            entry: dict[str, Any] = {"by": "operator", "operator": fv.corrected_by,
                                     "at": iso_utc(fv.corrected_at or document.updated_at)}
            if fv.checked_by:
                entry["checked_by"] = fv.checked_by
                entry["checked_at"] = iso_utc(fv.checked_at or document.updated_at)
            acceptance[fid] = entry
        else:
            conf = None if fv.confidence is None else round(min(1.0, max(0.0, float(fv.confidence))), 4)
            acceptance[fid] = {"by": "auto", "confidence": conf}
    accepted = accepted_at or document.accepted_at or datetime.now(UTC)
    return {
        "schema_version": SCHEMA_VERSION,
        "record_id": document.record_id,
        "record_version": document.record_version + 1,
        "document_sha256": document.sha256,
        "form_id": form.form_id,
        "form_version": form.version,
        "batch_id": document.batch_id,
        "source_name": document.source_name,
        "ward": document.ward,
        "fields": values,
        "acceptance": acceptance,
        "timestamps": {
            "scanned": iso_utc(document.scanned_at) if document.scanned_at else None,
            "created": iso_utc(document.created_at),
            "accepted": iso_utc(accepted),
        },
    }


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The wire form of a message body: UTF-8 JSON (keys sorted, no ASCII escaping)."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
