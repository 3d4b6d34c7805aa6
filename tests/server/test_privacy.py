"""The preference centre, objections, My data export, requests, disputes and reviews."""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from deskwatch.server.audit.chain import AuditChain, attach
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.db import session_factory
from deskwatch.server.errors import RefusedError
from deskwatch.server.events.models import EventRecord
from deskwatch.server.migrate import upgrade
from deskwatch.server.models import Base
from deskwatch.server.orgs.models import Role, Team, User
from deskwatch.server.orgs.service import create_site, create_team, create_user
from deskwatch.server.privacy.models import Objection
from deskwatch.server.privacy.schemas import CategoryIn
from deskwatch.server.privacy.service import set_category, set_objection, team_and_rev
from deskwatch.server.reviews.measured import measured
from deskwatch.server.settings import Settings
from deskwatch.server.snapshots.models import Snapshot
from deskwatch.server.web.pages import outcome
from tests.server.conftest import PASSWORD, Clock, Org, login, postgres_schema
from tests.server.helpers import beat, enrol, event, flashed, hours

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

    def changes_seen_by(username: str) -> list[str]:
        views = _as(app_client, username).get("/api/v1/me/export").json()["views"]
        return [v["subject"] for v in views if v["action"] == "category:changed"]

    # The workers of that team see who changed their monitoring; another team's do not.
    assert changes_seen_by("agent_a1") == [f"team:{org.team_a.id}:security"]
    assert changes_seen_by("agent_b1") == []


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
    shown = {q["event"]["type"]: q["measured"] for q in queue}
    assert shown["phone_in_use"] == measured()["phone_in_use"].model_dump()  # its benchmark's
    assert shown["extra_person"] is None  # not measured: the page says so
    page = sup_a.get("/reviews").text
    assert f"{measured()['phone_in_use'].precision:.0%}" in page
    assert "not measured on labelled data yet" in page
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


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Lived:
    """A day of two workers of team A (and one of team B) with every kind of record."""

    mine: list[str]  # agent_a1's device ids
    colleague: str  # agent_a2's device id


def _live_a_day(app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]) -> Lived:
    devices = {
        "a1": enrol(app_client, org.agent_a1.id),
        "a1b": enrol(app_client, org.agent_a1.id, "pc-1b"),
        "a2": enrol(app_client, org.agent_a2.id, "pc-2"),
        "b1": enrol(app_client, org.agent_b1.id, "pc-b"),
    }
    for name in ("a1", "a2", "b1"):
        device = devices[name]
        beat(device, "at_desk", clock.now)
        _send(device, event("phone_in_use", clock.now), event("away", clock.now))
        device.post("/api/v1/device/reconfirm", json={"password": PASSWORD})
        device.post("/api/v1/device/reconfirm", json={"password": "not my password"})
    clock.advance(60)
    for name in ("a1", "a2", "b1"):
        beat(devices[name], "away", clock.now)
    agent, sup, admin = (_as(app_client, n) for n in ("agent_a1", "sup_a", "admin"))
    phone, away = agent.get(f"/api/v1/agents/{org.agent_a1.id}/events", params=DAY).json()
    agent.post(f"/api/v1/events/{phone['id']}/comments", json={"kind": "comment", "body": "x"})
    agent.post(f"/api/v1/events/{away['id']}/comments", json={"kind": "dispute", "body": "no"})
    sup.post(f"/api/v1/events/{phone['id']}/review", json={"decision": "confirmed", "note": "ok"})
    agent.post("/api/v1/me/requests", json={"kind": "erasure", "body": "please erase"})
    agent.put("/api/v1/me/objections/conduct", json={"objected": True})
    colleague = _as(app_client, "agent_a2")
    colleague.post("/api/v1/me/requests", json={"kind": "erasure", "body": "me too"})
    theirs = colleague.get(f"/api/v1/agents/{org.agent_a2.id}/events", params=DAY).json()
    colleague.post(
        f"/api/v1/events/{theirs[0]['id']}/comments", json={"kind": "comment", "body": "y"}
    )
    with db() as s:
        s.add(_snapshot(phone["id"], org.agent_a1.id, clock))
        theirs = s.scalars(select(EventRecord.id).where(EventRecord.agent_id == org.agent_a2.id))
        s.add(_snapshot(next(iter(theirs)), org.agent_a2.id, clock))
        s.commit()
    sup.get(f"/api/v1/agents/{org.agent_a1.id}/timeline", params=DAY)
    sup.get("/api/v1/board")
    for who, activity in (("agent_a1", "Open"), ("agent_a2", "Lunch")):
        shift = {"agent": who, "activity": activity}
        shift |= {"start": clock.now.isoformat(), "end": (clock.now + hours(1)).isoformat()}
        assert admin.post("/api/v1/schedules", json=[shift]).status_code == 201
    listed = {d["hostname"]: d["id"] for d in admin.get("/api/v1/admin/devices").json()}
    admin.post(f"/api/v1/admin/devices/{listed['pc-1b']}/revoke")
    _as(app_client, "privacy").get("/api/v1/audit")
    _as(app_client, "privacy").get("/api/v1/privacy/requests")
    return Lived(mine=[listed["pc-1"], listed["pc-1b"]], colleague=listed["pc-2"])


