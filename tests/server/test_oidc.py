"""Single sign-on against a real OpenID Connect provider (tests/oidc_provider.py, served over
HTTP by the test): the code flow, the ID token's checks, users made just in time, roles and
teams from groups at every sign-on, refusals, local passwords switched off, the audit log
and the DPIA draft."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.app import create_app
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.orgs.models import Role, Team, User, team_supervisors
from deskwatch.server.settings import Settings
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider, Person
from tests.server.conftest import PASSWORD, Clock, Org
from tests.server.helpers import enrol

CALLBACK = "http://testserver/login/sso/callback"
ROLES = {
    "dw-admins": "admin",
    "dw-supervisors": "supervisor",
    "dw-privacy": "privacy_officer",
    "dw-agents": "agent",
}
TEAMS = {"dw-team-alpha": "Alpha", "dw-team-bravo": "Bravo"}


@pytest.fixture
def idp() -> Iterator[OidcProvider]:
    people = [
        Person("ann", ["dw-agents", "dw-team-alpha"], name="Ann Agent"),
        Person("sue", ["dw-supervisors", "dw-team-alpha", "dw-team-bravo"], name="Sue Sup"),
        Person("olga", ["staff"], name="Olga Outsider"),
        Person("pia", ["dw-privacy", "staff"], name="Pia Privacy"),
        Person("admin", ["dw-admins"]),
    ]
    provider = OidcProvider(people, redirect_uris=[CALLBACK]).start()
    yield provider
    provider.stop()


def sso_settings(base: Settings, idp: OidcProvider, **more: Any) -> Settings:
    return base.model_copy(
        update={
            "oidc_issuer": idp.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_provider_name": "Test IdP",
            "oidc_roles": ROLES,
            "oidc_teams": TEAMS,
            **more,
        }
    )


def client_for(db: sessionmaker[Session], clock: Clock, settings: Settings) -> TestClient:
    return TestClient(create_app(settings, sessions=db, clock=clock))


@pytest.fixture
def sso(
    db: sessionmaker[Session], clock: Clock, settings: Settings, idp: OidcProvider, org: Org
) -> Iterator[TestClient]:
    with client_for(db, clock, sso_settings(settings, idp)) as client:
        yield client


def to_provider(client: TestClient, next: str = "") -> str:
    """/login/sso: the provider's authorization URL it redirects to."""
    reply = client.get("/login/sso", params={"next": next} if next else {}, follow_redirects=False)
    assert reply.status_code == 302, reply.text
    return str(reply.headers["location"])


def sign_in_at_provider(url: str, username: str) -> str:
    """Type ``username`` into the provider's form: the callback URL it sends back to."""
    form = httpx.get(url)
    assert form.status_code == 200, form.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.text))
    reply = httpx.post(url.split("?")[0], data={**fields, "username": username})
    assert reply.status_code == 302, reply.text
    return reply.headers["location"]


def callback(client: TestClient, url: str) -> httpx.Response:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    reply: httpx.Response = client.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    return reply


def sign_on(client: TestClient, username: str, next: str = "") -> httpx.Response:
    return callback(client, sign_in_at_provider(to_provider(client, next), username))


def reason(reply: httpx.Response) -> str:
    """The words of a refused sign-on's page."""
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', reply.text, re.S)
    return html.unescape(found.group(1)) if found else ""


def me(client: TestClient) -> dict[str, Any]:
    reply = client.get("/api/v1/auth/me")
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()
    return data


def user_named(db: sessionmaker[Session], username: str) -> User:
    with db() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        return user


def actions(db: sessionmaker[Session], subject: str) -> list[tuple[str, Any]]:
    with db() as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.subject == subject)
            .order_by(AuditEntry.id)
        )
        return [(a, d) for a, d in rows]


def supervised(db: sessionmaker[Session], user_id: int) -> set[str]:
    with db() as s:
        rows = s.scalars(
            select(Team.name)
            .join(team_supervisors, team_supervisors.c.team_id == Team.id)
            .where(team_supervisors.c.user_id == user_id)
        )
        return set(rows)


