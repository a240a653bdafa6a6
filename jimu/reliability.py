"""What the reliability checks share (``scripts/reliability/kill9.py``, ``tests/test_scale_out.py``,
``jimu bench pipeline``): a process tree, publishes counted on the broker, thresholds that let records flow."""

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


def broker_counts(amqp_url: str, queue: str, seen: Counter[str] | None = None) -> Counter[str]:
    """Read every message on ``queue`` with plain AMQP (no de-duplication), counting message ids."""
    import pika

    seen = Counter() if seen is None else seen
    conn = pika.BlockingConnection(pika.URLParameters(amqp_url))
    ch = conn.channel()
    while True:
        method, props, _body = ch.basic_get(queue, auto_ack=False)
        if method is None:
            break
        seen[props.message_id] += 1
        ch.basic_ack(method.delivery_tag)
    conn.close()
    return seen


def accept_all_thresholds(path: Path, version: str) -> Path:
    """A thresholds file that accepts every field a validator lets through: for checks of delivery,
    not of reading, so that records flow."""
    from jimu.validators.policy import THRESHOLD_KINDS

    path.write_text(json.dumps({"version": version, "thresholds": dict.fromkeys(THRESHOLD_KINDS, 0.0)}))
    return path
