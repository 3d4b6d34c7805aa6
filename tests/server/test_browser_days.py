"""The report's charts and the agent's zoomable day in Chromium, against a real server
process: the charts are drawn (a Chart.js instance on each canvas), the timeline shows the
day's statuses and events, clicking an event opens its details, and at 390 px wide nothing
scrolls sideways. Screenshots go to $DESKWATCH_SCREENSHOTS (else the test's tmp folder)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy.orm import Session

from tests.server.browser_checks import (
    PHONE,
    WCAG_AA,
    agent,
    axe_violations,
    beats,
    code_for,
    enrolled,
    event_body,
    login,
    needs_chromium,
    no_sideways_scroll,
    page,
    send,
    serve,
    shots,
    staff,
)

__all__ = ["page", "shots"]
pytestmark = needs_chromium
PASSWORD = "browser test password"
CHARTS = ("chart-agents", "chart-trend", "chart-hours")
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


@dataclass
class Site:
    url: str
    team: int
    agent: int
    event: str


def _seed(s: Session) -> tuple[int, int, str]:
    admin, (alpha,) = staff(s, PASSWORD, teams=("Alpha",), po=False)
    anna = agent(s, "anna", "Anna", alpha, PASSWORD)
    agent(s, "carl", "Carl", alpha, PASSWORD)
    return alpha.id, anna.id, code_for(s, admin, anna)


def _report_a_day(url: str, code: str) -> str:
    """Anna's agent: at desk, away (with its away event), at desk again. The event's id."""
    device = enrolled(url, code)
    now = datetime.now(UTC)
    beats(device, "at_desk", "away", "at_desk")
    evidence = {"faces": 0.0, "motion": 0.02}
    event = event_body("away", now - timedelta(seconds=40), 40.0, 1.0, evidence)
    send(device, event)
    return str(event["id"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("browser_days"), _seed) as (url, (team, anna, code)):
        yield Site(url, team, anna, _report_a_day(url, code))


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


def test_the_report_draws_its_charts(page: Page, site: Site, shots: Path) -> None:
    page.set_viewport_size(DESKTOP)
    refused = _problems(page)
    login(page, site.url, "sup", PASSWORD)
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
    assert axe_violations(page, WCAG_AA, impacts=None) == []  # WCAG 2 A/AA, any impact
    page.set_viewport_size(PHONE)
    page.reload()
    page.wait_for_function("Chart.getChart(document.getElementById('chart-hours'))")
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "report-390.png"), full_page=True)
    assert not refused, refused  # no CSP refusals, no script errors


def test_the_day_is_a_timeline_and_an_event_opens_its_details(
    page: Page, site: Site, shots: Path
) -> None:
    page.set_viewport_size(DESKTOP)
    refused = _problems(page)
    login(page, site.url, "sup", PASSWORD)
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
    assert axe_violations(page, WCAG_AA, impacts=None) == []  # WCAG 2 A/AA, any impact
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#timeline")).to_have_attribute("data-ready", "1")
    expect(page.locator("#timeline .vis-item.ev")).to_be_visible()
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "timeline-390.png"), full_page=True)
    assert not refused, refused
