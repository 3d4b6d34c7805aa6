"""The report's charts and the agent's zoomable day in Chromium, against a real server
process: the charts are drawn (a Chart.js instance on each canvas), the timeline shows the
day's statuses and events, clicking an event opens its details, and at 390 px wide nothing
scrolls sideways. Screenshots go to $DESKWATCH_SCREENSHOTS (else the test's tmp folder)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

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
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed")
PASSWORD = "browser test password"
CHARTS = ("chart-agents", "chart-trend", "chart-hours")
AXE = Path(__file__).parents[1] / "vendor" / "axe-core" / "axe.min.js"


@dataclass
class Site:
    url: str
    team: int
    agent: int
    event: str


def _seed(url: str) -> tuple[int, int, str]:
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine).begin() as s:
        site = create_site(s, name="Leeds")
        alpha = create_team(s, site=site, name="Alpha")
        admin = create_user(s, username="admin", password=PASSWORD, role=Role.ADMIN)
        create_user(s, username="sup", password=PASSWORD, role=Role.SUPERVISOR, supervises=[alpha])
        anna = create_user(
            s, username="anna", password=PASSWORD, role=Role.AGENT, display_name="Anna", team=alpha
        )
        create_user(
            s, username="carl", password=PASSWORD, role=Role.AGENT, display_name="Carl", team=alpha
        )
        code, _ = create_code(s, admin=admin, agent_id=anna.id, now=datetime.now(UTC), ttl_s=600)
        ids = (alpha.id, anna.id, code)
    engine.dispose()
    return ids


def _report_a_day(url: str, code: str) -> str:
    """Anna's agent: at desk, away (with its away event), at desk again. The event's id."""
    device = httpx.Client(base_url=url)
    token = device.post("/api/v1/devices/enroll", json={"code": code, "hostname": "pc"})
    device.headers["authorization"] = f"Bearer {token.json()['token']}"
    now = datetime.now(UTC)
    for status in ("at_desk", "away", "at_desk"):
        beat = {"status": status, "sent_at": datetime.now(UTC).isoformat()}
        assert device.post("/api/v1/heartbeat", json=beat).status_code == 200
    event_id = str(uuid.uuid4())
    event = {
        "id": event_id,
        "type": "away",
        "start_s": 0.0,
        "end_s": 40.0,
        "peak_confidence": 1.0,
        "evidence": {"faces": 0.0, "motion": 0.02},
        "started_at": (now - timedelta(seconds=40)).isoformat(),
        "ended_at": now.isoformat(),
    }
    assert device.post("/api/v1/events", json={"events": [event]}).json()["new"] == 1
    return event_id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser_days")
    db = f"sqlite:///{folder / 'server.db'}"
    team, agent, code = _seed(db)
    server = ServerProcess(db, folder)
    server.start()
    try:
        yield Site(server.url, team, agent, _report_a_day(server.url, code))
    finally:
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
        context = browser.new_context(
            timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 900}
        )
        yield context.new_page()
        browser.close()


def _login(page: Page, site: Site, username: str) -> None:
    page.goto(f"{site.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _problems(page: Page) -> list[str]:
    """Script errors, CSP refusals and failed loads (a browser's own favicon.ico aside)."""
    seen: list[str] = []
    page.on("pageerror", lambda e: seen.append(str(e)))
    page.on(
        "console",
        lambda m: (
            seen.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            seen.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    return seen


def _axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2 A/AA findings on the page (run in the page, past its CSP)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']}).then(r => r.violations.map("
        "v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))"
    )
    return list(found)


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.evaluate("window.innerWidth"), width


def test_the_report_draws_its_charts(page: Page, site: Site, shots: Path) -> None:
    refused = _problems(page)
    _login(page, site, "sup")
    page.goto(f"{site.url}/teams/{site.team}/report")
    for chart in CHARTS:
        page.wait_for_function(
            "id => window.Chart && Chart.getChart(document.getElementById(id))", arg=chart
        )
    drawn = page.evaluate(
        """ids => ids.map(id => {
            const chart = Chart.getChart(document.getElementById(id));
            return [chart.config.type, chart.data.datasets.length, chart.width > 0];
        })""",
        list(CHARTS),
    )
    assert drawn == [["bar", 1, True], ["line", 1, True], ["bar", 1, True]]
    labels = page.evaluate("Chart.getChart(document.getElementById('chart-agents')).data.labels")
    assert labels == ["Anna"]  # Carl sent nothing: no data, not a bar at 0 %
    expect(page.locator("#report")).to_contain_text("no data")
    expect(page.locator("#report")).to_contain_text("times away")
    page.screenshot(path=str(shots / "report-1280.png"), full_page=True)
    assert _axe_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_function("Chart.getChart(document.getElementById('chart-hours'))")
    _no_sideways_scroll(page)
    page.screenshot(path=str(shots / "report-390.png"), full_page=True)
    assert not refused, refused  # no CSP refusals, no script errors


def test_the_day_is_a_timeline_and_an_event_opens_its_details(
    page: Page, site: Site, shots: Path
) -> None:
    refused = _problems(page)
    _login(page, site, "sup")
    page.goto(f"{site.url}/agents/{site.agent}")
    expect(page.locator("#timeline")).to_have_attribute("data-ready", "1")
    expect(page.locator("#timeline .vis-item.st-at_desk").first).to_be_visible()
    event = page.locator("#timeline .vis-item.ev")
    expect(event).to_have_count(1)
    expect(page.locator("#event-details")).to_be_hidden()
    # The axis reads in the page's zone: the hour the event started in Tokyo is on it.
    tokyo_hour = datetime.now(ZoneInfo("Asia/Tokyo")).strftime("%H:")
    axis = page.locator("#timeline .vis-time-axis .vis-text").all_inner_texts()
    assert any(label.startswith(tokyo_hour) for label in axis), axis
    page.screenshot(path=str(shots / "timeline-1280.png"), full_page=True)
    event.click()
    details = page.locator("#event-details")
    expect(details).to_be_visible()
    expect(details).to_contain_text("Event: away")
    expect(details).to_contain_text("faces seen 0")
    expect(page.locator(f"#event-{site.event}")).to_have_class("picked")
    page.screenshot(path=str(shots / "timeline-event.png"), full_page=True)
    assert _axe_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("#timeline")).to_have_attribute("data-ready", "1")
    expect(page.locator("#timeline .vis-item.ev")).to_be_visible()
    _no_sideways_scroll(page)
    page.screenshot(path=str(shots / "timeline-390.png"), full_page=True)
    assert not refused, refused
