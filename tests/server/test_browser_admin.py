"""The admin page in Chromium against a real server process: an admin renames a team,
makes a supervisor supervise it, previews a policy change as a diff and publishes it; the
supervisor then sees the team's agent on the board. On a 390 px wide screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from deskwatch.server.orgs.models import Role
from deskwatch.server.orgs.service import create_site, create_team, create_user
from tests.server.browser_checks import (
    PHONE,
    agent,
    login,
    needs_chromium,
    no_sideways_scroll,
    page,
    serve,
    shots,
)

__all__ = ["page", "shots"]
pytestmark = needs_chromium
PASSWORD = "browser admin password"


@dataclass
class Site:
    url: str
    team: int
    agent: int


def _seed(s: Session) -> tuple[int, int]:
    team = create_team(s, site=create_site(s, name="Leeds"), name="Night shift")
    create_user(s, username="admin", password=PASSWORD, role=Role.ADMIN)
    create_user(s, username="sam", password=PASSWORD, role=Role.SUPERVISOR, display_name="Sam")
    return team.id, agent(s, "nia", "Nia", team, PASSWORD).id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("browser_admin"), _seed) as (url, ids):
        yield Site(url, *ids)


def test_an_admin_renames_a_team_assigns_a_supervisor_and_publishes_a_policy(
    page: Page, site: Site, shots: Path
) -> None:
    page.set_viewport_size(PHONE)
    login(page, site.url, "admin", PASSWORD)
    page.goto(f"{site.url}/admin")
    no_sideways_scroll(page)
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
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "admin-policy-preview-390.png"), full_page=True)
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#msg .ok")).to_have_text("Policy version 2 published for Late shift.")
    expect(page.locator("#history")).to_contain_text("admin")
    page.get_by_role("link", name="view text").first.click()
    expect(page.locator("#version-text")).to_contain_text("min_away_s = 90.0")

    page.goto(f"{site.url}/admin")
    page.screenshot(path=str(shots / "admin-390.png"), full_page=True)
    page.click("text=Log out")
    login(page, site.url, "sam", PASSWORD)
    expect(page.locator(f'#board .tile[data-agent="{site.agent}"]')).to_be_visible()
    expect(page.locator("header nav")).to_contain_text(re.compile("Late shift report"))
