"""Timelines, daily reports, CSV exports and the audit trail of reads."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.models import AuditEntry
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import beat, enrol, event

DAY = {"day": "2026-11-02"}


def _keep(device: TestClient, clock: Clock, status: str, seconds: int) -> None:
    """Heartbeats every 30 s, as the agent sends them, for ``seconds``."""
    for _ in range(seconds // 30):
        beat(device, status, clock.now)
        clock.advance(30)


def _day(client: TestClient, clock: Clock, org: Org, *extra: dict[str, Any]) -> str:
    """09:00 at desk, 10:00 away, 10:30 at desk, then silent from 11:00 (offline at 11:01).
    The away event's id; ``extra`` events are sent at 09:00."""
    device = enrol(client, org.agent_a1.id)
    if extra:
        assert device.post("/api/v1/events", json={"events": list(extra)}).status_code == 200
    _keep(device, clock, "at_desk", 3600)
    away = event("away", clock.now, length_s=1800)
    device.post("/api/v1/events", json={"events": [away]})
    _keep(device, clock, "away", 1800)
    _keep(device, clock, "at_desk", 1800)
    clock.advance(3600)  # silent for an hour
    return str(away["id"])


def test_timeline_segments_and_events(app_client: TestClient, org: Org, clock: Clock) -> None:
    _day(app_client, clock, org)
    sup = login(TestClient(app_client.app), "sup_a")
    tl = sup.get(f"/api/v1/agents/{org.agent_a1.id}/timeline", params={"day": "2026-11-02"}).json()
    got = [(s["status"], s["start"][11:16], s["end"][11:16]) for s in tl["segments"]]
    assert got == [
        ("offline", "00:00", "09:00"),
        ("at_desk", "09:00", "10:00"),
        ("away", "10:00", "10:30"),
        ("at_desk", "10:30", "11:01"),
        ("offline", "11:01", "12:00"),
    ]
    assert [e["type"] for e in tl["events"]] == ["away"]


def test_team_report_adherence_and_csv(app_client: TestClient, org: Org, clock: Clock) -> None:
    _day(app_client, clock, org)
    sup = login(TestClient(app_client.app), "sup_a")
    report = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params={"day": "2026-11-02"}).json()
    rows = {a["agent_id"]: a for a in report["agents"]}
    a1 = rows[org.agent_a1.id]
    # 09:00-10:00 and 10:30 until offline, 90 s after the last heartbeat at 10:59:30.
    assert a1["seconds"]["at_desk"] == 3600 + 1800 + 60
    assert a1["adherence"] == round(5460 / (8 * 3600), 4)
    assert a1["events"] == {"away": 1}
    # Agent_A2 sent nothing that day: "no data", not a day offline at 0 %.
    a2 = rows[org.agent_a2.id]
    assert (a2["adherence"], a2["seconds"], a2["no_data"]) == (None, {}, True)
    assert org.agent_b1.id not in rows and not a1["no_data"]
    assert report["adherence"] == a1["adherence"] and report["zone"] == "UTC"
    csv_reply = sup.get(f"/api/v1/teams/{org.team_a.id}/report.csv", params={"day": "2026-11-02"})
    assert csv_reply.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(csv_reply.text)))
    assert {r["name"] for r in table} == {"Agent_A1", "Agent_A2"}
    events = sup.get(f"/api/v1/agents/{org.agent_a1.id}/events.csv", params={"day": "2026-11-02"})
    (row,) = list(csv.DictReader(io.StringIO(events.text)))
    assert row["type"] == "away" and float(row["duration_s"]) == 1800


def test_reads_of_personal_data_are_audited(app_client: TestClient, org: Org, clock: Clock) -> None:
    sup = login(TestClient(app_client.app), "sup_a")
    sup.get(f"/api/v1/agents/{org.agent_a1.id}/timeline")
    agent = login(TestClient(app_client.app), "agent_a1")
    agent.get(f"/api/v1/agents/{org.agent_a1.id}/timeline")  # own data: not an overseer read
    privacy = login(TestClient(app_client.app), "privacy")
    log = privacy.get("/api/v1/audit").json()
    reads = [e for e in log if e["action"] == "read:timeline"]
    assert [(e["actor_id"], e["subject"]) for e in reads] == [
        (org.sup_a.id, f"agent:{org.agent_a1.id}")
    ]


def _a1(sup: TestClient, org: Org) -> dict[str, Any]:
    report = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=DAY).json()
    row: dict[str, Any] = next(a for a in report["agents"] if a["agent_id"] == org.agent_a1.id)
    return row


