"""Schedules in (JSON and CSV imports), adherence per scheduled activity in reports, the
board's schedule fields, and adherence out for WFM systems (stream, intervals, tokens)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.devices.service import create_code
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role
from deskwatch.server.orgs.service import create_site, create_team, create_user
from deskwatch.server.schedules.models import ScheduledActivity, WfmToken
from deskwatch.server.security import new_token, token_hash
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import beat, enrol, flashed
from tests.server_process import ServerProcess

DAY = {"day": "2026-11-02"}
PLAN = [  # agent_a1's day (UTC)
    ("09:00", "10:00", "Open"),
    ("10:00", "10:15", "Break"),
    ("10:15", "11:00", "Open"),
    ("11:00", "11:30", "Lunch"),
]


def _rows(agent: str | int, plan: list[tuple[str, str, str]] = PLAN) -> list[dict[str, Any]]:
    return [
        {
            "agent": agent,
            "start": f"2026-11-02T{a}:00+00:00",
            "end": f"2026-11-02T{b}:00+00:00",
            "activity": act,
        }
        for a, b, act in plan
    ]


def _keep(device: TestClient, clock: Clock, status: str, seconds: int) -> None:
    for _ in range(seconds // 30):
        beat(device, status, clock.now)
        clock.advance(30)


def _day(client: TestClient, clock: Clock, org: Org) -> None:
    """09:00 at desk, 09:40 away, 10:05 at desk, 10:20 paused, 10:30 at desk, silent from
    11:00 (offline at 11:01); the clock ends at 12:00."""
    device = enrol(client, org.agent_a1.id)
    _keep(device, clock, "at_desk", 2400)
    _keep(device, clock, "away", 1500)
    _keep(device, clock, "at_desk", 900)
    _keep(device, clock, "paused", 600)
    _keep(device, clock, "at_desk", 1800)
    clock.advance(3600)


def _admin(client: TestClient) -> TestClient:
    return login(TestClient(client.app), "admin")


def _stored(db: sessionmaker[Session]) -> list[tuple[int, str, str, str, bool]]:
    with db() as s:
        rows = s.scalars(select(ScheduledActivity).order_by(ScheduledActivity.start))
        return [
            (
                r.agent_id,
                r.start.strftime("%H:%M"),
                r.end.strftime("%H:%M"),
                r.activity,
                r.at_desk_expected,
            )
            for r in rows
        ]


def test_json_import_stores_activities_and_reimport_replaces(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin = _admin(app_client)
    reply = admin.post("/api/v1/schedules", json=_rows("agent_a1"))
    assert reply.status_code == 201, reply.text
    assert reply.json()["rows"] == 4 and reply.json()["replaced"] == 0
    first = _stored(db)
    assert first[0] == (org.agent_a1.id, "09:00", "10:00", "Open", True)
    assert first[1][3:] == ("Break", False)
    again = admin.post("/api/v1/schedules", json=_rows(org.agent_a1.id))  # by id this time
    assert again.status_code == 201 and again.json()["replaced"] == 4
    assert _stored(db) == first  # idempotent
    with db() as s:
        actions = list(
            s.scalars(select(AuditEntry.action).where(AuditEntry.action == "import:schedule"))
        )
    assert actions == ["import:schedule", "import:schedule"]


def test_import_errors_name_rows_and_import_nothing(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin = _admin(app_client)
    rows = _rows("agent_a1")
    rows[1]["agent"] = "nobody"
    rows[2]["end"] = rows[2]["start"]
    rows.append(
        {
            "agent": "agent_a1",
            "start": "2026-11-02T09:30:00+00:00",
            "end": "2026-11-02T09:45:00+00:00",
            "activity": "Meeting",
        }
    )
    rows.append({"agent": "agent_a1", "start": "yesterday", "end": "x", "activity": "Open"})
    reply = admin.post("/api/v1/schedules", json=rows)
    assert reply.status_code == 422
    # Rows that are not rows at all are answered first (here row 6 alone).
    assert "row 6: start: Input should be a valid datetime" in reply.text
    fixed = rows[:5]
    reply = admin.post("/api/v1/schedules", json=fixed)
    assert reply.status_code == 422
    msg = reply.json()["detail"][0]["msg"]
    assert "nothing was imported" in msg
    assert "row 2: unknown agent 'nobody'" in msg
    assert "row 3: the end is not after the start" in msg
    assert "row 5: overlaps row 1 for the same agent" in msg
    assert _stored(db) == []


def test_csv_imports_both_shapes(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin = _admin(app_client)
    local = (
        "agent,date,start,end,activity\n"
        "agent_a1,2026-11-02,09:00,17:00,Open\n"
        "agent_a2,2026-11-02,22:00,06:00,Phone\n"
    )
    reply = admin.post(
        "/api/v1/schedules.csv",
        params={"tz": "Europe/Berlin"},
        content=local,
        headers={"content-type": "text/csv"},
    )
    assert reply.status_code == 201, reply.text
    got = _stored(db)
    assert (org.agent_a1.id, "08:00", "16:00", "Open", True) in got  # Berlin is UTC+1 in November
    assert (org.agent_a2.id, "21:00", "05:00", "Phone", True) in got  # over midnight
    iso = (
        "agent,start,end,activity,at_desk_expected\n"
        "agent_b1,2026-11-03T09:00+00:00,2026-11-03T10:00+00:00,Coaching,yes\n"
    )
    reply = admin.post("/api/v1/schedules.csv", content=iso, headers={"content-type": "text/csv"})
    assert reply.status_code == 201, reply.text
    assert (org.agent_b1.id, "09:00", "10:00", "Coaching", True) in _stored(db)
    bad = (
        "agent,date,start,end,activity\n"
        "agent_a1,2026-13-02,09:00,17:00,Open\n"
        "agent_a1,2026-11-04,nine,17:00,Open\n"
    )
    reply = admin.post("/api/v1/schedules.csv", content=bad, headers={"content-type": "text/csv"})
    assert reply.status_code == 422
    assert "row 2: date: '2026-13-02' is not a date" in reply.text
    assert "row 3: start: 'nine' is not a time" in reply.text
    header = admin.post(
        "/api/v1/schedules.csv", content="who,when\n", headers={"content-type": "text/csv"}
    )
    assert header.status_code == 422 and "row 1: the header" in header.text
    wfm = (  # a WFM export's own header names
        "Employee ID,Schedule Date,Start Time,End Time,Activity Name\n"
        "agent_a2,2026-11-05,13:00,14:00,Training\n"
    )
    reply = admin.post("/api/v1/schedules.csv", content=wfm, headers={"content-type": "text/csv"})
    assert reply.status_code == 201, reply.text
    assert (org.agent_a2.id, "13:00", "14:00", "Training", False) in _stored(db)


def test_supervisors_import_only_their_teams_and_agents_not_at_all(
    app_client: TestClient, org: Org
) -> None:
    sup = login(TestClient(app_client.app), "sup_a")
    assert sup.post("/api/v1/schedules", json=_rows("agent_a1")).status_code == 201
    other = sup.post("/api/v1/schedules", json=_rows("agent_b1"))
    assert other.status_code == 422 and "unknown agent 'agent_b1'" in other.text
    agent = login(TestClient(app_client.app), "agent_a1")
    assert agent.post("/api/v1/schedules", json=_rows("agent_a1")).status_code == 403
    po = login(TestClient(app_client.app), "privacy")
    assert po.post("/api/v1/schedules", json=_rows("agent_a1")).status_code == 403
    assert TestClient(app_client.app).post("/api/v1/schedules", json=[]).status_code == 401


def test_report_uses_the_schedule_per_activity(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    admin = _admin(app_client)
    assert admin.post("/api/v1/schedules", json=_rows("agent_a1")).status_code == 201
    leave = [("08:00", "17:00", "Leave")]
    assert admin.post("/api/v1/schedules", json=_rows("agent_a2", leave)).status_code == 201
    _day(app_client, clock, org)
    sup = login(TestClient(app_client.app), "sup_a")
    report = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=DAY).json()
    rows = {a["agent_id"]: a for a in report["agents"]}
    a1 = rows[org.agent_a1.id]
    acts = [
        (a["activity"], a["in_s"], a["out_s"], a["paused_s"], a["worked_during_break_s"])
        for a in a1["activities"]
    ]
    assert acts == [
        ("Open", 2400, 1200, 0, 0),  # at desk 09:00-09:40, away 09:40-10:00
        ("Break", 900, 0, 0, 600),  # at desk 10:05-10:15: information only
        ("Open", 2100, 600, 600, 0),  # paused 10:20-10:30: out, shown apart
        ("Lunch", 1800, 0, 0, 60),  # at desk until offline at 11:01
    ]
    assert a1["scheduled_s"] == 6300
    assert a1["adherence"] == round(4500 / 6300, 4)
    # A day of leave: nothing scheduled at the desk, never an absence.
    a2 = rows[org.agent_a2.id]
    assert (a2["adherence"], a2["scheduled_s"]) == (None, 0)
    assert report["adherence"] == round(4500 / 6300, 4)
    report_csv = sup.get(f"/api/v1/teams/{org.team_a.id}/report.csv", params=DAY).text
    line = next(r for r in csv.DictReader(io.StringIO(report_csv)) if r["name"] == "Agent_A1")
    assert (line["scheduled_s"], line["in_adherence_s"], line["out_of_adherence_s"]) == (
        "6300.0",
        "4500.0",
        "1800.0",
    )
    assert line["paused_s"] == "600.0"
    # Agent_B1 has no schedule: the flat scheduled day, as before.
    b_report = (
        login(TestClient(app_client.app), "sup_b")
        .get(f"/api/v1/teams/{org.team_b.id}/report", params=DAY)
        .json()
    )
    assert b_report["agents"][0]["scheduled_s"] is None
    trend = sup.get(f"/api/v1/teams/{org.team_a.id}/adherence", params={**DAY, "days": 2}).json()
    assert trend["days"][-1]["adherence"] == round(4500 / 6300, 4)


def test_board_says_who_should_be_at_the_desk(app_client: TestClient, org: Org) -> None:
    admin = _admin(app_client)
    assert admin.post("/api/v1/schedules", json=_rows("agent_a1")).status_code == 201
    brk = [("08:30", "09:30", "Break")]
    assert admin.post("/api/v1/schedules", json=_rows("agent_a2", brk)).status_code == 201
    sup = login(TestClient(app_client.app), "sup_a")
    rows = {r["agent_id"]: r for r in sup.get("/api/v1/board").json()}  # 09:00
    assert (
        rows[org.agent_a1.id]["scheduled_activity"],
        rows[org.agent_a1.id]["expected_at_desk"],
    ) == ("Open", True)
    assert (
        rows[org.agent_a2.id]["scheduled_activity"],
        rows[org.agent_a2.id]["expected_at_desk"],
    ) == ("Break", False)
    assert rows[org.agent_a1.id]["status"] == "offline"  # existing fields kept
    html = sup.get("/").text
    assert "should be at desk (Open)" in html and "Break: not expected at desk" in html


def _token(client: TestClient) -> str:
    reply = _admin(client).post("/api/v1/admin/wfm-tokens", json={"name": "WFM prod"})
    assert reply.status_code == 201, reply.text
    token: str = reply.json()["token"]
    return token


def test_intervals_csv_and_json(app_client: TestClient, org: Org, clock: Clock) -> None:
    admin = _admin(app_client)
    assert admin.post("/api/v1/schedules", json=_rows("agent_a1")).status_code == 201
    _day(app_client, clock, org)
    sup = login(TestClient(app_client.app), "sup_a")
    rows = sup.get("/api/v1/adherence/intervals", params=DAY).json()
    starts = [r["interval_start"][11:16] for r in rows]
    assert starts == [
        "09:00",
        "09:15",
        "09:30",
        "09:45",
        "10:00",
        "10:15",
        "10:30",
        "10:45",
        "11:00",
        "11:15",
    ]
    by = {r["interval_start"][11:16]: r for r in rows}
    assert by["09:30"]["seconds"] == {"at_desk": 600, "away": 300}
    assert (by["09:30"]["in_adherence_s"], by["09:30"]["out_of_adherence_s"]) == (600, 300)
    assert by["10:00"]["scheduled_activity"] == "Break"
    assert (by["10:00"]["in_adherence_s"], by["10:00"]["out_of_adherence_s"]) == (900, 0)
    assert by["10:15"]["seconds"] == {"at_desk": 300, "paused": 600}
    assert (by["10:15"]["in_adherence_s"], by["10:15"]["out_of_adherence_s"]) == (300, 600)
    assert by["11:00"]["seconds"] == {"at_desk": 60, "offline": 840}
    assert {r["username"] for r in rows} == {"agent_a1"}
    text = sup.get(
        "/api/v1/adherence/intervals", params={**DAY, "format": "csv", "interval_min": 30}
    ).text
    lines = list(csv.DictReader(io.StringIO(text)))
    first = lines[0]
    assert (first["interval_start"], first["scheduled_activity"]) == (
        "2026-11-02T09:00:00+00:00",
        "Open",
    )
    assert (first["at_desk_s"], first["in_adherence_s"], first["out_of_adherence_s"]) == (
        "1800.0",
        "1800.0",
        "0.0",
    )
    assert first["interval_min"] == "30"
    # Team B's supervisor sees none of team A.
    assert (
        login(TestClient(app_client.app), "sup_b")
        .get("/api/v1/adherence/intervals", params=DAY)
        .json()
        == []
    )


def test_wfm_tokens(app_client: TestClient, org: Org, db: sessionmaker[Session]) -> None:
    anonymous = TestClient(app_client.app)
    assert anonymous.get("/api/v1/adherence/intervals", params=DAY).status_code == 401
    assert (
        anonymous.get(
            "/api/v1/adherence/intervals", params=DAY, headers={"authorization": "Bearer made-up"}
        ).status_code
        == 401
    )
    assert anonymous.get("/api/v1/adherence/stream").status_code == 401
    agent = login(TestClient(app_client.app), "agent_a1")
    assert agent.get("/api/v1/adherence/intervals", params=DAY).status_code == 403
    assert agent.get("/api/v1/adherence/stream").status_code == 403
    sup = login(TestClient(app_client.app), "sup_a")
    assert sup.post("/api/v1/admin/wfm-tokens", json={"name": "x"}).status_code == 403
    token = _token(app_client)
    wfm = TestClient(app_client.app, headers={"authorization": f"Bearer {token}"})
    assert wfm.get("/api/v1/adherence/intervals", params=DAY).status_code == 200
    with db() as s:
        row = s.scalar(select(WfmToken))
        assert (
            row is not None and row.token_hash == token_hash(token) and token not in row.token_hash
        )
        assert row.last_used_at is not None
        reads = list(
            s.execute(
                select(AuditEntry.actor_id, AuditEntry.subject, AuditEntry.detail).where(
                    AuditEntry.action == "read:adherence_intervals"
                )
            )
        )
    assert reads == [(None, "teams:all", {"wfm_token": row.id})]
    listed = _admin(app_client).get("/api/v1/admin/wfm-tokens").json()
    assert [t["name"] for t in listed] == ["WFM prod"] and "token" not in listed[0]
    revoked = _admin(app_client).post(f"/api/v1/admin/wfm-tokens/{row.id}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert wfm.get("/api/v1/adherence/intervals", params=DAY).status_code == 401
    with db() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {"create:wfm_token", "revoke:wfm_token"} <= actions


def test_dpia_lists_the_wfm_system_only_while_a_token_is_valid(
    app_client: TestClient, org: Org
) -> None:
    po = login(TestClient(app_client.app), "privacy")
    assert "workforce-management" not in po.get("/privacy/dpia.md").text
    _token(app_client)
    assert "workforce-management" in po.get("/privacy/dpia.md").text


def test_admin_page_uploads_a_csv(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin = _admin(app_client)
    page = admin.get("/admin/schedules")
    assert page.status_code == 200 and "No schedule imported yet" in page.text
    csrf = admin.headers["x-csrf-token"]
    body = "agent,date,start,end,activity\nagent_a1,2026-11-02,09:00,17:00,Open\n"
    reply = admin.post(
        "/admin/schedules/upload",
        data={"csrf_token": csrf, "zone": "UTC"},
        files={"file": ("plan.csv", body, "text/csv")},
        follow_redirects=False,
    )
    assert "Imported 1 activities for 1 agents" in flashed(admin, reply)
    bad = admin.post(
        "/admin/schedules/upload",
        data={"csrf_token": csrf, "zone": "UTC"},
        files={"file": ("plan.csv", body.replace("agent_a1", "ghost"), "text/csv")},
        follow_redirects=False,
    )
    assert "nothing was imported: row 2: unknown agent" in flashed(admin, bad)
    no_csrf = admin.post(
        "/admin/schedules/upload",
        data={"zone": "UTC"},
        files={"file": ("plan.csv", body, "text/csv")},
        follow_redirects=False,
    )
    assert no_csrf.status_code == 403
    sup = login(TestClient(app_client.app), "sup_a")
    assert sup.get("/admin/schedules", follow_redirects=False).status_code == 403
    assert len(_stored(db)) == 1


def _seed(url: str) -> tuple[int, str]:
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine).begin() as s:
        site = create_site(s, name="Leeds")
        alpha = create_team(s, site=site, name="Alpha")
        admin = create_user(s, username="admin", password="stream test password", role=Role.ADMIN)
        anna = create_user(
            s,
            username="anna",
            password="stream test password",
            role=Role.AGENT,
            display_name="Anna",
            team=alpha,
        )
        code, _ = create_code(s, admin=admin, agent_id=anna.id, now=datetime.now(UTC), ttl_s=600)
        now = datetime.now(UTC)
        s.add(
            ScheduledActivity(
                agent_id=anna.id,
                start=now - timedelta(hours=1),
                end=now + timedelta(hours=1),
                activity="Open",
                at_desk_expected=True,
                source="api",
                imported_at=now,
                batch="seed",
            )
        )
        token = new_token()
        s.add(WfmToken(name="WFM", token_hash=token_hash(token), created_by=admin.id))
        ids = (anna.id, code, token)
    engine.dispose()
    return ids[0], f"{ids[1]} {ids[2]}"


def test_stream_emits_on_a_heartbeat_state_change(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'server.db'}"
    anna, codes = _seed(db)
    code, token = codes.split(" ")
    server = ServerProcess(db, tmp_path)
    server.start()
    try:
        device = httpx.Client(base_url=server.url)
        enrolled = device.post("/api/v1/devices/enroll", json={"code": code, "hostname": "pc"})
        device.headers["authorization"] = f"Bearer {enrolled.json()['token']}"
        headers = {"authorization": f"Bearer {token}"}
        events: list[dict[str, Any]] = []
        with httpx.stream(
            "GET", f"{server.url}/api/v1/adherence/stream", headers=headers, timeout=20
        ) as reply:
            assert reply.status_code == 200
            lines = reply.iter_lines()
            for line in lines:
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    break  # the first state: offline, out of adherence
            beat = {"status": "at_desk", "sent_at": datetime.now(UTC).isoformat()}
            assert device.post("/api/v1/heartbeat", json=beat).status_code == 200
            for line in lines:
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                    break
        first, second = events
        assert (first["agent_id"], first["username"], first["state"]) == (anna, "anna", "offline")
        assert (first["scheduled_activity"], first["in_adherence"]) == ("Open", False)
        assert (second["state"], second["in_adherence"]) == ("at_desk", True)
        assert second["since"]
    finally:
        server.stop()


@pytest.mark.parametrize("interval", [4, 61])
def test_interval_bounds(app_client: TestClient, org: Org, interval: int) -> None:
    sup = login(TestClient(app_client.app), "sup_a")
    reply = sup.get("/api/v1/adherence/intervals", params={**DAY, "interval_min": interval})
    assert reply.status_code == 422


def test_a_schedule_goes_with_an_erasure_and_with_the_attendance_retention(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    from deskwatch.server.flows import erase
    from deskwatch.server.scheduled import purge

    admin = _admin(app_client)
    assert admin.post("/api/v1/schedules", json=_rows("agent_a1")).status_code == 201
    assert admin.post("/api/v1/schedules", json=_rows("agent_a2")).status_code == 201
    with db() as s:
        assert erase(s, agent_id=org.agent_a1.id)["scheduled_activities"] == 4
        s.commit()
    assert {r[0] for r in _stored(db)} == {org.agent_a2.id}
    plan_end = datetime(2026, 11, 2, 11, 30, tzinfo=UTC)
    with db() as s:  # attendance is kept 90 days by default (deskwatch.privacy.categories)
        kept = purge(s, now=plan_end + timedelta(days=89), audit_retention_days=1095)
        gone = purge(s, now=plan_end + timedelta(days=91), audit_retention_days=1095)
        s.commit()
    assert (kept.scheduled_activities, gone.scheduled_activities) == (0, 4)
    assert _stored(db) == []
