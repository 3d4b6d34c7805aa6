"""The admin page in Chromium against a real server process: an admin renames a team,
makes a supervisor supervise it, previews a policy change as a diff and publishes it; the
supervisor then sees the team's agent on the board. On a 390 px wide screen."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role
from deskwatch.server.orgs.service import create_site, create_team, create_user
from tests.server_process import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed")
PASSWORD = "browser admin password"


@dataclass
class Site:
    url: str
    team: int
    agent: int


def _seed(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine).begin() as s:
        site = create_site(s, name="Leeds")
        team = create_team(s, site=site, name="Night shift")
        create_user(s, username="admin", password=PASSWORD, role=Role.ADMIN)
        create_user(s, username="sam", password=PASSWORD, role=Role.SUPERVISOR, display_name="Sam")
        agent = create_user(
            s, username="nia", password=PASSWORD, role=Role.AGENT, display_name="Nia", team=team
        )
        ids = (team.id, agent.id)
    engine.dispose()
    return ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser_admin")
    db = f"sqlite:///{folder / 'server.db'}"
    team, agent = _seed(db)
    server = ServerProcess(db, folder)
    server.start()
    yield Site(server.url, team, agent)
    server.stop()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 390, "height": 844})
        yield context.new_page()
        browser.close()


def _login(page: Page, site: Site, username: str) -> None:
    page.goto(f"{site.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def _fits(page: Page) -> None:
    """Nothing but a ``.table-wrap`` scrolls sideways: the page itself fits the screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


def test_an_admin_renames_a_team_assigns_a_supervisor_and_publishes_a_policy(
    page: Page, site: Site, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("DESKWATCH_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    _login(page, site, "admin")
    page.goto(f"{site.url}/admin")
    _fits(page)
    page.fill(f"#team-name-{site.team}", "Late shift")
    page.locator(f'#teams tr[data-team="{site.team}"]').get_by_role("button", name="Rename").click()
    expect(page.locator("#msg .ok")).to_have_text("Team Night shift renamed Late shift.")

    row = page.locator(f'#teams tr[data-team="{site.team}"]')
    row.locator("select[name=supervisor_id]").select_option(label="Sam")
    row.get_by_role("button", name="Add supervisor").click()
    expect(page.locator("#msg .ok")).to_have_text("Sam supervises Late shift.")
    expect(page.locator(f'#teams tr[data-team="{site.team}"] ul.supervisors')).to_contain_text(
        "Sam"
    )

    page.locator(f'#teams tr[data-team="{site.team}"]').get_by_role(
        "link", name="Edit policy"
    ).click()
    editor = page.locator(f"#policy-{site.team}")
    text = editor.input_value()
    assert "min_away_s = 30.0" in text  # the defaults, written out
    editor.fill(text.replace("min_away_s = 30.0", "min_away_s = 90.0"))
    page.get_by_role("button", name="Preview changes").click()
    expect(page.locator("#diff .del")).to_have_text("-min_away_s = 30.0")
    expect(page.locator("#diff .add")).to_have_text("+min_away_s = 90.0")
    _fits(page)
    page.screenshot(path=str(shots / "admin-policy-preview-390.png"), full_page=True)
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#msg .ok")).to_have_text("Policy version 2 published for Late shift.")
    expect(page.locator("#history")).to_contain_text("admin")
    page.get_by_role("link", name="view text").first.click()
    expect(page.locator("#version-text")).to_contain_text("min_away_s = 90.0")

    page.goto(f"{site.url}/admin")
    page.screenshot(path=str(shots / "admin-390.png"), full_page=True)
    page.click("text=Log out")
    _login(page, site, "sam")
    expect(page.locator(f'#board .tile[data-agent="{site.agent}"]')).to_be_visible()
    expect(page.locator("header nav")).to_contain_text(re.compile("Late shift report"))
