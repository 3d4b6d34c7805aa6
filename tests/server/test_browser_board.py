"""Chromium against a real server: the board by team stays live and filters; the audit
log filters; both fit a 390 px phone screen. Screenshots go to $DESKWATCH_SCREENSHOTS."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.devices.service import create_code
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role
from deskwatch.server.orgs.service import create_site, create_team, create_user
from tests.server_process import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parents[1] / "vendor" / "axe-core" / "axe.min.js"
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed")
PASSWORD = "browser board password"


@dataclass
class Site:
    url: str
    anna: int
    arthur: int
    code: str


def _seed(url: str) -> tuple[int, int, str]:
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine).begin() as s:
        site = create_site(s, name="Leeds")
        alpha, bravo = (
            create_team(s, site=site, name="Alpha"),
            create_team(s, site=site, name="Bravo"),
        )
        admin = create_user(s, username="admin", password=PASSWORD, role=Role.ADMIN)
        create_user(s, username="sup", password=PASSWORD, role=Role.SUPERVISOR, supervises=[alpha])
        people = {}
        for username, name, team in (("anna", "Anna", alpha), ("arthur", "Arthur", alpha)):
            people[username] = create_user(
                s,
                username=username,
                password=PASSWORD,
                role=Role.AGENT,
                display_name=name,
                team=team,
            )
        create_user(
            s, username="bob", password=PASSWORD, role=Role.AGENT, display_name="Bob", team=bravo
        )
        now = datetime.now(UTC)
        code, _ = create_code(s, admin=admin, agent_id=people["anna"].id, now=now, ttl_s=600)
        ids = (people["anna"].id, people["arthur"].id, code)
    engine.dispose()
    return ids


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser-board")
    db = f"sqlite:///{folder / 'server.db'}"
    anna, arthur, code = _seed(db)
    server = ServerProcess(db, folder)
    server.start()
    yield Site(server.url, anna, arthur, code)
    server.stop()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DESKWATCH_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(site: Site) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        # CSP bypassed only so the test can inject axe-core (the page itself needs nothing).
        context = browser.new_context(timezone_id="Asia/Tokyo", bypass_csp=True)
        yield context.new_page()
        browser.close()


def _login(page: Page, site: Site, username: str) -> None:
    page.goto(f"{site.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def _accessible(page: Page) -> None:
    """axe-core finds no serious or critical problem on the page."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run()).violations")
    serious = [(v["id"], v["help"]) for v in found if v["impact"] in ("serious", "critical")]
    assert serious == []


def _fits(page: Page, shot: Path) -> None:
    """At 390 px wide the page scrolls only up and down."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shot), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_board_updates_live_and_filters(page: Page, site: Site, shots: Path) -> None:
    _login(page, site, "sup")
    anna = page.locator(f'#board .tile[data-agent="{site.anna}"]')
    arthur = page.locator(f'#board .tile[data-agent="{site.arthur}"]')
    counts = page.locator("#board .team h2 .counts")
    expect(counts).to_have_text(["— 2 offline"])  # Alpha only: Bravo is not this board's
    page.wait_for_timeout(1500)  # the stream is open

    search = page.get_by_label("Search by name")
    search.focus()
    page.keyboard.type("ANN")
    expect(arthur).to_be_hidden()
    expect(anna).to_be_visible()
    expect(page.locator("#board-shown")).to_have_text("Showing 1 of 2.")

    device = httpx.Client(base_url=site.url)
    body = {"code": site.code, "hostname": "pc"}
    token = device.post("/api/v1/devices/enroll", json=body).json()["token"]
    device.headers["authorization"] = f"Bearer {token}"
    beat = {"status": "away", "sent_at": datetime.now(UTC).isoformat()}
    assert device.post("/api/v1/heartbeat", json=beat).status_code == 200
    expect(anna).to_have_class(re.compile("s-away"), timeout=10_000)  # no reload: SSE
    expect(counts).to_have_text(["— 1 away · 1 offline"])
    expect(anna.locator(".for")).to_have_text(re.compile(r"^for \d+ s$"))
    expect(arthur).to_be_hidden()  # the search still applies after the refresh
    page.screenshot(path=str(shots / "board-search.png"), full_page=True)

    search.fill("")
    expect(arthur).to_be_visible()
    away = page.get_by_role("button", name=re.compile("^away"))
    away.focus()
    page.keyboard.press("Enter")
    expect(away).to_have_attribute("aria-pressed", "true")
    expect(arthur).to_be_hidden()
    expect(anna).to_be_visible()
    page.get_by_role("button", name=re.compile("^all")).click()
    expect(arthur).to_be_visible()
    _accessible(page)
    _fits(page, shots / "board-390.png")


def test_admin_filters_the_audit_log(page: Page, site: Site, shots: Path) -> None:
    _login(page, site, "admin")
    page.goto(f"{site.url}/audit")
    expect(page.locator("#chain")).to_have_text(re.compile(r"^Chain verified: \d+ entries intact"))
    expect(page.locator("#chain")).to_have_class(re.compile("intact"))
    page.get_by_label("Action").select_option("login")
    page.get_by_label("Who").select_option(label="admin")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"action=login"))
    actions = page.locator("#audit tbody tr td:nth-child(3)")
    expect(actions.first).to_have_text("login")
    assert set(actions.all_inner_texts()) == {"login"}
    assert set(page.locator("#audit tbody tr td:nth-child(2)").all_inner_texts()) == {"admin"}
    expect(page.locator("#audit-count")).to_contain_text("matching, newest first")
    page.screenshot(path=str(shots / "audit-filtered.png"), full_page=True)
    page.get_by_label("Search").fill("no such thing anywhere")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#audit-count")).to_have_text("No entries match these filters.")
    page.get_by_role("link", name="Clear filters").click()
    expect(page.locator("#audit tbody tr").first).to_be_visible()
    _accessible(page)
    _fits(page, shots / "audit-390.png")


def test_the_privacy_page_fits_a_phone_and_passes_axe(page: Page, site: Site, shots: Path) -> None:
    _login(page, site, "admin")
    page.goto(f"{site.url}/privacy")
    expect(page.locator("#accuracy")).to_be_visible()
    _accessible(page)
    _fits(page, shots / "privacy-390.png")
