"""The processing-center queue: one interface (:mod:`jimu.queue.base`), two backends.

* embedded (default, ``JIMU_QUEUE_URL`` unset or ``sqlite:///…``): :class:`SqliteQueue` in ``{data_dir}/queue.db``;
* RabbitMQ (``JIMU_QUEUE_URL=amqp://…``): :class:`AmqpQueue`.

Records reach the queue only through the outbox relay (:mod:`jimu.outbox`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jimu.errors import QueueError
from jimu.queue.base import Consumer, Publisher, QueueMessage, QueueStats
from jimu.settings import Settings, get_settings

if TYPE_CHECKING:
    from jimu.queue.amqp_queue import AmqpQueue
    from jimu.queue.sqlite_queue import SqliteQueue

__all__ = ["Consumer", "Publisher", "QueueMessage", "QueueStats", "get_consumer", "get_publisher", "open_queue"]


def open_queue(settings: Settings | None = None) -> SqliteQueue | AmqpQueue:
    """The configured backend (both roles: publish, get/ack/reject, stats)."""
    settings = settings or get_settings()
    url = settings.resolved_queue_url
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from jimu.queue.sqlite_queue import SqliteQueue, sqlite_path_from_url

        return SqliteQueue(sqlite_path_from_url(url), settings.queue_name,
                           visibility_timeout_s=settings.queue_visibility_timeout_s)
    if scheme in ("amqp", "amqps"):
        from jimu.queue.amqp_queue import AmqpQueue

        return AmqpQueue(url, settings.queue_name, connect_timeout_s=settings.queue_connect_timeout_s)
    raise QueueError(
        f"unsupported queue URL scheme {scheme!r} in JIMU_QUEUE_URL",
        hint="Leave JIMU_QUEUE_URL unset for the embedded queue, or use amqp://user:password@host:5672/vhost.",
    )


def get_publisher(settings: Settings | None = None) -> Publisher:
    return open_queue(settings)


def get_consumer(settings: Settings | None = None) -> Consumer:
    return open_queue(settings)
