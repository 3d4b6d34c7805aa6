"""Every route for every role, including the refusals (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.events.models import EventRecord
from deskwatch.server.privacy.models import Objection
from deskwatch.server.requests.models import DataRequest
from deskwatch.server.reviews.models import EventComment
from tests.server.conftest import Clock, Org, login
from tests.server.helpers import enrol, event, flashed

ROLES = ["anonymous", "agent_a1", "agent_a2", "sup_a", "sup_b", "admin", "privacy"]
# (method, path template, body maker, {role: expected status}); missing roles expect 403.
Route = tuple[str, str, Callable[[Org], object] | None, dict[str, int]]
OWN, TEAM = "{a1}", "{team_a}"


# Agent a1's own data: a1, their supervisor and admins read it; everyone else is told it
# does not exist (404), so they cannot even learn that it does.
AGENT_A1_DATA = {
    "anonymous": 401,
    "agent_a1": 200,
    "agent_a2": 404,
    "sup_a": 200,
    "sup_b": 404,
    "admin": 200,
    "privacy": 404,
}


def AGENTS(code: int) -> dict[str, int]:  # noqa: N802 - reads like a constant in the table
    return {"agent_a1": code, "agent_a2": code}


ROUTES: list[Route] = [
    (
        "GET",
        "/api/v1/auth/me",
        None,
        {
            "anonymous": 401,
            "agent_a1": 200,
            "agent_a2": 200,
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
            "agent_a2": 200,
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
        AGENT_A1_DATA,
    ),
    (
        "GET",
        f"/api/v1/agents/{OWN}/events.csv",
        None,
        AGENT_A1_DATA,
    ),
    (
        "GET",
        f"/api/v1/agents/{OWN}/timeline",
        None,
        AGENT_A1_DATA,
    ),
    (
        "GET",
        "/api/v1/agents/{a2}/timeline",
        None,
        {
            "anonymous": 401,
            "agent_a1": 404,
            "agent_a2": 200,
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
            "agent_a2": 200,
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
    ("GET", "/api/v1/me/categories", None, {"anonymous": 401, **AGENTS(200)}),
    (
        "PUT",
        "/api/v1/me/objections/conduct",
        lambda o: {"objected": True},
        {"anonymous": 401, **AGENTS(200)},
    ),
    ("GET", "/api/v1/me/export", None, {"anonymous": 401, **AGENTS(200)}),
    (
        "POST",
        "/api/v1/me/requests",
        lambda o: {"kind": "rectification", "body": "my name is spelt wrong"},
        {"anonymous": 401, **AGENTS(201)},
    ),
    ("GET", "/api/v1/me/requests", None, {"anonymous": 401, **AGENTS(200)}),
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
    ("GET", "/api/v1/accuracy/detectors", None, {"anonymous": 401, "admin": 200, "privacy": 200}),
    # A real pending event of agent_a1: only they comment; their supervisors and admins
    # read and review it; agent_a2, another team's supervisor and the officer do not see it.
    (
        "POST",
        "/api/v1/events/{event}/comments",
        lambda o: {"kind": "comment", "body": "that was my colleague"},
        {
            "anonymous": 401,
            "agent_a1": 201,
            "agent_a2": 404,
            "sup_a": 400,
            "sup_b": 404,
            "admin": 400,
            "privacy": 404,
        },
    ),
    (
        "GET",
        "/api/v1/events/{event}/comments",
        None,
        AGENT_A1_DATA,
    ),
    (
        "POST",
        "/api/v1/events/{event}/review",
        lambda o: {"decision": "confirmed"},
        {"anonymous": 401, "sup_a": 200, "sup_b": 404, "admin": 200},
    ),
    (
        "PATCH",
        "/api/v1/privacy/requests/{request}",
        lambda o: {"status": "in_progress", "response": "looking at it"},
        {"anonymous": 401, "privacy": 200},
    ),
    (
        "GET",
        f"/api/v1/agents/{OWN}/snapshots",
        None,
        AGENT_A1_DATA,
    ),
    (
        "GET",
        "/api/v1/snapshots/unknown.jpg",
        None,
        {"anonymous": 401, **dict.fromkeys(ROLES[1:], 404)},
    ),
    (
        "PATCH",
        "/api/v1/admin/users/{a2}",
        lambda o: {"active": True},
        {"anonymous": 401, "admin": 200},
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


@dataclass
class Made:
    """agent_a1's pending event and open request, made through the real API."""

    event: str
    request: int


def _made(app_client: TestClient, org: Org, clock: Clock) -> Made:
    device = enrol(app_client, org.agent_a1.id)
    sent = event("phone_in_use", clock.now)
    assert device.post("/api/v1/events", json={"events": [sent]}).json()["new"] == 1
    agent = login(TestClient(app_client.app), "agent_a1")
    made = agent.post("/api/v1/me/requests", json={"kind": "erasure", "body": "erase me"})
    return Made(str(sent["id"]), int(made.json()["id"]))


