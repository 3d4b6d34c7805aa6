"""Real-browser tests of the worker's My data page, the review queue and the privacy desk."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.server.test_browser import Site, _login, page, pytestmark, site

__all__ = ["page", "pytestmark", "site"]


def _device_reports_phone_use(site: Site) -> str:
    device = httpx.Client(base_url=site.url)
    token = device.post(
        "/api/v1/devices/enroll", json={"code": site.code_a, "hostname": "pc"}
    ).json()["token"]
    device.headers["authorization"] = f"Bearer {token}"
    event_id = str(uuid.uuid4())
    event = {
        "id": event_id,
        "type": "phone_in_use",
        "start_s": 0.0,
        "end_s": 12.0,
        "peak_confidence": 0.8,
        "evidence": {"phone_object": 0.8},
        "started_at": datetime.now(UTC).isoformat(),
    }
    assert device.post("/api/v1/events", json={"events": [event]}).json()["new"] == 1
    return event_id


def test_worker_disputes_supervisor_rejects_officer_answers(page: Page, site: Site) -> None:
    event_id = _device_reports_phone_use(site)
    _login(page, site, "anna")
    page.click("text=My data")
    row = page.locator(f"#event-{event_id}")
    expect(row.locator(".review")).to_have_text("pending")
    page.click("#cat-conduct button")
    expect(page.locator("#msg")).to_contain_text("Objection recorded")
    expect(page.locator("#cat-conduct")).to_contain_text("off: you objected")
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
