"""The device API on SQLite and PostgreSQL: enrolment, ingest, heartbeats, policy."""

from __future__ import annotations

import hashlib
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.devices.models import Device
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import beat, enrol, event


def test_enrolment_gives_a_token_stored_only_as_a_hash(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    device = enrol(app_client, org.agent_a1.id)
    token = device.headers["authorization"].split()[1]
    with db() as s:
        stored = s.scalars(select(Device)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert stored.agent_id == org.agent_a1.id


def test_codes_are_one_time_and_expire(app_client: TestClient, org: Org, clock: Clock) -> None:
    admin = login(TestClient(app_client.app), "admin")
    code = admin.post("/api/v1/admin/enrolment-codes", json={"agent_id": org.agent_a1.id}).json()
    body = {"code": code["code"], "hostname": "pc"}
    assert app_client.post("/api/v1/devices/enroll", json=body).status_code == 201
    assert app_client.post("/api/v1/devices/enroll", json=body).status_code == 400
    late = admin.post("/api/v1/admin/enrolment-codes", json={"agent_id": org.agent_a1.id}).json()
    clock.advance(25 * 3600)
    reply = app_client.post("/api/v1/devices/enroll", json={"code": late["code"], "hostname": "pc"})
    assert reply.status_code == 400 and "expired" in reply.json()["detail"]


def test_bad_and_revoked_tokens(app_client: TestClient, org: Org, clock: Clock) -> None:
    device = enrol(app_client, org.agent_a1.id)
    assert TestClient(app_client.app).get("/api/v1/policy").status_code == 401
    wrong = TestClient(app_client.app, headers={"authorization": "Bearer nope"})
    assert wrong.get("/api/v1/policy").status_code == 401
    assert device.get("/api/v1/policy").status_code == 200
    admin = login(TestClient(app_client.app), "admin")
    (listed,) = admin.get("/api/v1/admin/devices").json()
    assert admin.post(f"/api/v1/admin/devices/{listed['id']}/revoke").status_code == 200
    assert device.get("/api/v1/policy").status_code == 403
    body = {"events": [event("away", clock.now)]}
    assert device.post("/api/v1/events", json=body).status_code == 403


def test_ingest_is_idempotent_and_takes_late_ends(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    device = enrol(app_client, org.agent_a1.id)
    first = [event("away", clock.now), event("phone_in_use", clock.now, length_s=None)]
    assert device.post("/api/v1/events", json={"events": first}).json() == {
        "new": 2,
        "duplicates": 0,
        "updated": 0,
        "dropped": 0,
    }
    assert device.post("/api/v1/events", json={"events": first}).json() == {
        "new": 0,
        "duplicates": 2,
        "updated": 0,
        "dropped": 0,
    }
    ended = event("phone_in_use", clock.now, length_s=12.0, id=first[1]["id"])
    extra = event("extra_person", clock.now)
    reply = device.post("/api/v1/events", json={"events": [ended, extra, ended]})
    assert reply.json() == {"new": 1, "duplicates": 1, "updated": 1, "dropped": 0}
    sup = login(TestClient(app_client.app), "sup_a")
    stored = {e["id"]: e for e in sup.get(f"/api/v1/agents/{org.agent_a1.id}/events").json()}
    assert len(stored) == 3 and stored[first[1]["id"]]["duration_s"] == 12.0


def test_bad_payloads_name_the_field(app_client: TestClient, org: Org, clock: Clock) -> None:
    device = enrol(app_client, org.agent_a1.id)
    bad = [event("away", clock.now), event("away", clock.now, peak_confidence=3)]
    reply = device.post("/api/v1/events", json={"events": bad})
    assert reply.status_code == 422
    assert [e["field"] for e in reply.json()["detail"]] == ["events.1.peak_confidence"]
    cases = [
        ({"events": []}, "events"),
        ({"events": [{**event("away", clock.now), "type": "teleport"}]}, "events.0.type"),
        ({"events": [{**event("away", clock.now), "started_at": None}]}, "events.0"),
        ({"events": [event("away", clock.now)], "extra": 1}, "extra"),
        ({"events": [event("away", clock.now)] * 1001}, "events"),
    ]
    for body, field in cases:
        reply = device.post("/api/v1/events", json=body)
        assert reply.status_code == 422, (field, reply.text)
        assert reply.json()["detail"][0]["field"] == field
    assert device.post("/api/v1/events", content=b"{not json").status_code == 422


def test_future_events_refused_small_skew_kept(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    from datetime import timedelta

    device = enrol(app_client, org.agent_a1.id)
    ahead = event("away", clock.now + timedelta(hours=2))
    reply = device.post("/api/v1/events", json={"events": [ahead]})
    assert reply.status_code == 422 and reply.json()["detail"][0]["field"] == "events.0.started_at"
    skewed = event("away", clock.now + timedelta(seconds=90))
    assert device.post("/api/v1/events", json={"events": [skewed]}).json()["new"] == 1


def test_oversized_body_is_413(app_client: TestClient, org: Org, clock: Clock) -> None:
    device = enrol(app_client, org.agent_a1.id)
    big = {"events": [event("away", clock.now, evidence_pad="x" * 3_000_000)]}
    assert device.post("/api/v1/events", json=big).status_code == 413


def test_heartbeats_drive_the_board_and_offline(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    a1, a2 = enrol(app_client, org.agent_a1.id), enrol(app_client, org.agent_a2.id, "pc-2")
    assert beat(a1, "at_desk", clock.now) == {"policy_version": 1, "privacy_rev": 0}
    beat(a2, "paused", clock.now)
    sup = login(TestClient(app_client.app), "sup_a")
    board = {r["agent_id"]: r for r in sup.get("/api/v1/board").json()}
    assert board[org.agent_a1.id]["status"] == "at_desk"
    assert board[org.agent_a2.id]["status"] == "paused"
    clock.advance(60)
    beat(a1, "away", clock.now)
    clock.advance(60)  # a2 silent for 120 s
    board = {r["agent_id"]: r for r in sup.get("/api/v1/board").json()}
    assert board[org.agent_a1.id]["status"] == "away"
    assert board[org.agent_a2.id]["status"] == "offline"
    assert org.agent_b1.id not in board


def test_policy_versions_reach_the_device(app_client: TestClient, org: Org, clock: Clock) -> None:
    device = enrol(app_client, org.agent_a1.id)
    first = device.get("/api/v1/policy").json()
    assert (first["version"], first["toml"], first["privacy"]["rev"]) == (1, "", 0)
    admin = login(TestClient(app_client.app), "admin")
    toml = "[rules.away]\nmin_away_s = 60\n"
    put = admin.put(f"/api/v1/teams/{org.team_a.id}/policy", json={"toml": toml})
    assert put.status_code == 200 and put.json()["version"] == 2
    second = device.get("/api/v1/policy").json()
    assert (second["version"], second["toml"]) == (2, toml)
    assert beat(device, "at_desk", clock.now) == {"policy_version": 2, "privacy_rev": 0}
    bad = admin.put(
        f"/api/v1/teams/{org.team_a.id}/policy", json={"toml": "[rules.away]\nmin_awy_s = 1\n"}
    )
    assert bad.status_code == 422 and "min_awy_s" in bad.text
    emotion = admin.put(
        f"/api/v1/teams/{org.team_a.id}/policy", json={"toml": "[detectors.emotion]\n"}
    )
    assert emotion.status_code == 422 and "emotion recognition" in emotion.text


def test_events_of_another_device_id_are_not_overwritten(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    mine, theirs = enrol(app_client, org.agent_a1.id), enrol(app_client, org.agent_b1.id, "pc-b")
    shared_id = str(uuid.uuid4())
    mine.post(
        "/api/v1/events", json={"events": [event("away", clock.now, length_s=None, id=shared_id)]}
    )
    reply = theirs.post("/api/v1/events", json={"events": [event("away", clock.now, id=shared_id)]})
    assert reply.json() == {"new": 0, "duplicates": 1, "updated": 0, "dropped": 0}


def test_a_failed_commit_is_never_acknowledged(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    """The transaction commits before the reply: a commit error is a 500, never a 200."""
    device = enrol(app_client, org.agent_a1.id)

    def fail_commit(session: Session) -> None:
        raise RuntimeError("disk full")

    client = TestClient(app_client.app, raise_server_exceptions=False)
    client.headers.update(device.headers)
    sa_event.listen(Session, "before_commit", fail_commit)
    try:
        reply = client.post("/api/v1/events", json={"events": [event("away", clock.now)]})
    finally:
        sa_event.remove(Session, "before_commit", fail_commit)
    assert reply.status_code == 500
