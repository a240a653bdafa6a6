"""The embedded queue: a durable SQLite table (``{data_dir}/queue.db``), no service needed.

* ``publish`` commits before it returns (WAL, ``synchronous=FULL``); ``message_id`` is unique per
  queue, so publishing the same message again is a no-op — also after it was consumed.
* ``get`` claims messages for ``visibility_timeout_s``; a claim that is not acked in time (the
  consumer crashed) makes the message visible again (``redelivered=True``).
* ``ack`` marks the message done and drops its body (personal data is not kept after delivery);
  the id stays, so a late duplicate publish is still ignored (see :meth:`SqliteQueue.purge_acked`).
* ``reject`` moves the message to the ``dead_letters`` table (or back to the queue with ``requeue``);
  a message delivered ``max_deliveries`` times without an ack is dead-lettered as poison.

Safe across processes (SQLite locking, ``BEGIN IMMEDIATE``) and threads (one lock per object).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jimu.errors import QueueError, QueueUnavailableError
from jimu.queue.base import QueueMessage, QueueStats

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    queue        TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    body         TEXT,                          -- NULL once acked or dead-lettered
    state        TEXT    NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'acked', 'dead')),
    published_at REAL    NOT NULL,
    visible_at   REAL    NOT NULL,              -- claimable when <= now
    deliveries   INTEGER NOT NULL DEFAULT 0,
    claim        TEXT,
    acked_at     REAL,
    UNIQUE (queue, message_id)
);
CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, state, visible_at, seq);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    queue        TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    deliveries   INTEGER NOT NULL,
    dead_at      REAL    NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_queue ON dead_letters (queue, seq);
"""


