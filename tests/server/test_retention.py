"""The retention purge, with a controllable clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server import scheduled as retention
from deskwatch.server.app import create_app
from deskwatch.server.audit.chain import AuditChain, attach
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.audit.service import PRUNED, record, verify
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.devices.models import Device
from deskwatch.server.events.models import EventRecord
from deskwatch.server.identity.models import IdentityCheck
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role, Team, User
from deskwatch.server.orgs.service import create_site, create_team, create_user
from deskwatch.server.privacy.schemas import CategoryIn
from deskwatch.server.privacy.service import set_category
from deskwatch.server.requests.models import DataRequest
from deskwatch.server.reviews.models import EventComment
from deskwatch.server.scheduled import PurgeResult, purge, purge_once
from deskwatch.server.settings import Settings
from deskwatch.server.snapshots.models import Snapshot
from deskwatch.server.status.models import StatusChange
from tests.server.conftest import PASSWORD, Clock, Org, postgres_schema
from tests.server.helpers import enrol, server_cli

DAY = timedelta(days=1)
AUDIT_DAYS = 1095


def _device(s: Session, agent_id: int) -> str:
    device = Device(
        id=str(uuid.uuid4()), agent_id=agent_id, hostname="pc", token_hash=uuid.uuid4().hex * 2
    )
    s.add(device)
    s.flush()
    return device.id


def _event(s: Session, agent_id: int, kind: str, at: datetime) -> str:
    device = s.scalar(select(Device.id).where(Device.agent_id == agent_id).limit(1))
    row = EventRecord(
        id=str(uuid.uuid4()),
        agent_id=agent_id,
        device_id=device or _device(s, agent_id),
        type=kind,
        started_at=at,
        start_s=0.0,
        peak_confidence=0.9,
        evidence={"faces": 0.0},
        received_at=at,
        updated_at=at,
    )
    s.add(row)
    s.flush()
    return row.id


def _evidence(s: Session, event_id: str, agent_id: int, now: datetime, expires: datetime) -> None:
    s.add(
        EventComment(
            event_id=event_id, author_id=agent_id, kind="dispute", body="not me", created_at=now
        )
    )
    s.add(
        Snapshot(
            id=str(uuid.uuid4()),
            event_id=event_id,
            agent_id=agent_id,
            category="security",
            taken_at=now,
            received_at=now,
            expires_at=expires,
            sealed=b"ciphertext",
        )
    )
    s.flush()


def _purge(db: sessionmaker[Session], now: datetime) -> PurgeResult:
    with db() as s:
        result = purge(s, now=now, audit_retention_days=AUDIT_DAYS)
        s.commit()
    return result


def _ids(db: sessionmaker[Session], column: object) -> set[object]:
    with db() as s:
        return set(s.scalars(select(column)))  # type: ignore[call-overload]


def _shorten(db: sessionmaker[Session], org: Org, key: str, days: int, now: datetime) -> None:
    with db() as s:
        team = s.get(Team, org.team_b.id)
        admin = s.get(User, org.admin.id)
        assert team is not None and admin is not None
        change = CategoryIn(retention_days=days)
        set_category(
            s,
            team=team,
            key=key,
            change=change,
            actor=admin,
            now=now,
            max_retention_days=AUDIT_DAYS,
        )
        s.commit()


def test_events_past_their_category_retention_go_with_comments_and_snapshots(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    now = clock.now
    _shorten(db, org, "security", 10, now)  # Bravo keeps security events 10 days, not 90
    a1, b1 = org.agent_a1.id, org.agent_b1.id
    with db() as s:
        gone = {
            _event(s, a1, "phone_in_use", now - 91 * DAY),
            _event(s, a1, "looking_away", now - 31 * DAY),
            _event(s, a1, "self_check", now - 31 * DAY),  # no category: 30 days by default
            _event(s, b1, "phone_in_use", now - 11 * DAY),
        }
        kept = {
            _event(s, a1, "phone_in_use", now - 89 * DAY),
            _event(s, a1, "looking_away", now - 29 * DAY),
            _event(s, a1, "self_check", now - 29 * DAY),
            _event(s, b1, "phone_in_use", now - 9 * DAY),
            _event(s, b1, "looking_away", now - 29 * DAY),
        }
        for event_id in gone | kept:
            agent = s.get(EventRecord, event_id)
            assert agent is not None
            _evidence(s, event_id, agent.agent_id, now, expires=now + 7 * DAY)
        s.commit()
    result = _purge(db, now)
    assert (result.events, result.comments, result.snapshots) == (4, 4, 4)
    assert _ids(db, EventRecord.id) == kept
    assert _ids(db, EventComment.event_id) == kept
    assert _ids(db, Snapshot.event_id) == kept
    assert _purge(db, now).total == 0  # a second run finds nothing


def test_expired_snapshots_go_and_young_ones_stay(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    now, a1 = clock.now, org.agent_a1.id
    with db() as s:
        event_id = _event(s, a1, "phone_in_use", now - DAY)
        _evidence(s, event_id, a1, now - 7 * DAY, expires=now)
        s.commit()
    assert _purge(db, now).snapshots == 1
    assert _ids(db, Snapshot.id) == set() and _ids(db, EventRecord.id) == {event_id}


def test_status_history_follows_the_attendance_retention_of_each_team(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    now = clock.now
    _shorten(db, org, "attendance", 20, now)
    with db() as s:
        for agent, days in (
            (org.agent_a1, 91),
            (org.agent_a1, 89),
            (org.agent_b1, 21),
            (org.agent_b1, 19),
        ):
            s.add(StatusChange(agent_id=agent.id, status="away", at=now - days * DAY))
        s.commit()
    assert _purge(db, now).status_changes == 2
    with db() as s:
        left = {(c.agent_id, (now - c.at).days) for c in s.scalars(select(StatusChange))}
    assert left == {(org.agent_a1.id, 89), (org.agent_b1.id, 19)}


def test_closed_requests_go_after_their_retention_open_ones_stay(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    now = clock.now
    with db() as s:
        for status, days in (("done", 1100), ("refused", 1100), ("open", 1100), ("done", 1000)):
            at = now - days * DAY
            s.add(
                DataRequest(
                    agent_id=org.agent_a1.id,
                    kind="erasure",
                    body="please",
                    status=status,
                    created_at=at,
                    updated_at=at,
                )
            )
        s.commit()
    assert _purge(db, now).data_requests == 2
    with db() as s:
        assert sorted(s.scalars(select(DataRequest.status))) == ["done", "open"]


def _audit(db: sessionmaker[Session], org: Org, now: datetime, ages_days: list[int]) -> list[int]:
    with db() as s:
        ids = [
            record(
                s, actor=org.sup_a, action="read:timeline", subject="agent:1", now=now - d * DAY
            ).id
            for d in ages_days
        ]
        s.commit()
    return ids


def test_audit_purge_keeps_the_chain_verifiable_and_tampering_detected(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    now = clock.now
    ids = _audit(db, org, now, [1500, 1200, 1096, 1000, 10, 1])
    result = _purge(db, now)
    assert result.audit_entries == 3 and result.total == 3
    with db() as s:
        check = verify(s)
        anchor = s.scalars(select(AuditEntry).where(AuditEntry.action == PRUNED)).one()
        assert set(s.scalars(select(AuditEntry.id))) == {*ids[3:], anchor.id}
    assert check.intact and check.entries == 4 and check.pruned_through == ids[2]
    assert anchor.detail["audit_entries"] == 3 and anchor.detail["through_id"] == ids[2]

    with db() as s:  # a deletion in the middle is still found
        s.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[4]})
        s.commit()
        assert (verify(s).broken_at, verify(s).intact) == (ids[5], False)


def test_deleting_past_the_pruned_boundary_is_detected(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    now = clock.now
    ids = _audit(db, org, now, [1200, 1000, 10])
    _purge(db, now)
    with db() as s:
        s.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
        s.commit()
        assert verify(s).broken_at == ids[2]


def test_a_later_purge_prunes_the_earlier_anchor_and_still_verifies(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    now = clock.now
    _audit(db, org, now, [1200, 1000, 10])
    _purge(db, now)
    later = clock.advance(4 * 365 * 86400)
    _audit(db, org, later, [1])
    result = _purge(db, later)
    assert result.audit_entries == 3  # the two old reads and the first purge's entry
    with db() as s:
        check = verify(s)
        assert check.intact and check.entries == 2
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 2


def test_a_purge_that_finds_nothing_records_nothing(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    before = _ids(db, AuditEntry.id)
    assert _purge(db, clock.now) == PurgeResult()
    assert _ids(db, AuditEntry.id) == before


# --- the schedule, the lock and the command, on real databases -----------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def real_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """A migrated database whose commits are real (threads and processes see them)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'purge.db'}"
        engine = make_engine(url)
        upgrade(engine)
        yield url, engine
        engine.dispose()
        return
    with postgres_schema("dw_purge") as engine:
        upgrade(engine)
        yield engine.url.render_as_string(hide_password=False), engine


