"""One interface over the two queue backends (embedded SQLite, RabbitMQ).

A :class:`Publisher` returns from ``publish`` only once the message is durable (SQLite commit, or a
RabbitMQ publisher confirm) and raises :class:`~jimu.errors.QueueError` otherwise.  A
:class:`Consumer` hands out messages that stay owned by it until ``ack`` (done) or ``reject``
(dead-letter queue, or back on the queue with ``requeue=True``); an un-acked message comes back
after a crash or disconnect — consumers must be idempotent, see :mod:`jimu.queue.dedupe`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    body: dict[str, Any]
    delivery_tag: int | str  # backend handle for ack/reject; meaningless elsewhere
    redelivered: bool = False


@dataclass(frozen=True)
class QueueStats:
    ready: int  # waiting to be consumed
    unacked: int | None  # handed to a consumer, not yet acked (None: the backend cannot tell)
    dead: int  # in the dead-letter queue


@runtime_checkable
class Publisher(Protocol):
    def publish(self, message_id: str, body: Mapping[str, Any]) -> None:
        """Store the message durably; raise QueueError when the backend does not confirm it."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class Consumer(Protocol):
    def get(self, max_n: int = 1, timeout_s: float = 0.0) -> list[QueueMessage]:
        """Up to ``max_n`` messages, waiting up to ``timeout_s`` for the first one; [] when none came."""
        ...

    def ack(self, msg: QueueMessage) -> None: ...

    def reject(self, msg: QueueMessage, requeue: bool = False) -> None:
        """``requeue=False``: to the dead-letter queue; ``True``: back on the queue for another try."""
        ...

    def stats(self) -> QueueStats: ...

    def close(self) -> None: ...
