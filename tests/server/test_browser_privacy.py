"""Real-browser tests of the worker's My data page, the review queue and the privacy desk."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.server.browser_checks import beats, enrolled, event_body, send, signed_in
from tests.server.test_browser import PASSWORD, Site, _login, page, pytestmark, site

__all__ = ["page", "pytestmark", "site"]


def _device_reports_phone_use(site: Site) -> str:
    evidence = {"phone_object": 0.8}
    event = event_body("phone_in_use", datetime.now(UTC), 12.0, 0.8, evidence, ended=False)
    send(enrolled(site.url, site.code_a), event)
    return str(event["id"])


def test_worker_disputes_supervisor_rejects_officer_answers(page: Page, site: Site) -> None:
    event_id = _device_reports_phone_use(site)
    _login(page, site, "anna")
    page.click("text=My data")
    row = page.locator(f"#event-{event_id}")
    expect(row.locator(".review")).to_have_text("pending")
    page.click("#cat-conduct button")
    expect(page.locator("#msg")).to_contain_text("Objection recorded")
    expect(page.locator("#cat-conduct")).to_contain_text("off: you objected on ")
    expect(page.locator("#cat-security")).to_contain_text("no objection offered")
    row.locator("input[name=body]").fill("it was my calculator")
    row.locator("select[name=kind]").select_option("dispute")
    row.locator("button").click()
    expect(page.locator("#msg")).to_contain_text("Disputed")
    expect(page.locator(f"#event-{event_id} .review")).to_have_text("pending (disputed)")
    page.fill("#request-form input[name=body]", "my display name is misspelt")
    page.click("#request-form button")
    expect(page.locator("#requests .status")).to_have_text("open")
    for path in ("/reviews", "/privacy"):
        response = page.goto(f"{site.url}{path}")
        assert response is not None and response.status == 403

    _login(page, site, "sup")
    page.click("text=Reviews")
    item = page.locator(f"#review-{event_id}")
    expect(item).to_contain_text("(disputed)")
    expect(item).to_contain_text("it was my calculator")
    item.locator("input[name=note]").fill("a calculator, not a phone")
    item.locator("button[value=rejected]").click()
    expect(page.locator("#msg")).to_contain_text("Event rejected")
    expect(page.locator(f"#review-{event_id}")).to_have_count(0)
    response = page.goto(f"{site.url}/me")
    assert response is not None and response.status == 403

    _login(page, site, "po")
    expect(page).to_have_url(re.compile("/privacy$"))
    request_row = page.locator("#request-queue tr", has_text="misspelt")
    request_row.locator("input[name=response]").fill("fixed, thank you")
    request_row.locator("select[name=status]").select_option("done")
    request_row.locator("button").click()
    expect(page.locator("#msg")).to_contain_text("done")
    expect(page.locator("#accuracy")).to_contain_text("phone_in_use")

    _login(page, site, "anna")
    page.goto(f"{site.url}/me")
    review = page.locator(f"#event-{event_id} .review")
    expect(review).to_have_text("rejected (disputed): a calculator, not a phone")
    expect(page.locator("#requests .status")).to_have_text("done")
    expect(page.locator("#views")).to_contain_text("sup (supervisor)")
    with page.expect_download() as download:
        page.click("#export-html")
    exported = Path(download.value.path()).read_text()
    assert event_id in exported and "it was my calculator" in exported and "Bob" not in exported


def _new_device(site: Site) -> httpx.Client:
    """A second PC for Anna: an admin makes a code through the API, the PC enrols."""
    admin = signed_in(site.url, "admin", PASSWORD)
    code = admin.post("/api/v1/admin/enrolment-codes", json={"agent_id": site.agent_a}).json()
    return enrolled(site.url, code["code"], "pc-2")


def test_worker_pages_the_status_history_and_reads_the_review_rule(page: Page, site: Site) -> None:
    device = _new_device(site)
    statuses = ["at_desk", "away"] * 26 + ["paused"]  # 53 changes: two pages of 50
    beats(device, *statuses)
    _login(page, site, "anna")
    page.goto(f"{site.url}/me")
    expect(page.locator("#review-rule")).to_contain_text("You can dispute any event")
    expect(page.locator("#erasure-scope")).to_contain_text("keeps your account")
    rows = page.locator("#status-history tr")
    expect(rows).to_have_count(51)  # the header and the 50 newest
    expect(rows.nth(1)).to_contain_text("paused")  # newest first
    expect(page.locator("#status-newer")).to_have_count(0)
    page.click("#status-older")
    expect(page).to_have_url(re.compile(r"/me\?page_no=1#status$"))
    expect(rows).to_have_count(4)
    expect(rows.nth(3)).to_contain_text("at desk")  # the very first status
    expect(page.locator("#status-older")).to_have_count(0)
    page.click("#status-newer")
    expect(rows).to_have_count(51)
    with page.expect_download() as download:
        page.click("#export-html")
    exported = Path(download.value.path()).read_text()
    assert 'id="current-status"' in exported and "paused" in exported and "pc-2" in exported
