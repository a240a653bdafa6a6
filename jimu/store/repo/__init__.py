"""Small typed functions the pipeline and the review UI call on the record store (``repo.add_document``…).

They take an open :class:`~sqlalchemy.orm.Session`, flush but never commit: the caller owns the
transaction (``with session_scope(factory) as s: ...``), so a state change and its outbox row or
audit entries commit together or not at all.  Failures raise :class:`~jimu.errors.StoreError`
subclasses; nothing returns an empty value to mean "it went wrong".

Document state machine (``ALLOWED_TRANSITIONS``)::

    received ──► extracting ──► accepted ──(relay: broker confirmed)──► delivered
       │             │  ▲  ╲──► review ──► accepted                      │
       │             │  │        │  ╲──► rejected                       │ reprocess / correction
       │             │  └────────┴──────────────────────────────────────┘ (→ extracting / review)
       ├─────────────┴──► quarantined (reason code + message) ──► extracting (reprocess) | rejected
       └─────────────┴──► duplicate (duplicate_of = the first document) ──► review | accepted (override)

``accepted`` means "record written to the outbox"; ``delivered`` means the broker confirmed it.

By concern: :mod:`~jimu.store.repo.batches`, :mod:`~jimu.store.repo.documents` (states, fields, rescans,
locks), :mod:`~jimu.store.repo.delivery` (the outbox) and :mod:`~jimu.store.repo.audit`.
"""

from jimu.store.repo.audit import append_audit, audit_entries, mask_value
from jimu.store.repo.batches import create_batch, finish_batch, get_batch
from jimu.store.repo.delivery import Delivery, deliver_record, pending_outbox_count
from jimu.store.repo.documents import (
    ALLOWED_TRANSITIONS,
    CONTENT_KEY_MIN_VALUES,
    DocumentState,
    FieldInput,
    add_document,
    compute_content_key,
    correct_field,
    document_counts,
    find_by_content_key,
    find_document_by_sha,
    get_document,
    lock_document,
    mark_duplicate,
    quarantine_document,
    save_fields,
    set_document_form,
    set_document_state,
    unlock_document,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CONTENT_KEY_MIN_VALUES",
    "Delivery",
    "DocumentState",
    "FieldInput",
    "add_document",
    "append_audit",
    "audit_entries",
    "compute_content_key",
    "correct_field",
    "create_batch",
    "deliver_record",
    "document_counts",
    "find_by_content_key",
    "find_document_by_sha",
    "finish_batch",
    "get_batch",
    "get_document",
    "lock_document",
    "mark_duplicate",
    "mask_value",
    "pending_outbox_count",
    "quarantine_document",
    "save_fields",
    "set_document_form",
    "set_document_state",
    "unlock_document",
]
