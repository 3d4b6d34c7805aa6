"""Web pages answer people: HTML error pages, flash messages from the session, the page
asked for after login, times in each user's zone, Swagger UI from vendored files."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from tests.server.conftest import PASSWORD, Clock, Org, login
from tests.server.helpers import enrol, event, flashed


def _web(client: TestClient, username: str) -> TestClient:
    web = TestClient(client.app, follow_redirects=False)
    return login(web, username)


def _is_error_page(reply: object, code: int, *words: str) -> None:
    assert getattr(reply, "status_code", None) == code
    text = reply.text  # type: ignore[attr-defined]
    assert reply.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    assert 'id="problem"' in text and "{&#34;detail" not in text and '{"detail"' not in text
    for word in words:
        assert word in text, (word, text)


def test_errors_a_person_can_reach_are_pages_that_say_what_to_do(
    app_client: TestClient, org: Org
) -> None:
    agent = _web(app_client, "agent_a1")
    _is_error_page(agent.get("/reviews"), 403, "Not allowed", "Ask an administrator")
    sup = _web(app_client, "sup_a")
    _is_error_page(sup.get("/agents/999"), 404, "Not found")
    _is_error_page(
        sup.get(f"/teams/{org.team_a.id}/report?day=2026-13-45"), 422, "Please check", "date:"
    )
    _is_error_page(sup.get("/nothing-here"), 404, "Not found")
    admin = _web(app_client, "admin")
    form = {
        "csrf_token": admin.headers["x-csrf-token"],
        "username": "u" * 101,
        "password": "long enough password",
        "role": "agent",
    }
    _is_error_page(admin.post("/admin/users", data=form), 422, "username: string should have")
    # The API keeps its JSON answers.
    assert agent.get("/api/v1/reviews").json() == {"detail": "not allowed for your role"}


def test_a_signed_in_error_page_keeps_the_sites_header(app_client: TestClient, org: Org) -> None:
    reply = _web(app_client, "agent_a1").get("/reviews")
    assert "Log out" in reply.text and f'href="/agents/{org.agent_a1.id}"' in reply.text


def test_a_message_in_the_url_is_never_shown_as_a_notice(app_client: TestClient, org: Org) -> None:
    agent = _web(app_client, "agent_a1")
    page = agent.get("/me?msg=Your+contract+has+ended")
    assert page.status_code == 200 and "Your contract has ended" not in page.text


def test_a_forms_outcome_is_flashed_once_and_errors_are_marked(
    app_client: TestClient, org: Org
) -> None:
    agent = _web(app_client, "agent_a1")
    token = agent.headers["x-csrf-token"]
    form = {"csrf_token": token, "kind": "erasure", "body": "all of it"}
    sent = agent.post("/me/requests", data=form)
    assert sent.headers["location"] == "/me"  # nothing in the URL
    assert flashed(agent, sent) == "Request sent to the privacy officer."
    assert "flash" not in agent.get("/me").text  # shown once
    refused = agent.post("/me/requests", data={"csrf_token": token, "kind": "x", "body": "b"})
    assert refused.headers["location"] == "/me"
    page = agent.get("/me").text
    assert 'class="flash error"' in page and "Not sent" in page and "pydantic" not in page


def test_after_login_you_land_on_the_page_you_asked_for(app_client: TestClient, org: Org) -> None:
    browser = TestClient(app_client.app, follow_redirects=False)
    asked = f"/teams/{org.team_a.id}/report?day=2026-11-02"
    sent = browser.get(asked)
    assert sent.status_code == 303
    login_url = sent.headers["location"]
    assert login_url.startswith("/login?next=")
    form = browser.get(login_url).text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]
    nxt = form.split('name="next" value="')[1].split('"')[0]
    assert nxt.replace("&amp;", "&") == asked
    data = {"csrf_token": token, "username": "sup_a", "password": PASSWORD, "next": asked}
    landed = browser.post("/login", data=data)
    assert landed.status_code == 303 and landed.headers["location"] == asked


def test_login_never_sends_you_to_another_site(app_client: TestClient, org: Org) -> None:
    for evil in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        browser = TestClient(app_client.app, follow_redirects=False)
        form = browser.get("/login").text
        token = form.split('name="csrf_token" value="')[1].split('"')[0]
        data = {"csrf_token": token, "username": "sup_a", "password": PASSWORD, "next": evil}
        landed = browser.post("/login", data=data)
        assert landed.headers["location"] == "/", evil


def test_times_follow_the_browser_zone_until_the_user_chooses_one(
    app_client: TestClient, org: Org, clock: Clock
) -> None:
    device = enrol(app_client, org.agent_a1.id)
    at = datetime(2026, 11, 2, 9, 30, 5, tzinfo=UTC)
    clock.now = at
    assert device.post("/api/v1/events", json={"events": [event("away", at)]}).json()["new"] == 1
    sup = _web(app_client, "sup_a")
    url = f"/agents/{org.agent_a1.id}?day=2026-11-02"
    assert "09:30:05" in sup.get(url).text and "Times are in UTC" in sup.get(url).text
    sup.cookies.set("deskwatch_tz", "Asia%2FTokyo")  # as tz.js writes it
    page = sup.get(url).text
    assert "18:30:05" in page and "Times are in Asia/Tokyo" in page
    token = sup.headers["x-csrf-token"]
    bad = sup.post("/account/time-zone", data={"csrf_token": token, "time_zone": "Mars/Base"})
    assert "is not a time zone" in flashed(sup, bad)
    chosen = {"csrf_token": token, "time_zone": "America/New_York"}
    assert "America/New_York" in flashed(sup, sup.post("/account/time-zone", data=chosen))
    page = sup.get(url).text  # the choice wins over the browser's zone
    assert "04:30:05" in page and "Times are in America/New_York" in page


def test_api_docs_load_swagger_ui_from_the_site_itself(app_client: TestClient) -> None:
    page = app_client.get("/api/docs").text
    scripts = [s.split('"')[0] for s in page.split('src="')[1:]]
    styles = [s.split('"')[0] for s in page.split('href="')[1:]]
    assert scripts and styles
    for path in [*scripts, *styles]:
        assert path.startswith("/static/"), path  # nothing from another site
        assert app_client.get(path).status_code == 200, path
    assert "<script>" not in page  # the CSP forbids inline scripts


def test_a_value_out_of_range_is_explained_without_pydantic_text(
    app_client: TestClient, org: Org
) -> None:
    admin = _web(app_client, "admin")
    form = {
        "csrf_token": admin.headers["x-csrf-token"],
        "purpose": "Protect card data from cameras",
        "legal_basis": "contract",
        "retention_days": "0",
    }
    reply = admin.post(f"/teams/{org.team_a.id}/categories/security", data=form)
    _is_error_page(reply, 422, "retention days: input should be greater than or equal to 1")
    assert "pydantic" not in reply.text and "errors.pydantic.dev" not in reply.text
    form |= {"retention_days": "30", "purpose": "short"}  # refused by the schema, not the form
    said = flashed(admin, admin.post(f"/teams/{org.team_a.id}/categories/security", data=form))
    assert said.startswith("Not saved: purpose:") and "pydantic" not in said
