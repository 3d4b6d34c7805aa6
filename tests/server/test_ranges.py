"""Ids, days and numbers out of range are refused at the edge with 404 or 422, never a 500
(SQLite and PostgreSQL; PostgreSQL's ``integer`` ends at 2**31 - 1)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from deskwatch.server.bounds import DB_INT_MAX
from tests.server.conftest import Org, login

BIG_IDS = [DB_INT_MAX + 1, 2**63, 10**30, 0, -1]
API_READS = [
    "/api/v1/agents/{id}/events",
    "/api/v1/agents/{id}/events.csv",
    "/api/v1/agents/{id}/timeline",
    "/api/v1/agents/{id}/snapshots",
    "/api/v1/teams/{id}/policy",
    "/api/v1/teams/{id}/report",
    "/api/v1/teams/{id}/report.csv",
    "/api/v1/teams/{id}/categories",
]
PAGES = ["/agents/{id}", "/teams/{id}/report", "/teams/{id}/categories"]
BAD_DAYS = ["9999-12-31", "0001-01-01", "1969-12-31", "99999-01-01"]
DAY_READS = [
    "/api/v1/agents/{a1}/events",
    "/api/v1/agents/{a1}/events.csv",
    "/api/v1/agents/{a1}/timeline",
    "/api/v1/teams/{team}/report",
    "/api/v1/teams/{team}/report.csv",
    "/agents/{a1}",
    "/teams/{team}/report",
]
# Not ASCII digits, though str.isdigit() says they are: int("²") raises.
NOT_IDS = ["²", "١٢", "2147483648", "-3", "1e3", "7x"]


def _refused(status: int, text: str) -> None:
    assert status in (404, 422), (status, text)


def test_an_id_out_of_range_is_refused(app_client: TestClient, org: Org) -> None:
    admin = login(app_client, "admin")
    for path in API_READS + PAGES:
        for big in BIG_IDS:
            reply = admin.get(path.format(id=big))
            _refused(reply.status_code, f"{path} {big}: {reply.text}")


@pytest.mark.parametrize("big", [DB_INT_MAX + 1, 2**63, 0])
def test_an_id_out_of_range_in_a_body_or_a_change_is_refused(
    app_client: TestClient, org: Org, big: int
) -> None:
    admin = login(app_client, "admin")
    replies = [
        admin.post("/api/v1/admin/enrolment-codes", json={"agent_id": big}),
        admin.put(f"/api/v1/teams/{big}/policy", json={"toml": ""}),
        admin.put(f"/api/v1/teams/{big}/categories/phone", json={"enabled": False}),
        admin.patch(f"/api/v1/admin/users/{big}", json={"active": True}),
        admin.patch(f"/api/v1/admin/users/{org.agent_a1.id}", json={"team_id": big}),
        admin.post(
            "/api/v1/admin/users",
            json={"username": "newbie", "password": "x" * 12, "role": "agent", "team_id": big},
        ),
        admin.post("/api/v1/admin/teams", json={"name": "T", "site_id": big}),
        admin.post(
            "/api/v1/admin/teams",
            json={"name": "T", "site_id": org.team_a.site_id, "supervisor_ids": [big]},
        ),
    ]
    for reply in replies:
        _refused(reply.status_code, reply.text)
    officer = login(TestClient(app_client.app), "privacy")
    reply = officer.patch(f"/api/v1/privacy/requests/{big}", json={"status": "closed"})
    _refused(reply.status_code, reply.text)


@pytest.mark.parametrize("path", DAY_READS)
def test_a_day_out_of_range_is_refused(app_client: TestClient, org: Org, path: str) -> None:
    admin = login(app_client, "admin")
    url = path.format(a1=org.agent_a1.id, team=org.team_a.id)
    for day in BAD_DAYS:
        reply = admin.get(url, params={"day": day})
        assert reply.status_code == 422, reply.text
        if url.startswith("/api/"):
            assert reply.json()["detail"][0]["field"] == "day"


def test_the_first_and_last_days_in_range_are_answered(app_client: TestClient, org: Org) -> None:
    admin = login(app_client, "admin")
    for day in ("1970-01-01", "9998-12-31"):
        for path in DAY_READS:
            url = path.format(a1=org.agent_a1.id, team=org.team_a.id)
            reply = admin.get(url, params={"day": day})
            assert reply.status_code == 200, (url, day, reply.text)


def test_an_admin_form_refuses_what_is_not_an_id(app_client: TestClient, org: Org) -> None:
    admin = login(app_client, "admin")
    csrf = admin.headers["x-csrf-token"]
    user = {"username": "newbie", "password": "x" * 12, "role": "agent"}
    for text in NOT_IDS:
        _form_refuses(admin, org, csrf, user, text)


def _form_refuses(admin: TestClient, org: Org, csrf: str, user: dict[str, str], text: str) -> None:
    replies = [
        admin.post("/admin/users", data={**user, "team_id": text, "csrf_token": csrf}),
        admin.post(
            f"/admin/users/{org.agent_a1.id}",
            data={"role": "agent", "team_id": text, "csrf_token": csrf},
        ),
        admin.post("/admin/teams", data={"name": "T", "supervisor_id": text, "csrf_token": csrf}),
        admin.post("/admin/codes", data={"agent_id": text, "csrf_token": csrf}),
    ]
    for reply in replies:
        assert reply.status_code == 422, (text, reply.text)


def test_an_empty_team_in_an_admin_form_means_none(app_client: TestClient, org: Org) -> None:
    admin = login(app_client, "admin")
    csrf = admin.headers["x-csrf-token"]
    user = {"username": "newbie", "password": "x" * 12, "role": "agent", "team_id": ""}
    reply = admin.post("/admin/users", data={**user, "csrf_token": csrf})
    assert reply.status_code == 200
    assert "User newbie added." in reply.text


def test_text_the_database_cannot_store_is_refused_not_a_500(
    app_client: TestClient, org: Org
) -> None:
    """A NUL character in text: PostgreSQL cannot store or even compare it (found by
    tests/server/test_fuzz.py); SQLite can. A 4xx either way."""
    reply = app_client.post("/api/v1/auth/login", json={"username": "a\x00b", "password": "x"})
    assert reply.status_code in (401, 422), reply.text
    admin = login(TestClient(app_client.app), "admin")
    reply = admin.post(
        "/api/v1/admin/teams", json={"name": "nul\x00", "site_id": org.team_a.site_id}
    )
    assert reply.status_code in (201, 422), reply.text
