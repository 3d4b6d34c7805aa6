"""Heartbeats noted in memory and stored in batches, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.app import create_app
from deskwatch.server.devices.models import Device
from deskwatch.server.devices.tokens import DeviceIdentity, TokenCache
from deskwatch.server.settings import Settings
from deskwatch.server.status.buffer import HeartbeatBuffer
from deskwatch.server.status.models import AgentStatus, StatusChange
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import beat, enrol


def _app(
    db: sessionmaker[Session], clock: Clock, tmp_path: Path, device_cache_ttl_s: float = 30.0
) -> FastAPI:
    # No timed flush during a test: the test flushes (all sessions share one connection).
    config = Settings(
        secret_key="t",
        secret_key_file=tmp_path / "secret",
        heartbeat_flush_s=3600,
        cache_refresh_s=0,
        device_cache_ttl_s=device_cache_ttl_s,
    )
    return create_app(config, sessions=db, clock=clock)


@pytest.fixture
def buffered(db: sessionmaker[Session], clock: Clock, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(_app(db, clock, tmp_path)) as client:
        yield client


def _buffer(client: TestClient) -> HeartbeatBuffer:
    buffer: HeartbeatBuffer = client.app.state.heartbeats  # type: ignore[attr-defined]
    return buffer


def _stored(db: sessionmaker[Session], agent_id: int) -> AgentStatus:
    with db() as s:
        row = s.get(AgentStatus, agent_id)
    assert row is not None
    return row


def _board(client: TestClient, supervisor: str = "sup_a") -> dict[int, dict[str, object]]:
    sup = login(TestClient(client.app), supervisor)
    return {r["agent_id"]: r for r in sup.get("/api/v1/board").json()}


def test_unchanged_heartbeat_is_stored_at_the_flush(
    buffered: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    device = enrol(buffered, org.agent_a1.id)
    first = clock.now
    beat(device, "at_desk", clock.now)  # unknown agent: full path, stored at once
    assert _stored(db, org.agent_a1.id).last_seen_at == first
    later = clock.advance(30)
    beat(device, "at_desk", later)
    assert _stored(db, org.agent_a1.id).last_seen_at == first  # noted, not yet stored
    _buffer(buffered).flush()
    assert _stored(db, org.agent_a1.id).last_seen_at == later
    row = _board(buffered)[org.agent_a1.id]
    assert row["status"] == "at_desk"
    assert datetime.fromisoformat(str(row["last_seen_at"])) == later
    with db() as s:
        assert s.scalars(select(Device.last_seen_at)).one() == first  # minute resolution


def test_status_change_is_stored_before_the_reply(
    buffered: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    device = enrol(buffered, org.agent_a1.id)
    beat(device, "at_desk", clock.now)
    beat(device, "at_desk", clock.advance(30))
    changed_at = clock.advance(30)
    beat(device, "away", changed_at)
    stored = _stored(db, org.agent_a1.id)
    assert (stored.status, stored.since, stored.last_seen_at) == ("away", changed_at, changed_at)
    assert _board(buffered)[org.agent_a1.id]["status"] == "away"


def test_offline_is_detected_and_recorded(
    buffered: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    device = enrol(buffered, org.agent_a1.id)
    beat(device, "at_desk", clock.now)
    last = clock.advance(30)
    beat(device, "at_desk", last)
    _buffer(buffered).flush()
    clock.advance(120)  # silent: past offline_after_s (90 s)
    assert _board(buffered)[org.agent_a1.id]["status"] == "offline"
    back = clock.advance(1)
    beat(device, "at_desk", back)  # same status, back online: found by the next flush
    _buffer(buffered).flush()
    assert _board(buffered)[org.agent_a1.id]["status"] == "at_desk"
    with db() as s:
        changes = s.scalars(
            select(StatusChange.status).where(StatusChange.agent_id == org.agent_a1.id)
        ).all()
    assert changes == ["at_desk", "offline", "at_desk"]


def test_shutdown_stores_noted_heartbeats(
    db: sessionmaker[Session], org: Org, clock: Clock, tmp_path: Path
) -> None:
    with TestClient(_app(db, clock, tmp_path)) as client:
        device = enrol(client, org.agent_a1.id)
        beat(device, "at_desk", clock.now)
        later = clock.advance(30)
        beat(device, "at_desk", later)
        assert _stored(db, org.agent_a1.id).last_seen_at < later
    assert _stored(db, org.agent_a1.id).last_seen_at == later


def test_change_stored_by_another_worker_is_not_lost(
    db: sessionmaker[Session], org: Org, clock: Clock, tmp_path: Path
) -> None:
    """Worker one knows "at_desk"; worker two stores "away"; worker one then gets "at_desk"
    again: its flush finds the disagreement and stores the change with the beat's time."""
    with (
        TestClient(_app(db, clock, tmp_path)) as one,
        TestClient(_app(db, clock, tmp_path)) as two,
    ):
        token = enrol(one, org.agent_a1.id).headers["authorization"]
        dev_one = TestClient(one.app, headers={"authorization": token})
        dev_two = TestClient(two.app, headers={"authorization": token})
        beat(dev_one, "at_desk", clock.now)
        beat(dev_two, "away", clock.advance(10))
        back = clock.advance(10)
        beat(dev_one, "at_desk", back)  # noted: worker one still believes "at_desk"
        _buffer(one).flush()
        stored = _stored(db, org.agent_a1.id)
        assert (stored.status, stored.since, stored.last_seen_at) == ("at_desk", back, back)


