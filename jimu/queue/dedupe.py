"""Consumer-side exactly-once: remember the message ids already processed.

Both backends deliver *at least* once: RabbitMQ redelivers un-acked messages, and the outbox relay
may publish a message twice if it crashes between the broker's confirm and marking the row.  A
consumer that records each processed ``message_id`` (``{record_id}:{record_version}``) and skips
ids it has seen turns that into exactly-once *to its own eyes*.  :class:`SeenStore` is that
record (a small SQLite file); :class:`DedupingConsumer` wraps any :class:`~jimu.queue.base.Consumer`.

The processing center's own consumer should store the seen id in the same transaction as its
processing; ``jimu queue consume`` marks it right after printing, then acks.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from jimu.errors import QueueError
from jimu.queue.base import Consumer, QueueMessage, QueueStats


class SeenStore:
    """Message ids already processed (durable, shared safely between processes)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS seen (message_id TEXT PRIMARY KEY, seen_at REAL NOT NULL)"
            )
        except (OSError, sqlite3.Error) as e:
            raise QueueError(f"cannot open the consumer's seen-message store {self.path}: {e}",
                             hint="Check that the directory exists and is writable (JIMU_CONSUMER_SEEN_DB).") from e

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise QueueError("the seen-message store is closed")
        return self._db

    def seen(self, message_id: str) -> bool:
        with self._lock:
            row = self._conn().execute("SELECT 1 FROM seen WHERE message_id = ?", (message_id,)).fetchone()
        return row is not None

    def mark(self, message_id: str) -> bool:
        """Remember ``message_id``; True if it was new."""
        with self._lock:
            cur = self._conn().execute(
                "INSERT INTO seen (message_id, seen_at) VALUES (?, ?) ON CONFLICT (message_id) DO NOTHING",
                (message_id, time.time()),
            )
        return cur.rowcount == 1

    def count(self) -> int:
        with self._lock:
            (n,) = self._conn().execute("SELECT COUNT(*) FROM seen").fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


class DedupingConsumer:
    """A :class:`Consumer` that hands out each message id once; copies are acked and dropped silently."""

    def __init__(self, consumer: Consumer, seen: SeenStore) -> None:
        self.consumer = consumer
        self.seen = seen
        self.duplicates = 0  # copies dropped so far
        self._inflight: set[str] = set()

    def get(self, max_n: int = 1, timeout_s: float = 0.0) -> list[QueueMessage]:
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            out: list[QueueMessage] = []
            for msg in self.consumer.get(max_n, max(0.0, deadline - time.monotonic())):
                if msg.message_id in self._inflight or self.seen.seen(msg.message_id):
                    self.consumer.ack(msg)
                    self.duplicates += 1
                    continue
                self._inflight.add(msg.message_id)
                out.append(msg)
            if out or time.monotonic() >= deadline:
                return out

    def ack(self, msg: QueueMessage) -> None:
        """Remember the id first, then ack: a crash in between only causes a silently dropped copy."""
        self.seen.mark(msg.message_id)
        self._inflight.discard(msg.message_id)
        self.consumer.ack(msg)

    def reject(self, msg: QueueMessage, requeue: bool = False) -> None:
        self._inflight.discard(msg.message_id)
        self.consumer.reject(msg, requeue)

    def stats(self) -> QueueStats:
        return self.consumer.stats()

    def close(self) -> None:
        self.consumer.close()
        self.seen.close()
