"""Password re-confirmation: the lockout counts guesses one after another, also when they
arrive at once from many server threads, on SQLite and PostgreSQL (committed for real)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.devices.models import Device
from deskwatch.server.identity import service
from deskwatch.server.identity.models import IdentityCheck
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role, Site, Team, User
from deskwatch.server.security import hash_password
from tests.server.conftest import postgres_schema

PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A fresh migrated database whose transactions really commit (no shared outer one)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
        yield _seeded(engine)
        engine.dispose()
        return
    with postgres_schema("dw_reconfirm") as engine:
        yield _seeded(engine)


def _seeded(engine: Engine) -> sessionmaker[Session]:
    upgrade(engine)
    factory = session_factory(engine)
    with factory() as s:
        site = Site(name="Leeds")
        s.add(site)
        s.flush()
        team = Team(site_id=site.id, name="Alpha")
        s.add(team)
        s.flush()
        agent = User(
            username="agent",
            display_name="Agent",
            role=Role.AGENT,
            password_hash=hash_password(PASSWORD),
            team_id=team.id,
        )
        s.add(agent)
        s.flush()
        s.add(Device(id="dev-1", agent_id=agent.id, hostname="pc", token_hash="x" * 64))
        s.commit()
    return factory


def _try(sessions: sessionmaker[Session], password: str, now: datetime) -> str:
    """One request's transaction, as the route runs it: 'ok', 'wrong' or 'locked'."""
    with sessions() as session:
        device = session.get(Device, "dev-1")
        assert device is not None
        try:
            ok, _ = service.reconfirm(session, device=device, password=password, now=now)
        except service.LockedError:
            session.rollback()
            return "locked"
        session.commit()
        return "ok" if ok else "wrong"


def _failures(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        query = select(func.count(IdentityCheck.id)).where(IdentityCheck.ok.is_(False))
        return int(s.scalar(query) or 0)


def test_parallel_guesses_never_exceed_the_limit(sessions: sessionmaker[Session]) -> None:
    results: list[str] = []
    lock = threading.Lock()

    def guess(i: int) -> None:
        answer = _try(sessions, f"guess-{i}", T0)
        with lock:
            results.append(answer)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("wrong") == service.MAX_FAILURES, results
    assert results.count("locked") == 12 - service.MAX_FAILURES
    assert _failures(sessions) == service.MAX_FAILURES


def test_the_lock_slides_off_after_15_minutes(sessions: sessionmaker[Session]) -> None:
    for i in range(service.MAX_FAILURES):
        assert _try(sessions, f"guess-{i}", T0 + timedelta(seconds=i)) == "wrong"
    last = T0 + timedelta(seconds=service.MAX_FAILURES - 1)
    assert _try(sessions, PASSWORD, last + timedelta(minutes=14)) == "locked"  # even if right
    # Just over 15 minutes after the first guess four are left in the window: one more try.
    later = T0 + timedelta(minutes=15, seconds=0.5)
    assert _try(sessions, "wrong-again", later) == "wrong"
    assert _try(sessions, PASSWORD, later + timedelta(seconds=0.1)) == "locked"
    assert _try(sessions, PASSWORD, last + timedelta(minutes=30)) == "ok"
    assert _try(sessions, PASSWORD, last + timedelta(minutes=30, seconds=1)) == "ok"
