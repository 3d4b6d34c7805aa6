"""Logins: throttled per account (failures audited), the same for unknown usernames."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.auth.service import FAILED, MAX_FAILURES
from tests.server.conftest import PASSWORD, Clock, Org


def _login(client: TestClient, username: str, password: str) -> int:
    body = {"username": username, "password": password}
    return int(client.post("/api/v1/auth/login", json=body).status_code)


def test_too_many_failures_lock_the_account_for_a_while(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    for i in range(MAX_FAILURES):
        assert _login(app_client, "agent_a1", f"guess {i}") == 401
        clock.advance(10)
    assert _login(app_client, "agent_a1", PASSWORD) == 429  # the right one too, for now
    assert _login(app_client, "agent_a2", PASSWORD) == 200  # other accounts are not locked
    with db() as s:
        failed = s.scalars(select(AuditEntry.subject).where(AuditEntry.action == FAILED)).all()
    assert failed == [f"user:{org.agent_a1.id}"] * MAX_FAILURES  # the locked try added none

    web = TestClient(app_client.app)
    csrf = web.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"username": "agent_a1", "password": PASSWORD, "csrf_token": csrf}
    reply = web.post("/login", data=form, follow_redirects=False)
    assert reply.status_code == 429 and "Too many failed logins" in reply.text

    clock.advance(15 * 60 - 10 * (MAX_FAILURES - 1))  # the first failure leaves the window
    assert _login(app_client, "agent_a1", PASSWORD) == 200


def test_unknown_usernames_are_throttled_alike_and_never_stored(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    typed = "my-secret-password"  # typed into the username field by mistake
    replies = [_login(app_client, typed, "guess") for _ in range(MAX_FAILURES + 1)]
    assert replies == [401] * MAX_FAILURES + [429]
    with db() as s:
        rows = s.execute(select(AuditEntry.subject, AuditEntry.detail)).all()
    assert rows and not any(typed in f"{subject} {detail}" for subject, detail in rows)
