"""Outbox relay: publish after commit, in order; broker down → rows wait; exactly-once to the consumer.

Store: SQLite and the real PostgreSQL; queue: embedded SQLite queue and the real RabbitMQ.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from jimu.errors import QueueNotConfirmedError, QueueUnavailableError
from jimu.forms_schema import get_form
from jimu.outbox import relay, relay_until_empty
from jimu.queue.amqp_queue import AmqpQueue
from jimu.queue.base import QueueMessage
from jimu.queue.dedupe import DedupingConsumer, SeenStore
from jimu.queue.message import build_record_message, validate_record_message
from jimu.queue.sqlite_queue import SqliteQueue
from jimu.settings import get_settings
from jimu.store import repo
from jimu.store.db import dispose_engines, init_db, session_scope
from jimu.store.models import Document, OutboxMessage
from tests.service_helpers import (
    AMQP_URL,
    create_pg_database,
    drop_pg_database,
    require_amqp,
    sample_field_inputs,
    unique_queue_name,
)

FORM = "kaigo_nintei"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        yield init_db(url=f"sqlite:///{tmp_path / 'jimu.db'}")
        dispose_engines()
        return
    url = create_pg_database()
    try:
        yield init_db(url=url)
    finally:
        dispose_engines()
        drop_pg_database(url)


@pytest.fixture
def amqp() -> Iterator[AmqpQueue]:
    require_amqp()
    q = AmqpQueue(AMQP_URL, unique_queue_name(), connect_timeout_s=3)
    try:
        yield q
    finally:
        q.delete_topology()
        q.close()


class FlakyPublisher:
    """Fails ``fail_first`` publishes (broker down), then forwards to ``inner``."""

    def __init__(self, inner: Any, fail_first: int, error: type[Exception] = QueueUnavailableError) -> None:
        self.inner, self.fail_first, self.error = inner, fail_first, error
        self.calls: list[str] = []

    def publish(self, message_id: str, body: Mapping[str, Any]) -> None:
        self.calls.append(message_id)
        if len(self.calls) <= self.fail_first:
            raise self.error("broker down (test)")
        self.inner.publish(message_id, body)

    def close(self) -> None:
        pass


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def process(factory: sessionmaker[Session], token: str, *, values_token: str | None = None,
            batch_id: str | None = None) -> tuple[str, repo.Delivery | None]:
    """What the batch does with one scan: register by sha, read, check for a rescan, deliver."""
    with session_scope(factory) as s:
        if batch_id is None:
            batch_id = repo.create_batch(s, "/inbox").id
        doc, created = repo.add_document(s, batch_id=batch_id, sha256=sha(token), source_name=f"{token}.pdf")
        if not created and doc.state in ("accepted", "delivered", "duplicate", "quarantined", "rejected"):
            return doc.id, None  # already done: a re-run does nothing
        repo.set_document_state(s, doc, "extracting")
        form = get_form(FORM)
        repo.set_document_form(s, doc, FORM, form.version)
        repo.save_fields(s, doc, sample_field_inputs(FORM, values_token or token))
        original = repo.find_by_content_key(s, doc.content_key, exclude_document_id=doc.id)
        if original is not None:
            repo.mark_duplicate(s, doc, original)
            return doc.id, None
        return doc.id, repo.deliver_record(s, doc, build_record_message(doc, doc.fields, form))


def drain(consumer: Any, timeout_s: float = 0.5) -> list[QueueMessage]:
    out: list[QueueMessage] = []
    while True:
        got = consumer.get(50, timeout_s)
        if not got:
            return out
        for m in got:
            consumer.ack(m)
        out.extend(got)


def states(factory: sessionmaker[Session]) -> dict[str, str]:
    with session_scope(factory) as s:
        return {d.source_name: d.state for d in s.scalars(select(Document))}


# --- relay ----------------------------------------------------------------------------------------


def test_relay_publishes_in_order_and_marks(factory: sessionmaker[Session], tmp_path: Path) -> None:
    ids = [process(factory, f"doc{n}")[0] for n in range(5)]
    with SqliteQueue(tmp_path / "queue.db") as q:
        report = relay(factory, q, batch_size=2)
        assert (report.published, report.failed, report.pending, report.ok) == (5, 0, 0, True)
        msgs = drain(q)
    assert [m.body["source_name"] for m in msgs] == [f"doc{n}.pdf" for n in range(5)]
    for m in msgs:
        validate_record_message(m.body)
        assert m.message_id == f"{m.body['record_id']}:1"
        assert "crop" not in json.dumps(m.body) and "PNG" not in json.dumps(m.body)
    with session_scope(factory) as s:
        rows = s.scalars(select(OutboxMessage)).all()
        assert all(r.published_at is not None and r.attempts == 1 for r in rows)
        docs = [repo.get_document(s, i) for i in ids]
        assert {d.state for d in docs} == {"delivered"} and all(d.delivered_at for d in docs)
    with SqliteQueue(tmp_path / "queue.db") as q:
        assert relay(factory, q).published == 0  # nothing left


class DiesAfter:
    """Forwards ``n`` publishes, then the process "dies" (an exception no relay catches, like SIGKILL)."""

    def __init__(self, inner: Any, n: int) -> None:
        self.inner, self.n, self.calls = inner, n, 0

    def publish(self, message_id: str, body: Mapping[str, Any]) -> None:
        if self.calls == self.n:
            raise SystemExit("killed (test)")
        self.calls += 1
        self.inner.publish(message_id, body)


def test_a_relay_killed_mid_batch_has_marked_every_confirmed_record(factory: sessionmaker[Session],
                                                                   tmp_path: Path) -> None:
    """Each record is marked as soon as the broker confirms it: a relay that dies after three of five
    republishes none of those three (at most the one whose mark it did not reach)."""
    for n in range(5):
        process(factory, f"doc{n}")
    with SqliteQueue(tmp_path / "queue.db") as q:
        with pytest.raises(SystemExit):
            relay(factory, DiesAfter(q, 3), batch_size=100)
        with session_scope(factory) as s:
            assert sum(r.published_at is not None for r in s.scalars(select(OutboxMessage))) == 3
        again = FlakyPublisher(q, fail_first=0)
        assert relay(factory, again).published == 2
        assert len(again.calls) == 2  # the three confirmed ones were not published again


def test_relay_with_broker_down_keeps_rows_then_delivers(factory: sessionmaker[Session], tmp_path: Path) -> None:
    for n in range(3):
        process(factory, f"d{n}")
    down = AmqpQueue("amqp://guest:guest@127.0.0.1:1/%2F", "jimu.records", connect_timeout_s=1)
    report = relay(factory, down)
    assert (report.published, report.failed, report.pending, report.ok) == (0, 1, 3, False)
    assert "RabbitMQ" in (report.last_error or "")
    with session_scope(factory) as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [r.attempts for r in rows] == [1, 0, 0]  # it stopped at the first failure
        assert rows[0].last_error and rows[0].published_at is None
    assert set(states(factory).values()) == {"accepted"}
    with SqliteQueue(tmp_path / "queue.db") as q:  # the broker is back
        report = relay(factory, q)
        assert (report.published, report.pending) == (3, 0)
        assert [m.body["source_name"] for m in drain(q)] == ["d0.pdf", "d1.pdf", "d2.pdf"]
    with session_scope(factory) as s:
        first = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        assert first is not None and (first.attempts, first.last_error) == (2, None)
    assert set(states(factory).values()) == {"delivered"}


@pytest.mark.integration
def test_relay_rabbitmq_down_then_up_exactly_once(
    factory: sessionmaker[Session], amqp: AmqpQueue, tmp_path: Path
) -> None:
    for n in range(3):
        process(factory, f"r{n}")
    down = AmqpQueue("amqp://guest:guest@127.0.0.1:1/%2F", amqp.queue_name, connect_timeout_s=1)
    assert relay(factory, down).pending == 3
    # the relay "crashes" after the broker confirmed r0 but before marking it
    with session_scope(factory) as s:
        first = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
        assert first is not None
        amqp.publish(first.message_id, json.loads(first.payload))
    report = relay(factory, amqp)
    assert (report.published, report.pending) == (3, 0)
    consumer = DedupingConsumer(amqp, SeenStore(tmp_path / "seen.db"))
    msgs = drain(consumer)
    assert [m.body["source_name"] for m in msgs] == ["r0.pdf", "r1.pdf", "r2.pdf"]
    assert consumer.duplicates == 1
    assert amqp.stats().ready == 0


def test_relay_until_empty_backs_off(factory: sessionmaker[Session], tmp_path: Path) -> None:
    process(factory, "b0")
    process(factory, "b1")
    sleeps: list[float] = []
    with SqliteQueue(tmp_path / "queue.db") as q:
        flaky = FlakyPublisher(q, fail_first=3)
        report = relay_until_empty(factory, flaky, retry_delay_s=0.5, deadline_s=60, sleep=sleeps.append)
        assert (report.published, report.failed, report.pending, report.runs) == (2, 3, 0, 4)
        assert sleeps == [0.5, 1.0, 2.0]
        assert len(drain(q)) == 2


def test_relay_until_empty_gives_up_at_the_deadline(factory: sessionmaker[Session]) -> None:
    process(factory, "g0")
    sleeps: list[float] = []
    flaky = FlakyPublisher(None, fail_first=10**6)
    report = relay_until_empty(factory, flaky, retry_delay_s=1, max_retry_delay_s=4, deadline_s=0,
                               sleep=sleeps.append)
    assert (report.published, report.pending, report.runs, sleeps) == (0, 1, 1, [])


def test_poison_row_is_skipped_after_max_attempts(factory: sessionmaker[Session], tmp_path: Path) -> None:
    process(factory, "p0")
    process(factory, "p1")
    with SqliteQueue(tmp_path / "queue.db") as q:
        flaky = FlakyPublisher(q, fail_first=2, error=QueueNotConfirmedError)
        assert relay(factory, flaky, max_attempts=2).failed == 1
        assert relay(factory, flaky, max_attempts=2).failed == 1
        report = relay(factory, flaky, max_attempts=2)  # p0 has failed twice: skipped
        assert (report.published, report.pending, report.stuck) == (1, 1, 1)
        assert [m.body["source_name"] for m in drain(q)] == ["p1.pdf"]


# --- idempotency end to end (issue item 4) -------------------------------------------------------


def test_same_file_twice_and_batch_run_twice_yield_one_record(factory: sessionmaker[Session], tmp_path: Path) -> None:
    with SqliteQueue(tmp_path / "queue.db") as q:
        _, first = process(factory, "same-file")
        relay(factory, q)
        _, again = process(factory, "same-file")  # the same file dropped again
        with session_scope(factory) as s:  # the whole batch run again
            batch = repo.create_batch(s, "/inbox", trigger="schedule")
        _, rerun = process(factory, "same-file", batch_id=batch.id)
        relay(factory, q)
        assert first is not None and first.queued and again is None and rerun is None
        with session_scope(factory) as s:
            assert s.scalar(select(func.count()).select_from(Document)) == 1
            assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        assert len(drain(q)) == 1


def test_reprocessing_an_unchanged_record_publishes_nothing(factory: sessionmaker[Session], tmp_path: Path) -> None:
    doc_id, _ = process(factory, "reproc")
    with SqliteQueue(tmp_path / "queue.db") as q:
        relay(factory, q)
        with session_scope(factory) as s:  # reprocess: read again, same values
            doc = repo.get_document(s, doc_id)
            repo.set_document_state(s, doc, "extracting", reason="reprocess")
            repo.save_fields(s, doc, sample_field_inputs(FORM, "reproc"))
            d = repo.deliver_record(s, doc, build_record_message(doc, doc.fields, get_form(FORM)))
            assert (d.queued, d.unchanged) == (False, True)
            assert doc.state == "delivered"
        relay(factory, q)
        assert len(drain(q)) == 1


def test_rescan_is_flagged_not_delivered_twice(factory: sessionmaker[Session], tmp_path: Path) -> None:
    with SqliteQueue(tmp_path / "queue.db") as q:
        first_id, first = process(factory, "paper-scan-1", values_token="paper")
        dup_id, dup = process(factory, "paper-scan-2", values_token="paper")  # other bytes, same values
        _other_id, other = process(factory, "other-paper", values_token="other")
        relay(factory, q)
        assert first is not None and first.queued and dup is None and other is not None and other.queued
        with session_scope(factory) as s:
            d = repo.get_document(s, dup_id)
            assert (d.state, d.duplicate_of) == ("duplicate", first_id)
        assert sorted(m.body["source_name"] for m in drain(q)) == ["other-paper.pdf", "paper-scan-1.pdf"]


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_relay_and_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jimu.commands import queue_cmd

    monkeypatch.setenv("JIMU_DATA_DIR", str(tmp_path))
    for var in ("JIMU_QUEUE_URL", "JIMU_DATABASE_URL", "JIMU_QUEUE_NAME"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    try:
        factory = init_db(get_settings())
        process(factory, "cli0")
        process(factory, "cli1")
        status = json.loads(CliRunner().invoke(queue_cmd.app, ["status", "--json"]).stdout)
        assert (status["outbox_pending"], status["queue"]["ready"]) == (2, 0)
        result = CliRunner().invoke(queue_cmd.app, ["relay", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["published"] == 2
        status = json.loads(CliRunner().invoke(queue_cmd.app, ["status", "--json"]).stdout)
        assert (status["outbox_pending"], status["queue"]["ready"], status["documents"]) == (0, 2, {"delivered": 2})
        result = CliRunner().invoke(queue_cmd.app, ["consume", "--json", "--timeout", "0.2"])
        assert [json.loads(ln)["source_name"] for ln in result.stdout.splitlines()] == ["cli0.pdf", "cli1.pdf"]
        # broker down: the relay command fails with the queue exit code, rows stay pending
        process(factory, "cli2")
        monkeypatch.setenv("JIMU_QUEUE_URL", "amqp://guest:guest@127.0.0.1:1/%2F")
        monkeypatch.setenv("JIMU_QUEUE_CONNECT_TIMEOUT_S", "1")
        get_settings.cache_clear()
        result = CliRunner().invoke(queue_cmd.app, ["relay"])
        assert result.exit_code != 0 and getattr(result.exception, "exit_code", None) == 8
    finally:
        get_settings.cache_clear()
        dispose_engines()
