"""The audit page: filters, search, paging, names for ids, and the chain's state on top."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit import service as audit
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.orgs.models import User
from tests.server.conftest import Clock, Org, login


def _seed(db: sessionmaker[Session], org: Org, clock: Clock) -> None:
    """Entries a day apart: the admin changes agent_a1, sup_a reads team Alpha, a device."""
    with db.begin() as s:
        admin, sup = s.get(User, org.admin.id), s.get(User, org.sup_a.id)
        day = clock.now - timedelta(days=3)
        audit.record(
            s,
            actor=admin,
            action="user:changed",
            subject=f"user:{org.agent_a1.id}",
            now=day,
            detail={"team_id": org.team_a.id},
        )
        audit.record(
            s,
            actor=sup,
            action="read:board",
            subject=f"team:{org.team_a.id}",
            now=day.replace(hour=10) + timedelta(days=1),
        )
        audit.record(
            s,
            actor=None,
            action="device:enrolled",
            subject=f"agent:{org.agent_b1.id}:attendance",
            now=day + timedelta(days=2),
            detail={"hostname": "pc-zebra-7"},
        )


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="entry-(\d+)">', html)]


def _actions(html: str) -> list[str]:
    rows = re.findall(r'<tr id="entry-\d+">.*?</tr>', html, re.S)
    return [re.findall(r"<td>([^<]*)</td>", row)[1] for row in rows]


def test_names_instead_of_ids_and_the_chain_intact(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    _seed(db, org, clock)
    html = login(TestClient(app_client.app), "admin").get("/audit").text
    newest = ["read:audit", "login", "device:enrolled", "read:board", "user:changed"]
    assert _actions(html) == newest
    assert f'Agent_A1 <small class="muted">user:{org.agent_a1.id}</small>' in html
    assert f'Alpha <small class="muted">team:{org.team_a.id}</small>' in html
    assert f'Agent_B1 <small class="muted">agent:{org.agent_b1.id}:attendance</small>' in html
    assert "<td>Sup_A</td>" in html and "<td>a device or the server</td>" in html
    assert re.search(r'<p id="chain" class="chain intact">Chain verified: 5 entries intact', html)
    assert 'class="table-wrap" role="region" tabindex="0"' in html  # scrolls, by keyboard too
    for field in ("f-actor", "f-action", "f-subject", "f-start", "f-end", "f-q"):
        assert f'<label for="{field}">' in html


def test_filters_and_search(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    _seed(db, org, clock)
    admin = login(TestClient(app_client.app), "admin")

    def actions(**query: str) -> list[str]:
        reply = admin.get("/audit", params=query)
        assert reply.status_code == 200, reply.text
        return [a for a in _actions(reply.text) if a not in ("read:audit", "login")]

    assert actions(actor=str(org.sup_a.id)) == ["read:board"]
    assert actions(actor="0") == ["device:enrolled"]  # no actor: a device
    assert actions(action="user:changed") == ["user:changed"]
    assert actions(subject=f"agent:{org.agent_b1.id}") == ["device:enrolled"]  # and agent:N:…
    assert actions(subject=f"team:{org.team_a.id}") == ["read:board"]
    day = (clock.now - timedelta(days=2)).date().isoformat()
    assert actions(start=day, end=day) == ["read:board"]
    assert actions(start=day) == ["device:enrolled", "read:board"]
    assert actions(q="ZEBRA") == ["device:enrolled"]  # in the detail, any case
    assert actions(q="sup_a") == ["read:board"]  # an actor's name
    assert actions(q="%") == []  # a LIKE wildcard is only itself
    assert (
        "No entries match these filters" in admin.get("/audit", params={"q": "nothing-like"}).text
    )
    assert admin.get("/audit", params={"start": "2026-13-01"}).status_code == 422
    assert admin.get("/audit", params={"q": "x" * 201}).status_code == 422
    assert admin.get("/audit", params={"actor": "me"}).status_code == 422


def test_paging_is_newest_first_and_bounded(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    with db.begin() as s:
        admin = s.get(User, org.admin.id)
        for n in range(60):
            audit.record(s, actor=admin, action="test:entry", subject=f"n:{n}", now=clock.now)
    client = login(TestClient(app_client.app), "admin")
    first = client.get("/audit", params={"action": "test:entry"}).text
    assert "Entries 1 to 50 of 60 matching, newest first (page 1 of 2)" in first
    ids = _ids(first)
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    assert 'href="/audit?action=test%3Aentry&amp;page_no=1" rel="next"' in first
    second = client.get("/audit", params={"action": "test:entry", "page_no": 1}).text
    assert len(_ids(second)) == 10 and max(_ids(second)) < min(ids)
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert client.get("/audit", params={"page_no": 10_001}).status_code == 422


def test_a_tampered_entry_shows_the_chain_broken(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    _seed(db, org, clock)
    with db.begin() as s:
        target = s.scalar(select(AuditEntry.id).where(AuditEntry.action == "read:board"))
        s.execute(update(AuditEntry).where(AuditEntry.id == target).values(subject="team:999"))
    html = login(TestClient(app_client.app), "admin").get("/audit").text
    assert re.search(
        rf'<p id="chain" class="chain broken" role="alert">Chain broken at entry {target}: '
        "its content was changed",
        html,
    )


def test_a_big_log_verifies_the_window_shown(
    app_client: TestClient,
    org: Org,
    clock: Clock,
    db: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _seed(db, org, clock)
    monkeypatch.setattr(audit, "FULL_VERIFY_MAX", 2)
    admin = login(TestClient(app_client.app), "admin")
    html = admin.get("/audit").text
    ids = _ids(html)
    assert f"Chain verified for entries #{min(ids)} to #{max(ids)}: 5 entries intact" in html
    assert "deskwatch audit verify" in html
    with db.begin() as s:
        s.execute(update(AuditEntry).where(AuditEntry.id == ids[-1]).values(action="x"))
    html = admin.get("/audit").text
    assert f"Chain broken at entry {ids[-1]}" in html


def test_reading_the_log_is_audited_and_only_for_admins_and_officers(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    for name in ("sup_a", "agent_a1"):
        assert login(TestClient(app_client.app), name).get("/audit").status_code == 403
    anonymous = TestClient(app_client.app).get("/audit", follow_redirects=False)
    assert anonymous.status_code == 303
    officer = login(TestClient(app_client.app), "privacy")
    assert officer.get("/audit", params={"q": "anything"}).status_code == 200
    with db() as s:
        reads = s.execute(
            select(AuditEntry.actor_id, AuditEntry.subject).where(AuditEntry.action == "read:audit")
        ).all()
    assert [tuple(r) for r in reads] == [(org.privacy.id, "teams:all")]


def test_the_api_filters_too(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    _seed(db, org, clock)
    officer = login(TestClient(app_client.app), "privacy")
    rows = officer.get("/api/v1/audit", params={"subject": f"agent:{org.agent_b1.id}"}).json()
    assert [r["action"] for r in rows] == ["device:enrolled"]
    day = (clock.now - timedelta(days=2)).replace(hour=0)
    since = officer.get("/api/v1/audit", params={"start": day.replace(tzinfo=None).isoformat()})
    assert "user:changed" not in {r["action"] for r in since.json()}
    newest = officer.get("/api/v1/audit", params={"per_page": 1}).json()
    assert len(newest) == 1 and newest[0]["action"] == "read:audit"  # the previous read
    assert officer.get("/api/v1/audit", params={"per_page": 501}).status_code == 422
    assert login(TestClient(app_client.app), "sup_a").get("/api/v1/audit").status_code == 403
