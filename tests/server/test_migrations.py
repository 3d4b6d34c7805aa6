"""Migrations bring an empty database to the models' schema, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import inspect, select

from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.devices.models import Device
from deskwatch.server.events.models import EventRecord
from deskwatch.server.migrate import upgrade
from deskwatch.server.models import Base
from deskwatch.server.orgs.models import Role, Team
from deskwatch.server.orgs.service import create_site, create_team, create_user
from deskwatch.server.privacy.models import CategorySetting
from deskwatch.server.snapshots.models import Snapshot
from tests.server.conftest import postgres_schema


def _check(url_engine: object) -> None:
    from sqlalchemy import Engine

    assert isinstance(url_engine, Engine)
    upgrade(url_engine)
    upgrade(url_engine)  # a second start finds nothing to do
    tables = set(inspect(url_engine).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspect(url_engine).get_columns(name)}
        assert columns == {c.name for c in table.columns}, name
        made = {
            i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
            for i in inspect(url_engine).get_indexes(name)
        }
        for index in table.indexes:  # every index the models declare, unique where they say
            wanted = (tuple(c.name for c in index.columns), bool(index.unique))
            assert made.get(str(index.name)) == wanted, (name, index.name)


def test_sqlite_from_empty(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    _check(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_postgresql_from_empty() -> None:
    with postgres_schema("dw_mig") as engine:
        _check(engine)


def test_0005_keeps_one_still_per_event_and_switches_off_consent_without_opt_in(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    with session_factory(engine).begin() as s:
        team = create_team(s, site=create_site(s, name="Leeds"), name="Alpha")
        agent = create_user(s, username="anna", password="pw pw pw", role=Role.AGENT, team=team)
        s.add(Device(id="d1", agent_id=agent.id, hostname="pc", token_hash="h" * 64))
        s.add(
            EventRecord(
                id="e1",
                agent_id=agent.id,
                device_id="d1",
                type="phone_in_use",
                started_at=at,
                start_s=0.0,
                peak_confidence=0.9,
                evidence={},
                received_at=at,
                updated_at=at,
            )
        )
        s.flush()
        for n, sid in enumerate(("s-late", "s-first")):  # two uploads that raced
            received = at + timedelta(seconds=5 - 5 * n)
            s.add(
                Snapshot(
                    id=sid,
                    event_id="e1",
                    agent_id=agent.id,
                    category="security",
                    taken_at=at,
                    received_at=received,
                    expires_at=at + timedelta(days=7),
                    sealed=b"x",
                )
            )
        for key, basis in (("conduct", "consent"), ("identity", "consent")):
            s.add(
                CategorySetting(
                    team_id=team.id,
                    category=key,
                    enabled=True,
                    purpose="on for everyone",
                    legal_basis=basis,
                    retention_days=30,
                    may_object=True,
                    snapshot=False,
                )
            )
        team_id = team.id
    upgrade(engine)
    with session_factory(engine)() as s:
        assert list(s.scalars(select(Snapshot.id))) == ["s-first"]
        enabled = dict(s.execute(select(CategorySetting.category, CategorySetting.enabled)).all())
        assert enabled == {"conduct": False, "identity": True}
        team_row = s.get(Team, team_id)
        assert team_row is not None and team_row.privacy_rev == 1  # its agents re-fetch
    engine.dispose()