# Every column that names a person, and where a worker finds its rows in their export. A
# new column naming a user fails the test until it is listed here.
Keys = Callable[[list[dict[str, Any]]], set[Any]]
EXPORTED: dict[tuple[str, str], tuple[Keys, Callable[[dict[str, Any]], set[Any]]]] = {
    ("users", "id"): (
        lambda rows: {(r["id"], r["username"], r["display_name"]) for r in rows},
        lambda d: {(d["person"]["id"], d["person"]["username"], d["person"]["display_name"])},
    ),
    ("agent_status", "agent_id"): (
        lambda rows: {(r["status"], r["since"]) for r in rows},
        lambda d: {(d["current_status"]["status"], _when(d["current_status"]["since"]))},
    ),
    ("data_requests", "agent_id"): (
        lambda rows: {(r["id"], r["status"]) for r in rows},
        lambda d: {(r["id"], r["status"]) for r in d["requests"]},
    ),
    ("devices", "agent_id"): (
        lambda rows: {(r["id"], r["hostname"]) for r in rows},
        lambda d: {(x["id"], x["hostname"]) for x in d["devices"]},
    ),
    ("enrolment_codes", "agent_id"): (
        lambda rows: {(r["created_at"], r["used_at"]) for r in rows},
        lambda d: {(_when(c["created_at"]), _when(c["used_at"])) for c in d["enrolment_codes"]},
    ),
    ("events", "agent_id"): (
        lambda rows: {(r["id"], r["type"], r["review"]) for r in rows},
        lambda d: {(e["id"], e["type"], e["review"]) for e in d["events"]},
    ),
    ("event_comments", "author_id"): (
        lambda rows: {(r["id"], r["kind"], r["body"]) for r in rows},
        lambda d: {(c["id"], c["kind"], c["body"]) for e in d["events"] for c in e["comments"]},
    ),
    ("objections", "agent_id"): (
        lambda rows: {(r["category"], r["created_at"]) for r in rows},
        lambda d: {(o["category"], _when(o["since"])) for o in d["objections"]},
    ),
    ("snapshots", "agent_id"): (
        lambda rows: {(r["id"], r["event_id"]) for r in rows},
        lambda d: {(x["id"], x["event_id"]) for x in d["snapshots"]},
    ),
    ("status_changes", "agent_id"): (
        lambda rows: {(r["status"], r["at"]) for r in rows},
        lambda d: {(c["status"], _when(c["at"])) for c in d["status_changes"]},
    ),
    ("identity_checks", "agent_id"): (
        lambda rows: {(r["device_id"], r["at"], r["ok"]) for r in rows},
        lambda d: {(c["device_id"], _when(c["at"]), c["ok"]) for c in d["identity_checks"]},
    ),
    ("scheduled_activities", "agent_id"): (
        lambda rows: {(r["start"], r["activity"]) for r in rows},
        lambda d: {(_when(a["start"]), a["activity"]) for a in d["schedule"]},
    ),
    ("sessions", "user_id"): (
        lambda rows: {r["created_at"] for r in rows},
        lambda d: {_when(x["created_at"]) for x in d["sessions"]},
    ),
    ("audit_log", "actor_id"): (
        lambda rows: {r["id"] for r in rows},
        lambda d: {v["id"] for v in d["my_actions"]},
    ),
}
# Columns that name the staff member who acted (a reviewer, an officer, an admin, a
# supervisor): never a worker, which the test checks.
STAFF = {
    ("events", "reviewed_by"),
    ("data_requests", "handled_by"),
    ("enrolment_codes", "created_by"),
    ("category_settings", "updated_by"),
    ("policy_versions", "created_by"),
    ("wfm_tokens", "created_by"),
    ("team_supervisors", "user_id"),
}