def _path(template: str, org: Org, made: Made) -> str:
    return template.format(
        a1=org.agent_a1.id,
        a2=org.agent_a2.id,
        team_a=org.team_a.id,
        event=made.event,
        request=made.request,
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_route_for_every_role(
    app_client: TestClient, org: Org, clock: Clock, role: str
) -> None:
    made = _made(app_client, org, clock)
    client = TestClient(app_client.app)
    if role != "anonymous":
        login(client, role)
    for method, template, body, expected in ROUTES:
        kwargs = {} if body is None else {"json": body(org)}
        path = _path(template, org, made)
        reply = client.request(method, path, **kwargs)  # type: ignore[arg-type]
        want = expected.get(role, 403)
        assert reply.status_code == want, (
            f"{role} {method} {template}: {reply.status_code} {reply.text}"
        )


# Web forms: "ok" is done (303 back with the outcome), "refused" is a 303 saying it was not
# done (the service refused: the thing is not visible to this user), a number a status code.
FORMS: list[tuple[str, dict[str, str], dict[str, int | str]]] = [
    (
        "/me/objections/conduct",
        {"objected": "true"},
        {"agent_a1": "ok", "agent_a2": "ok"},
    ),
    (
        "/me/events/{event}/comments",
        {"kind": "dispute", "body": "not a phone"},
        {"agent_a1": "ok", "agent_a2": "refused"},
    ),
    (
        "/me/requests",
        {"kind": "rectification", "body": "my name is spelt wrong"},
        {"agent_a1": "ok", "agent_a2": "ok"},
    ),
    (
        "/reviews/{event}",
        {"decision": "rejected", "note": "a calculator"},
        {"sup_a": "ok", "sup_b": "refused", "admin": "ok"},
    ),
    (
        "/privacy/requests/{request}",
        {"status": "refused", "response": "nothing to correct"},
        {"privacy": "ok"},
    ),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_form_for_every_role(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session], role: str
) -> None:
    made = _made(app_client, org, clock)
    client = TestClient(app_client.app, follow_redirects=False)
    token = login(client, role).headers["x-csrf-token"] if role != "anonymous" else ""
    for template, form, expected in FORMS:
        path = _path(template, org, made)
        reply = client.post(path, data={**form, "csrf_token": token})
        want = expected.get(role, 403)
        got: int | str = reply.status_code
        if got == 303:
            got = "refused" if "Not " in flashed(client, reply) else "ok"
        assert got == want, f"{role} POST {template}: {reply.status_code} {reply.headers}"
    with db() as s:  # what each role could do is all that was done
        row = s.get(EventRecord, made.event)
        assert row is not None
        comments = list(s.scalars(select(EventComment).where(EventComment.event_id == made.event)))
        request = s.get(DataRequest, made.request)
        assert request is not None
        objected = list(s.scalars(select(Objection.agent_id)))
    assert len(comments) == (1 if role == "agent_a1" else 0)
    assert row.review == ("rejected" if role in ("sup_a", "admin") else "pending")
    assert request.status == ("refused" if role == "privacy" else "open")
    names = {org.agent_a1.id: "agent_a1", org.agent_a2.id: "agent_a2"}
    assert [names[a] for a in objected] == ([role] if role in names.values() else [])


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


UNSEEN = {  # role: what it may try on an event it may not see
    "agent_a2": [("GET", "comments"), ("POST", "comments")],
    "sup_b": [("GET", "comments"), ("POST", "review")],
    "privacy": [("GET", "comments")],
}


@pytest.mark.parametrize("role", sorted(UNSEEN))
def test_a_404_never_tells_whether_an_event_exists_or_whose_it_is(
    app_client: TestClient, org: Org, clock: Clock, role: str
) -> None:
    made = _made(app_client, org, clock)
    missing = "00000000-0000-4000-8000-000000000000"
    client = login(TestClient(app_client.app, follow_redirects=False), role)
    bodies = {"comments": {"kind": "comment", "body": "x"}, "review": {"decision": "rejected"}}
    for method, what in UNSEEN[role]:
        body = bodies[what] if method == "POST" else None
        replies = [
            client.request(method, f"/api/v1/events/{event_id}/{what}", json=body)
            for event_id in (made.event, missing)
        ]
        assert [r.status_code for r in replies] == [404, 404], (method, what)
        assert replies[0].content == replies[1].content == b'{"detail":"no such event"}'

    token = client.headers["x-csrf-token"]
    forms = {
        "agent_a2": ("/me/events/{}/comments", {"kind": "comment", "body": "x"}),
        "sup_b": ("/reviews/{}", {"decision": "rejected"}),
    }
    if role in forms:
        path, form = forms[role]
        said = [
            flashed(client, client.post(path.format(event_id), data={**form, "csrf_token": token}))
            for event_id in (made.event, missing)
        ]
        assert said[0] == said[1] and "no such event" in said[0]