def test_only_events_nobody_rejected_count_and_adherence_follows_the_review(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    """Away, identity_unverified and self_check are never reviewed unless disputed; once
    disputed they wait, and a rejected one counts nowhere, adherence included (GDPR Art. 22)."""
    admin = login(TestClient(app_client.app), "admin")  # identity is off (consent) by default
    on = admin.put(f"/api/v1/teams/{org.team_a.id}/categories/identity", json={"enabled": True})
    assert on.status_code == 200
    unverified = event("identity_unverified", clock.now, length_s=None)
    check = event("self_check", clock.now, length_s=None)
    away = _day(app_client, clock, org, unverified, check)
    sup = login(TestClient(app_client.app), "sup_a")
    before = _a1(sup, org)
    assert before["events"] == {"away": 1, "identity_unverified": 1, "self_check": 1}
    assert before["seconds"]["at_desk"] == 5460 and before["corrected_s"] == 0

    agent = login(TestClient(app_client.app), "agent_a1")
    for event_id in (away, unverified["id"], check["id"]):
        body = {"kind": "dispute", "body": "the detector got this wrong"}
        assert agent.post(f"/api/v1/events/{event_id}/comments", json=body).status_code == 201
    waiting = _a1(sup, org)
    assert waiting["events"] == {} and waiting["awaiting_review"] == 3

    url = "/api/v1/events/{}/review"
    for event_id, decision in ((away, "rejected"), (unverified["id"], "rejected")):
        assert sup.post(url.format(event_id), json={"decision": decision}).status_code == 200
    bare = sup.post(url.format(check["id"]), json={"decision": "confirmed"})
    assert bare.status_code == 400 and "needs a note" in bare.json()["detail"]  # disputed
    confirmed = {"decision": "confirmed", "note": "the check failed: the camera was covered"}
    assert sup.post(url.format(check["id"]), json=confirmed).status_code == 200
    after = _a1(sup, org)
    assert after["events"] == {"self_check": 1} and after["awaiting_review"] == 0
    # The half hour reported away because of the rejected away event counts at desk.
    assert after["seconds"]["at_desk"] == 5460 + 1800 and after["seconds"]["away"] == 0
    assert after["corrected_s"] == 1800 and after["adherence"] == round(7260 / (8 * 3600), 4)
    rows = csv.DictReader(
        io.StringIO(sup.get(f"/api/v1/agents/{org.agent_a1.id}/events.csv", params=DAY).text)
    )
    assert {r["type"]: (r["review"], r["disputed"]) for r in rows} == {
        "away": ("rejected", "True"),
        "identity_unverified": ("rejected", "True"),
        "self_check": ("confirmed", "True"),
    }
    report_csv = sup.get(f"/api/v1/teams/{org.team_a.id}/report.csv", params=DAY).text
    a1 = next(r for r in csv.DictReader(io.StringIO(report_csv)) if r["name"] == "Agent_A1")
    assert (a1["corrected_s"], a1["awaiting_review"], a1["self_check"]) == ("1800.0", "0", "1")


def test_reads_of_whole_teams_are_audited_and_reach_each_worker(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock
) -> None:
    """The live board names the teams read; the admin's lists and the audit log name every
    worker ("teams:all"); each read is one entry per request (per team for a board), but an
    open board's refreshes only once per reader and team every 15 minutes."""
    with db() as s:
        before = s.scalar(select(func.max(AuditEntry.id))) or 0
    sup, admin, officer = (
        login(TestClient(app_client.app), n) for n in ("sup_a", "admin", "privacy")
    )
    reads = [
        (sup, "/api/v1/board"),
        (sup, "/"),
        (admin, "/api/v1/board"),
        (admin, "/api/v1/admin/devices"),
        (admin, "/api/v1/admin/users"),
        (admin, "/admin"),
        (officer, "/api/v1/audit"),
        (officer, "/audit"),
        (officer, "/api/v1/board"),  # shows nobody: nothing read, nothing recorded
    ]
    for client, path in reads:
        assert client.get(path).status_code == 200, path
    clock.advance(15 * 60 - 1)
    assert sup.get("/api/v1/board").status_code == 200  # still the same viewing
    clock.advance(2)
    assert sup.get("/").status_code == 200  # logged again
    with db() as s:
        rows = s.execute(
            select(AuditEntry.actor_id, AuditEntry.action, AuditEntry.subject)
            .where(AuditEntry.id > before, AuditEntry.action.startswith("read:"))
            .order_by(AuditEntry.id)
        ).all()
    team_a = f"team:{org.team_a.id}"
    assert [tuple(r) for r in rows] == [
        (org.sup_a.id, "read:board", team_a),  # the page just after the JSON: not again
        (org.admin.id, "read:board", "teams:all"),
        (org.admin.id, "read:devices", "teams:all"),
        (org.admin.id, "read:users", "teams:all"),
        (org.admin.id, "read:admin", "teams:all"),
        (org.privacy.id, "read:audit", "teams:all"),
        (org.privacy.id, "read:audit", "teams:all"),
        (org.sup_a.id, "read:board", team_a),
    ]

    def viewed(username: str) -> list[tuple[str, str]]:
        export = login(TestClient(app_client.app), username).get("/api/v1/me/export").json()
        return [(v["who"], v["action"]) for v in export["views"] if v["action"].startswith("read:")]

    a1, b1 = viewed("agent_a1"), viewed("agent_b1")
    assert a1.count(("Sup_A", "read:board")) == 2 and ("Sup_A", "read:board") not in b1
    for seen in (a1, b1):
        assert ("Admin", "read:devices") in seen and ("Privacy", "read:audit") in seen


def test_unmonitored_presence_is_online_and_has_no_adherence(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    """Attendance off for the worker: the agent reports only "online"; the day counts as
    online time and adherence is "not monitored", not a made-up 0 %."""
    device = enrol(app_client, org.agent_a1.id)
    _keep(device, clock, "online", 3600)
    sup = login(TestClient(app_client.app), "sup_a")
    [row] = [r for r in sup.get("/api/v1/board").json() if r["agent_id"] == org.agent_a1.id]
    assert row["status"] == "online"
    report = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=DAY).json()
    rows = {a["agent_id"]: a for a in report["agents"]}
    assert rows[org.agent_a1.id]["seconds"]["online"] == 3600
    assert rows[org.agent_a1.id]["adherence"] is None
    assert rows[org.agent_a2.id]["no_data"]  # never heard from: nothing measured
    assert rows[org.agent_a2.id]["adherence"] is None and report["adherence"] is None
    report_csv = sup.get(f"/api/v1/teams/{org.team_a.id}/report.csv", params=DAY).text
    a1 = next(r for r in csv.DictReader(io.StringIO(report_csv)) if r["name"] == "Agent_A1")
    assert (a1["adherence"], a1["online_s"]) == ("", "3600.0")
    page = sup.get(f"/teams/{org.team_a.id}/report", params=DAY).text
    assert "not monitored" in page


def test_an_event_across_midnight_counts_on_its_day_and_its_time_on_both(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    """Away from 23:50 to 00:20, then rejected: counted once (on the day it started); the
    next day's timeline shows it and its 20 minutes there are corrected to at desk."""
    clock.advance(14.5 * 3600)  # 23:30
    device = enrol(app_client, org.agent_a1.id)
    _keep(device, clock, "at_desk", 1200)
    away = event("away", clock.now, length_s=1800)
    assert device.post("/api/v1/events", json={"events": [away]}).status_code == 200
    _keep(device, clock, "away", 1800)
    _keep(device, clock, "at_desk", 600)  # until 00:30 of the next day
    sup = login(TestClient(app_client.app), "sup_a")
    next_day = {"day": "2026-11-03"}
    tl = sup.get(f"/api/v1/agents/{org.agent_a1.id}/timeline", params=next_day).json()
    assert [e["id"] for e in tl["events"]] == [away["id"]]
    assert _a1(sup, org)["events"] == {"away": 1}
    report = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=next_day).json()
    (a1,) = (a for a in report["agents"] if a["agent_id"] == org.agent_a1.id)
    assert a1["events"] == {} and a1["seconds"] == {"away": 1200, "at_desk": 600}

    url = f"/api/v1/events/{away['id']}"
    agent = login(TestClient(app_client.app), "agent_a1")
    body = {"kind": "dispute", "body": "I was at my desk"}
    assert agent.post(f"{url}/comments", json=body).status_code == 201
    assert sup.post(f"{url}/review", json={"decision": "rejected"}).status_code == 200
    report = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=next_day).json()
    (a1,) = (a for a in report["agents"] if a["agent_id"] == org.agent_a1.id)
    assert a1["seconds"] == {"away": 0, "at_desk": 1800} and a1["corrected_s"] == 1200
    assert _a1(sup, org)["corrected_s"] == 600  # 23:50-24:00 on the day it started
    page = sup.get(f"/agents/{org.agent_a1.id}", params=next_day).text
    assert "2026-11-02 23:50:00" in page  # the start, dated: it is not on this day


def test_a_camera_event_names_its_cause_in_words(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    covered = event("camera_obstructed", clock.now, length_s=60)
    covered["evidence"] = {"covered": 1.0, "moved": 0.0, "covered_share": 0.8}
    _day(app_client, clock, org, covered)
    sup = login(TestClient(app_client.app), "sup_a")
    html = sup.get(f"/agents/{org.agent_a1.id}", params=DAY).text
    assert "camera_obstructed (covered)</td>" in html and "turned or moved" not in html
