"""Real-browser tests: Playwright driving Debian's Chromium against a real server process."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.server.browser_checks import (
    agent,
    code_for,
    enrolled,
    event_body,
    login,
    needs_chromium,
    page,
    send,
    serve,
    staff,
)

__all__ = ["page"]
pytestmark = needs_chromium
PASSWORD = "browser test password"


@dataclass
class Site:
    url: str
    agent_a: int
    agent_b: int
    code_a: str
    more_codes: dict[str, str]  # a further one-time code for each agent, by username


def _seed(s: Session) -> tuple[int, int, str, dict[str, str]]:
    admin, (alpha, bravo) = staff(s, PASSWORD)
    a = agent(s, "anna", "Anna", alpha, PASSWORD)
    b = agent(s, "bob", "Bob", bravo, PASSWORD)
    code = code_for(s, admin, a)
    return a.id, b.id, code, {u.username: code_for(s, admin, u) for u in (a, b)}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("browser"), _seed) as (url, ids):
        yield Site(url, *ids)


def _login(page: Page, site: Site, username: str) -> None:
    login(page, site.url, username, PASSWORD)


def test_live_board_changes_when_a_device_reports(page: Page, site: Site) -> None:
    _login(page, site, "sup")
    tile = page.locator(f'#board .tile[data-agent="{site.agent_a}"]')
    expect(tile).to_have_class(re.compile("s-offline"))
    assert page.locator(f'#board .tile[data-agent="{site.agent_b}"]').count() == 0  # other team
    device = enrolled(site.url, site.code_a)
    beat = {"status": "away", "sent_at": datetime.now(UTC).isoformat()}
    assert device.post("/api/v1/heartbeat", json=beat).status_code == 200
    expect(tile).to_have_class(re.compile("s-away"), timeout=10_000)  # no reload: SSE
    live_since = tile.locator(".since").inner_text()
    page.reload()  # the server's rendering and the live refresh agree (both UTC)
    expect(tile.locator(".since")).to_have_text(live_since)
    event_id = "6f1c1e0e-2b7a-4d2c-9d7e-0a6a8f1e2d3c"
    evidence = {"faces": 0.0}
    send(device, event_body("away", datetime.now(UTC), 45.0, 1.0, evidence, False, event_id))

    # The timeline shows the event; its CSV downloads.
    tile.locator("a").click()
    expect(page.locator("#events")).to_contain_text("away")
    with page.expect_download() as download:
        page.click("#csv")
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.splitlines()[0].startswith("id,agent_id,type")
    assert event_id in csv_text


def test_supervisor_is_refused_another_teams_agent(page: Page, site: Site) -> None:
    _login(page, site, "sup")
    response = page.goto(f"{site.url}/agents/{site.agent_b}")
    assert response is not None and response.status == 404
    assert "Bob" not in page.content()


def test_agent_sees_only_their_own_day(page: Page, site: Site) -> None:
    _login(page, site, "anna")
    expect(page).to_have_url(re.compile(f"/agents/{site.agent_a}$"))
    page.goto(f"{site.url}/")  # no board for agents: back to their own day
    expect(page).to_have_url(re.compile(f"/agents/{site.agent_a}$"))
    response = page.goto(f"{site.url}/admin")
    assert response is not None and response.status == 403


def test_wrong_password_and_logout(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/login")
    page.fill("#username", "sup")
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("Wrong username or password")
    _login(page, site, "sup")
    page.click("text=Log out")
    expect(page).to_have_url(re.compile("/login$"))
    page.goto(f"{site.url}/")
    expect(page).to_have_url(re.compile("/login$"))


def test_admin_policy_editor_validates(page: Page, site: Site) -> None:
    _login(page, site, "admin")
    page.goto(f"{site.url}/admin/teams/1/policy")
    page.fill("#policy-1", "[rules.away]\nmin_awy_s = 3\n")
    page.get_by_role("button", name="Preview changes").click()
    expect(page.locator("#msg .error")).to_contain_text("min_awy_s: unknown key")
    page.fill("#policy-1", "[rules.away]\nmin_away_s = 60\n")
    page.get_by_role("button", name="Preview changes").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#msg")).to_contain_text("Policy version 2 published")


def _move_bob(page: Page, site: Site, team: str) -> None:
    _login(page, site, "admin")
    page.goto(f"{site.url}/admin")
    row = page.locator("#users tr", has_text="(bob)")
    row.locator("select[name=team_id]").select_option(label=team)
    row.get_by_role("button", name="Save").click()
    expect(page.locator("#msg")).to_contain_text("User changed: team id.")
    moved = page.locator("#users tr", has_text="(bob)").locator("select[name=team_id] option")
    expect(moved.filter(has_text=team)).to_have_attribute("selected", "")
    page.click("text=Log out")


def test_an_admin_moves_an_agent_and_the_new_supervisor_sees_them(page: Page, site: Site) -> None:
    _move_bob(page, site, "Alpha")
    try:
        _login(page, site, "sup")
        expect(page.locator(f'#board .tile[data-agent="{site.agent_b}"]')).to_be_visible()
        response = page.goto(f"{site.url}/agents/{site.agent_b}")
        assert response is not None and response.status == 200
        page.click("text=Log out")
    finally:
        _move_bob(page, site, "Bravo")
    _login(page, site, "sup")
    expect(page.locator(f'#board .tile[data-agent="{site.agent_a}"]')).to_be_visible()
    assert page.locator(f'#board .tile[data-agent="{site.agent_b}"]').count() == 0


def _device(site: Site, username: str) -> httpx.Client:
    return enrolled(site.url, site.more_codes[username], f"{username}-pc")


def test_the_board_is_not_re_read_for_another_teams_changes(page: Page, site: Site) -> None:
    _login(page, site, "sup")
    grid = page.locator("#board")
    expect(grid.locator(".tile").first).to_be_visible()
    page.wait_for_timeout(1500)  # the stream is open
    version = grid.get_attribute("data-version")
    beat = {"status": "paused", "sent_at": datetime.now(UTC).isoformat()}
    assert _device(site, "bob").post("/api/v1/heartbeat", json=beat).status_code == 200
    page.wait_for_timeout(2500)  # Bob is in Bravo: nothing for this board
    assert grid.get_attribute("data-version") == version
    assert _device(site, "anna").post("/api/v1/heartbeat", json=beat).status_code == 200
    tile = page.locator(f'#board .tile[data-agent="{site.agent_a}"]')
    expect(tile).to_have_class(re.compile("s-paused"), timeout=10_000)
    assert grid.get_attribute("data-version") != version


def test_pages_show_times_in_the_browsers_zone_from_the_first_page(page: Page, site: Site) -> None:
    _login(page, site, "sup")
    expect(page.locator("footer")).to_contain_text("Times are in Asia/Tokyo")
