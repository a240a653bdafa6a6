"""What the reliability checks share (``scripts/reliability/kill9.py``, ``tests/test_scale_out.py``,
``jimu bench pipeline``): a process tree, publishes counted on the broker (and tapped
through to a second queue), thresholds that let records flow."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """A process and every process below it (from /proc)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (t / "children").read_text().split()]
        except OSError:
            continue
    return out


def broker_counts(amqp_url: str, queue: str, seen: Counter[str] | None = None, *,
                  forward_to: str | None = None) -> Counter[str]:
    """Read every message on ``queue`` with plain AMQP (no de-duplication), counting message ids (the queue
    is declared first, as Jimu declares it, so that one nothing was published to yet reads as empty).

    With ``forward_to`` this is a tap: each message is republished, body and properties (``message_id``
    included) unchanged, to that durable queue, declared as Jimu's own queues are (through
    :class:`~jimu.queue.amqp_queue.AmqpQueue`: dead-letter exchange and queue), and the original is
    acked only once the broker has confirmed the copy, so nothing is lost between the two."""
    import pika

    from jimu.queue.amqp_queue import AmqpQueue

    for name in (queue,) if forward_to is None else (queue, forward_to):
        with AmqpQueue(amqp_url, name) as q:  # declared as Jimu declares its queues (before the first publish, too)
            q.stats()
    seen = Counter() if seen is None else seen
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        ch = conn.channel()
        if forward_to is not None:
            ch.confirm_delivery()  # basic_publish returns once confirmed, and raises on a nack or unroutable
        while True:
            method, props, body = ch.basic_get(queue, auto_ack=False)
            if method is None:
                break
            if forward_to is not None:
                ch.basic_publish("", forward_to, body, properties=props, mandatory=True)
            seen[props.message_id] += 1
            ch.basic_ack(method.delivery_tag)
    finally:
        if conn.is_open:
            conn.close()
    return seen


def accept_all_thresholds(path: Path, version: str) -> Path:
    """A thresholds file that accepts every field a validator lets through: for checks of delivery,
    not of reading, so that records flow."""
    from jimu.validators.policy import THRESHOLD_KINDS

    path.write_text(json.dumps({"version": version, "thresholds": dict.fromkeys(THRESHOLD_KINDS, 0.0)}))
    return path
