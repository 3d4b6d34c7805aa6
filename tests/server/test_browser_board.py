"""Chromium against a real server: the board by team stays live and filters; the audit
log filters; both fit a 390 px phone screen. Screenshots go to $DESKWATCH_SCREENSHOTS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.server.browser_checks import (
    PHONE,
    agent,
    axe_violations,
    code_for,
    enrolled,
    login,
    needs_chromium,
    no_sideways_scroll,
    page,
    serve,
    shots,
    staff,
)

__all__ = ["page", "shots"]
pytestmark = needs_chromium
PASSWORD = "browser board password"


@dataclass
class Site:
    url: str
    anna: int
    arthur: int
    code: str


def _seed(s: Session) -> tuple[int, int, str]:
    admin, (alpha, bravo) = staff(s, PASSWORD, po=False)
    anna, arthur = (agent(s, u, u.title(), alpha, PASSWORD) for u in ("anna", "arthur"))
    agent(s, "bob", "Bob", bravo, PASSWORD)
    return anna.id, arthur.id, code_for(s, admin, anna)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("browser-board"), _seed) as (url, ids):
        yield Site(url, *ids)


def _accessible(page: Page) -> None:
    """axe-core finds no serious or critical problem on the page."""
    assert axe_violations(page) == []


def _fits(page: Page, shot: Path) -> None:
    """At 390 px wide the page scrolls only up and down."""
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shot), full_page=True)
    no_sideways_scroll(page)


def test_board_updates_live_and_filters(page: Page, site: Site, shots: Path) -> None:
    login(page, site.url, "sup", PASSWORD)
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

    device = enrolled(site.url, site.code)
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
    login(page, site.url, "admin", PASSWORD)
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
    login(page, site.url, "admin", PASSWORD)
    page.goto(f"{site.url}/privacy")
    expect(page.locator("#accuracy")).to_be_visible()
    _accessible(page)
    _fits(page, shots / "privacy-390.png")
