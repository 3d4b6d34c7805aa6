"""Live-board change signals fire on commit only, and reach every process on PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.status.live import Changes
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
