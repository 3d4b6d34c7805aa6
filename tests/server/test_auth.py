"""Logins and sessions: server-side sessions that end at logout, switch-off, a new password
and after timeouts, rotated at login and on a change of role; throttling by source with
growing delays (never locking the owner out from elsewhere); the same work for unknown
usernames."""

from __future__ import annotations

import statistics
import time

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.auth.models import LoginSession, LoginThrottle
from deskwatch.server.auth.service import FAILED, FREE_PER_ACCOUNT, FREE_PER_ADDRESS, delay_s
from deskwatch.server.scheduled import purge_once
from deskwatch.server.settings import Settings
from tests.server.conftest import PASSWORD, Clock, Org, login

COOKIE = "deskwatch_session"


def _login(client: TestClient, username: str, password: str) -> int:
    body = {"username": username, "password": password}
    return int(client.post("/api/v1/auth/login", json=body).status_code)


def _from(client: TestClient, address: str) -> TestClient:
    return TestClient(client.app, client=(address, 50000))


def _copy(client: TestClient) -> TestClient:
    """Another browser holding a copy of ``client``'s cookie (and CSRF header)."""
    copy = TestClient(client.app, cookies={COOKIE: client.cookies[COOKIE]})
    copy.headers.update(client.headers)
    return copy


def _me(client: TestClient) -> int:
    return int(client.get("/api/v1/auth/me").status_code)


def _sessions(db: sessionmaker[Session], user_id: int) -> int:
    with db() as s:
        query = select(func.count(LoginSession.id)).where(LoginSession.user_id == user_id)
        return int(s.scalar(query) or 0)


def test_a_copied_cookie_stops_working_after_logout(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    client = login(_from(app_client, "10.0.0.1"), "agent_a1")
    copy = _copy(client)
    assert _me(copy) == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert _me(copy) == 401 and _me(client) == 401
    assert _sessions(db, org.agent_a1.id) == 0

    web = _from(app_client, "10.0.0.2")
    csrf = web.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"username": "sup_a", "password": PASSWORD, "csrf_token": csrf}
    assert web.post("/login", data=form, follow_redirects=False).status_code == 303
    copy = _copy(web)
    assert copy.get("/", follow_redirects=False).status_code == 200
    page = web.get("/").text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert web.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    reply = copy.get("/", follow_redirects=False)
    assert reply.status_code == 303 and reply.headers["location"] == "/login"


