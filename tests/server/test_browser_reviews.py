"""Real-browser test of the review queue: a supervisor filters it, bulk-rejects what the
detector got wrong and reads how it went, on a desktop and on a 390 px wide phone."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.server.test_browser import PASSWORD, Site, _login, page, pytestmark, site

__all__ = ["page", "pytestmark", "site"]
AXE = Path(__file__).parents[1] / "vendor" / "axe-core" / "axe.min.js"


def _device(site: Site) -> httpx.Client:
    device = httpx.Client(base_url=site.url)
    token = device.post(
        "/api/v1/devices/enroll", json={"code": site.code_a, "hostname": "pc"}
    ).json()["token"]
    device.headers["authorization"] = f"Bearer {token}"
    return device


def _send(device: httpx.Client, kind: str, minutes_ago: float, evidence: dict[str, float]) -> str:
    event: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": kind,
        "start_s": 0.0,
        "end_s": 40.0,
        "peak_confidence": 0.8,
        "evidence": evidence,
        "started_at": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
    }
    assert device.post("/api/v1/events", json={"events": [event]}).json()["new"] == 1
    return str(event["id"])


def _dispute(site: Site, event_id: str) -> None:
    anna = httpx.Client(base_url=site.url)
    login = anna.post("/api/v1/auth/login", json={"username": "anna", "password": PASSWORD})
    anna.headers["x-csrf-token"] = login.json()["csrf_token"]
    body = {"kind": "dispute", "body": "that was my calculator"}
    assert anna.post(f"/api/v1/events/{event_id}/comments", json=body).status_code == 201


def _shots() -> Path | None:
    folder = os.environ.get("DESKWATCH_SCREENSHOTS")
    return Path(folder) if folder else None


def _no_sideways_scroll(page: Page) -> None:
    size = page.viewport_size
    assert size is not None
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= size["width"], f"the page scrolls sideways: {width} px wide"


def _axe_violations(page: Page) -> list[str]:
    """axe-core's WCAG 2 A/AA findings on the page (run in the page, past its CSP)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    assert page.evaluate("typeof axe.run") == "function"
    found = page.evaluate(
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa']}).then(r => r.violations.map("
        "v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))"
    )
    return list(found)


def test_supervisor_filters_bulk_rejects_and_reads_the_outcome(
    page: Page, site: Site, tmp_path: Path
) -> None:
    device = _device(site)
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
    folder = _shots() or tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "reviews-desktop.png"), full_page=True)
    assert _axe_violations(page) == []
    passes = page.evaluate("axe.run(document).then(r => r.passes.length)")
    assert passes > 10  # axe really looked

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    _no_sideways_scroll(page)
    page.screenshot(path=str(folder / "reviews-390.png"), full_page=True)

    page.select_option("#f-state", "rejected")
    page.click("#filters button[type=submit]")
    expect(page.locator("#queue > li.event")).to_have_count(2)
    expect(page.locator(f"#review-{wrong[0]}")).to_contain_text(
        "Rejected: a calculator, not a phone"
    )
    _no_sideways_scroll(page)
