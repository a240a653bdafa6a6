"""The outbox relay: publish committed record messages to the queue, in order, at least once.

:func:`jimu.store.repo.deliver_record` writes a row to ``outbox`` in the same transaction as the
document's state change.  :func:`relay` reads unpublished rows in id order, publishes each and
marks it ``published_at`` only after the broker confirmed it (then moves the document to
``delivered``).  When the broker is down it stops at the first failure, records ``attempts`` and
``last_error`` on that row, and returns — rows stay pending; :func:`relay_until_empty` retries
with exponential backoff.  Each row is marked as soon as its confirm arrives, so a relay killed
between a confirm and its mark republishes that one message on the next run (publishing is at
least once: a broker and a database cannot commit together): the embedded queue ignores the
duplicate id, and RabbitMQ consumers dedupe by message id (:mod:`jimu.queue.dedupe`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from jimu.errors import QueueError
from jimu.queue.base import Publisher
from jimu.store.db import session_scope
from jimu.store.models import Document, OutboxMessage, utcnow
from jimu.store.repo import append_audit, set_document_state

log = logging.getLogger(__name__)
_PG_RELAY_LOCK = 0x6A696D76  # one relay at a time per PostgreSQL database (others return at once)


@dataclass
class RelayReport:
    published: int = 0  # rows confirmed by the broker and marked in this run
    failed: int = 0  # publish attempts that failed (the relay stops at the first one)
    pending: int = 0  # unpublished rows left after the run
    stuck: int = 0  # pending rows skipped because they reached max_attempts
    runs: int = 0  # relay passes (relay_until_empty)
    busy: bool = False  # another relay held the lock (PostgreSQL); nothing was done
    last_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.busy


@contextmanager
def _relay_lock(factory: sessionmaker[Session]) -> Iterator[bool]:
    """One relay at a time: an advisory lock on PostgreSQL, a file lock beside an SQLite store
    (relays in threads or processes of one machine). A relay that does not get it returns at once."""
    bind = factory.kw.get("bind")
    if bind is not None and bind.dialect.name == "sqlite" and bind.url.database not in (None, "", ":memory:"):
        import fcntl

        with open(f"{bind.url.database}.relay.lock", "a+b") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    if bind is None or bind.dialect.name != "postgresql":
        yield True
        return
    with bind.connect() as conn:
        got = bool(conn.scalar(select(func.pg_try_advisory_lock(_PG_RELAY_LOCK))))
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.scalar(select(func.pg_advisory_unlock(_PG_RELAY_LOCK)))
                conn.commit()


def relay(
    session_factory: sessionmaker[Session],
    publisher: Publisher,
    batch_size: int = 100,
    max_attempts: int | None = None,
) -> RelayReport:
    """Publish every unpublished outbox row once (in id order); stop at the first broker failure.

    ``max_attempts``: rows that already failed this many times are skipped (counted as ``stuck``)
    so one poison message cannot hold the queue forever; ``None`` (default) never gives up — right
    for broker outages, where every row fails for the same reason.
    """
    report = RelayReport(runs=1)
    with _relay_lock(session_factory) as got:
        if not got:
            report.busy = True
            return _counts(session_factory, report, max_attempts)
        while True:
            with session_scope(session_factory) as s:
                q = select(OutboxMessage.id, OutboxMessage.message_id, OutboxMessage.payload).where(
                    OutboxMessage.published_at.is_(None)
                )
                if max_attempts is not None:
                    q = q.where(OutboxMessage.attempts < max_attempts)
                rows = s.execute(q.order_by(OutboxMessage.id).limit(batch_size)).all()
            if not rows:
                break
            failure: tuple[int, str] | None = None
            for row_id, message_id, payload in rows:
                try:
                    publisher.publish(message_id, json.loads(payload))
                except QueueError as e:
                    failure = (row_id, e.message)
                    break
                except ValueError as e:  # payload is not JSON: never publishable
                    failure = (row_id, f"outbox payload is not JSON: {e}")
                    break
                # marked at once, one by one: a relay killed now republishes at most this one message
                _mark(session_factory, [row_id], None)
                report.published += 1
            _mark(session_factory, [], failure)
            if failure is not None:
                report.failed += 1
                report.last_error = failure[1]
                log.info("outbox relay stopped: %s", failure[1])
                break
            if len(rows) < batch_size:
                break
    return _counts(session_factory, report, max_attempts)


def _mark(factory: sessionmaker[Session], confirmed: Sequence[int], failure: tuple[int, str] | None) -> None:
    if not confirmed and failure is None:
        return
    now = utcnow()
    with session_scope(factory) as s:
        if confirmed:
            rows = s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(confirmed))).all()
            docs = {d.id: d for d in s.scalars(select(Document).where(Document.id.in_({r.document_id for r in rows})))}
            for row in rows:
                if row.published_at is not None:
                    continue
                row.published_at = now
                row.attempts += 1
                row.last_error = None
                doc = docs.get(row.document_id)
                if doc is not None and doc.state == "accepted" and doc.record_version == row.record_version:
                    set_document_state(s, doc, "delivered", reason="broker confirmed the record")
                    doc.delivered_at = now
                append_audit(s, "system", "record.published", document_id=row.document_id,
                             detail={"message_id": row.message_id})
        if failure is not None:
            failed = s.get(OutboxMessage, failure[0])
            if failed is not None:
                failed.attempts += 1
                failed.last_error = failure[1][:2000]


def _counts(factory: sessionmaker[Session], report: RelayReport, max_attempts: int | None) -> RelayReport:
    with session_scope(factory) as s:
        pending = OutboxMessage.published_at.is_(None)
        report.pending = int(s.scalar(select(func.count()).select_from(OutboxMessage).where(pending)) or 0)
        if max_attempts is not None:
            report.stuck = int(s.scalar(select(func.count()).select_from(OutboxMessage)
                                        .where(pending, OutboxMessage.attempts >= max_attempts)) or 0)
    return report


def relay_until_empty(
    session_factory: sessionmaker[Session],
    publisher: Publisher,
    *,
    batch_size: int = 100,
    max_attempts: int | None = None,
    retry_delay_s: float = 1.0,
    max_retry_delay_s: float = 60.0,
    deadline_s: float | None = 300.0,
    sleep: Callable[[float], None] = time.sleep,
) -> RelayReport:
    """Run :func:`relay` until nothing publishable is pending, backing off exponentially on failures.

    Gives up when ``deadline_s`` has passed (``None``: never) and returns the combined report; rows
    still pending stay in the outbox for the next run.
    """
    start = time.monotonic()
    delay = retry_delay_s
    total = RelayReport(runs=0)
    while True:
        r = relay(session_factory, publisher, batch_size=batch_size, max_attempts=max_attempts)
        total.runs += 1
        total.published += r.published
        total.failed += r.failed
        total.pending, total.stuck, total.busy = r.pending, r.stuck, r.busy
        total.last_error = r.last_error or total.last_error
        if r.ok and r.pending - r.stuck <= 0:
            return total
        if r.ok:  # rows arrived while relaying: go again at once
            delay = retry_delay_s
            continue
        elapsed = time.monotonic() - start
        if deadline_s is not None and elapsed + delay > deadline_s:
            return total
        sleep(delay)
        delay = min(delay * 2, max_retry_delay_s)


def holding_relay(factory: sessionmaker[Session]) -> AbstractContextManager[bool]:
    """The relay's own lock, for taking a message back out of the outbox: while it is held (True)
    no relay is publishing, so an unpublished row can be withdrawn without a race."""
    return _relay_lock(factory)
