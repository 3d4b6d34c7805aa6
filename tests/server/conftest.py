"""Server test fixtures: every API test runs on SQLite and on PostgreSQL, each test in a
transaction that is rolled back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.app import create_app
from deskwatch.server.audit.chain import AuditChain, attach
from deskwatch.server.db import make_engine
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role, Site, Team, User
from deskwatch.server.security import hash_password
from deskwatch.server.settings import Settings

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "correct horse battery"


def _admin(sql: str) -> None:
    admin = make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


@contextmanager
def postgres_schema(prefix: str) -> Iterator[Engine]:
    """An engine on a fresh PostgreSQL schema, dropped afterwards (skip if unreachable)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        _admin(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # pragma: no cover - only when PostgreSQL is down
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 unreachable: {exc}")
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        _admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database, once per backend per test session."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'deskwatch.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    with postgres_schema("dw_test") as eng:
        upgrade(eng)
        yield eng


class Clock:
    """A controllable clock for the app."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The app's settings; its key files (signing, stills, audit) live in ``tmp_path``.
    Every session shares one connection: no background flush thread on it, heartbeats are
    written through (tests/server/test_heartbeat_buffer.py covers the buffer)."""
    return Settings(
        secret_key="test-secret",
        secret_key_file=tmp_path / "secret",
        heartbeat_flush_s=0,
        cache_refresh_s=0,
        integrations_every_s=0,
    )


@pytest.fixture
def db(engine: Engine, settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions joined to one outer transaction, rolled back after the test; they append to
    the audit chain with the test's own key and head record."""
    connection = engine.connect()
    outer = connection.begin()
    sessions = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield attach(sessions, AuditChain.from_settings(settings))
    outer.rollback()
    connection.close()


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


@dataclass
class Org:
    """Two teams, their supervisors, agents, an admin and a privacy officer."""

    team_a: Team
    team_b: Team
    admin: User
    privacy: User
    sup_a: User
    sup_b: User
    agent_a1: User
    agent_a2: User
    agent_b1: User


@pytest.fixture
def org(db: sessionmaker[Session], password_hash: str) -> Org:
    with db() as s:
        site = Site(name="Leeds")
        s.add(site)
        s.flush()
        team_a, team_b = Team(site_id=site.id, name="Alpha"), Team(site_id=site.id, name="Bravo")
        s.add_all([team_a, team_b])
        s.flush()

        def user(name: str, role: Role, team: Team | None = None) -> User:
            u = User(
                username=name,
                display_name=name.title(),
                role=role,
                password_hash=password_hash,
                team_id=team.id if team else None,
            )
            s.add(u)
            return u

        org = Org(
            team_a,
            team_b,
            user("admin", Role.ADMIN),
            user("privacy", Role.PRIVACY_OFFICER),
            user("sup_a", Role.SUPERVISOR),
            user("sup_b", Role.SUPERVISOR),
            user("agent_a1", Role.AGENT, team_a),
            user("agent_a2", Role.AGENT, team_a),
            user("agent_b1", Role.AGENT, team_b),
        )
        s.flush()
        team_a.supervisors.append(org.sup_a)
        team_b.supervisors.append(org.sup_b)
        s.commit()
    return org


@pytest.fixture
def app_client(db: sessionmaker[Session], clock: Clock, settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, sessions=db, clock=clock)
    with TestClient(app) as client:
        yield client


def login(client: TestClient, username: str) -> TestClient:
    """Log ``client`` in and make it send the CSRF token on every request."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["x-csrf-token"] = response.json()["csrf_token"]
    return client