def _user_columns() -> set[tuple[str, str]]:
    """Every column that references a user, and the users table's own id."""
    found = {("users", "id")}
    for name, table in Base.metadata.tables.items():
        for column in table.columns:
            if any(fk.column.table.name == "users" for fk in column.foreign_keys):
                found.add((name, column.name))
    return found


def _about(subject: str, agent: User, devices: set[str], events: set[str]) -> bool:
    """Whether an audit subject names the worker (read independently of the export)."""
    kind, _, rest = subject.partition(":")
    head = rest.split(":")[0]
    return (
        (kind == "agent" and head == str(agent.id))
        or (kind == "device" and rest in devices)
        or (kind == "event" and rest in events)
        or (kind == "team" and rest == str(agent.team_id))
        or subject == "teams:all"
    )


def test_export_holds_everything_about_me_and_nothing_about_others(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    lived = _live_a_day(app_client, org, clock, db)
    reply = _as(app_client, "agent_a1").get("/api/v1/me/export")
    assert reply.status_code == 200
    data, text = reply.json(), reply.text
    assert _user_columns() == set(EXPORTED) | STAFF
    me = org.agent_a1.id
    with db() as s:
        for (table, column), (stored, exported) in EXPORTED.items():
            rows = s.execute(select(Base.metadata.tables[table])).mappings().all()
            mine = [dict(r) for r in rows if r[column] == me]
            assert mine, f"{table}.{column}: the scenario made no row"
            assert stored(mine) == exported(data), f"{table}.{column}"
        for table, column in STAFF:
            rows = s.execute(select(Base.metadata.tables[table])).mappings().all()
            assert all(r[column] != me for r in rows), f"{table}.{column} names a worker"
        agent = s.get(User, me)
        assert agent is not None
        events = set(s.scalars(select(EventRecord.id).where(EventRecord.agent_id == me)))
        about = {
            e.id
            for e in s.scalars(select(AuditEntry))
            if e.actor_id != me and _about(e.subject, agent, set(lived.mine), events)
        }
    views = {v["id"]: v for v in data["views"]}
    assert set(views) == about
    actions = {(v["action"], v["subject"]) for v in views.values()}
    assert ("read:board", f"team:{org.team_a.id}") in actions  # the live board names the team
    assert ("read:devices", "teams:all") in actions and ("read:audit", "teams:all") in actions
    assert ("device:revoked", f"device:{lived.mine[1]}") in actions
    assert ("review:confirmed", f"agent:{me}") in actions
    assert any(v["who"] == "Sup_A" and v["action"] == "read:timeline" for v in views.values())
    assert len(data["identity_checks"]) == 2 and data["current_status"]["status"] == "away"
    # Nothing about anyone else: no other worker's ids, names, devices or requests.
    with db() as s:
        others = s.scalars(select(EventRecord.id).where(EventRecord.agent_id != me))
        assert all(i not in text for i in others)
    assert lived.colleague not in text and "me too" not in text
    assert "Agent_A2" not in text and "pc-2" not in text and "agent_a2" not in text


def _leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}.{i}")]
    return [(path, value)]


