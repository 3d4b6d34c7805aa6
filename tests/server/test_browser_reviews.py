"""Real-browser test of the review queue: a supervisor filters it, bulk-rejects what the
detector got wrong and reads how it went, on a desktop and on a 390 px wide phone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.server.browser_checks import (
    PHONE,
    WCAG_AA,
    axe_violations,
    enrolled,
    event_body,
    no_sideways_scroll,
    send,
    shots,
    signed_in,
)
from tests.server.test_browser import PASSWORD, Site, _login, page, pytestmark, site

__all__ = ["page", "pytestmark", "shots", "site"]


def _send(device: httpx.Client, kind: str, minutes_ago: float, evidence: dict[str, float]) -> str:
    started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    event = event_body(kind, started, 40.0, 0.8, evidence, ended=False)
    send(device, event)
    return str(event["id"])


def _dispute(site: Site, event_id: str) -> None:
    anna = signed_in(site.url, "anna", PASSWORD)
    body = {"kind": "dispute", "body": "that was my calculator"}
    assert anna.post(f"/api/v1/events/{event_id}/comments", json=body).status_code == 201


def test_supervisor_filters_bulk_rejects_and_reads_the_outcome(
    page: Page, site: Site, shots: Path
) -> None:
    device = enrolled(site.url, site.code_a)
    assert device.post(
        "/api/v1/heartbeat", json={"status": "at_desk", "sent_at": datetime.now(UTC).isoformat()}
    ).is_success
    phone = {"object": 0.8, "posture": 0.0}
    wrong = [_send(device, "phone_in_use", m, phone) for m in (3, 2)]
    disputed = _send(device, "phone_in_use", 1, phone)
    person = _send(device, "extra_person", 1, {"persons": 2.0, "faces": 1.0})
    _dispute(site, disputed)

    _login(page, site, "sup")
    page.click("text=Reviews")
    expect(page.locator("#queue > li.event")).to_have_count(4)
    page.select_option("#f-type", "phone_in_use")
    page.click("#filters button[type=submit]")
    expect(page.locator("#queue > li.event")).to_have_count(3)
    expect(page.locator(f"#review-{person}")).to_have_count(0)
    card = page.locator(f"#review-{wrong[0]}")
    expect(card).to_contain_text("a phone held in a hand or near the face (detector 80% sure)")
    expect(card).to_contain_text("Measured precision:")
    expect(card.locator("svg rect.mark")).to_have_count(1)
    expect(page.locator(f"#review-{disputed}")).to_contain_text("(disputed)")
    expect(page.locator(f"#note-{disputed}")).to_have_attribute("required", "")
    expect(page.locator("button.confirm").first).to_contain_text("Confirm")
    expect(page.locator("button.reject").first).to_contain_text("Reject")

    # A disputed event among the selection makes the bulk note required.
    page.check(f"#pick-{disputed}")
    assert page.eval_on_selector("#bulk-note", "n => n.required")
    page.uncheck(f"#pick-{disputed}")
    assert not page.eval_on_selector("#bulk-note", "n => n.required")
    for event_id in wrong:
        page.check(f"#pick-{event_id}")
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    page.fill("#bulk-note", "a calculator, not a phone")
    page.click("#bulk button.reject")
    expect(page.locator("#msg")).to_contain_text("2 events rejected.")
    expect(page.locator("#f-type")).to_have_value("phone_in_use")  # the filters are kept
    expect(page.locator("#queue > li.event")).to_have_count(1)
    expect(page.locator(f"#review-{disputed}")).to_be_visible()
    page.screenshot(path=str(shots / "reviews-desktop.png"), full_page=True)
    assert axe_violations(page, WCAG_AA, impacts=None) == []  # WCAG 2 A/AA, any impact
    assert page.evaluate("typeof axe.run") == "function"
    passes = page.evaluate("axe.run(document).then(r => r.passes.length)")
    assert passes > 10  # axe really looked

    page.set_viewport_size(PHONE)
    page.reload()
    no_sideways_scroll(page)
    page.screenshot(path=str(shots / "reviews-390.png"), full_page=True)

    page.select_option("#f-state", "rejected")
    page.click("#filters button[type=submit]")
    expect(page.locator("#queue > li.event")).to_have_count(2)
    expect(page.locator(f"#review-{wrong[0]}")).to_contain_text(
        "Rejected: a calculator, not a phone"
    )
    no_sideways_scroll(page)