def test_the_cookie_holds_no_user_id_and_the_table_no_token(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    client = login(_from(app_client, "10.0.0.1"), "agent_a1")
    cookie = client.cookies[COOKIE]
    with db() as s:
        row = s.scalars(select(LoginSession).where(LoginSession.user_id == org.agent_a1.id)).one()
    assert row.token_hash not in cookie and client.headers["x-csrf-token"] != row.csrf_hash


def test_switching_a_user_off_ends_their_sessions_for_good(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    agent = login(_from(app_client, "10.0.0.1"), "agent_a1")
    copy = _copy(agent)
    admin = login(_from(app_client, "10.0.0.9"), "admin")
    url = f"/api/v1/admin/users/{org.agent_a1.id}"
    assert admin.patch(url, json={"active": False}).status_code == 200
    assert _sessions(db, org.agent_a1.id) == 0
    assert admin.patch(url, json={"active": True}).status_code == 200
    assert _me(agent) == 401 and _me(copy) == 401  # back on: the old sessions stay ended
    assert _login(agent, "agent_a1", PASSWORD) == 200


def test_a_new_password_ends_every_session_but_the_one_that_set_it(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    here = login(_from(app_client, "10.0.0.1"), "agent_a1")
    elsewhere = login(_from(app_client, "10.0.0.2"), "agent_a1")
    old_cookie = _copy(here)
    body = {"current_password": "wrong", "new_password": "a much newer password"}
    assert here.post("/api/v1/auth/password", json=body).status_code == 400
    body["current_password"] = PASSWORD
    reply = here.post("/api/v1/auth/password", json=body)
    assert reply.status_code == 200, reply.text
    here.headers["x-csrf-token"] = reply.json()["csrf_token"]
    assert _me(here) == 200  # under a new token
    assert _me(elsewhere) == 401 and _me(old_cookie) == 401
    assert _sessions(db, org.agent_a1.id) == 1
    assert _login(elsewhere, "agent_a1", PASSWORD) == 401
    assert _login(elsewhere, "agent_a1", "a much newer password") == 200


def test_sessions_end_after_the_idle_and_the_absolute_timeout(
    app_client: TestClient, org: Org, clock: Clock, settings: Settings
) -> None:
    idle, longest = settings.session_idle_s, settings.session_max_s
    client = login(_from(app_client, "10.0.0.1"), "agent_a1")
    clock.advance(idle - 1)
    assert _me(client) == 200  # used in time: the idle clock starts again
    clock.advance(idle - 1)
    assert _me(client) == 200
    clock.advance(idle + 1)
    assert _me(client) == 401

    client = login(_from(app_client, "10.0.0.1"), "agent_a1")
    used = 0.0
    while used + idle / 2 < longest:
        clock.advance(idle / 2)
        used += idle / 2
        assert _me(client) == 200
    clock.advance(longest - used + 1)  # never idle, but past the absolute limit
    assert _me(client) == 401


def test_login_rotates_the_session(app_client: TestClient, org: Org) -> None:
    client = login(_from(app_client, "10.0.0.1"), "agent_a1")
    before = _copy(client)
    login(client, "agent_a1")  # signing in again: a new session, the old one ends
    assert _me(client) == 200 and _me(before) == 401

    web = _from(app_client, "10.0.0.2")
    csrf = web.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    planted = web.cookies[COOKIE]  # a cookie an attacker could have planted before login
    form = {"username": "agent_a2", "password": PASSWORD, "csrf_token": csrf}
    assert web.post("/login", data=form, follow_redirects=False).status_code == 303
    assert web.cookies[COOKIE] != planted
    fixed = TestClient(app_client.app, cookies={COOKIE: planted})
    assert fixed.get(f"/agents/{org.agent_a2.id}", follow_redirects=False).status_code == 303


def test_a_change_of_role_rotates_the_session_token(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    sup = login(_from(app_client, "10.0.0.1"), "sup_a")
    copy = _copy(sup)
    with db() as s:
        old = s.scalars(select(LoginSession.token_hash)).all()
    admin = login(_from(app_client, "10.0.0.9"), "admin")
    reply = admin.patch(f"/api/v1/admin/users/{org.sup_a.id}", json={"role": "agent"})
    assert reply.status_code == 200
    me = sup.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["role"] == "agent"
    with db() as s:
        new = s.scalars(
            select(LoginSession.token_hash).where(LoginSession.user_id == org.sup_a.id)
        ).one()
    assert new not in old
    assert _me(sup) == 200 and _me(copy) == 401  # the token before the change is gone


def test_bad_tries_from_one_address_do_not_keep_the_owner_out_from_another(
    app_client: TestClient, org: Org, clock: Clock, db: sessionmaker[Session]
) -> None:
    stranger, owner = _from(app_client, "203.0.113.7"), _from(app_client, "10.0.0.5")
    replies = [_login(stranger, "admin", f"guess {i}") for i in range(FREE_PER_ACCOUNT + 3)]
    assert replies == [401] * FREE_PER_ACCOUNT + [429] * 3  # throttled tries are not counted
    throttled = stranger.post("/api/v1/auth/login", json={"username": "admin", "password": "x"})
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "1"
    assert _login(stranger, "admin", PASSWORD) == 429  # the right password too, from there
    assert _login(owner, "admin", PASSWORD) == 200  # but the owner signs in from elsewhere
    with db() as s:
        failed = s.scalars(select(AuditEntry.subject).where(AuditEntry.action == FAILED)).all()
    assert failed == [f"user:{org.admin.id}"] * FREE_PER_ACCOUNT

    clock.advance(1)  # the delay passed: one more try, then a longer wait
    assert _login(stranger, "admin", "guess again") == 401
    reply = stranger.post("/api/v1/auth/login", json={"username": "admin", "password": "x"})
    assert reply.status_code == 429 and reply.headers["retry-after"] == "2"
    clock.advance(2)
    assert _login(stranger, "admin", PASSWORD) == 200  # a right password resets the row

    web = _from(app_client, "198.51.100.1")
    for _ in range(FREE_PER_ACCOUNT):
        assert _login(web, "agent_a1", "bad") == 401
    csrf = web.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"username": "agent_a1", "password": PASSWORD, "csrf_token": csrf}
    reply = web.post("/login", data=form, follow_redirects=False)
    assert reply.status_code == 429 and "Too many failed logins" in reply.text


def test_one_address_trying_many_accounts_is_throttled_too(
    app_client: TestClient, org: Org
) -> None:
    sprayer = _from(app_client, "203.0.113.8")
    for i in range(FREE_PER_ADDRESS):
        assert _login(sprayer, f"user{i}", "guess") == 401
    assert _login(sprayer, "agent_a1", PASSWORD) == 429
    assert _login(_from(app_client, "10.0.0.6"), "agent_a1", PASSWORD) == 200


def test_delays_grow_up_to_a_bound() -> None:
    free = FREE_PER_ACCOUNT
    delays = [delay_s(n, free=free) for n in range(free + 12)]
    assert delays[:free] == [0.0] * free
    assert delays[free : free + 4] == [1.0, 2.0, 4.0, 8.0]
    assert max(delays) == delay_s(10**6, free=free) == 15 * 60


def test_unknown_usernames_take_as_long_as_known_ones(app_client: TestClient, org: Org) -> None:
    def median_s(username: str, address: str) -> float:
        client, took = _from(app_client, address), []
        for _ in range(FREE_PER_ACCOUNT - 1):
            start = time.perf_counter()
            assert _login(client, username, "wrong password") == 401
            took.append(time.perf_counter() - start)
        return statistics.median(took)

    known, unknown = median_s("agent_a1", "10.1.0.1"), median_s("nobody-at-all", "10.1.0.2")
    assert 0.5 < known / unknown < 2, (known, unknown)


def test_unknown_usernames_are_never_stored(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    typed = "my-secret-password"  # typed into the username field by mistake
    client = _from(app_client, "10.0.0.3")
    replies = [_login(client, typed, "guess") for _ in range(FREE_PER_ACCOUNT + 1)]
    assert replies == [401] * FREE_PER_ACCOUNT + [429]
    with db() as s:
        rows = s.execute(select(AuditEntry.subject, AuditEntry.detail)).all()
    assert rows and not any(typed in f"{subject} {detail}" for subject, detail in rows)


def test_the_scheduled_purge_forgets_timed_out_sessions_and_old_throttles(
    app_client: TestClient,
    org: Org,
    clock: Clock,
    db: sessionmaker[Session],
    settings: Settings,
) -> None:
    login(_from(app_client, "10.0.0.1"), "agent_a1")
    assert _login(_from(app_client, "10.0.0.2"), "agent_a2", "bad") == 401
    later = clock.advance(settings.session_idle_s + 3600 + 1)
    purge_once(db, now=later, settings=settings)
    with db() as s:
        assert s.scalar(select(func.count(LoginSession.id))) == 0
        assert s.scalar(select(func.count()).select_from(LoginThrottle)) == 0