def _seed_old_event(engine: Engine, now: datetime) -> str:
    with session_factory(engine).begin() as s:
        site = create_site(s, name="Leeds")
        team = create_team(s, site=site, name="Alpha")
        agent = create_user(s, username="anna", password="pw pw pw pw", role=Role.AGENT, team=team)
        return _event(s, agent.id, "looking_away", now - 31 * DAY)


def _serve_until_first_purge(
    url: str, clock: Clock, tmp_path: Path, *, purge_every_s: float
) -> int:
    """Run the server until its purger has run once (at most 20 s); how many runs it made."""
    settings = Settings(
        database_url=url,
        secret_key="k",
        secret_key_file=tmp_path / "key",
        purge_every_s=purge_every_s,
    )
    app = create_app(settings, clock=clock)
    with TestClient(app):
        deadline = time.monotonic() + 20
        while app.state.purger.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        return int(app.state.purger.runs)


def test_the_server_runs_the_purge_on_its_schedule(
    real_db: tuple[str, Engine], clock: Clock, tmp_path: Path
) -> None:
    url, engine = real_db
    event_id = _seed_old_event(engine, clock.now)
    _serve_until_first_purge(url, clock, tmp_path, purge_every_s=0.05)
    with session_factory(engine)() as s:
        assert s.get(EventRecord, event_id) is None
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "retention:purged")).one()
        assert entry.detail["events"] == 1 and entry.actor_id is None


