"""Migrations bring an empty database to the models' schema, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.devices.models import Device
from deskwatch.server.events.models import EventRecord
from deskwatch.server.migrate import upgrade
from deskwatch.server.models import Base
from deskwatch.server.orgs.models import Team
from deskwatch.server.orgs.service import create_site, create_team
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
        agent_id = _old_user(s, team_id=team.id)
        s.add(Device(id="d1", agent_id=agent_id, hostname="pc", token_hash="h" * 64))
        s.add(
            EventRecord(
                id="e1",
                agent_id=agent_id,
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
                    agent_id=agent_id,
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


def test_0003_sends_older_consequence_bearing_events_to_review(tmp_path: Path) -> None:
    """Events stored before review existed: a phone-use event must not count unreviewed."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0002")
    at = "2026-11-02 09:00:00.000000"
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO sites (id, name) VALUES (1, 'Leeds')")
        conn.exec_driver_sql(
            "INSERT INTO users (id, username, display_name, role, password_hash, active,"
            f" created_at) VALUES (1, 'anna', 'Anna', 'agent', 'x', 1, '{at}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO devices (id, agent_id, hostname, token_hash, enrolled_at)"
            f" VALUES ('d1', 1, 'pc', '{'h' * 64}', '{at}')"
        )
        for event_id, kind in (("e1", "phone_in_use"), ("e2", "away")):
            conn.exec_driver_sql(
                "INSERT INTO events (id, agent_id, device_id, type, started_at, start_s,"
                " peak_confidence, evidence, received_at, updated_at) VALUES"
                f" ('{event_id}', 1, 'd1', '{kind}', '{at}', 0, 0.9, '{{}}', '{at}', '{at}')"
            )
    upgrade(engine)
    with session_factory(engine)() as s:
        review = dict(s.execute(select(EventRecord.type, EventRecord.review)).all())
    assert review == {"phone_in_use": "pending", "away": "none"}


def _old_user(s: Session, *, team_id: int) -> int:
    """An agent as a 0004 schema stores one (the model has columns added since)."""
    row = s.execute(
        text(
            "INSERT INTO users (username, display_name, role, password_hash, team_id, active,"
            " created_at, privacy_rev) VALUES ('anna', 'anna', 'agent', 'x', :team, 1,"
            " '2026-11-01 00:00:00', 0) RETURNING id"
        ),
        {"team": team_id},
    )
    return int(row.scalar_one())


def _0009_renames_duplicate_team_names(engine: object) -> None:
    from sqlalchemy import Engine
    from sqlalchemy.exc import IntegrityError

    assert isinstance(engine, Engine)
    upgrade(engine, "0008")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO sites (id, name) VALUES (1, 'Leeds'), (2, 'York')")
        for team_id, site, name in (
            (1, 1, "Alpha"),
            (2, 1, "Alpha"),
            (3, 1, "Alpha (2)"),  # the name a duplicate would take is taken already
            (4, 1, "Alpha"),
            (5, 2, "Alpha"),  # another site may have its own Alpha
            (6, 1, "Bravo"),
        ):
            conn.execute(
                text("INSERT INTO teams (id, site_id, name, privacy_rev) VALUES (:i, :s, :n, 0)"),
                {"i": team_id, "s": site, "n": name},
            )
        conn.exec_driver_sql(
            "INSERT INTO users (id, username, display_name, role, password_hash, team_id, active,"
            " created_at, privacy_rev) VALUES (1, 'sam', 'Sam', 'supervisor', 'x', NULL, TRUE,"
            " '2026-11-02 09:00:00', 0)"
        )
        conn.exec_driver_sql("INSERT INTO team_supervisors (team_id, user_id) VALUES (2, 1)")
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name FROM teams ORDER BY id")).all()
        names: dict[int, str] = {team_id: name for team_id, name in rows}
        kept = conn.execute(text("SELECT team_id, user_id FROM team_supervisors")).all()
    assert [tuple(r) for r in kept] == [(2, 1)]  # supervision survives the migration
    assert names == {
        1: "Alpha",
        2: "Alpha (3)",
        3: "Alpha (2)",
        4: "Alpha (4)",
        5: "Alpha",
        6: "Bravo",
    }
    made = {str(i["name"]): i for i in inspect(engine).get_indexes("teams")}
    assert list(made["uq_teams_site_name"]["column_names"]) == ["site_id", "name"]
    assert made["uq_teams_site_name"]["unique"]
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO teams (site_id, name, privacy_rev) VALUES (1, 'Bravo', 0)"
            )
    except IntegrityError:
        pass
    else:
        raise AssertionError("a second Bravo was stored")


def test_0009_renames_duplicate_team_names_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'dups.db'}")
    _0009_renames_duplicate_team_names(engine)
    engine.dispose()


def test_0009_renames_duplicate_team_names_postgresql() -> None:
    with postgres_schema("dw_mig9") as engine:
        _0009_renames_duplicate_team_names(engine)
