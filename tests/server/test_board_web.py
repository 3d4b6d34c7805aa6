"""The board page by team: counts per state, live durations, long absences, the user's zone."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.orgs.models import User
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import beat, enrol


def _sections(html: str) -> dict[str, str]:
    """Team name → its counts, as each team's heading shows them."""
    pattern = re.compile(r'<h2 id="team-\w+">([^<]*) <span class="counts">— ([^<]*)</span></h2>')
    return {name: counts for name, counts in pattern.findall(html)}


def _tile(html: str, agent_id: int) -> str:
    match = re.search(
        rf'<div class="tile [^"]*" data-agent="{agent_id}">(.*?)\n  </div>', html, re.S
    )
    assert match, f"no tile for {agent_id}"
    return match.group(1)


def test_admin_sees_every_team_with_counts_per_state(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    beat(enrol(app_client, org.agent_a1.id), "at_desk", clock.now)
    beat(enrol(app_client, org.agent_b1.id, "pc-2"), "away", clock.now)
    clock.advance(10)
    admin = login(TestClient(app_client.app), "admin")
    html = admin.get("/").text
    assert _sections(html) == {"Alpha": "1 at desk · 1 offline", "Bravo": "1 away"}
    assert html.index("team-" + str(org.team_a.id)) < html.index("team-" + str(org.team_b.id))
    rows = {r["agent_id"]: r for r in admin.get("/api/v1/board").json()}
    assert rows[org.agent_b1.id]["team_id"] == org.team_b.id
    assert rows[org.agent_b1.id]["team_name"] == "Bravo"
    assert rows[org.agent_a1.id]["team_name"] == "Alpha"
    assert 'aria-pressed="true">all <span class="n">3</span>' in html
    assert '<label for="board-search">Search by name</label>' in html


def test_supervisor_sees_only_their_team(app_client: TestClient, org: Org) -> None:
    sup = login(TestClient(app_client.app), "sup_a")
    html = sup.get("/").text
    assert _sections(html) == {"Alpha": "2 offline"}
    assert "Bravo" not in html.split('<div id="board"')[1]


def test_time_in_state_is_shown_as_a_duration(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    device = enrol(app_client, org.agent_a1.id)
    since = clock.now
    for _ in range(12):
        beat(device, "away", clock.now)
        clock.advance(60)
    beat(device, "away", clock.now)
    sup = login(TestClient(app_client.app), "sup_a")
    tile = _tile(sup.get("/").text, org.agent_a1.id)
    assert f'<div class="for" data-at="{int(since.timestamp())}">for 12 min</div>' in tile
    assert '<div class="long">' not in tile


def test_long_absences_are_flagged(app_client: TestClient, org: Org, clock: Clock) -> None:
    away, desk = enrol(app_client, org.agent_a1.id), enrol(app_client, org.agent_a2.id, "pc-2")
    for _ in range(16):  # 16 min of heartbeats, one a minute or so: never offline
        beat(away, "away", clock.now)
        beat(desk, "at_desk", clock.now)
        clock.advance(61)
    beat(away, "away", clock.now)
    beat(desk, "at_desk", clock.now)
    sup = login(TestClient(app_client.app), "sup_a")
    rows = {r["agent_id"]: r for r in sup.get("/api/v1/board").json()}
    assert rows[org.agent_a1.id]["long_absence"] is True  # away 16 min, over 15
    assert rows[org.agent_a2.id]["long_absence"] is False  # at desk is never an absence
    html = sup.get("/").text
    assert '<div class="long">long absence</div>' in _tile(html, org.agent_a1.id)
    assert '<div class="long">' not in _tile(html, org.agent_a2.id)
    assert 'data-long-after="900.0"' in html


def test_a_short_absence_is_not_flagged_and_offline_counts(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    device = enrol(app_client, org.agent_a1.id)
    beat(device, "away", clock.now)
    clock.advance(600)  # offline after 90 s: offline for 510 s, under 900
    sup = login(TestClient(app_client.app), "sup_a")
    row = next(r for r in sup.get("/api/v1/board").json() if r["agent_id"] == org.agent_a1.id)
    assert (row["status"], row["long_absence"]) == ("offline", False)
    clock.advance(400)  # offline for 910 s
    row = next(r for r in sup.get("/api/v1/board").json() if r["agent_id"] == org.agent_a1.id)
    assert (row["status"], row["long_absence"]) == ("offline", True)
    never = next(r for r in sup.get("/api/v1/board").json() if r["agent_id"] == org.agent_a2.id)
    assert never["long_absence"] is False  # never heard from: no time to judge


def test_times_are_in_the_users_zone(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    with db.begin() as s:
        sup = s.get(User, org.sup_a.id)
        assert sup is not None
        sup.time_zone = "Asia/Tokyo"
    beat(enrol(app_client, org.agent_a1.id), "at_desk", clock.now)  # 09:00 UTC
    html = login(TestClient(app_client.app), "sup_a").get("/").text
    assert '<div class="since">since 18:00:00</div>' in _tile(html, org.agent_a1.id)
    assert 'data-zone="Asia/Tokyo"' in html


def test_the_board_page_is_for_overseers_and_audited(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    agent = login(TestClient(app_client.app), "agent_a1")
    assert (
        agent.get("/", follow_redirects=False).headers["location"] == f"/agents/{org.agent_a1.id}"
    )
    officer = login(TestClient(app_client.app), "privacy")
    assert officer.get("/", follow_redirects=False).headers["location"] == "/privacy"
    assert TestClient(app_client.app).get("/", follow_redirects=False).status_code == 303
    login(TestClient(app_client.app), "sup_a").get("/")
    with db() as s:
        reads = s.scalars(
            select(AuditEntry.subject).where(
                AuditEntry.actor_id == org.sup_a.id, AuditEntry.action == "read:board"
            )
        ).all()
    assert reads == [f"team:{org.team_a.id}"]
