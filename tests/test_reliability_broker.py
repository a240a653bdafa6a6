"""RabbitMQ unreachable for the whole batch: nothing is lost, and everything is delivered once it returns;
and the kill -9 check's broker-side tap (counts every message, forwards it to the center's queue)."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path

import pytest

from jimu.pipeline.batch import run_batch_plain
from jimu.reliability import broker_counts
from jimu.settings import get_settings
from jimu.validators.policy import THRESHOLD_KINDS
from tests.pipeline_helpers import copy_sample, isolated_settings
from tests.service_helpers import AMQP_URL, require_amqp

pytestmark = pytest.mark.integration

SAMPLES = ["inkan_toroku_clean_s424242_0000.png", "juminhyo_kofu_clean_s424242_0000.png",
           "jumin_idou_clean_s424242_0000.png", "kaigo_nintei_clean_s424242_0000.png",
           "kodomo_iryohi_pc_s4243_0000.pdf", "feeder_all_office_s4242_3.tif"]


def permissive_thresholds(path: Path) -> Path:
    """Accept whatever nothing but confidence would flag, so that records are certain to be queued."""
    path.write_text(json.dumps({"version": "test-permissive", "thresholds": dict.fromkeys(THRESHOLD_KINDS, 0.0)}))
    return path


def test_broker_down_for_the_whole_batch_then_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_amqp()
    queue = f"jimu.test.{uuid.uuid4().hex[:8]}"
    isolated_settings(monkeypatch, tmp_path / "data", JIMU_QUEUE_URL="amqp://guest:guest@127.0.0.1:1/%2F",
                      JIMU_QUEUE_NAME=queue, JIMU_QUEUE_CONNECT_TIMEOUT_S="1",
                      JIMU_THRESHOLDS_FILE=str(permissive_thresholds(tmp_path / "th.json")))
    inbox = tmp_path / "inbox"
    for n in SAMPLES:
        copy_sample(n, inbox / "中央区")
    summary = run_batch_plain(inbox, workers=2)
    accepted = summary.states.get("accepted", 0) + summary.states.get("delivered", 0)
    assert accepted >= 2, summary.states
    assert summary.outbox_pending == accepted, "every accepted record waits in the outbox"
    assert summary.relay_error

    # the broker is back
    monkeypatch.setenv("JIMU_QUEUE_URL", AMQP_URL)
    get_settings.cache_clear()
    from jimu.outbox import relay_until_empty
    from jimu.queue import get_consumer, get_publisher
    from jimu.queue.dedupe import DedupingConsumer, SeenStore
    from jimu.store.db import init_db

    settings = get_settings()
    factory = init_db(settings)
    publisher = get_publisher(settings)
    try:
        report = relay_until_empty(factory, publisher, retry_delay_s=0.2, deadline_s=30)
        assert report.pending == 0 and report.published == accepted
        # a second relay publishes nothing again
        assert relay_until_empty(factory, publisher, retry_delay_s=0.2, deadline_s=5).published == 0
    finally:
        getattr(publisher, "close", lambda: None)()
    consumer = DedupingConsumer(get_consumer(settings), SeenStore(tmp_path / "seen.db"))
    seen = []
    try:
        while msgs := consumer.get(50, 2.0):
            for m in msgs:
                seen.append(m.body["record_id"])
                consumer.ack(m)
    finally:
        getattr(consumer, "close", lambda: None)()
        _delete_queue(queue)
    assert len(seen) == accepted and len(set(seen)) == accepted
    get_settings.cache_clear()


def _delete_queue(name: str) -> None:
    import pika

    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        ch = conn.channel()
        for q in (name, f"{name}.dlq"):
            ch.queue_delete(q)
        ch.exchange_delete(f"{name}.dlx")
    finally:
        conn.close()


def test_tap_counts_every_copy_and_forwards_it_unchanged() -> None:
    """``broker_counts(..., forward_to=)``: counted with no de-duplication, forwarded body and properties
    unchanged to a queue declared as Jimu declares its own, and the original acked; the center's
    de-duplicating consumer then sees each record once."""
    import pika

    from jimu.queue.amqp_queue import AmqpQueue
    from jimu.queue.dedupe import DedupingConsumer, SeenStore
    from jimu.queue.message import encode_body

    require_amqp()
    queue = f"jimu.test.tap.{uuid.uuid4().hex[:8]}"
    center = f"{queue}.center"
    bodies = {"r1:1": {"record_id": "r1", "n": "一"}, "r2:1": {"record_id": "r2", "n": "二"}}
    try:
        assert broker_counts(AMQP_URL, queue, forward_to=center) == Counter()  # nothing published yet: empty
        with AmqpQueue(AMQP_URL, queue) as q:
            for mid in ("r1:1", "r2:1", "r1:1"):  # r1 twice, as a relay killed after the confirm republishes it
                q.publish(mid, bodies[mid])
        seen: Counter[str] = Counter({"r0:1": 1})
        assert broker_counts(AMQP_URL, queue, seen, forward_to=center) is seen
        assert seen == Counter({"r0:1": 1, "r1:1": 2, "r2:1": 1})
        assert broker_counts(AMQP_URL, queue, forward_to=center) == Counter()  # the originals were acked

        conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        try:
            ch = conn.channel()
            got = []
            while True:
                method, props, body = ch.basic_get(center, auto_ack=False)
                if method is None:
                    break
                got.append((props.message_id, body, props.delivery_mode, props.content_type, props.type))
            conn.close()  # not acked: back on the center queue
        finally:
            if conn.is_open:
                conn.close()
        assert sorted(got) == sorted((mid, encode_body(bodies[mid]), 2, "application/json", "jimu.record")
                                     for mid in ("r1:1", "r2:1", "r1:1"))

        with AmqpQueue(AMQP_URL, center) as cq:  # Jimu's own declaration matches: no PRECONDITION_FAILED
            assert cq.stats().ready == 3
            consumer = DedupingConsumer(cq, SeenStore(":memory:"))
            ids = []
            while msgs := consumer.get(10, 1.0):
                for m in msgs:
                    ids.append(m.message_id)
                    if m.message_id == "r2:1":
                        consumer.reject(m)  # requeue=False: dead-lettered through the center's own .dlx
                    else:
                        consumer.ack(m)
            assert sorted(ids) == ["r1:1", "r2:1"] and consumer.duplicates == 1
            st = cq.stats()
            assert (st.ready, st.dead) == (0, 1)
    finally:
        for name in (queue, center):
            with AmqpQueue(AMQP_URL, name) as q:
                q.delete_topology()
