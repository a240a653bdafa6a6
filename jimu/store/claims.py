"""Inbox files claimed by workers: how one batch spreads over many processes and machines.

A batch lists its inbox once and adds a claim row per file it takes (:func:`add_claims`). Any
number of workers, in this process or on other machines sharing the store, then loop over
:func:`claim_next` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
serialises the same statements) until nothing is left. A claim has an owner and a lease: a
worker killed mid-file leaves its lease to run out, and the file is claimed again by another
(:data:`MAX_ATTEMPTS` times at most: a file that kills every worker is then set aside).

The claims are also the ledger of the inbox: a file whose path, size and time are already in a
claim is not listed for a new batch (:func:`add_claims` skips it), so scheduled runs never re-read
old files, and two runs over one inbox never take the same file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from jimu.store.db import session_scope
from jimu.store.models import Batch, FileClaim, utcnow

MAX_ATTEMPTS = 3


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def file_key(path: Path) -> str | None:
    """The file as it lies in the inbox (path, size, modification time), or None when it is gone."""
    try:
        st = path.stat()
    except OSError:
        return None
    raw = os.fsencode(str(path.resolve())) + b"\0" + str(st.st_size).encode() + b"\0" + str(st.st_mtime_ns).encode()
    return hashlib.sha256(raw).hexdigest()


def encode_path(path: Path) -> str:
    """A path as text the store can hold: a name in bytes that are not UTF-8 (Shift_JIS) in base64."""
    raw = os.fsencode(str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "b64:" + base64.b64encode(raw).decode("ascii")


def decode_path(text: str) -> Path:
    return Path(os.fsdecode(base64.b64decode(text[4:]))) if text.startswith("b64:") else Path(text)


def _alive(owner: str | None) -> bool:
    """False only when the owner is a process of this machine that no longer exists."""
    if not owner or ":" not in owner:
        return True
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stopped_batches(session: Session, lease_s: float) -> list[str]:
    """Mark failed the running batches whose process is gone (killed, crashed) or that nobody has
    worked on for a lease: their files are then taken by the next run. Returns their ids."""
    now = utcnow()
    out = []
    for b in session.scalars(select(Batch).where(Batch.state == "running").with_for_update()):
        last = session.scalar(select(func.max(FileClaim.updated_at)).where(FileClaim.batch_id == b.id)) or b.created_at
        if not _alive(b.owner) or last < now - timedelta(seconds=lease_s):
            b.state, b.finished_at = "failed", now
            b.error = "stopped without finishing (its process ended or stopped working); the next run takes its files"
            out.append(b.id)
    session.flush()
    return out


def add_claims(session: Session, batch_id: str, files: list[tuple[Path, str | None]]) -> tuple[int, list[Path]]:
    """Claim rows for the files this batch takes; files already claimed are left to their batch
    (or adopted, when that batch stopped). Returns how many this batch holds, and the files that
    vanished since they were listed."""
    now = utcnow()
    held = 0
    vanished = []
    keyed: list[tuple[str, Path, str | None]] = []
    for path, ward in files:
        key = file_key(path)
        if key is None:
            vanished.append(path)
        else:
            keyed.append((key, path, ward))
    existing: dict[str, FileClaim] = {}
    keys = [k for k, _, _ in keyed]
    for i in range(0, len(keys), 500):  # one query per 500 files, not one per file (the inbox keeps old ones)
        q = select(FileClaim).where(FileClaim.file_key.in_(keys[i:i + 500])).with_for_update()
        existing.update({c.file_key: c for c in session.scalars(q)})
    for key, path, ward in keyed:
        row = existing.get(key)
        if row is None:
            session.add(FileClaim(file_key=key, batch_id=batch_id, path=encode_path(path),
                                  ward=ward, state="pending", attempts=0))
            held += 1
        elif row.state != "done" and _abandoned(session, row, now):
            row.batch_id, row.state, row.owner, row.lease_expires = batch_id, "pending", None, None
            held += 1
    session.flush()
    return held, vanished


def _abandoned(session: Session, row: FileClaim, now: Any) -> bool:
    """A claim of a batch that is no longer running, or whose lease ran out."""
    batch = session.get(Batch, row.batch_id)
    if batch is None or batch.state != "running":
        return True
    return row.state == "claimed" and row.lease_expires is not None and row.lease_expires < now


def claim_next(factory: sessionmaker[Session], batch_id: str, owner: str, lease_s: float) -> FileClaim | None:
    """The next file of the batch for ``owner``: a pending one, or one whose lease ran out."""
    with session_scope(factory) as s:
        now = utcnow()
        q = (select(FileClaim)
             .where(FileClaim.batch_id == batch_id,
                    or_(FileClaim.state == "pending",
                        (FileClaim.state == "claimed") & (FileClaim.lease_expires < now)
                        & (FileClaim.attempts < MAX_ATTEMPTS)))
             .order_by(FileClaim.id).limit(1).with_for_update(skip_locked=True))
        row = s.scalars(q).first()
        if row is None:
            return None
        row.state, row.owner, row.lease_expires = "claimed", owner, now + timedelta(seconds=lease_s)
        row.attempts += 1
        s.flush()
        s.expunge(row)
        return row


def complete(factory: sessionmaker[Session], claim_id: int, owner: str, result: dict[str, Any]) -> bool:
    """Record what became of a claimed file. False when the claim was lost (its lease ran out and
    another worker took it): that worker's result stands."""
    with session_scope(factory) as s:
        res: Any = s.execute(update(FileClaim).where(FileClaim.id == claim_id, FileClaim.owner == owner,
                                              FileClaim.state == "claimed")
                      .values(state="done", result_json=json.dumps(result, ensure_ascii=False),
                              lease_expires=None, updated_at=utcnow()))
        return bool(res.rowcount)


def results(session: Session, batch_id: str) -> list[dict[str, Any]]:
    """The results of the batch's done claims, in claim order."""
    rows = session.scalars(select(FileClaim.result_json).where(FileClaim.batch_id == batch_id,
                                                               FileClaim.state == "done")
                           .order_by(FileClaim.id))
    return [json.loads(r) for r in rows if r]


def open_count(session: Session, batch_id: str) -> int:
    """Claims of the batch not yet done (pending, or held by a worker)."""
    return int(session.scalar(select(func.count()).select_from(FileClaim)
                              .where(FileClaim.batch_id == batch_id, FileClaim.state != "done")) or 0)


def only_given_up_left(session: Session, batch_id: str) -> bool:
    """Every file of the batch is done, or was given up after :data:`MAX_ATTEMPTS` tries."""
    return open_count(session, batch_id) == len(given_up(session, batch_id))


def given_up(session: Session, batch_id: str) -> list[FileClaim]:
    """Claims taken :data:`MAX_ATTEMPTS` times without a result (the file stopped every worker)."""
    return list(session.scalars(select(FileClaim).where(FileClaim.batch_id == batch_id, FileClaim.state == "claimed",
                                                        FileClaim.attempts >= MAX_ATTEMPTS,
                                                        FileClaim.lease_expires < utcnow())))
