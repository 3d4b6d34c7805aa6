"""The live board, as JSON and as the page: statuses, offline after silence, safe names."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.orgs.models import User
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import beat, enrol

HOSTILE = '<script>alert("x")</script> & Co'


def _tiles(html: str) -> dict[int, tuple[str, str, str]]:
    """agent id → (status class, label, since) of every tile on the board page."""
    pattern = re.compile(
        r'<div class="tile s-(\w+)" data-agent="(\d+)">\s*<a href="/agents/\d+">.*?</a>\s*'
        r'<div class="status">([^<]*)</div>\s*<div class="since">since ([^<]*)</div>',
        re.S,
    )
    return {int(a): (s, label, since) for s, a, label, since in pattern.findall(html)}


def test_board_shows_each_visible_agent_once_with_its_status(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    with db.begin() as s:
        agent = s.get(User, org.agent_a1.id)
        assert agent is not None
        agent.display_name = HOSTILE
    device = enrol(app_client, org.agent_a1.id)
    away_at = clock.now
    beat(device, "away", away_at)
    clock.advance(30)
    sup = login(TestClient(app_client.app), "sup_a")

    rows = {r["agent_id"]: r for r in sup.get("/api/v1/board").json()}
    assert set(rows) == {org.agent_a1.id, org.agent_a2.id}  # team Alpha only
    assert rows[org.agent_a1.id]["status"] == "away"
    assert rows[org.agent_a1.id]["name"] == HOSTILE
    assert rows[org.agent_a2.id]["status"] == "offline"  # never heard from

    html = sup.get("/").text
    assert _tiles(html) == {
        org.agent_a1.id: ("away", "away", away_at.strftime("%H:%M:%S")),
        org.agent_a2.id: ("offline", "offline", "never"),
    }
    assert HOSTILE not in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html


def test_silent_agent_goes_offline_since_its_silence_began(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    device = enrol(app_client, org.agent_a1.id)
    beat(device, "at_desk", clock.now)
    last = clock.now
    clock.advance(91)  # past offline_after_s (90)
    sup = login(TestClient(app_client.app), "sup_a")
    row = next(r for r in sup.get("/api/v1/board").json() if r["agent_id"] == org.agent_a1.id)
    assert row["status"] == "offline"
    assert datetime.fromisoformat(row["since"]) == last + timedelta(seconds=90)
