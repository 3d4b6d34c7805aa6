"""Change signals for the live board: a counter each SSE stream watches.

``publish(session)`` is called by a request that changed something. The signal fires only
once the transaction commits: on SQLite (one process) by bumping the local counter after
commit; on PostgreSQL with a transactional ``NOTIFY``, which a listener thread in every
server process turns into a local bump, so any number of worker processes stay in step.
A change about one agent (its status, or its privacy settings) carries the agent id, which
each process hands to its ``on_agent`` callbacks (the heartbeat buffer and the version
cache forget what they knew of that agent).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

CHANNEL = "deskwatch_changes"
log = logging.getLogger(__name__)


class Changes:
    """Thread-safe counter: bumped on committed changes, polled by board streams."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._lock = threading.Lock()
        self.value = 0
        self._postgres = engine is not None and engine.dialect.name == "postgresql"
        self._stop = threading.Event()
        self.on_agent: list[Callable[[int], None]] = []
        if engine is not None and self._postgres:
            url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            threading.Thread(target=self._listen, args=(url,), daemon=True).start()

    def notify(self) -> None:
        with self._lock:
            self.value += 1

    def publish(self, session: Session, agent_id: int | None = None) -> None:
        """Signal a change that becomes visible when ``session`` commits (of an agent's
        status when ``agent_id`` is given)."""
        if self._postgres:
            payload = "" if agent_id is None else str(agent_id)
            session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": payload},
            )
        else:
            after = self.notify if agent_id is None else lambda: self._received(str(agent_id))
            event.listen(session, "after_commit", lambda _s: after(), once=True)

    def _listen(self, url: str) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._received(note.payload)
            except psycopg.Error as exc:
                log.warning("live-board listener reconnecting: %s", exc)
                self._stop.wait(2.0)

    def _received(self, payload: str) -> None:
        if payload.isdigit():
            for callback in self.on_agent:
                callback(int(payload))
        self.notify()

    def close(self) -> None:
        self._stop.set()
