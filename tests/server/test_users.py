"""An admin changes a user's team, role or sign-in (SQLite and PostgreSQL): the change is
audited and takes effect everywhere at once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.devices.models import Device
from deskwatch.server.orgs.models import team_supervisors
from tests.server.conftest import PASSWORD, Clock, Org, login
from tests.server.helpers import beat, enrol, event

DAY = {"day": "2026-11-02"}


def _person(client: TestClient, username: str) -> TestClient:
    return login(TestClient(client.app), username)


def _change(admin: TestClient, user_id: int, **body: object) -> dict[str, object]:
    reply = admin.patch(f"/api/v1/admin/users/{user_id}", json=body)
    assert reply.status_code == 200, reply.text
    changed: dict[str, object] = reply.json()["changed"]
    return changed


def _refused(device: TestClient, clock: Clock) -> bool:
    beat = {"status": "at_desk", "sent_at": clock.now.isoformat()}
    return device.post("/api/v1/heartbeat", json=beat).status_code in (401, 403)


def _board_ids(client: TestClient) -> set[int]:
    return {row["agent_id"] for row in client.get("/api/v1/board").json()}


def test_a_switched_off_agent_loses_devices_sessions_and_the_board(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    a1 = org.agent_a1.id
    device = enrol(app_client, a1)
    beat(device, "at_desk", clock.now)
    clock.advance(600)
    worker = login(TestClient(app_client.app), "agent_a1")
    admin, sup = _person(app_client, "admin"), _person(app_client, "sup_a")
    assert a1 in _board_ids(sup)
    unused = admin.post("/api/v1/admin/enrolment-codes", json={"agent_id": a1}).json()["code"]

    changed = _change(admin, a1, active=False)
    assert changed["active"] == [True, False] and len(changed["devices_revoked"]) == 1  # type: ignore[arg-type]
    assert _refused(device, clock)
    assert worker.get("/api/v1/auth/me").status_code == 401  # the open session ends too
    again = {"username": "agent_a1", "password": PASSWORD}
    assert TestClient(app_client.app).post("/api/v1/auth/login", json=again).status_code == 401
    assert a1 not in _board_ids(sup)
    late = {"code": unused, "hostname": "pc-2"}  # a code handed out before: no longer valid
    assert TestClient(app_client.app).post("/api/v1/devices/enroll", json=late).status_code == 400
    fresh = admin.post("/api/v1/admin/enrolment-codes", json={"agent_id": a1})
    assert fresh.status_code == 400 and "switched off" in fresh.text
    # They worked today, so today's report keeps them; tomorrow's does not.
    today = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=DAY).json()
    tomorrow = sup.get(f"/api/v1/teams/{org.team_a.id}/report", params={"day": "2026-11-03"})
    assert a1 in {r["agent_id"] for r in today["agents"]}
    assert a1 not in {r["agent_id"] for r in tomorrow.json()["agents"]}
    with db() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "user:changed")).one()
        (revoked,) = s.scalars(select(Device).where(Device.agent_id == a1))
    assert (entry.actor_id, entry.subject) == (org.admin.id, f"user:{a1}")
    assert entry.detail["active"] == [True, False] and revoked.revoked_at is not None


def test_a_moved_agent_gets_the_new_teams_policy_supervisor_and_who_viewed(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    a1 = org.agent_a1.id
    admin = login(TestClient(app_client.app), "admin")
    policy = {"toml": "[rules.away]\nmin_away_s = 300\n"}
    assert admin.put(f"/api/v1/teams/{org.team_b.id}/policy", json=policy).status_code == 200
    device = enrol(app_client, a1)
    before = beat(device, "at_desk", clock.now)
    sup_a, sup_b = (
        login(TestClient(app_client.app), "sup_a"),
        login(TestClient(app_client.app), "sup_b"),
    )
    _board_ids(sup_a)  # a read of team A while a1 is in it: a1's to see
    _board_ids(sup_b)  # team B before a1 joins: not about a1
    clock.advance(60)

    assert _change(admin, a1, team_id=org.team_b.id) == {"team_id": [org.team_a.id, org.team_b.id]}
    clock.advance(60)
    after = beat(device, "at_desk", clock.now)
    assert after != before  # the agent sees new versions and re-fetches
    fetched = device.get("/api/v1/policy").json()
    assert fetched["toml"] == policy["toml"]
    assert sup_a.get(f"/api/v1/agents/{a1}/timeline", params=DAY).status_code == 404
    assert sup_b.get(f"/api/v1/agents/{a1}/timeline", params=DAY).status_code == 200
    assert a1 in _board_ids(sup_b) and a1 not in _board_ids(sup_a)
    clock.advance(16 * 60)  # the next board reads are logged again
    _board_ids(sup_a)  # team A, after a1 left: not about a1

    views = login(TestClient(app_client.app), "agent_a1").get("/api/v1/me/export").json()["views"]
    seen = [(v["action"], v["subject"]) for v in views]
    team_a, team_b = f"team:{org.team_a.id}", f"team:{org.team_b.id}"
    # sup_b's read right after the move is logged although B's board was read a minute
    # earlier: the first read that showed a1 is in a1's list; the one before is not.
    assert seen.count(("read:board", team_a)) == 1 and seen.count(("read:board", team_b)) == 1
    assert ("user:changed", f"user:{a1}") in seen


def test_a_former_supervisor_supervises_nothing_and_admins_keep_their_own_role(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin = login(TestClient(app_client.app), "admin")
    sup = login(TestClient(app_client.app), "sup_a")
    assert _change(admin, org.sup_a.id, role="agent") == {"role": ["supervisor", "agent"]}
    assert sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=DAY).status_code == 403
    assert _change(admin, org.sup_a.id, role="supervisor") == {"role": ["agent", "supervisor"]}
    assert sup.get(f"/api/v1/teams/{org.team_a.id}/report", params=DAY).status_code == 404
    with db() as s:  # promoted again, they supervise no team until given one
        assert list(s.execute(select(team_supervisors))) == [(org.team_b.id, org.sup_b.id)]
    own = admin.patch(f"/api/v1/admin/users/{org.admin.id}", json={"role": "agent"})
    assert own.status_code == 400 and "own role" in own.text
    assert (
        admin.patch(f"/api/v1/admin/users/{org.admin.id}", json={"active": False}).status_code
        == 400
    )
    assert _change(admin, org.agent_a2.id, active=True) == {}  # nothing to change
    assert admin.patch("/api/v1/admin/users/99999", json={"active": False}).status_code == 404
    bad_team = admin.patch(f"/api/v1/admin/users/{org.agent_a2.id}", json={"team_id": 99999})
    assert bad_team.status_code == 404
    unknown = admin.patch(f"/api/v1/admin/users/{org.agent_a2.id}", json={"password": "x"})
    assert unknown.status_code == 422 and "password" in unknown.text


def test_the_admin_page_changes_a_user(app_client: TestClient, org: Org, clock: Clock) -> None:
    device = enrol(app_client, org.agent_a2.id)
    assert (
        device.post("/api/v1/events", json={"events": [event("away", clock.now)]}).status_code
        == 200
    )
    page = TestClient(app_client.app)
    token = login(page, "admin").headers["x-csrf-token"]
    form = {"role": "agent", "team_id": str(org.team_b.id), "active": "true"}
    reply = page.post(f"/admin/users/{org.agent_a2.id}", data={**form, "csrf_token": token})
    assert reply.status_code == 200 and "User changed: team id." in reply.text
    assert page.post(f"/admin/users/{org.agent_a2.id}", data=form).status_code == 403  # no CSRF
    off = page.post(f"/admin/users/{org.agent_a2.id}", data={"role": "agent", "csrf_token": token})
    assert "User changed: team id, active, devices revoked." in off.text
    assert _refused(device, clock)
    sup = login(TestClient(app_client.app), "sup_a")
    assert (
        sup.post(
            f"/admin/users/{org.agent_a2.id}",
            data={**form, "csrf_token": sup.headers["x-csrf-token"]},
        ).status_code
        == 403
    )


def test_a_switched_off_agent_with_events_awaiting_review_stays_in_the_report(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    device = enrol(app_client, org.agent_a1.id)  # no heartbeat: offline all day
    sent = device.post("/api/v1/events", json={"events": [event("phone_in_use", clock.now)]})
    assert sent.status_code == 200
    _change(_person(app_client, "admin"), org.agent_a1.id, active=False)
    report = _person(app_client, "sup_a").get(f"/api/v1/teams/{org.team_a.id}/report", params=DAY)
    rows = {r["agent_id"]: r for r in report.json()["agents"]}
    assert rows[org.agent_a1.id]["awaiting_review"] == 1
