"""The preference centre, objections, My data export, requests, disputes and reviews."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.events.models import EventRecord
from deskwatch.server.models import Base
from deskwatch.server.snapshots.models import Snapshot
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import beat, enrol, event

DAY = {"day": "2026-11-02"}


def _as(client: TestClient, username: str) -> TestClient:
    return login(TestClient(client.app), username)


def _send(device: TestClient, *events: dict[str, Any]) -> None:
    reply = device.post("/api/v1/events", json={"events": list(events)})
    assert reply.status_code == 200, reply.text


def test_admin_sets_categories_per_team_and_changes_are_audited(
    app_client: TestClient, org: Org
) -> None:
    admin = _as(app_client, "admin")
    team = f"/api/v1/teams/{org.team_a.id}/categories"
    before = {c["key"]: c for c in admin.get(team).json()}
    assert set(before) == {"security", "attendance", "conduct", "environment", "identity"}
    assert before["identity"]["legal_basis"] == "consent" and not before["identity"]["enabled"]
    assert before["security"]["may_object"] is False and before["conduct"]["may_object"]

    changed = admin.put(f"{team}/security", json={"retention_days": 14, "snapshot": True})
    assert changed.status_code == 200 and changed.json()["retention_days"] == 14
    other = admin.get(f"/api/v1/teams/{org.team_b.id}/categories").json()
    assert next(c for c in other if c["key"] == "security")["retention_days"] == 90
    # Biometrics need explicit consent; audio and identity never get snapshots.
    assert admin.put(f"{team}/identity", json={"legal_basis": "contract"}).status_code == 422
    assert admin.put(f"{team}/environment", json={"snapshot": True}).status_code == 422
    assert admin.put(f"{team}/emotion", json={"enabled": True}).status_code == 404
    audit = admin.get("/api/v1/audit").json()
    assert any(
        e["action"] == "category:changed" and e["subject"] == f"team:{org.team_a.id}:security"
        for e in audit
    )


def test_objection_reaches_the_device_and_is_refused_where_not_offered(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    device = enrol(app_client, org.agent_a1.id)
    first = beat(device, "at_desk", clock.now)
    agent = _as(app_client, "agent_a1")
    assert agent.put("/api/v1/me/objections/security", json={"objected": True}).status_code == 400
    mine = agent.put("/api/v1/me/objections/conduct", json={"objected": True}).json()
    assert next(c for c in mine if c["key"] == "conduct")["objected"] is True

    clock.advance(30)  # past the heartbeat's version cache
    assert beat(device, "at_desk", clock.now)["privacy_rev"] > first["privacy_rev"]
    privacy = device.get("/api/v1/policy").json()["privacy"]
    off = [c["key"] for c in privacy["categories"] if c["objected"] or not c["enabled"]]
    assert off == ["conduct", "environment", "identity"]

    agent.put("/api/v1/me/objections/conduct", json={"objected": False})
    privacy = device.get("/api/v1/policy").json()["privacy"]
    assert not next(c for c in privacy["categories"] if c["key"] == "conduct")["objected"]
    actions = [e["action"] for e in _as(app_client, "privacy").get("/api/v1/audit").json()]
    assert {"objection:made", "objection:withdrawn"} <= set(actions)


def test_events_of_categories_off_or_objected_to_are_never_stored(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    """The server fails closed as well as the agent: what is off is dropped at arrival."""
    device = enrol(app_client, org.agent_a1.id)
    agent, admin = _as(app_client, "agent_a1"), _as(app_client, "admin")

    def send(*kinds: str) -> dict[str, Any]:
        reply = device.post("/api/v1/events", json={"events": [event(k, clock.now) for k in kinds]})
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    # environment and identity are off by default; conduct and security are on
    assert send("looking_away", "background_noise", "identity_mismatch", "self_check") == {
        "new": 2,
        "duplicates": 0,
        "updated": 0,
        "dropped": 2,
    }
    agent.put("/api/v1/me/objections/conduct", json={"objected": True})
    admin.put(f"/api/v1/teams/{org.team_a.id}/categories/security", json={"enabled": False})
    admin.put(f"/api/v1/teams/{org.team_a.id}/categories/environment", json={"enabled": True})
    assert send("eating_drinking", "phone_in_use", "away", "other_voice")["dropped"] == 2
    ended = event("looking_away", clock.now, length_s=None)
    agent.put("/api/v1/me/objections/conduct", json={"objected": False})
    assert send_one(device, ended)["new"] == 1
    agent.put("/api/v1/me/objections/conduct", json={"objected": True})
    closing = {**ended, **event("looking_away", clock.now, length_s=9.0, id=ended["id"])}
    assert send_one(device, closing)["dropped"] == 1  # nor is its end processed
    with db() as s:
        stored = {(e.type, e.end_s) for e in s.scalars(select(EventRecord))}
    assert stored == {
        ("looking_away", 40.0),
        ("self_check", 40.0),
        ("away", 40.0),
        ("other_voice", 40.0),
        ("looking_away", None),
    }


def send_one(device: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    reply = device.post("/api/v1/events", json={"events": [body]})
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()
    return data


def test_dispute_review_and_reports_count_only_confirmed_events(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    device = enrol(app_client, org.agent_a1.id)
    phone, other, away = (
        event("phone_in_use", clock.now),
        event("extra_person", clock.now),
        event("away", clock.now),
    )
    _send(device, phone, other, away)
    agent, sup_a, sup_b = (_as(app_client, n) for n in ("agent_a1", "sup_a", "sup_b"))

    queue = sup_a.get("/api/v1/reviews").json()
    assert {q["event"]["id"] for q in queue} == {phone["id"], other["id"]}  # away: no review
    assert sup_b.get("/api/v1/reviews").json() == []
    report = sup_a.get(f"/api/v1/teams/{org.team_a.id}/report", params=DAY).json()
    a1 = next(a for a in report["agents"] if a["agent_id"] == org.agent_a1.id)
    assert a1["events"] == {"away": 1} and a1["awaiting_review"] == 2

    dispute = {"kind": "dispute", "body": "that was my own reflection"}
    assert agent.post(f"/api/v1/events/{other['id']}/comments", json=dispute).status_code == 201
    assert sup_a.post(f"/api/v1/events/{other['id']}/comments", json=dispute).status_code == 400
    queue = sup_a.get("/api/v1/reviews").json()
    assert queue[0]["event"]["id"] == other["id"] and queue[0]["event"]["disputed"]
    assert queue[0]["comments"][0]["body"] == "that was my own reflection"

    url = "/api/v1/events/{}/review"
    assert sup_b.post(url.format(phone["id"]), json={"decision": "confirmed"}).status_code == 404
    assert agent.post(url.format(phone["id"]), json={"decision": "rejected"}).status_code == 403
    ok = sup_a.post(url.format(phone["id"]), json={"decision": "confirmed", "note": "seen"})
    assert ok.json()["review"] == "confirmed"
    no = sup_a.post(url.format(other["id"]), json={"decision": "rejected", "note": "reflection"})
    assert no.json()["review"] == "rejected"
    again = sup_a.post(url.format(phone["id"]), json={"decision": "rejected"})
    assert again.status_code == 400  # decided already

    report = sup_a.get(f"/api/v1/teams/{org.team_a.id}/report", params=DAY).json()
    a1 = next(a for a in report["agents"] if a["agent_id"] == org.agent_a1.id)
    assert a1["events"] == {"away": 1, "phone_in_use": 1} and a1["awaiting_review"] == 0
    rates = {r["type"]: r for r in _as(app_client, "admin").get("/api/v1/accuracy").json()}
    assert rates["extra_person"]["dispute_rate"] == 1.0
    assert rates["extra_person"]["rejection_rate"] == 1.0
    assert rates["phone_in_use"]["rejection_rate"] == 0.0
    mine = {e["id"]: e for e in agent.get(f"/api/v1/agents/{org.agent_a1.id}/events").json()}
    assert mine[other["id"]]["review_note"] == "reflection"


# Where each table that names a worker appears in their export. A new table about workers
# fails the export test until the export covers it.
EXPORTED = {
    "agent_status": "current_status",
    "data_requests": "requests",
    "devices": "devices",
    "enrolment_codes": "enrolment_codes",
    "events": "events",
    "objections": "objections",
    "snapshots": "snapshots",
    "status_changes": "status_changes",
}


def _agent_tables() -> set[str]:
    """Every table with a column naming the worker the row is about."""
    return {name for name, table in Base.metadata.tables.items() if "agent_id" in table.columns}


def test_export_holds_everything_about_me_and_nothing_about_others(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    mine, theirs = enrol(app_client, org.agent_a1.id), enrol(app_client, org.agent_a2.id, "pc-2")
    for device in (mine, theirs):
        beat(device, "at_desk", clock.now)
        _send(device, event("phone_in_use", clock.now), event("away", clock.now))
        clock.advance(60)
        beat(device, "away", clock.now)
    agent = _as(app_client, "agent_a1")
    my_event = agent.get(f"/api/v1/agents/{org.agent_a1.id}/events", params=DAY).json()[0]
    agent.post(f"/api/v1/events/{my_event['id']}/comments", json={"kind": "comment", "body": "x"})
    agent.post("/api/v1/me/requests", json={"kind": "erasure", "body": "please erase"})
    agent.put("/api/v1/me/objections/conduct", json={"objected": True})
    with db() as s:
        s.add(_snapshot(my_event["id"], org.agent_a1.id, clock))
        s.commit()
    _as(app_client, "sup_a").get(f"/api/v1/agents/{org.agent_a1.id}/timeline", params=DAY)

    reply = agent.get("/api/v1/me/export")
    assert reply.status_code == 200
    data, text = reply.json(), reply.text
    assert _agent_tables() == set(EXPORTED)
    with db() as s:
        for table, key in EXPORTED.items():
            rows = s.execute(select(Base.metadata.tables[table])).mappings().all()
            assert any(r["agent_id"] == org.agent_a1.id for r in rows), table
            assert data[key], f"{table} missing from the export"
    assert len(data["events"]) == 2 and sum(len(e["comments"]) for e in data["events"]) == 1
    assert len(data["devices"]) == 1 and len(data["snapshots"]) == 1
    assert [c["status"] for c in data["status_changes"]] == ["at_desk", "away"]
    assert data["objections"] == ["conduct"] and data["requests"][0]["kind"] == "erasure"
    assert data["enrolment_codes"] and data["current_status"]["status"] == "away"
    assert any(v["who"] == "Sup_A" and v["action"] == "read:timeline" for v in data["views"])
    # Nothing about anyone else: no other agent's ids, names or devices.
    with db() as s:
        others = s.scalars(select(EventRecord.id).where(EventRecord.agent_id != org.agent_a1.id))
        assert all(i not in text for i in others)
    assert "Agent_A2" not in text and "pc-2" not in text and "agent_a2" not in text


def _snapshot(event_id: str, agent_id: int, clock: Clock) -> Snapshot:
    return Snapshot(
        id=str(uuid.uuid4()),
        event_id=event_id,
        agent_id=agent_id,
        category="security",
        taken_at=clock.now,
        received_at=clock.now,
        expires_at=clock.now + timedelta(days=7),
        sealed=b"sealed bytes",
    )


def test_requests_are_followed_and_an_erasure_erases(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    device = enrol(app_client, org.agent_a1.id)
    beat(device, "at_desk", clock.now)
    _send(device, event("phone_in_use", clock.now), event("away", clock.now))
    agent, officer = _as(app_client, "agent_a1"), _as(app_client, "privacy")
    made = agent.post("/api/v1/me/requests", json={"kind": "erasure", "body": "erase me"}).json()
    assert made["status"] == "open"
    assert [r["id"] for r in officer.get("/api/v1/privacy/requests").json()] == [made["id"]]
    views = agent.get("/api/v1/me/export").json()["views"]
    assert any(v["action"] == "read:requests" and v["role"] == "privacy_officer" for v in views)
    assert _as(app_client, "agent_a2").get("/api/v1/me/requests").json() == []

    url = f"/api/v1/privacy/requests/{made['id']}"
    officer.patch(url, json={"status": "in_progress", "response": "on it"})
    assert agent.get("/api/v1/me/requests").json()[0]["status"] == "in_progress"
    done = officer.patch(url, json={"status": "done", "response": "erased"})
    assert done.status_code == 200
    export = agent.get("/api/v1/me/export").json()
    assert export["events"] == [] and export["status_changes"] == []
    assert export["requests"][0]["status"] == "done"
    assert officer.patch(url, json={"status": "refused"}).status_code == 400
    entry = next(e for e in officer.get("/api/v1/audit").json() if e["action"] == "request:done")
    # The audit log keeps the record that the erasure happened, with what it removed.
    assert entry["detail"]["events"] == 2 and entry["subject"] == f"agent:{org.agent_a1.id}"


PAGES = {
    "/me": {"agent_a1": 200},
    "/me/export.html": {"agent_a1": 200},
    "/reviews": {"sup_a": 200, "sup_b": 200, "admin": 200},
    "/privacy": {"admin": 200, "privacy": 200},
    "/teams/{team_a}/categories": {"sup_a": 200, "sup_b": 404, "admin": 200, "privacy": 200},
}


def test_privacy_pages_for_every_role(app_client: TestClient, org: Org) -> None:
    anonymous = TestClient(app_client.app, follow_redirects=False)
    for path in PAGES:
        reply = anonymous.get(path.format(team_a=org.team_a.id))
        assert reply.status_code == 303 and reply.headers["location"] == "/login"
    for role in ("agent_a1", "sup_a", "sup_b", "admin", "privacy"):
        client = _as(app_client, role)
        for path, allowed in PAGES.items():
            reply = client.get(path.format(team_a=org.team_a.id))
            assert reply.status_code == allowed.get(role, 403), (role, path)


def test_category_form_needs_csrf_and_an_admin(app_client: TestClient, org: Org) -> None:
    form = {"purpose": "Protect card data from cameras", "legal_basis": "contract"}
    url = f"/teams/{org.team_a.id}/categories/security"
    admin = _as(app_client, "admin")
    assert admin.post(url, data={**form, "retention_days": "10"}).status_code == 403  # no token
    sup = _as(app_client, "sup_a")
    token = {"csrf_token": sup.headers["x-csrf-token"], "retention_days": "10"}
    assert sup.post(url, data={**form, **token}, follow_redirects=False).status_code == 403
    token["csrf_token"] = admin.headers["x-csrf-token"]
    saved = admin.post(url, data={**form, **token}, follow_redirects=False)
    assert saved.status_code == 303 and "saved" in saved.headers["location"]
    security = next(
        c
        for c in admin.get(f"/api/v1/teams/{org.team_a.id}/categories").json()
        if c["key"] == "security"
    )
    assert security["retention_days"] == 10 and security["legal_basis"] == "contract"
    assert security["enabled"] is False  # an unticked box is off
