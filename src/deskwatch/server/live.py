"""Change signals for the live board: a counter each SSE stream watches.

``publish(session)`` is called by a request that changed something. The signal fires only
once the transaction commits: on SQLite (one process) by bumping the local counter after
commit; on PostgreSQL with a transactional ``NOTIFY``, which a listener thread in every
server process turns into a local bump, so any number of worker processes stay in step.
A change about one agent (its status, or its privacy settings) carries the agent id, which
each process hands to its ``on_agent`` callbacks (the heartbeat buffer and the version
cache forget what they knew of that agent); a new event names its agent for the boards
only (``forget=False``). Each board stream asks ``concerns`` whether anything since it
last looked is about an agent its reader sees, so a supervisor's board is not re-read for
changes in other teams.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Container

import psycopg
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

CHANNEL = "deskwatch_changes"
# Changes remembered for ``concerns``; a stream that fell further behind re-reads anyway.
RECENT = 10_000
_BOARD_ONLY = "b"  # payload prefix: an agent's board changed, nothing to forget
log = logging.getLogger(__name__)


class Changes:
    """Thread-safe counter: bumped on committed changes, polled by board streams."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._lock = threading.Lock()
        self.value = 0
        self._postgres = engine is not None and engine.dialect.name == "postgresql"
        self._stop = threading.Event()
        self.on_agent: list[Callable[[int], None]] = []
        self._recent: deque[tuple[int, int | None]] = deque(maxlen=RECENT)
        if engine is not None and self._postgres:
            url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            threading.Thread(target=self._listen, args=(url,), daemon=True).start()

    def notify(self, agent_id: int | None = None) -> None:
        """A committed change (about ``agent_id``, or about anyone)."""
        with self._lock:
            self.value += 1
            self._recent.append((self.value, agent_id))

    def concerns(self, seen: int, upto: int, agents: Container[int] | None) -> bool:
        """Whether a change in ``(seen, upto]`` is about one of ``agents`` (None: everyone)
        or about no one in particular, or is too long ago to tell."""
        if upto <= seen:
            return False
        with self._lock:  # newest first, and only back to ``seen``: no copy, no full walk
            if not self._recent or self._recent[0][0] > seen + 1:
                return True
            for value, agent in reversed(self._recent):
                if value <= seen:
                    return False
                if value <= upto and (agent is None or agents is None or agent in agents):
                    return True
        return False

    def publish(
        self, session: Session, agent_id: int | None = None, *, forget: bool = True
    ) -> None:
        """Signal a change that becomes visible when ``session`` commits (about one agent
        when ``agent_id`` is given: with ``forget``, every process forgets what it cached of
        them)."""
        payload = "" if agent_id is None else str(agent_id)
        if agent_id is not None and not forget:
            payload = _BOARD_ONLY + payload
        if self._postgres:
            session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": payload},
            )
        else:
            event.listen(session, "after_commit", lambda _s: self._received(payload), once=True)

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
        board_only = payload.startswith(_BOARD_ONLY)
        digits = payload.removeprefix(_BOARD_ONLY)
        agent_id = int(digits) if digits.isdigit() else None
        if agent_id is not None and not board_only:
            for callback in self.on_agent:
                callback(agent_id)
        self.notify(agent_id)

    def close(self) -> None:
        self._stop.set()
