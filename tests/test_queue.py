"""Queue backends (embedded SQLite, real RabbitMQ), consumer dedupe, the record message schema, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from typer.testing import CliRunner

from jimu.commands import queue_cmd
from jimu.errors import InvalidMessageError, QueueError, QueueUnavailableError
from jimu.queue import open_queue
from jimu.queue.amqp_queue import AmqpQueue, safe_amqp_url
from jimu.queue.base import QueueMessage
from jimu.queue.dedupe import DedupingConsumer, SeenStore
from jimu.queue.message import SCHEMA_PATH, record_message_schema, validate_record_message
from jimu.queue.sqlite_queue import SqliteQueue
from jimu.settings import Settings, get_settings
from tests.service_helpers import AMQP_URL, require_amqp, unique_queue_name

REPO = Path(__file__).resolve().parent.parent


def body(n: int, **over: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "schema_version": 1,
        "record_id": f"00000000-0000-5000-8000-{n:012d}",
        "record_version": 1,
        "document_sha256": "ab" * 32,
        "form_id": "kaigo_nintei",
        "form_version": 1,
        "batch_id": "b1",
        "source_name": f"scan{n}.pdf",
        "ward": None,
        "fields": {"name": "千葉太郎", "members[0].sex": "male", "items": ["a", "b"], "agree": True, "zip": None},
        "acceptance": {"name": {"by": "auto", "confidence": 0.99},
                       "zip": {"by": "operator", "operator": "op1", "at": "2025-04-01T09:30:00.000Z"}},
        "timestamps": {"scanned": None, "created": "2025-04-01T09:00:00.000Z", "accepted": "2025-04-01T09:30:00Z"},
    }
    b.update(over)
    return b


def mid(n: int, version: int = 1) -> str:
    return f"{body(n)['record_id']}:{version}"


@pytest.fixture(params=["sqlite", pytest.param("amqp", marks=pytest.mark.integration)])
def queue(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteQueue | AmqpQueue]:
    if request.param == "sqlite":
        q = SqliteQueue(tmp_path / "queue.db", "jimu.records", visibility_timeout_s=0.5)
        yield q
        q.close()
        return
    require_amqp()
    aq = AmqpQueue(AMQP_URL, unique_queue_name(), connect_timeout_s=3)
    try:
        yield aq
    finally:
        aq.delete_topology()
        aq.close()


def wait_dead(q: SqliteQueue | AmqpQueue, n: int) -> int:
    deadline = time.monotonic() + 3
    while True:
        dead = q.stats().dead
        if dead >= n or time.monotonic() > deadline:
            return dead
        time.sleep(0.05)


# --- both backends --------------------------------------------------------------------------------


# Both backends are a Publisher and a Consumer: mypy checks it where jimu.queue.get_publisher and
# get_consumer return open_queue()'s backend as those Protocols (a runtime isinstance on a Protocol
# only looks for the method names, so it is not tested here).


def test_publish_get_ack_in_order(queue: SqliteQueue | AmqpQueue) -> None:
    for n in range(3):
        queue.publish(mid(n), body(n))
    msgs = queue.get(max_n=10, timeout_s=1)
    assert [m.message_id for m in msgs] == [mid(0), mid(1), mid(2)]
    assert msgs[0].body == body(0) and not msgs[0].redelivered
    for m in msgs:
        queue.ack(m)
    assert queue.get(max_n=10, timeout_s=0.2) == []
    assert queue.stats().ready == 0


def test_get_waits_up_to_timeout(queue: SqliteQueue | AmqpQueue) -> None:
    t = time.monotonic()
    assert queue.get(1, timeout_s=0.3) == []
    assert 0.25 <= time.monotonic() - t < 3


def test_reject_dead_letters(queue: SqliteQueue | AmqpQueue) -> None:
    queue.publish(mid(1), body(1))
    queue.publish(mid(2), body(2))
    m1, m2 = queue.get(2, timeout_s=1)
    queue.reject(m1)  # → dead-letter queue
    queue.reject(m2, requeue=True)  # → back on the queue
    again = queue.get(2, timeout_s=1)
    assert [m.message_id for m in again] == [mid(2)] and again[0].redelivered
    queue.ack(again[0])
    assert wait_dead(queue, 1) == 1
    if isinstance(queue, SqliteQueue):
        [(message_id, dead_body, _reason)] = queue.dead_letters()
    else:
        [dl] = queue.get_dead_letters()
        message_id, dead_body = dl.message_id, dl.body
        queue.ack(dl)
    assert (message_id, dead_body) == (mid(1), body(1))


def test_unacked_message_comes_back(queue: SqliteQueue | AmqpQueue) -> None:
    queue.publish(mid(1), body(1))
    [m] = queue.get(1, timeout_s=1)
    if isinstance(queue, SqliteQueue):
        assert queue.get(1, timeout_s=0) == []  # claimed: invisible to other consumers...
        time.sleep(0.6)  # ...until the visibility timeout passes
    else:
        queue.close()  # the consumer "crashes": RabbitMQ requeues what it held
    [again] = queue.get(1, timeout_s=2)
    assert again.message_id == m.message_id and again.redelivered
    queue.ack(again)


def test_duplicate_publish_is_seen_once_by_the_deduping_consumer(queue: SqliteQueue | AmqpQueue, tmp_path: Path
                                                                  ) -> None:
    queue.publish(mid(1), body(1))
    queue.publish(mid(1), body(1))  # e.g. the relay crashed between the confirm and marking the row
    queue.publish(mid(1, version=2), body(1, record_version=2))
    seen = SeenStore(tmp_path / "seen.db")
    consumer = DedupingConsumer(queue, seen)
    got = consumer.get(10, timeout_s=1)
    assert [m.message_id for m in got] == [mid(1), mid(1, 2)]
    for m in got:
        consumer.ack(m)
    queue.publish(mid(1), body(1))  # a late copy after ack
    assert consumer.get(10, timeout_s=0.3) == []
    expected_copies = 0 if isinstance(queue, SqliteQueue) else 2  # the embedded queue drops them at publish
    assert consumer.duplicates == expected_copies
    assert seen.count() == 2
    seen.close()


# --- embedded queue -------------------------------------------------------------------------------


def test_sqlite_queue_is_durable_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    with SqliteQueue(path) as q:
        q.publish(mid(1), body(1))
        q.publish(mid(2), body(2))
    with SqliteQueue(path) as q:
        m1, _m2 = q.get(2, timeout_s=0)
        q.ack(m1)
    with SqliteQueue(path) as q:  # the un-acked one is still there (after its claim expires)
        q.visibility_timeout_s = 0
        st = q.stats()
        assert (st.ready + (st.unacked or 0), st.dead) == (1, 0)
        q.publish(mid(1), body(1))  # already delivered: still a no-op after reopening
        assert q.stats().ready + (q.stats().unacked or 0) == 1
    with sqlite3_connect(path) as conn:  # acked bodies are dropped (no personal data kept)
        assert conn.execute("SELECT body FROM messages WHERE message_id = ?", (mid(1),)).fetchone() == (None,)


def sqlite3_connect(path: Path) -> Any:
    import sqlite3

    return sqlite3.connect(path)


def test_sqlite_queue_poison_message_is_dead_lettered(tmp_path: Path) -> None:
    with SqliteQueue(tmp_path / "q.db", visibility_timeout_s=0, max_deliveries=2) as q:
        q.publish(mid(1), body(1))
        assert len(q.get(1)) == 1
        assert len(q.get(1)) == 1
        assert q.get(1) == []
        assert q.stats().dead == 1
        assert "without an ack" in q.dead_letters()[0][2]


def test_sqlite_queue_consumers_in_two_processes_never_share_a_message(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    with SqliteQueue(path) as q:
        for n in range(60):
            q.publish(mid(n), body(n))
    script = (
        "import sys, json\n"
        "from jimu.queue.sqlite_queue import SqliteQueue\n"
        "q = SqliteQueue(sys.argv[1])\n"
        "ids = []\n"
        "while True:\n"
        "    got = q.get(3, timeout_s=0)\n"
        "    if not got: break\n"
        "    for m in got:\n"
        "        ids.append(m.message_id); q.ack(m)\n"
        "print(json.dumps(ids))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True, cwd=REPO)
             for _ in range(2)]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    everything = results[0] + results[1]
    assert len(everything) == len(set(everything)) == 60


def test_seen_store_persists(tmp_path: Path) -> None:
    s = SeenStore(tmp_path / "seen.db")
    assert s.mark("a:1") and not s.mark("a:1")
    s.close()
    s = SeenStore(tmp_path / "seen.db")
    assert s.seen("a:1") and not s.seen("a:2")
    s.close()


# --- RabbitMQ specifics ---------------------------------------------------------------------------


@pytest.mark.integration
def test_amqp_message_properties_and_topology() -> None:
    require_amqp()
    name = unique_queue_name()
    q = AmqpQueue(AMQP_URL, name, connect_timeout_s=3)
    try:
        q.publish(mid(1), body(1))
        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        try:
            ch = conn.channel()
            method, props, raw = ch.basic_get(name, auto_ack=True)
            assert method is not None and raw is not None
            assert props.delivery_mode == 2
            assert props.content_type == "application/json"
            assert props.message_id == mid(1)
            assert not props.headers  # personal data only ever in the body
            assert json.loads(raw) == body(1)
            # the queue is durable and dead-letters to {name}.dlx (a redeclare with other args fails)
            ch.queue_declare(name, durable=True, arguments={"x-dead-letter-exchange": f"{name}.dlx"})
            ch.queue_declare(f"{name}.dlq", durable=True)
        finally:
            conn.close()
    finally:
        q.delete_topology()


@pytest.mark.integration
def test_amqp_queue_with_conflicting_arguments_is_a_clear_error() -> None:
    require_amqp()
    name = unique_queue_name()
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    conn.channel().queue_declare(name, durable=False)  # someone made it by hand, without the dead-letter exchange
    try:
        with pytest.raises(QueueError, match="other arguments"):
            AmqpQueue(AMQP_URL, name).publish(mid(1), body(1))
    finally:
        ch = conn.channel()
        ch.queue_delete(name)
        ch.queue_delete(f"{name}.dlq")
        ch.exchange_delete(f"{name}.dlx")
        conn.close()


def test_amqp_unreachable_is_a_queue_error_with_a_hint() -> None:
    q = AmqpQueue("amqp://guest:secret@127.0.0.1:1/%2F", "jimu.records", connect_timeout_s=1)
    t = time.monotonic()
    with pytest.raises(QueueUnavailableError) as ei:
        q.publish(mid(1), body(1))
    assert time.monotonic() - t < 5
    assert "secret" not in str(ei.value) and "outbox" in ei.value.hint
    assert safe_amqp_url("amqp://guest:secret@h:5672/%2F") == "amqp://guest:***@h:5672/%2F"


# --- settings → backend -------------------------------------------------------------------------


def test_open_queue_follows_settings(tmp_path: Path) -> None:
    q = open_queue(Settings(data_dir=tmp_path))
    assert isinstance(q, SqliteQueue) and q.path == (tmp_path / "queue.db").resolve()
    q.close()
    a = open_queue(Settings(data_dir=tmp_path, queue_url="amqp://guest:guest@127.0.0.1:5672/%2F", queue_name="x"))
    assert isinstance(a, AmqpQueue) and a.queue_name == "x" and a.dlq_name == "x.dlq"
    with pytest.raises(QueueError):
        open_queue(Settings(data_dir=tmp_path, queue_url="kafka://nope"))


# --- message schema -------------------------------------------------------------------------------


def test_schema_file_is_valid_and_published() -> None:
    from jsonschema import Draft202012Validator

    assert SCHEMA_PATH == REPO / "jimu" / "schemas" / "record-message.schema.json"
    Draft202012Validator.check_schema(record_message_schema())
    validate_record_message(body(1))


@pytest.mark.parametrize(
    "change",
    [
        {"schema_version": 2},
        {"record_version": 0},
        {"document_sha256": "xyz"},
        {"image": "iVBORw0KGgo="},  # never the image
        {"fields": {"Bad Id": "x"}},
        {"acceptance": {"name": {"by": "auto"}}},
        {"timestamps": {"scanned": None, "created": "yesterday", "accepted": "2025-04-01T09:30:00Z"}},
    ],
)
def test_schema_rejects_bad_messages(change: dict[str, Any]) -> None:
    with pytest.raises(InvalidMessageError):
        validate_record_message(body(1, **change))


# --- CLI ------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("JIMU_DATA_DIR", str(tmp_path))
    for var in ("JIMU_QUEUE_URL", "JIMU_DATABASE_URL", "JIMU_QUEUE_NAME"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    from jimu.store.db import dispose_engines

    dispose_engines()


def _consume(*args: str) -> tuple[list[dict[str, Any]], str]:
    result = CliRunner().invoke(queue_cmd.app, ["consume", *args])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    return [json.loads(ln) for ln in lines], result.stderr


def test_cli_consume_json_embedded(cli_env: Path) -> None:
    with SqliteQueue(cli_env / "queue.db") as q:
        q.publish(mid(1), body(1))
        q.publish(mid(2), body(2))
        q.publish(mid(3), {"not": "a record"})
    records, err = _consume("--json", "--timeout", "0.2")
    assert [r["record_id"] for r in records] == [body(1)["record_id"], body(2)["record_id"]]
    assert "rejected 1" in err
    with SqliteQueue(cli_env / "queue.db") as q:
        st = q.stats()
        assert (st.ready, st.unacked, st.dead) == (0, 0, 1)
        q.publish(mid(4), body(4))
        q.publish(mid(5), body(5))
    records, _ = _consume("--json", "--max", "1", "--timeout", "0.2")
    assert [r["source_name"] for r in records] == ["scan4.pdf"]
    result = CliRunner().invoke(queue_cmd.app, ["consume", "--timeout", "0.2"])  # human-readable
    assert result.exit_code == 0 and "kaigo_nintei v1" in result.stdout and "千葉太郎" not in result.stdout


def test_cli_status_embedded(cli_env: Path) -> None:
    with SqliteQueue(cli_env / "queue.db") as q:
        q.publish(mid(1), body(1))
    result = CliRunner().invoke(queue_cmd.app, ["status", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["outbox_pending"] == 0
    assert (out["queue"]["ready"], out["queue"]["dead_letters"]) == (1, 0)
    assert CliRunner().invoke(queue_cmd.app, ["status"]).exit_code == 0


@pytest.mark.integration
def test_cli_consume_json_rabbitmq(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_amqp()
    name = unique_queue_name()
    monkeypatch.setenv("JIMU_QUEUE_URL", AMQP_URL)
    monkeypatch.setenv("JIMU_QUEUE_NAME", name)
    get_settings.cache_clear()
    q = AmqpQueue(AMQP_URL, name)
    try:
        q.publish(mid(1), body(1))
        q.publish(mid(1), body(1))
        q.publish(mid(2), body(2))
        records, err = _consume("--json", "--timeout", "0.5")
        assert [r["record_id"] for r in records] == [body(1)["record_id"], body(2)["record_id"]]
        assert "dropped 1" in err
        assert q.stats().ready == 0
    finally:
        q.delete_topology()


def test_queue_message_is_frozen() -> None:
    m = QueueMessage("a:1", {}, 1)
    with pytest.raises(AttributeError):
        m.message_id = "b"  # type: ignore[misc]
