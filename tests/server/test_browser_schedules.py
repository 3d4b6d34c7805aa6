"""Real browser: an admin uploads a WFM CSV on /admin/schedules, and the board then says
who should be at the desk now."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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
PASSWORD = "browser test password"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine).begin() as s:
        team = create_team(s, site=create_site(s, name="Leeds"), name="Alpha")
        create_user(s, username="admin", password=PASSWORD, role=Role.ADMIN)
        for name in ("anna", "bob"):
            create_user(
                s,
                username=name,
                password=PASSWORD,
                role=Role.AGENT,
                display_name=name.title(),
                team=team,
            )
    engine.dispose()
    process = ServerProcess(url, tmp_path)
    process.start()
    yield process.url
    process.stop()


@pytest.fixture
def page(server: str) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser.new_context().new_page()
        browser.close()


def _shot(page: Page, tmp_path: Path, name: str) -> None:
    folder = Path(os.environ.get("DESKWATCH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def test_admin_uploads_a_schedule_and_the_board_shows_it(
    page: Page, server: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    a, b, c = (
        (now - timedelta(hours=1)).isoformat(),
        (now + timedelta(hours=1)).isoformat(),
        (now + timedelta(hours=2)).isoformat(),
    )
    plan = tmp_path / "plan.csv"
    plan.write_text(
        f"agent,start,end,activity\nanna,{a},{b},Open\nbob,{a},{b},Lunch\nanna,{b},{c},Break\n"
    )
    page.goto(f"{server}/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{server}/admin/schedules")
    expect(page.locator("#imports")).to_contain_text("No schedule imported yet")
    page.set_input_files("#schedule-file", str(plan))
    page.fill("#schedule-zone", "UTC")
    page.click("form[action='/admin/schedules/upload'] button[type=submit]")
    expect(page.locator("#msg .flash.ok")).to_contain_text("Imported 3 activities for 2 agents")
    expect(page.locator("#imports")).to_contain_text("csv")
    _shot(page, tmp_path, "schedules-upload.png")
    page.goto(f"{server}/")
    expect(page.locator("#board")).to_contain_text("should be at desk (Open)")
    expect(page.locator("#board")).to_contain_text("Lunch: not expected at desk")
    _shot(page, tmp_path, "schedules-board.png")
