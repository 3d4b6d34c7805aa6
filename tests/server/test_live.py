"""Live-board change signals fire on commit only, and reach every process on PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from deskwatch.server import live
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.live import Changes
from tests.server.conftest import postgres_schema


def _wait_for(changes: Changes, value: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if changes.value >= value:
            return True
        time.sleep(0.05)
    return False


def _publish(changes: Changes, session: Session, commit: bool) -> None:
    changes.publish(session)
    if commit:
        session.commit()
    else:
        session.rollback()


def test_sqlite_signal_fires_after_commit_only(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    changes = Changes(engine)
    with session_factory(engine)() as session:
        session.connection()
        changes.publish(session)
        assert changes.value == 0  # not before the commit
        session.commit()
    assert changes.value == 1
    with session_factory(engine)() as session:
        session.connection()
        _publish(changes, session, commit=False)
    assert changes.value == 1


def test_postgresql_notify_reaches_another_process_listener() -> None:
    with postgres_schema("dw_live") as engine:
        _notify_across(engine)


def _notify_across(engine: Engine) -> None:
    writer, listener = Changes(engine), Changes(engine)  # two "worker processes"
    try:
        time.sleep(0.5)  # let both LISTEN
        with session_factory(engine)() as session:
            _publish(writer, session, commit=False)
        assert not _wait_for(listener, 1, timeout_s=1.5)  # a rollback sends nothing
        with session_factory(engine)() as session:
            _publish(writer, session, commit=True)
        assert _wait_for(listener, 1) and _wait_for(writer, 1)
    finally:
        writer.close()
        listener.close()


def _about(changes: Changes, session: Session, agent_id: int | None, forget: bool) -> None:
    changes.publish(session, agent_id, forget=forget)
    session.commit()


def _says_whom(engine: Engine, writer: Changes, listener: Changes) -> None:
    """A board-only change names its agent without making any process forget it; a status
    change does both; a stream learns which of them concern the agents it watches."""
    forgot: list[int] = []
    listener.on_agent.append(forgot.append)
    start = listener.value
    with session_factory(engine)() as session:
        _about(writer, session, 5, forget=False)  # a new event of agent 5
        _about(writer, session, 6, forget=True)  # agent 6's status
    assert _wait_for(listener, start + 2)
    assert forgot == [6]
    assert listener.concerns(start, start + 2, frozenset({5}))
    assert listener.concerns(start, start + 2, frozenset({6}))
    assert not listener.concerns(start, start + 2, frozenset({7}))
    assert listener.concerns(start, start + 2, None)  # an admin sees everyone
    assert not listener.concerns(start + 1, start + 2, frozenset({5}))  # already seen
    with session_factory(engine)() as session:
        _about(writer, session, None, forget=True)  # about no one in particular
    assert _wait_for(listener, start + 3)
    assert listener.concerns(start + 2, start + 3, frozenset({7})) and forgot == [6]


def test_changes_name_their_agent_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    changes = Changes(engine)
    _says_whom(engine, changes, changes)


def test_changes_name_their_agent_across_postgresql_processes() -> None:
    with postgres_schema("dw_live") as engine:
        writer, listener = Changes(engine), Changes(engine)
        try:
            time.sleep(0.5)  # let both LISTEN
            _says_whom(engine, writer, listener)
        finally:
            writer.close()
            listener.close()


def test_a_stream_too_far_behind_reads_again() -> None:
    changes = Changes()
    for _ in range(live.RECENT + 5):
        changes.notify(1)
    assert changes.concerns(0, changes.value, frozenset({2}))  # forgotten: cannot tell
    assert not changes.concerns(changes.value - 3, changes.value, frozenset({2}))