def test_the_login_page_offers_the_provider_only_when_set_up(
    app_client: TestClient, sso: TestClient
) -> None:
    assert "Sign in with" not in app_client.get("/login").text
    assert app_client.get("/login/sso", follow_redirects=False).status_code == 404
    page = sso.get("/login", params={"next": "/teams/1"}).text
    assert "Sign in with Test IdP" in page
    assert 'href="/login/sso?next=/teams/1"' in page
    assert 'name="password"' in page  # local passwords stay, by default


def test_the_authorization_request_uses_pkce_state_and_nonce(sso: TestClient) -> None:
    query = parse_qs(urlsplit(to_provider(sso)).query)
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["code_challenge_method"] == ["S256"]
    assert query["state"][0] and query["nonce"][0] and query["code_challenge"][0]
    assert "openid" in query["scope"][0].split()


def test_an_agent_is_made_just_in_time_and_lands_on_the_page_asked_for(
    sso: TestClient, db: sessionmaker[Session], org: Org, idp: OidcProvider
) -> None:
    reply = sign_on(sso, "ann", next="/account")
    assert reply.status_code == 200, reply.text
    assert 'content="0;url=/account"' in reply.text  # moves on from a same-site page
    mine = me(sso)
    assert (mine["username"], mine["display_name"], mine["role"]) == ("ann", "Ann Agent", "agent")
    assert mine["team_id"] == org.team_a.id
    ann = user_named(db, "ann")
    assert (ann.oidc_issuer, ann.oidc_subject) == (idp.issuer, idp.people["ann"].sub)
    logged = actions(db, f"user:{ann.id}")
    assert [a for a, _ in logged] == ["user:created_by_sso", "user:changed_by_sso", "login"]
    assert logged[0][1] == {"issuer": idp.issuer, "role": "agent"}
    assert logged[1][1]["team_id"] == [None, org.team_a.id]
    assert logged[2][1] == {"via": "sso", "issuer": "127.0.0.1"}


def test_without_next_each_role_lands_on_its_home(
    sso: TestClient, db: sessionmaker[Session]
) -> None:
    assert 'content="0;url=/"' in sign_on(sso, "sue").text
    assert user_named(db, "sue").role == Role.SUPERVISOR
    sso.cookies.clear()
    assert 'content="0;url=/privacy"' in sign_on(sso, "pia").text
    assert user_named(db, "pia").role == Role.PRIVACY_OFFICER


def test_a_local_account_of_the_same_name_is_not_taken_over(
    sso: TestClient, db: sessionmaker[Session], org: Org
) -> None:
    reply = sign_on(sso, "admin")
    assert reply.status_code == 403
    assert "A deskwatch account named admin exists already" in reply.text
    assert user_named(db, "admin").oidc_subject is None


def test_linking_a_local_account_when_the_admin_allows_it(
    db: sessionmaker[Session], clock: Clock, settings: Settings, idp: OidcProvider, org: Org
) -> None:
    with client_for(db, clock, sso_settings(settings, idp, oidc_link_existing=True)) as client:
        assert sign_on(client, "admin").status_code == 200
        assert me(client)["id"] == org.admin.id
    assert user_named(db, "admin").oidc_subject == idp.people["admin"].sub


def test_a_supervisor_supervises_the_teams_of_their_groups_and_follows_changes(
    sso: TestClient, db: sessionmaker[Session], idp: OidcProvider
) -> None:
    assert sign_on(sso, "sue").status_code == 200
    sue = user_named(db, "sue")
    assert sue.role == Role.SUPERVISOR
    assert supervised(db, sue.id) == {"Alpha", "Bravo"}
    idp.people["sue"].groups = ["dw-supervisors", "dw-team-bravo"]
    sso.cookies.clear()
    assert sign_on(sso, "sue").status_code == 200
    assert supervised(db, sue.id) == {"Bravo"}
    changed = [d for a, d in actions(db, f"user:{sue.id}") if a == "user:changed_by_sso"]
    assert changed[-1]["supervises"] == [
        sorted(supervised_ids(db, ["Alpha", "Bravo"])),
        supervised_ids(db, ["Bravo"]),
    ]
    idp.people["sue"].groups = ["dw-agents", "dw-team-alpha"]  # moved to the floor
    sso.cookies.clear()
    assert sign_on(sso, "sue").status_code == 200
    assert me(sso)["role"] == "agent"
    assert supervised(db, sue.id) == set()
    changed = [d for a, d in actions(db, f"user:{sue.id}") if a == "user:changed_by_sso"]
    assert changed[-1]["role"] == ["supervisor", "agent"]