def test_revoked_device_is_refused_within_the_cache_time(
    db: sessionmaker[Session], org: Org, clock: Clock, tmp_path: Path
) -> None:
    """Revoked through worker one: refused there at once; worker two, which here hears no
    signal (no shared NOTIFY listener in this test), refuses it when its entry expires."""
    with (
        TestClient(_app(db, clock, tmp_path, device_cache_ttl_s=30)) as one,
        TestClient(_app(db, clock, tmp_path, device_cache_ttl_s=30)) as two,
    ):
        device = enrol(one, org.agent_a1.id)
        token = device.headers["authorization"]
        dev_two = TestClient(two.app, headers={"authorization": token})
        beat(device, "at_desk", clock.now)
        beat(dev_two, "at_desk", clock.now)  # worker two caches the token
        admin = login(TestClient(one.app), "admin")
        (listed,) = admin.get("/api/v1/admin/devices").json()
        assert admin.post(f"/api/v1/admin/devices/{listed['id']}/revoke").status_code == 200
        body = {"status": "at_desk", "sent_at": clock.now.isoformat()}
        assert device.post("/api/v1/heartbeat", json=body).status_code == 403
        clock.advance(29)
        assert dev_two.post("/api/v1/heartbeat", json=body).status_code == 200  # cached
        clock.advance(1)
        assert dev_two.post("/api/v1/heartbeat", json=body).status_code == 403


@contextmanager
def _statements(db: sessionmaker[Session]) -> Iterator[list[str]]:
    """Every SQL statement run on the test's database meanwhile."""
    seen: list[str] = []
    with db() as s:
        engine = s.connection().engine

    def note(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_restarted_server_answers_its_fleet_without_a_query(
    db: sessionmaker[Session], org: Org, clock: Clock, tmp_path: Path
) -> None:
    """A new worker learns tokens, revisions, policy versions and statuses in bulk at
    start: a known device's first heartbeat to it is answered from memory, and stored by
    the flush."""
    with TestClient(_app(db, clock, tmp_path)) as before:
        device = enrol(before, org.agent_a1.id)
        token = device.headers["authorization"]
        beat(device, "at_desk", clock.now)
        reply = beat(device, "at_desk", clock.advance(30))
    with TestClient(_app(db, clock, tmp_path)) as after:
        dev = TestClient(after.app, headers={"authorization": token})
        later = clock.advance(1)
        with _statements(db) as statements:
            assert beat(dev, "at_desk", later) == reply
        assert statements == []
        _buffer(after).flush()
    assert _stored(db, org.agent_a1.id).last_seen_at == later


def test_reload_keeps_out_a_device_revoked_while_it_ran() -> None:
    tokens = TokenCache(ttl_s=300)
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    kept, revoked = DeviceIdentity("d1", 1), DeviceIdentity("d2", 2)

    def load() -> list[tuple[str, DeviceIdentity]]:
        rows = [("h1", kept), ("h2", revoked)]  # read before the revocation committed
        tokens.forget(revoked.id)  # the revoking request, meanwhile
        return rows

    assert tokens.refresh(load, now=now) == 1
    assert tokens.get("h1", now=now) == kept
    assert tokens.get("h2", now=now) is None
    tokens.refresh(lambda: [("h2", revoked)], now=now)  # a later reload is authoritative
    assert tokens.get("h1", now=now) is None


def test_a_lookup_that_raced_a_revocation_is_not_cached() -> None:
    tokens = TokenCache(ttl_s=300)
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    device = DeviceIdentity("d1", 1)
    before = tokens.forgotten  # a request's lookup starts (in a thread)
    tokens.forget_agent(1)  # the revocation is signalled meanwhile
    tokens.put("h1", device, now=now, looked_up_at=before)  # its answer may predate it
    assert tokens.get("h1", now=now) is None  # so the next request looks up again
    tokens.put("h1", device, now=now, looked_up_at=tokens.forgotten)
    assert tokens.get("h1", now=now) == device
