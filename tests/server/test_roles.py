"""Every route for every role, including the refusals (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import Org, login

ROLES = ["anonymous", "agent_a1", "sup_a", "sup_b", "admin", "privacy"]
# (method, path template, body maker, {role: expected status}); missing roles expect 403.
Route = tuple[str, str, Callable[[Org], object] | None, dict[str, int]]
OWN, TEAM = "{a1}", "{team_a}"
ROUTES: list[Route] = [
    (
        "GET",
        "/api/v1/auth/me",
        None,
        {
            "anonymous": 401,
            "agent_a1": 200,
            "sup_a": 200,
            "sup_b": 200,
            "admin": 200,
            "privacy": 200,
        },
    ),
    (
        "GET",
        "/api/v1/board",
        None,
        {
            "anonymous": 401,
            "agent_a1": 200,
            "sup_a": 200,
            "sup_b": 200,
            "admin": 200,
            "privacy": 200,
        },
    ),
    (
        "GET",
        f"/api/v1/agents/{OWN}/events",
        None,
        {
            "anonymous": 401,
            "agent_a1": 200,
            "sup_a": 200,
            "sup_b": 404,
            "admin": 200,
            "privacy": 404,
        },
    ),
    (
        "GET",
        f"/api/v1/agents/{OWN}/events.csv",
        None,
        {
            "anonymous": 401,
            "agent_a1": 200,
            "sup_a": 200,
            "sup_b": 404,
            "admin": 200,
            "privacy": 404,
        },
    ),
    (
        "GET",
        f"/api/v1/agents/{OWN}/timeline",
        None,
        {
            "anonymous": 401,
            "agent_a1": 200,
            "sup_a": 200,
            "sup_b": 404,
            "admin": 200,
            "privacy": 404,
        },
    ),
    (
        "GET",
        "/api/v1/agents/{a2}/timeline",
        None,
        {
            "anonymous": 401,
            "agent_a1": 404,
            "sup_a": 200,
            "sup_b": 404,
            "admin": 200,
            "privacy": 404,
        },
    ),
    (
        "GET",
        f"/api/v1/teams/{TEAM}/report",
        None,
        {
            "anonymous": 401,
            "agent_a1": 403,
            "sup_a": 200,
            "sup_b": 404,
            "admin": 200,
            "privacy": 403,
        },
    ),
    (
        "GET",
        f"/api/v1/teams/{TEAM}/report.csv",
        None,
        {
            "anonymous": 401,
            "agent_a1": 403,
            "sup_a": 200,
            "sup_b": 404,
            "admin": 200,
            "privacy": 403,
        },
    ),
    (
        "GET",
        f"/api/v1/teams/{TEAM}/policy",
        None,
        {
            "anonymous": 401,
            "agent_a1": 403,
            "sup_a": 200,
            "sup_b": 404,
            "admin": 200,
            "privacy": 200,
        },
    ),
    (
        "PUT",
        f"/api/v1/teams/{TEAM}/policy",
        lambda o: {"toml": ""},
        {
            "anonymous": 401,
            "agent_a1": 403,
            "sup_a": 403,
            "sup_b": 403,
            "admin": 200,
            "privacy": 403,
        },
    ),
    (
        "GET",
        "/api/v1/audit",
        None,
        {
            "anonymous": 401,
            "agent_a1": 403,
            "sup_a": 403,
            "sup_b": 403,
            "admin": 200,
            "privacy": 200,
        },
    ),
    (
        "GET",
        "/api/v1/teams",
        None,
        {
            "anonymous": 401,
            "agent_a1": 200,
            "sup_a": 200,
            "sup_b": 200,
            "admin": 200,
            "privacy": 200,
        },
    ),
    (
        "GET",
        "/api/v1/admin/users",
        None,
        {
            "anonymous": 401,
            "agent_a1": 403,
            "sup_a": 403,
            "sup_b": 403,
            "admin": 200,
            "privacy": 403,
        },
    ),
    (
        "POST",
        "/api/v1/admin/users",
        lambda o: {
            "username": "new_agent",
            "password": "long enough pw",
            "role": "agent",
            "team_id": o.team_a.id,
        },
        {
            "anonymous": 401,
            "agent_a1": 403,
            "sup_a": 403,
            "sup_b": 403,
            "admin": 201,
            "privacy": 403,
        },
    ),
    (
        "POST",
        "/api/v1/admin/enrolment-codes",
        lambda o: {"agent_id": o.agent_a1.id},
        {
            "anonymous": 401,
            "agent_a1": 403,
            "sup_a": 403,
            "sup_b": 403,
            "admin": 201,
            "privacy": 403,
        },
    ),
    (
        "GET",
        "/api/v1/admin/devices",
        None,
        {
            "anonymous": 401,
            "agent_a1": 403,
            "sup_a": 403,
            "sup_b": 403,
            "admin": 200,
            "privacy": 403,
        },
    ),
    (
        "POST",
        "/api/v1/admin/devices/unknown/revoke",
        None,
        {
            "anonymous": 401,
            "agent_a1": 403,
            "sup_a": 403,
            "sup_b": 403,
            "admin": 404,
            "privacy": 403,
        },
    ),
    (
        "GET",
        f"/api/v1/teams/{TEAM}/categories",
        None,
        {"anonymous": 401, "sup_a": 200, "sup_b": 404, "admin": 200, "privacy": 200},
    ),
    (
        "PUT",
        f"/api/v1/teams/{TEAM}/categories/conduct",
        lambda o: {"retention_days": 20},
        {"anonymous": 401, "admin": 200},
    ),
    ("GET", "/api/v1/me/categories", None, {"anonymous": 401, "agent_a1": 200}),
    (
        "PUT",
        "/api/v1/me/objections/conduct",
        lambda o: {"objected": True},
        {"anonymous": 401, "agent_a1": 200},
    ),
    ("GET", "/api/v1/me/export", None, {"anonymous": 401, "agent_a1": 200}),
    (
        "POST",
        "/api/v1/me/requests",
        lambda o: {"kind": "rectification", "body": "my name is spelt wrong"},
        {"anonymous": 401, "agent_a1": 201},
    ),
    ("GET", "/api/v1/me/requests", None, {"anonymous": 401, "agent_a1": 200}),
    ("GET", "/api/v1/privacy/requests", None, {"anonymous": 401, "privacy": 200}),
    (
        "PATCH",
        "/api/v1/privacy/requests/999999",
        lambda o: {"status": "done"},
        {"anonymous": 401, "privacy": 404},
    ),
    (
        "GET",
        "/api/v1/reviews",
        None,
        {"anonymous": 401, "sup_a": 200, "sup_b": 200, "admin": 200},
    ),
    ("GET", "/api/v1/accuracy", None, {"anonymous": 401, "admin": 200, "privacy": 200}),
    (
        "POST",
        "/api/v1/events/unknown/comments",
        lambda o: {"kind": "comment", "body": "that was my colleague"},
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 404)},
    ),
    (
        "POST",
        "/api/v1/events/unknown/review",
        lambda o: {"decision": "confirmed"},
        {"anonymous": 401, "sup_a": 404, "sup_b": 404, "admin": 404},
    ),
    (
        "GET",
        f"/api/v1/agents/{OWN}/snapshots",
        None,
        {
            "anonymous": 401,
            "agent_a1": 200,
            "sup_a": 200,
            "sup_b": 404,
            "admin": 200,
            "privacy": 404,
        },
    ),
    (
        "GET",
        "/api/v1/snapshots/unknown.jpg",
        None,
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 404)},
    ),
    # Device routes refuse people: a session cookie is not a device token.
    ("GET", "/api/v1/policy", None, dict.fromkeys(ROLES, 401)),
    (
        "POST",
        "/api/v1/heartbeat",
        lambda o: {"status": "at_desk", "sent_at": "2026-11-02T09:00:00Z"},
        dict.fromkeys(ROLES, 401),
    ),
    ("POST", "/api/v1/events", lambda o: {"events": []}, dict.fromkeys(ROLES, 401)),
    ("POST", "/api/v1/snapshots", lambda o: {}, dict.fromkeys(ROLES, 401)),
    (
        "POST",
        "/api/v1/device/reconfirm",
        lambda o: {"password": "x"},
        dict.fromkeys(ROLES, 401),
    ),
]


def _path(template: str, org: Org) -> str:
    return template.format(a1=org.agent_a1.id, a2=org.agent_a2.id, team_a=org.team_a.id)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(app_client: TestClient, org: Org, role: str) -> None:
    client = TestClient(app_client.app)
    if role != "anonymous":
        login(client, role)
    for method, template, body, expected in ROUTES:
        kwargs = {} if body is None else {"json": body(org)}
        reply = client.request(method, _path(template, org), **kwargs)  # type: ignore[arg-type]
        want = expected.get(role, 403)
        assert reply.status_code == want, (
            f"{role} {method} {template}: {reply.status_code} {reply.text}"
        )


def test_unsafe_requests_need_the_csrf_token(app_client: TestClient, org: Org) -> None:
    admin = login(TestClient(app_client.app), "admin")
    token = admin.headers.pop("x-csrf-token")
    body = {"agent_id": org.agent_a1.id}
    assert admin.post("/api/v1/admin/enrolment-codes", json=body).status_code == 403
    admin.headers["x-csrf-token"] = "forged"
    assert admin.post("/api/v1/admin/enrolment-codes", json=body).status_code == 403
    admin.headers["x-csrf-token"] = token
    assert admin.post("/api/v1/admin/enrolment-codes", json=body).status_code == 201


def test_login_refuses_wrong_passwords_and_logout_ends_the_session(
    app_client: TestClient, org: Org
) -> None:
    client = TestClient(app_client.app)
    bad = client.post("/api/v1/auth/login", json={"username": "admin", "password": "guess"})
    assert bad.status_code == 401
    login(client, "admin")
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401
    cookie = bad.headers.get("set-cookie", "")
    assert "deskwatch_session" not in cookie