def supervised_ids(db: sessionmaker[Session], names: list[str]) -> list[int]:
    with db() as s:
        return sorted(s.scalars(select(Team.id).where(Team.name.in_(names))))


def test_an_agent_moved_to_another_team_by_their_groups(
    sso: TestClient, db: sessionmaker[Session], idp: OidcProvider, org: Org
) -> None:
    sign_on(sso, "ann")
    idp.people["ann"].groups = ["dw-agents", "dw-team-bravo"]
    sso.cookies.clear()
    sign_on(sso, "ann")
    assert me(sso)["team_id"] == org.team_b.id
    ann = user_named(db, "ann")
    changed = [d for a, d in actions(db, f"user:{ann.id}") if a == "user:changed_by_sso"]
    assert changed[-1]["team_id"] == [org.team_a.id, org.team_b.id]


def test_an_agent_who_stops_being_one_by_their_groups_loses_their_devices(
    sso: TestClient, db: sessionmaker[Session], idp: OidcProvider, clock: Clock
) -> None:
    sign_on(sso, "ann")
    device = enrol(sso, user_named(db, "ann").id)
    at = {"status": "at_desk", "sent_at": clock().isoformat()}
    assert device.post("/api/v1/heartbeat", json=at).status_code == 200
    idp.people["ann"].groups = ["dw-supervisors"]
    sso.cookies.clear()
    sign_on(sso, "ann")
    assert me(sso)["role"] == "supervisor"
    refused = device.post("/api/v1/heartbeat", json=at)
    assert (refused.status_code, refused.json()["detail"]) == (403, "device token revoked")


def test_groups_with_no_role_are_refused_in_words(
    sso: TestClient, db: sessionmaker[Session]
) -> None:
    reply = sign_on(sso, "olga")
    assert reply.status_code == 403
    assert "in no group that has a role in deskwatch" in reply.text
    assert sso.get("/api/v1/auth/me").status_code == 401
    with db() as s:
        assert s.scalar(select(User).where(User.username == "olga")) is None
    refused = actions(db, "sso")
    assert refused[-1][0] == "auth:sso_refused"
    assert "no group" in refused[-1][1]["reason"]


def test_a_switched_off_user_is_refused(sso: TestClient, db: sessionmaker[Session]) -> None:
    sign_on(sso, "ann")
    with db() as s:
        ann = s.scalar(select(User).where(User.username == "ann"))
        assert ann is not None
        ann.active = False
        s.commit()
    sso.cookies.clear()
    reply = sign_on(sso, "ann")
    assert reply.status_code == 403
    assert "switched off" in reply.text


def test_a_callback_with_another_state_is_refused(sso: TestClient) -> None:
    url = sign_in_at_provider(to_provider(sso), "ann")
    forged = re.sub(r"state=[^&]+", "state=someone-elses", url)
    reply = callback(sso, forged)
    assert reply.status_code == 403
    assert "does not belong to this browser" in reply.text
    assert sso.get("/api/v1/auth/me").status_code == 401


def test_a_callback_in_another_browser_is_refused(
    sso: TestClient, db: sessionmaker[Session]
) -> None:
    url = sign_in_at_provider(to_provider(sso), "ann")
    other = TestClient(sso.app)
    reply = callback(other, url)
    assert reply.status_code == 403
    assert "in another browser" in reply.text


@pytest.mark.parametrize(
    ("forge", "words"),
    [
        ({"nonce": "not-the-one-sent"}, "nonce"),
        ({"aud": "another-client", "azp": CLIENT_ID}, "aud"),
        ({"iss": "http://evil.example"}, "iss"),
    ],
)
def test_an_id_token_with_forged_claims_is_refused(
    sso: TestClient, idp: OidcProvider, forge: dict[str, Any], words: str
) -> None:
    idp.tweak = lambda claims: {**claims, **forge}
    reply = sign_on(sso, "ann")
    assert reply.status_code == 403
    assert "not valid" in reason(reply) and words in reason(reply), reason(reply)
    assert sso.get("/api/v1/auth/me").status_code == 401