def test_a_restarted_server_purges_soon_after_it_starts(
    real_db: tuple[str, Engine], clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hourly purges, but the first comes FIRST_PURGE_AFTER_S after the start (shortened
    here): a server restarted more often than the interval still purges."""
    monkeypatch.setattr(retention, "FIRST_PURGE_AFTER_S", 0.05)
    url, engine = real_db
    event_id = _seed_old_event(engine, clock.now)
    assert _serve_until_first_purge(url, clock, tmp_path, purge_every_s=3600) == 1
    with session_factory(engine)() as s:
        assert s.get(EventRecord, event_id) is None


def test_one_purge_at_a_time_on_postgresql(clock: Clock) -> None:
    with postgres_schema("dw_lock") as engine:
        upgrade(engine)
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_xact_lock(hashtext('dw_purge'))"))
            assert purge_once(session_factory(engine), now=clock.now, settings=Settings()) is None
            holder.rollback()
        assert (
            purge_once(session_factory(engine), now=clock.now, settings=Settings()) == PurgeResult()
        )


def _cli(keys: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return server_cli(keys / "secret", *args)


def test_the_purge_command_prints_counts_and_fails_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    _seed_old_event(engine, datetime.now(UTC))
    engine.dispose()
    nokey = _cli(tmp_path, "purge", "--database-url", url)  # never makes a second key
    assert nokey.returncode == 2 and "no audit key" in nokey.stderr
    chain = AuditChain.from_settings(Settings(secret_key_file=tmp_path / "secret"))  # the server's
    ok = _cli(tmp_path, "purge", "--database-url", url)
    assert ok.returncode == 0, ok.stderr
    assert re.search(r"events\W+1\b", ok.stdout), ok.stdout
    with attach(session_factory(make_engine(url)), chain)() as s:
        assert verify(s).intact and verify(s).entries == 1  # the purge's own entry
    bad = _cli(tmp_path, "purge", "--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert bad.returncode == 2 and "cannot purge" in bad.stderr


def test_password_reconfirmations_follow_the_identity_retention(
    app_client: TestClient, db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    """Kept in their own table (never one audit entry each) and purged like identity events;
    the lock-out still counts them."""
    device = enrol(app_client, org.agent_a1.id)
    for _ in range(5):
        reply = device.post("/api/v1/device/reconfirm", json={"password": "a wrong guess"})
        assert reply.status_code == 200 and not reply.json()["ok"]
    locked = device.post("/api/v1/device/reconfirm", json={"password": PASSWORD})
    assert locked.status_code == 429
    with db() as s:
        assert len(s.scalars(select(IdentityCheck)).all()) == 5
        actions = set(s.scalars(select(AuditEntry.action)))
        assert not any(a.startswith("identity:") for a in actions)
    clock.advance(16 * 60)  # past the lock-out window
    assert device.post("/api/v1/device/reconfirm", json={"password": PASSWORD}).json()["ok"]
    assert _purge(db, clock.now + 29 * DAY).identity_checks == 0
    assert _purge(db, clock.now + 31 * DAY).identity_checks == 6  # identity keeps 30 days
    with db() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "retention:purged")).all()[
            -1
        ]
        assert entry.detail["identity_checks"] == 6  # the audit log keeps only the count


def test_a_purge_of_every_old_entry_moves_the_head_to_its_marker(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    """A server idle past the audit retention prunes even the entry the head names; the
    genuine marker accounts for it, so nothing is reported, and a deletion still is."""
    _audit(db, org, clock.now, [1300, 1200])
    result = _purge(db, clock.now)
    assert result.audit_entries == 2
    with db() as s:
        check = verify(s)
        marker = s.scalars(select(AuditEntry)).one()
    assert check.intact and check.entries == 1 and marker.action == PRUNED
    with db() as s:
        s.execute(text("DELETE FROM audit_log"))
        s.commit()
        assert verify(s).broken_at == marker.id
