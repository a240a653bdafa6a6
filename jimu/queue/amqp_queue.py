"""RabbitMQ (AMQP 0-9-1, pika ``BlockingConnection``).

Topology (declared idempotently on connect):

* durable queue ``{name}`` with ``x-dead-letter-exchange = {name}.dlx``;
* durable fanout exchange ``{name}.dlx`` bound to durable queue ``{name}.dlq`` — messages a
  consumer rejects (``requeue=False``) land there.

Publishing uses a confirm channel (``confirm_delivery``), persistent messages
(``delivery_mode=2``), ``mandatory=True`` (an unroutable message is an error, not silently lost),
``content_type=application/json`` and ``message_id``.  Personal data is only ever in the body:
no headers, and the properties carry nothing but the message id and static metadata.

Not thread-safe (pika's blocking adapter): one :class:`AmqpQueue` per thread.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pika
import pika.exceptions as px
from pika.adapters.blocking_connection import BlockingChannel

from jimu.errors import QueueError, QueueNotConfirmedError, QueueUnavailableError
from jimu.queue.base import QueueMessage, QueueStats
from jimu.queue.message import encode_body

_HINT_DOWN = (
    "Start RabbitMQ (e.g. `systemctl start rabbitmq-server`) or fix JIMU_QUEUE_URL "
    "(amqp://user:password@host:5672/vhost); records wait in the outbox and `jimu queue relay` retries them."
)


def safe_amqp_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    except ValueError:
        return "<unparseable AMQP URL>"


class AmqpQueue:
    """Publisher and consumer of one durable RabbitMQ queue with its dead-letter queue."""

    def __init__(self, url: str, queue_name: str = "jimu.records", *, connect_timeout_s: float = 5.0) -> None:
        self.url = url
        self.queue_name = queue_name
        self.dlx_name = f"{queue_name}.dlx"
        self.dlq_name = f"{queue_name}.dlq"
        try:
            params = pika.URLParameters(url)
        except (ValueError, TypeError) as e:
            raise QueueError(f"JIMU_QUEUE_URL is not an AMQP URL ({safe_amqp_url(url)}): {e}") from None
        params.connection_attempts = 1
        params.retry_delay = 0
        params.socket_timeout = connect_timeout_s
        params.stack_timeout = connect_timeout_s * 2
        params.blocked_connection_timeout = max(30.0, connect_timeout_s)
        params.client_properties = {"connection_name": "jimu"}
        self._params = params
        self._conn: pika.BlockingConnection | None = None
        self._ch: BlockingChannel | None = None

    # -- connection ------------------------------------------------------------------------------

    def _channel(self) -> BlockingChannel:
        if self._ch is not None and self._ch.is_open and self._conn is not None and self._conn.is_open:
            return self._ch
        self._drop()
        where = safe_amqp_url(self.url)
        try:
            conn = pika.BlockingConnection(self._params)
        except px.AMQPError as e:
            raise QueueUnavailableError(
                f"cannot connect to RabbitMQ at {where}: {_describe(e)}", hint=_HINT_DOWN
            ) from e
        except OSError as e:
            raise QueueUnavailableError(f"cannot connect to RabbitMQ at {where}: {e}", hint=_HINT_DOWN) from e
        self._conn = conn
        try:
            ch = conn.channel()
            ch.confirm_delivery()
            self._declare(ch)
        except px.ChannelClosedByBroker as e:
            self._drop()
            raise QueueError(
                f"RabbitMQ refused the queue topology for {self.queue_name!r}: {e.reply_code} {e.reply_text}",
                hint=(f"The queue exists with other arguments; delete {self.queue_name!r} (it must be durable with "
                      f"x-dead-letter-exchange={self.dlx_name}) or set another JIMU_QUEUE_NAME."),
            ) from e
        except px.AMQPError as e:
            self._drop()
            raise QueueUnavailableError(f"RabbitMQ at {where}: {_describe(e)}", hint=_HINT_DOWN) from e
        self._ch = ch
        return ch

    def _declare(self, ch: BlockingChannel) -> None:
        ch.exchange_declare(self.dlx_name, exchange_type="fanout", durable=True)
        ch.queue_declare(self.dlq_name, durable=True)
        ch.queue_bind(self.dlq_name, self.dlx_name, routing_key="")
        ch.queue_declare(self.queue_name, durable=True, arguments={"x-dead-letter-exchange": self.dlx_name})

    def _drop(self) -> None:
        conn, self._conn, self._ch = self._conn, None, None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except (px.AMQPError, OSError):
                pass

    def close(self) -> None:
        self._drop()

    def __enter__(self) -> AmqpQueue:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- publisher -------------------------------------------------------------------------------

    def publish(self, message_id: str, body: Mapping[str, Any]) -> None:
        """Publish persistently and wait for the broker's confirm; QueueError if it does not come."""
        data = encode_body(body)
        props = pika.BasicProperties(
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=pika.DeliveryMode.Persistent,
            message_id=message_id,
            type="jimu.record",
            app_id="jimu",
            timestamp=int(time.time()),
        )
        for attempt in (1, 2):  # a connection that went stale while idle gets one fresh retry
            reused = self._ch is not None
            ch = self._channel()
            try:
                ch.basic_publish("", self.queue_name, data, properties=props, mandatory=True)
                return
            except px.UnroutableError as e:
                raise QueueNotConfirmedError(f"RabbitMQ could not route message {message_id} to {self.queue_name!r}"
                                             ) from e
            except px.NackError as e:
                raise QueueNotConfirmedError(f"RabbitMQ refused (nack) message {message_id}") from e
            except (px.AMQPError, OSError) as e:
                self._drop()
                if attempt == 1 and reused:
                    continue
                raise QueueUnavailableError(
                    f"lost the connection to RabbitMQ while publishing: {_describe(e)}", hint=_HINT_DOWN
                ) from e

    # -- consumer --------------------------------------------------------------------------------

    def get(self, max_n: int = 1, timeout_s: float = 0.0) -> list[QueueMessage]:
        deadline = time.monotonic() + max(0.0, timeout_s)
        out: list[QueueMessage] = []
        while True:
            ch = self._channel()
            try:
                while len(out) < max(1, max_n):
                    method, props, body = ch.basic_get(self.queue_name, auto_ack=False)
                    if method is None:
                        break
                    msg = self._decode(method, props, body)
                    if msg is None:  # not JSON: straight to the dead-letter queue
                        ch.basic_reject(method.delivery_tag, requeue=False)
                        continue
                    out.append(msg)
            except (px.AMQPError, OSError) as e:
                self._drop()
                raise QueueUnavailableError(f"lost the connection to RabbitMQ: {_describe(e)}", hint=_HINT_DOWN) from e
            remaining = deadline - time.monotonic()
            if out or remaining <= 0:
                return out
            assert self._conn is not None
            self._conn.sleep(min(0.1, remaining))

    @staticmethod
    def _decode(method: Any, props: Any, body: bytes | None) -> QueueMessage | None:
        try:
            decoded = json.loads(body or b"")
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(decoded, dict):
            return None
        message_id = getattr(props, "message_id", None) or "sha256:" + hashlib.sha256(body or b"").hexdigest()
        return QueueMessage(message_id, decoded, int(method.delivery_tag), redelivered=bool(method.redelivered))

    def _settle(self, what: str, msg: QueueMessage, requeue: bool = False) -> None:
        ch = self._ch
        if ch is None or not ch.is_open:
            raise QueueError(
                f"cannot {what} message {msg.message_id}: the channel it came on is closed",
                hint="RabbitMQ requeues it by itself; the consumer sees it again (dedupe handles that).",
            )
        try:
            if what == "ack":
                ch.basic_ack(int(msg.delivery_tag))
            else:
                ch.basic_reject(int(msg.delivery_tag), requeue=requeue)
        except (px.AMQPError, OSError) as e:
            self._drop()
            raise QueueUnavailableError(f"lost the connection to RabbitMQ: {_describe(e)}", hint=_HINT_DOWN) from e

    def ack(self, msg: QueueMessage) -> None:
        self._settle("ack", msg)

    def reject(self, msg: QueueMessage, requeue: bool = False) -> None:
        """``requeue=False`` dead-letters the message to ``{name}.dlq``."""
        self._settle("reject", msg, requeue)

    # -- admin -----------------------------------------------------------------------------------

    def stats(self) -> QueueStats:
        ch = self._channel()
        try:
            ready = ch.queue_declare(self.queue_name, passive=True).method.message_count
            dead = ch.queue_declare(self.dlq_name, passive=True).method.message_count
        except (px.AMQPError, OSError) as e:
            self._drop()
            raise QueueUnavailableError(f"RabbitMQ: {_describe(e)}", hint=_HINT_DOWN) from e
        return QueueStats(ready=int(ready), unacked=None, dead=int(dead))

    def get_dead_letters(self, max_n: int = 100) -> list[QueueMessage]:
        """Take messages off the dead-letter queue (ack them with :meth:`ack` to remove them for good)."""
        ch = self._channel()
        out: list[QueueMessage] = []
        while len(out) < max_n:
            method, props, body = ch.basic_get(self.dlq_name, auto_ack=False)
            if method is None:
                break
            msg = self._decode(method, props, body)
            out.append(msg or QueueMessage(getattr(props, "message_id", None) or "?", {}, int(method.delivery_tag)))
        return out

    def delete_topology(self) -> None:
        """Delete the queue, its dead-letter queue and exchange (tests, decommissioning)."""
        ch = self._channel()
        ch.queue_delete(self.queue_name)
        ch.queue_delete(self.dlq_name)
        ch.exchange_delete(self.dlx_name)
        self._drop()


def _describe(e: BaseException) -> str:
    name = type(e).__name__
    text = str(e).strip()
    if not text or text == name:
        return name
    return text if text.startswith(name) else f"{name}: {text}"
