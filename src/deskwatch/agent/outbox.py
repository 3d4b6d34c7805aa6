"""The durable outbox: every event is on disk (SQLite WAL, synchronous=FULL) before upload.

Pending rows are keyed by event id; a CLOSED version replaces its OPEN version while it
is still unsent. Each write bumps ``rev`` so that an upload in flight deletes only the
version it sent. ``journal`` remembers every id ever enqueued (for counts and tests).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from deskwatch.events.event import Event

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 100_000
WARN_SHARE = 0.8
JOURNAL_KEEP_S = 30 * 86400

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_seq ON pending(seq);
CREATE TABLE IF NOT EXISTS journal (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    enqueued_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dead (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Pending:
    """One row handed to the uploader: the exact wire JSON and the version it is."""

    id: str
    rev: int
    body: dict[str, object]


@dataclass(frozen=True)
class Level:
    length: int
    capacity: int

    @property
    def warning(self) -> str | None:
        if self.length >= self.capacity:
            return f"outbox full ({self.length}/{self.capacity}): new events are being dropped"
        if self.length >= WARN_SHARE * self.capacity:
            return (
                f"outbox {self.length}/{self.capacity} ({self.length / self.capacity:.0%}) full:"
                " the server has not taken events for a while"
            )
        return None


class Outbox:
    """Thread-safe; several processes may open the same file (WAL)."""

    def __init__(self, path: Path, capacity: int = DEFAULT_CAPACITY) -> None:
        self.path, self.capacity = path, capacity
        self.dropped = 0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self._warned = False
        with self._lock:
            self._db.execute(
                "DELETE FROM journal WHERE enqueued_at < ?", (time.time() - JOURNAL_KEEP_S,)
            )

    def put(self, events: list[Event]) -> int:
        """Store ``events`` durably (one transaction); returns how many were dropped (full)."""
        if not events:
            return 0
        dropped = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                length = self._length()
                for event in events:
                    if not self._upsert(event, length):
                        dropped += 1
                    else:
                        length = self._length()
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        self._after_put(dropped)
        return dropped

    def _upsert(self, event: Event, length: int) -> bool:
        key, body = str(event.id), json.dumps(event.to_json_dict(), separators=(",", ":"))
        row = self._db.execute("SELECT rev FROM pending WHERE id = ?", (key,)).fetchone()
        if row is not None:
            self._db.execute("UPDATE pending SET body = ?, rev = rev + 1 WHERE id = ?", (body, key))
            return True
        if length >= self.capacity:
            return False
        seq = self._db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM pending").fetchone()[0]
        self._db.execute(
            "INSERT INTO pending (id, seq, rev, body) VALUES (?, ?, 1, ?)", (key, seq, body)
        )
        self._db.execute(
            "INSERT OR IGNORE INTO journal (id, type, enqueued_at) VALUES (?, ?, ?)",
            (key, event.type, time.time()),
        )
        return True

    def _after_put(self, dropped: int) -> None:
        self.dropped += dropped
        warning = self.level().warning
        if dropped:
            log.error("outbox full: %d event(s) dropped", dropped)
        elif warning and not self._warned:
            log.warning(warning)
        self._warned = warning is not None

    def batch(self, limit: int) -> list[Pending]:
        """The oldest ``limit`` pending events, in the order they were first stored."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, rev, body FROM pending ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [Pending(r[0], r[1], json.loads(r[2])) for r in rows]

    def ack(self, sent: list[Pending]) -> int:
        """Delete what the server acknowledged; a version replaced meanwhile stays."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            deleted = 0
            for item in sent:
                cur = self._db.execute(
                    "DELETE FROM pending WHERE id = ? AND rev = ?", (item.id, item.rev)
                )
                deleted += cur.rowcount
            self._db.execute("COMMIT")
        return deleted

    def restamp(self, item: Pending, body: dict[str, object]) -> None:
        """Replace a pending event's body (its times corrected), unless a newer version of
        it arrived meanwhile."""
        with self._lock:
            self._db.execute(
                "UPDATE pending SET body = ?, rev = rev + 1 WHERE id = ? AND rev = ?",
                (json.dumps(body, separators=(",", ":")), item.id, item.rev),
            )

    def bury(self, items: list[Pending], reason: str) -> None:
        """Move events the server refused as invalid aside, so they block nothing."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for item in items:
                self._db.execute(
                    "INSERT OR REPLACE INTO dead (id, body, reason, at) VALUES (?, ?, ?, ?)",
                    (item.id, json.dumps(item.body), reason, time.time()),
                )
                self._db.execute(
                    "DELETE FROM pending WHERE id = ? AND rev = ?", (item.id, item.rev)
                )
            self._db.execute("COMMIT")
        log.error("server refused %d event(s) as invalid: %s", len(items), reason)

    def _length(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM pending").fetchone()[0])

    def __len__(self) -> int:
        with self._lock:
            return self._length()

    def level(self) -> Level:
        return Level(len(self), self.capacity)

    def journal_ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM journal ORDER BY rowid")]

    def dead_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM dead").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