def _shown(value: Any) -> str | None:
    """How the readable export writes a JSON value (None: not compared as text)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) > 18 and value[4] == "-" and value[10] == "T":
        return _when(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    return str(value)


def test_the_readable_export_shows_what_the_json_export_holds(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    _live_a_day(app_client, org, clock, db)
    agent = _as(app_client, "agent_a1")
    data = agent.get("/api/v1/me/export").json()
    page = agent.get("/me/export.html")
    assert "attachment" in page.headers["content-disposition"]
    readable = html.unescape(page.text)
    missing = [p for p, v in _leaves(data) if (t := _shown(v)) is not None and t not in readable]
    assert missing == []
    for section in data:
        if section != "generated_at":
            assert f'id="{section.replace("_", "-")}"' in page.text, section


def test_requests_are_followed_and_an_erasure_erases(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    lived = _live_a_day(app_client, org, clock, db)
    agent, officer = _as(app_client, "agent_a1"), _as(app_client, "privacy")
    queue = officer.get("/api/v1/privacy/requests").json()
    made = next(r for r in queue if r["agent_id"] == org.agent_a1.id)
    assert made["status"] == "open"
    views = agent.get("/api/v1/me/export").json()["views"]
    assert any(v["action"] == "read:requests" and v["role"] == "privacy_officer" for v in views)
    assert [r["body"] for r in _as(app_client, "agent_a2").get("/api/v1/me/requests").json()] == [
        "me too"
    ]

    def counts(agent_id: int) -> dict[str, int]:
        with db() as s:
            return {
                name: len(
                    s.execute(
                        select(Base.metadata.tables[name]).where(
                            Base.metadata.tables[name].c[column] == agent_id
                        )
                    ).all()
                )
                for name, column in ERASED.items()
            }

    colleague = counts(org.agent_a2.id)
    assert all(colleague.values()), colleague
    url = f"/api/v1/privacy/requests/{made['id']}"
    officer.patch(url, json={"status": "in_progress", "response": "on it"})
    assert agent.get("/api/v1/me/requests").json()[0]["status"] == "in_progress"
    assert officer.patch(url, json={"status": "done", "response": "erased"}).status_code == 200
    assert counts(org.agent_a1.id) == dict.fromkeys(ERASED, 0)
    assert counts(org.agent_a2.id) == colleague  # the colleague's data is all still there
    export = agent.get("/api/v1/me/export").json()
    assert export["events"] == export["status_changes"] == export["snapshots"] == []
    assert export["current_status"] is None and export["identity_checks"] == []
    assert all(d["last_seen_at"] is None for d in export["devices"])
    assert {d["id"] for d in export["devices"]} == set(lived.mine)  # the registry is kept
    assert export["objections"][0]["category"] == "conduct"  # so monitoring stays off
    assert export["requests"][0]["status"] == "done"
    assert officer.patch(url, json={"status": "refused"}).status_code == 400
    entry = next(e for e in officer.get("/api/v1/audit").json() if e["action"] == "request:done")
    # The audit log keeps the record that the erasure happened, with what it removed.
    assert entry["subject"] == f"agent:{org.agent_a1.id}"
    assert (entry["detail"]["events"], entry["detail"]["comments"]) == (2, 2)
    assert (entry["detail"]["snapshots"], entry["detail"]["identity_checks"]) == (1, 2)


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


# Where the erasure removes a worker's monitoring data (table: the column naming them).
ERASED = {
    "events": "agent_id",
    "event_comments": "author_id",
    "snapshots": "agent_id",
    "status_changes": "agent_id",
    "agent_status": "agent_id",
    "identity_checks": "agent_id",
}


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
        asked = path.format(team_a=org.team_a.id)
        reply = anonymous.get(asked)
        assert reply.status_code == 303 and reply.headers["location"] == f"/login?next={asked}"
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
    assert "saved" in flashed(admin, saved)
    security = next(
        c
        for c in admin.get(f"/api/v1/teams/{org.team_a.id}/categories").json()
        if c["key"] == "security"
    )
    assert security["retention_days"] == 10 and security["legal_basis"] == "contract"
    assert security["enabled"] is False  # an unticked box is off


def test_consent_is_refused_where_no_worker_can_opt_in(app_client: TestClient, org: Org) -> None:
    admin = _as(app_client, "admin")
    url = f"/api/v1/teams/{org.team_a.id}/categories/conduct"
    refused = admin.put(url, json={"legal_basis": "consent"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "legal_basis"
    assert "opt in" in refused.json()["detail"][0]["msg"]
    form = {
        "csrf_token": admin.headers["x-csrf-token"],
        "purpose": "Notice long looks away from the screen",
        "legal_basis": "consent",
        "retention_days": "30",
        "enabled": "true",
    }
    page = admin.post(
        f"/teams/{org.team_a.id}/categories/conduct", data=form, follow_redirects=False
    )
    assert "Not saved: legal_basis" in flashed(admin, page)
    conduct = next(c for c in admin.get(url.rsplit("/", 1)[0]).json() if c["key"] == "conduct")
    assert conduct["legal_basis"] == "legitimate_interests"  # unchanged
    identity = admin.put(
        f"/api/v1/teams/{org.team_a.id}/categories/identity", json={"enabled": True}
    )
    assert identity.status_code == 200  # the identity check has its opt-in: enrolling


def test_no_category_outlives_the_audit_log(app_client: TestClient, org: Org) -> None:
    admin = _as(app_client, "admin")
    url = f"/api/v1/teams/{org.team_a.id}/categories/security"
    too_long = admin.put(url, json={"retention_days": 1096})  # the audit log keeps 1095
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["field"] == "retention_days"
    assert admin.put(url, json={"retention_days": 1095}).status_code == 200
    with pytest.raises(ValidationError, match="at least 90"):
        Settings(audit_retention_days=60)  # shorter than a category's default


def test_a_refused_form_action_is_rolled_back(
    db: sessionmaker[Session], org: Org, clock: Clock
) -> None:
    with db() as s:

        def half_done() -> None:
            s.add(Objection(agent_id=org.agent_a1.id, category="conduct", created_at=clock.now))
            s.flush()
            raise RefusedError("refused after writing")

        request = Request({"type": "http", "session": {}})
        reply = outcome(request, s, "/me", half_done, "Done", "Not done")
        s.commit()  # what the request's transaction does after the page answered
    assert reply.headers["location"] == "/me"
    assert request.session["flash"] == [{"text": "Not done: refused after writing", "error": True}]
    with db() as s:
        assert s.scalars(select(Objection)).all() == []


def test_privacy_revisions_are_never_lost_on_postgresql(tmp_path: Path, clock: Clock) -> None:
    """Two changes that both read the old revision still make two increments: the agent
    compares revisions for equality and would otherwise miss the second change."""
    with postgres_schema("dw_rev") as engine:
        upgrade(engine)
        chain = AuditChain.from_settings(Settings(secret_key_file=tmp_path / "secret"))
        sessions = attach(session_factory(engine), chain)
        with sessions.begin() as s:
            team = create_team(s, site=create_site(s, name="Leeds"), name="Alpha")
            admin = create_user(s, username="admin", password="pw pw pw pw", role=Role.ADMIN)
            agent = create_user(s, username="anna", password="pw pw pw", role=Role.AGENT, team=team)
            ids = (team.id, admin.id, agent.id)
        first, second = sessions(), sessions()
        teams = [x.get(Team, ids[0]) for x in (first, second)]  # both read revision 0
        agents = [x.get(User, ids[2]) for x in (first, second)]
        for x, key, t in ((first, "conduct", teams[0]), (second, "security", teams[1])):
            actor = x.get(User, ids[1])
            assert t is not None and actor is not None
            change = CategoryIn(retention_days=20)
            set_category(
                x,
                team=t,
                key=key,
                change=change,
                actor=actor,
                now=clock.now,
                max_retention_days=1095,
            )
            x.commit()
        for x, key, a in ((first, "conduct", agents[0]), (second, "environment", agents[1])):
            assert a is not None
            set_objection(x, agent=a, key=key, objected=True, now=clock.now)
            x.commit()
        first.close()
        second.close()
        with sessions() as s:
            assert team_and_rev(s, agent_id=ids[2]) == (ids[0], 4)