def test_an_id_token_signed_with_another_key_is_refused(sso: TestClient, idp: OidcProvider) -> None:
    idp.sign_with_rogue_key = True
    reply = sign_on(sso, "ann")
    assert reply.status_code == 403
    assert "not valid" in reply.text
    assert sso.get("/api/v1/auth/me").status_code == 401


def test_a_code_is_used_once(sso: TestClient) -> None:
    url = sign_in_at_provider(to_provider(sso), "ann")
    code = parse_qs(urlsplit(url).query)["code"][0]
    assert callback(sso, url).status_code == 200
    again = sign_in_at_provider(to_provider(sso), "ann")  # a fresh state, the old code
    replay = re.sub(r"code=[^&]+", f"code={code}", again)
    assert callback(sso, replay).status_code == 403


def test_logout_ends_the_session_and_the_providers(sso: TestClient, idp: OidcProvider) -> None:
    sign_on(sso, "ann")
    csrf = me(sso)["csrf_token"]
    reply = sso.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert reply.status_code == 303
    end = reply.headers["location"]
    assert end.startswith(f"{idp.issuer}/logout?")
    query = parse_qs(urlsplit(end).query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/login"]
    assert query["id_token_hint"][0].count(".") == 2
    assert query["client_id"] == [CLIENT_ID]
    assert sso.get("/api/v1/auth/me").status_code == 401
    back = httpx.get(end, follow_redirects=False)
    assert back.headers["location"] == "http://testserver/login"
    assert idp.ended and idp.ended[-1]["id_token_hint"] == query["id_token_hint"][0]


def test_a_local_users_logout_stays_at_deskwatch(sso: TestClient) -> None:
    reply = sso.post("/api/v1/auth/login", json={"username": "sup_a", "password": PASSWORD})
    assert reply.status_code == 200
    out = sso.post(
        "/logout", data={"csrf_token": reply.json()["csrf_token"]}, follow_redirects=False
    )
    assert out.headers["location"] == "/login"


def test_local_login_off_refuses_passwords_on_web_and_api(
    db: sessionmaker[Session], clock: Clock, settings: Settings, idp: OidcProvider, org: Org
) -> None:
    with client_for(db, clock, sso_settings(settings, idp, local_login=False)) as client:
        page = client.get("/login").text
        assert "Sign in with Test IdP" in page
        assert 'name="password"' not in page
        csrf = re.search(r'name="csrf_token" value="([^"]*)"', page)
        token = csrf.group(1) if csrf else ""
        web = client.post(
            "/login", data={"csrf_token": token, "username": "admin", "password": PASSWORD}
        )
        assert web.status_code in (403, 400)
        api = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
        assert api.status_code == 403
        assert api.json()["detail"] == "Password login is switched off here: sign in with Test IdP."
        assert client.get("/api/v1/auth/me").status_code == 401
        assert sign_on(client, "ann").status_code == 200  # single sign-on still works


def test_settings_refuse_half_a_setup(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs oidc_client_id"):
        Settings(secret_key="k", oidc_issuer="https://idp.example")
    with pytest.raises(ValueError, match="needs oidc_roles"):
        Settings(secret_key="k", oidc_issuer="https://idp.example", oidc_client_id="c")
    with pytest.raises(ValueError, match="local_login off needs single sign-on"):
        Settings(secret_key="k", local_login=False)


def test_the_dpia_draft_names_the_identity_provider(
    sso: TestClient, app_client: TestClient
) -> None:
    from tests.server.conftest import login

    def draft(client: TestClient) -> str:
        login(client, "privacy")
        reply = client.get("/privacy/dpia.md")
        assert reply.status_code == 200, reply.text
        return str(reply.text)

    assert "identity provider" not in draft(app_client)
    assert "The identity provider (127.0.0.1, single sign-on, on)" in draft(sso)