def sqlite_path_from_url(url: str) -> Path:
    """``sqlite:///relative.db`` / ``sqlite:////abs/queue.db`` → the file path."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise QueueError(
            f"not an embedded queue URL: {url!r}",
            hint="Use sqlite:///path/to/queue.db or leave JIMU_QUEUE_URL unset.",
        )
    return Path(url[len(prefix) :])


class SqliteQueue:
    """Publisher and consumer of one named queue in a SQLite file."""

    def __init__(
        self,
        path: str | Path,
        queue_name: str = "jimu.records",
        *,
        visibility_timeout_s: float = 300.0,
        max_deliveries: int | None = 10,
        busy_timeout_s: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.queue_name = queue_name
        self.visibility_timeout_s = visibility_timeout_s
        self.max_deliveries = max_deliveries
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            with self._tx() as db:
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        db.execute(stmt)
        except (OSError, sqlite3.Error) as e:
            raise QueueUnavailableError(
                f"cannot open the embedded queue {self.path}: {e}",
                hint="Check that the data directory (JIMU_DATA_DIR) exists and is writable.",
            ) from e

    # -- plumbing --------------------------------------------------------------------------------

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db is None:
                raise QueueError("the embedded queue is closed")
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except sqlite3.Error as e:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise QueueError(f"embedded queue {self.path}: {e}") from e
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> SqliteQueue:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- publisher -------------------------------------------------------------------------------

    def publish(self, message_id: str, body: Mapping[str, Any]) -> None:
        text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO messages (queue, message_id, body, published_at, visible_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (queue, message_id) DO NOTHING",
                (self.queue_name, message_id, text, now, now),
            )

    # -- consumer --------------------------------------------------------------------------------

    def _claim(self, max_n: int) -> list[QueueMessage]:
        now = time.time()
        token = secrets.token_hex(8)
        out: list[QueueMessage] = []
        with self._tx() as db:
            if self.max_deliveries is not None:
                poison = db.execute(
                    "SELECT seq FROM messages WHERE queue = ? AND state = 'ready' AND visible_at <= ? "
                    "AND deliveries >= ?",
                    (self.queue_name, now, self.max_deliveries),
                ).fetchall()
                for (seq,) in poison:
                    self._dead_letter(db, seq, f"delivered {self.max_deliveries} times without an ack")
            rows = db.execute(
                "SELECT seq, message_id, body, deliveries FROM messages "
                "WHERE queue = ? AND state = 'ready' AND visible_at <= ? ORDER BY seq LIMIT ?",
                (self.queue_name, now, max_n),
            ).fetchall()
            for seq, message_id, body, deliveries in rows:
                db.execute(
                    "UPDATE messages SET visible_at = ?, deliveries = deliveries + 1, claim = ? WHERE seq = ?",
                    (now + self.visibility_timeout_s, token, seq),
                )
                try:
                    decoded = json.loads(body)
                except (TypeError, ValueError):
                    self._dead_letter(db, seq, "body is not JSON")
                    continue
                out.append(QueueMessage(message_id, decoded, f"{seq}:{token}", redelivered=deliveries > 0))
        return out

    def get(self, max_n: int = 1, timeout_s: float = 0.0) -> list[QueueMessage]:
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            got = self._claim(max(1, max_n))
            remaining = deadline - time.monotonic()
            if got or remaining <= 0:
                return got
            time.sleep(min(0.1, remaining))

    @staticmethod
    def _seq(msg: QueueMessage) -> int:
        try:
            return int(str(msg.delivery_tag).split(":", 1)[0])
        except ValueError:
            raise QueueError(f"not a delivery tag of the embedded queue: {msg.delivery_tag!r}") from None

    def ack(self, msg: QueueMessage) -> None:
        """Done with ``msg`` (idempotent; also fine after the claim expired)."""
        with self._tx() as db:
            db.execute(
                "UPDATE messages SET state = 'acked', body = NULL, claim = NULL, acked_at = ? "
                "WHERE seq = ? AND state = 'ready'",
                (time.time(), self._seq(msg)),
            )

    def reject(self, msg: QueueMessage, requeue: bool = False) -> None:
        seq = self._seq(msg)
        with self._tx() as db:
            if requeue:
                db.execute("UPDATE messages SET visible_at = ?, claim = NULL WHERE seq = ? AND state = 'ready'",
                           (time.time(), seq))
            else:
                self._dead_letter(db, seq, "rejected by the consumer")

    def _dead_letter(self, db: sqlite3.Connection, seq: int, reason: str) -> None:
        row = db.execute(
            "SELECT message_id, body, deliveries FROM messages WHERE seq = ? AND state = 'ready'", (seq,)
        ).fetchone()
        if row is None:
            return
        message_id, body, deliveries = row
        db.execute(
            "INSERT INTO dead_letters (queue, message_id, body, reason, deliveries, dead_at) VALUES (?, ?, ?, ?, ?, ?)",
            (self.queue_name, message_id, body or "null", reason, deliveries, time.time()),
        )
        db.execute("UPDATE messages SET state = 'dead', body = NULL, claim = NULL WHERE seq = ?", (seq,))

    # -- admin -----------------------------------------------------------------------------------

    def stats(self) -> QueueStats:
        now = time.time()
        with self._tx() as db:
            ready, unacked = db.execute(
                "SELECT COALESCE(SUM(visible_at <= ?), 0), COALESCE(SUM(visible_at > ?), 0) FROM messages "
                "WHERE queue = ? AND state = 'ready'",
                (now, now, self.queue_name),
            ).fetchone()
            (dead,) = db.execute("SELECT COUNT(*) FROM dead_letters WHERE queue = ?", (self.queue_name,)).fetchone()
        return QueueStats(ready=int(ready), unacked=int(unacked), dead=int(dead))

    def dead_letters(self, limit: int = 100) -> list[tuple[str, dict[str, Any], str]]:
        """``(message_id, body, reason)`` of dead-lettered messages, oldest first."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT message_id, body, reason FROM dead_letters WHERE queue = ? ORDER BY seq LIMIT ?",
                (self.queue_name, limit),
            ).fetchall()
        return [(m, json.loads(b), r) for m, b, r in rows]

    def purge_acked(self, older_than_s: float) -> int:
        """Forget acked message ids older than this (a duplicate publish after that is delivered again)."""
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM messages WHERE queue = ? AND state = 'acked' AND acked_at < ?",
                (self.queue_name, time.time() - older_than_s),
            )
            return cur.rowcount
