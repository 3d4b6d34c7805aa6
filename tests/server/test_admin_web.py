"""The admin page: display names, password resets, team names (unique per site), supervisors
of existing teams, the policy editor (defaults, diff preview, history), and its API twins.
Every form posts, redirects and says how it went (post/redirect/get)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.config import Policy, load_policy_text
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.policies import service as policies
from tests.server.conftest import PASSWORD, Org, login
from tests.server.helpers import flashed


def _web(app_client: TestClient, username: str) -> tuple[TestClient, str]:
    client = login(TestClient(app_client.app, follow_redirects=False), username)
    return client, client.headers["x-csrf-token"]


def _errors(client: TestClient, reply: object) -> list[str]:
    assert getattr(reply, "status_code", None) == 303
    shown = client.get(reply.headers["location"]).text  # type: ignore[attr-defined]
    return re.findall(r'<p class="flash error">([^<]*)</p>', shown)


def _actions(db: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with db() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_a_display_name_is_set_at_creation_and_changed_later(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin, csrf = _web(app_client, "admin")
    form = {"username": "carla", "password": "x" * 12, "role": "agent", "csrf_token": csrf}
    reply = admin.post("/admin/users", data={**form, "display_name": "Carla Diaz"})
    assert flashed(admin, reply) == "User carla added."
    with db() as s:
        carla = s.scalars(select(User).where(User.username == "carla")).one()
    assert carla.display_name == "Carla Diaz"
    change = {"role": "agent", "active": "true", "display_name": "Carla D.", "csrf_token": csrf}
    reply = admin.post(f"/admin/users/{carla.id}", data=change)
    assert flashed(admin, reply) == "User changed: display name."
    with db() as s:
        assert s.get(User, carla.id).display_name == "Carla D."  # type: ignore[union-attr]
    assert [e.detail for e in _actions(db, "user:renamed")] == [
        {"display_name": ["Carla Diaz", "Carla D."]}
    ]
    page = admin.get("/admin").text
    assert 'maxlength="200"' in page and 'id="name-' in page


def test_an_admin_resets_a_password_and_every_session_of_the_user_ends(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    agent = login(TestClient(app_client.app), "agent_a1")
    assert agent.get("/api/v1/auth/me").status_code == 200
    admin, csrf = _web(app_client, "admin")
    short = {"user_id": str(org.agent_a1.id), "password": "short", "csrf_token": csrf}
    assert admin.post("/admin/passwords", data=short).status_code == 422
    form = {**short, "password": "a brand new secret"}
    reply = admin.post("/admin/passwords", data=form)
    assert flashed(admin, reply) == "New password set for agent_a1; 1 session(s) ended."
    assert agent.get("/api/v1/auth/me").status_code == 401
    old = {"username": "agent_a1", "password": PASSWORD}
    assert app_client.post("/api/v1/auth/login", json=old).status_code == 401
    new = {"username": "agent_a1", "password": "a brand new secret"}
    assert app_client.post("/api/v1/auth/login", json=new).status_code == 200
    (entry,) = _actions(db, "auth:password_reset")
    assert entry.actor_id == org.admin.id and entry.subject == f"user:{org.agent_a1.id}"
    assert entry.detail == {"sessions_ended": 1}


def test_team_names_are_unique_and_a_duplicate_is_a_red_message_not_a_500(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin, csrf = _web(app_client, "admin")
    reply = admin.post("/admin/teams", data={"name": "Alpha", "csrf_token": csrf})
    assert _errors(admin, reply) == ["Team not added: a team named Alpha already exists"]
    reply = admin.post("/admin/teams", data={"name": " alpha ", "csrf_token": csrf})
    assert _errors(admin, reply) == ["Team not added: a team named alpha already exists"]
    rename = {"name": "Bravo", "csrf_token": csrf}
    reply = admin.post(f"/admin/teams/{org.team_a.id}/name", data=rename)
    assert _errors(admin, reply) == ["Team not renamed: a team named Bravo already exists"]
    reply = admin.post(f"/admin/teams/{org.team_a.id}/name", data={**rename, "name": "Apex"})
    assert flashed(admin, reply) == "Team Alpha renamed Apex."
    with db() as s:
        names = sorted(s.scalars(select(Team.name)))
    assert names == ["Apex", "Bravo"]
    (entry,) = _actions(db, "team:renamed")
    assert entry.detail == {"name": ["Alpha", "Apex"]} and entry.subject == f"team:{org.team_a.id}"


def test_the_database_refuses_a_second_team_of_the_same_name(
    org: Org, db: sessionmaker[Session]
) -> None:
    with db() as s, pytest.raises(IntegrityError):
        s.add(Team(site_id=org.team_a.site_id, name="Alpha"))
        s.flush()


def test_a_supervisor_assigned_to_an_existing_team_sees_it_on_the_board(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    sup = login(TestClient(app_client.app), "sup_b")
    before = {r["agent_id"] for r in sup.get("/api/v1/board").json()}
    assert before == {org.agent_b1.id}
    assert sup.get(f"/teams/{org.team_a.id}/report").status_code == 404
    admin, csrf = _web(app_client, "admin")
    form = {"supervisor_id": str(org.sup_b.id), "csrf_token": csrf}
    reply = admin.post(f"/admin/teams/{org.team_a.id}/supervisors", data=form)
    assert flashed(admin, reply) == "Sup_B supervises Alpha."
    after = {r["agent_id"] for r in sup.get("/api/v1/board").json()}
    assert after == {org.agent_a1.id, org.agent_a2.id, org.agent_b1.id}
    assert f'data-agent="{org.agent_a1.id}"' in sup.get("/").text
    assert sup.get(f"/teams/{org.team_a.id}/report").status_code == 200
    # Alpha keeps its first supervisor: a team may have several.
    alpha = {
        r["agent_id"]
        for r in login(TestClient(app_client.app), "sup_a").get("/api/v1/board").json()
    }
    assert alpha == {org.agent_a1.id, org.agent_a2.id}
    not_sup = {"supervisor_id": str(org.agent_b1.id), "csrf_token": csrf}
    reply = admin.post(f"/admin/teams/{org.team_a.id}/supervisors", data=not_sup)
    assert _errors(admin, reply) == [f"Supervisors not changed: no supervisor {org.agent_b1.id}"]
    path = f"/admin/teams/{org.team_a.id}/supervisors/{org.sup_b.id}/remove"
    reply = admin.post(path, data={"csrf_token": csrf})
    assert flashed(admin, reply) == "Sup_B no longer supervises Alpha."
    assert {r["agent_id"] for r in sup.get("/api/v1/board").json()} == {org.agent_b1.id}
    added, removed = _actions(db, "team:supervisor_added"), _actions(db, "team:supervisor_removed")
    assert [e.detail for e in added] == [{"supervisor": org.sup_b.id}]
    assert [e.detail for e in removed] == [{"supervisor": org.sup_b.id}]


def test_the_policy_editor_starts_from_the_defaults_previews_a_diff_and_keeps_history(
    app_client: TestClient, org: Org
) -> None:
    admin, csrf = _web(app_client, "admin")
    path = f"/admin/teams/{org.team_a.id}/policy"
    editor = admin.get(path).text
    assert "[rules.away]" in editor and "min_away_s = 30.0" in editor
    assert load_policy_text(policies.default_toml()) == Policy()
    assert "Publish</button>" not in editor  # preview first
    text = policies.default_toml().replace("min_away_s = 30.0", "min_away_s = 60.0")
    preview = admin.post(f"{path}/preview", data={"toml": text, "csrf_token": csrf})
    assert preview.status_code == 200
    assert '<span class="del">-min_away_s = 30.0</span>' in preview.text
    assert '<span class="add">+min_away_s = 60.0</span>' in preview.text
    assert "Publish</button>" in preview.text
    bad = admin.post(
        f"{path}/preview", data={"toml": "[rules.away]\nmin_awy_s = 3\n", "csrf_token": csrf}
    )
    assert re.search(
        r'<p class="flash error">Policy not valid:[^<]*min_awy_s: unknown key', bad.text
    )
    assert "min_awy_s = 3" in bad.text and "Publish</button>" not in bad.text
    refused = admin.post(path, data={"toml": "[rules.away]\nmin_awy_s = 3\n", "csrf_token": csrf})
    assert (
        'class="flash error">Policy not published' in refused.text
        and "min_awy_s = 3" in refused.text
    )
    reply = admin.post(path, data={"toml": text, "csrf_token": csrf})
    assert flashed(admin, reply) == "Policy version 2 published for Alpha."
    page = admin.get(path).text
    assert "min_away_s = 60.0" in page and "version 2 in force" in page
    assert 'id="defaults"' in page and "min_away_s = 30.0" in page  # the defaults, shown apart
    assert re.search(r"<td>2</td><td>Admin</td><td>2026-11-02 09:00</td>", page)
    shown = admin.get(f"{path}?version=2").text
    assert "Version 2, by Admin" in shown
    assert admin.get(f"{path}?version=7").status_code == 404
    assert admin.get("/admin/teams/999999/policy").status_code == 404


def test_admin_forms_need_an_admin_and_csrf(app_client: TestClient, org: Org) -> None:
    sup, csrf = _web(app_client, "sup_a")
    for path, form in (
        (f"/admin/teams/{org.team_b.id}/supervisors", {"supervisor_id": str(org.sup_a.id)}),
        (f"/admin/teams/{org.team_b.id}/name", {"name": "Mine"}),
        ("/admin/passwords", {"user_id": str(org.admin.id), "password": "x" * 12}),
    ):
        assert sup.post(path, data={**form, "csrf_token": csrf}).status_code == 403
        admin, _ = _web(app_client, "admin")
        assert admin.post(path, data=form).status_code == 403  # no CSRF token


def test_the_api_renames_teams_and_sets_supervisors_for_admins_only(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin = login(TestClient(app_client.app), "admin")
    team = f"/api/v1/admin/teams/{org.team_a.id}"
    assert admin.patch(team, json={"name": "Bravo"}).status_code == 400
    assert admin.patch(team, json={"name": ""}).status_code == 422
    renamed = admin.patch(team, json={"name": "Apex"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Apex"
    added = admin.put(f"{team}/supervisors/{org.sup_b.id}")
    assert added.json() == {
        "team_id": org.team_a.id,
        "supervisor_ids": sorted([org.sup_a.id, org.sup_b.id]),
        "changed": True,
    }
    assert admin.put(f"{team}/supervisors/{org.sup_b.id}").json()["changed"] is False
    assert admin.put(f"{team}/supervisors/{org.agent_a1.id}").status_code == 404
    gone = admin.delete(f"{team}/supervisors/{org.sup_a.id}")
    assert gone.json()["supervisor_ids"] == [org.sup_b.id]
    sup = login(TestClient(app_client.app), "sup_b")
    assert sup.patch(team, json={"name": "Mine"}).status_code == 403
    assert sup.put(f"{team}/supervisors/{org.sup_b.id}").status_code == 403
    reset = admin.post(f"/api/v1/admin/users/{org.sup_b.id}/password", json={"password": "y" * 12})
    assert reset.status_code == 200 and reset.json() == {"sessions_ended": 1}
    assert sup.get("/api/v1/auth/me").status_code == 401
    named = admin.patch(f"/api/v1/admin/users/{org.agent_a1.id}", json={"display_name": "Ann"})
    assert named.status_code == 200 and named.json()["user"]["display_name"] == "Ann"
    assert len(_actions(db, "auth:password_reset")) == 1


class _Fields(HTMLParser):
    """Every visible form field's id, and every label's ``for``."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, dict[str, str | None]]] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        if tag == "label" and given.get("for"):
            self.labelled.add(str(given["for"]))
        elif tag in ("input", "select", "textarea") and given.get("type") != "hidden":
            self.fields.append((tag, given))


def test_every_admin_field_has_a_label_and_the_apis_limits(
    app_client: TestClient, org: Org
) -> None:
    admin, _ = _web(app_client, "admin")
    for path in ("/admin", f"/admin/teams/{org.team_a.id}/policy"):
        fields = _Fields()
        fields.feed(admin.get(path).text)
        assert fields.fields
        for tag, attrs in fields.fields:
            assert attrs.get("id") in fields.labelled, (path, tag, attrs)
            if tag == "textarea" or (tag == "input" and attrs.get("type") != "checkbox"):
                assert attrs.get("maxlength"), (path, attrs)
