"""Each role's main pages in Debian's Chromium: no serious axe-core violation, no sideways
scroll at 390 and 1280 px, Skip to content and the main menu by keyboard, no console error
or CSP violation. A full-page screenshot of each goes to ``$DESKWATCH_SCREENSHOTS``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy.orm import Session

from deskwatch.server.web.pages import TZ_COOKIE
from tests.server.browser_checks import (
    CSP_LISTENER,
    ZONE,
    Watch,
    agent,
    axe_violations,
    beats,
    chromium,
    code_for,
    enrolled,
    event_body,
    login,
    needs_chromium,
    screenshot_folder,
    send,
    serve,
    sideways_overflow,
    signed_in,
    staff,
    tab_stops,
)
from tests.server.test_browser import PASSWORD

pytestmark = needs_chromium
WIDTHS = (1280, 390)
# Pages other work is rewriting: reported, not yet held to the bar (turned strict later).
REWRITTEN: set[str] = set()  # pages allowed to fail while being rewritten: none now


@dataclass
class Site:
    url: str
    anna: int
    bob: int
    alpha: int
    code: str


@dataclass(frozen=True)
class Case:
    role: str  # who is signed in ("anon": nobody)
    name: str
    path: str  # may name {anna}, {bob}, {alpha}
    status: int = 200

    @property
    def id(self) -> str:
        return f"{self.role}-{self.name}"


CASES = [
    Case("agent", "day", "/agents/{anna}"),
    Case("agent", "me", "/me"),
    Case("agent", "account", "/account"),
    Case("agent", "forbidden", "/reviews", 403),
    Case("agent", "not-found", "/agents/{bob}", 404),
    Case("supervisor", "board", "/"),
    Case("supervisor", "reviews", "/reviews"),
    Case("supervisor", "report", "/teams/{alpha}/report"),
    Case("supervisor", "day", "/agents/{anna}"),
    Case("admin", "admin", "/admin"),
    Case("admin", "audit", "/audit"),
    Case("admin", "privacy", "/privacy"),
    Case("admin", "dpia", "/privacy/dpia"),
    Case("admin", "categories", "/teams/{alpha}/categories"),
    Case("po", "privacy", "/privacy"),
    Case("po", "audit", "/audit"),
    Case("po", "dpia", "/privacy/dpia"),
    Case("po", "categories", "/teams/{alpha}/categories"),
    Case("anon", "login", "/login"),
    Case("anon", "not-found", "/no-such-page", 404),
]
USERNAMES = {"agent": "anna", "supervisor": "sup", "admin": "admin", "po": "po"}


def _seed_database(s: Session) -> tuple[int, int, int, str]:
    admin, (alpha, bravo) = staff(s, PASSWORD)
    anna = agent(s, "anna", "Anna Lee", alpha, PASSWORD)
    bob = agent(s, "bob", "Bob", bravo, PASSWORD)
    return anna.id, bob.id, alpha.id, code_for(s, admin, anna)


def _event(kind: str, ago_s: float, length_s: float, confidence: float) -> dict[str, object]:
    return event_body(kind, datetime.now(UTC) - timedelta(seconds=ago_s), length_s, confidence)


def _seed_activity(site: Site) -> None:
    """Anna's PC reports statuses and events of several kinds; she asks the officer something."""
    device = enrolled(site.url, site.code, "anna-pc")
    beats(device, "at_desk", "away", "at_desk")
    send(
        device,
        _event("away", 3000, 420, 1.0),
        _event("phone_in_use", 2400, 14, 0.82),
        _event("extra_person", 1800, 30, 0.7),
        _event("camera_obstructed", 1200, 25, 0.9),
    )
    ask = {"kind": "rectification", "body": "my display name is misspelt"}
    anna = signed_in(site.url, "anna", PASSWORD)
    assert anna.post("/api/v1/me/requests", json=ask).status_code == 201


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("walk"), _seed_database) as (url, ids):
        seeded = Site(url, *ids)
        _seed_activity(seeded)
        yield seeded


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def contexts(browser: Browser, site: Site) -> Iterator[dict[str, BrowserContext]]:
    """One signed-in browser context per role, made on first use and kept for the module."""
    made: dict[str, BrowserContext] = {}
    yield made
    for context in made.values():
        context.close()


@pytest.fixture(scope="module")
def shots(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """Where the screenshots go; said once the module is done (past pytest's capture)."""
    folder = screenshot_folder(tmp_path_factory.mktemp("screenshots"))
    yield folder
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else nullcontext():
        print(f"\nbrowser walk screenshots: {folder}")


def _context(browser: Browser, site: Site, made: dict[str, BrowserContext], role: str) -> Page:
    if role not in made:
        context = browser.new_context(timezone_id=ZONE, viewport={"width": 1280, "height": 800})
        context.add_init_script(CSP_LISTENER)
        # A returning browser: the server knows its zone, so tz.js never reloads a page.
        context.add_cookies([{"name": TZ_COOKIE, "value": ZONE, "url": site.url}])
        if role != "anon":
            page = context.new_page()
            login(page, site.url, USERNAMES[role], PASSWORD)
            expect(page.locator("header nav")).to_be_visible()
            page.close()
        made[role] = context
    return made[role].new_page()


def _check_keyboard(page: Page) -> list[str]:
    nav = page.locator("header nav a")
    hrefs = {nav.nth(i).get_attribute("href") or "" for i in range(nav.count())}
    stops = tab_stops(page, hrefs)
    problems = []
    if not stops or stops[0]["text"] != "Skip to content":
        problems.append(f"first Tab stop is {stops[:1]}, not the Skip to content link")
    missing = hrefs - {s["href"] for s in stops}
    if missing:
        problems.append(f"main menu links not reached by Tab: {sorted(missing)}")
    page.focus("a.skip")
    page.keyboard.press("Enter")  # follow the skip link: the next Tab lands in the content
    page.keyboard.press("Tab")
    past_menu = """() => { const e = document.activeElement, main = document.querySelector("main");
      return e === document.body || main.contains(e)
        || !!(main.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING); }"""
    if not page.evaluate(past_menu):  # the content, or past it where it has nothing to focus
        problems.append("Tab after Skip to content goes back into the menu")
    return problems


def _walk(page: Page, case: Case, shots: Path) -> list[str]:
    """Every check at each width; what failed, in words."""
    problems = _check_keyboard(page)
    page.evaluate("() => document.activeElement?.blur()")  # no focus ring in the screenshots
    return problems + _sizes(page, case.id, shots)


def _params() -> list[object]:
    rewritten = pytest.mark.xfail(
        strict=False,
        reason="page being rewritten; at 390 px its .table-wrap scrolls without tabindex "
        "(axe scrollable-region-focusable)",
    )
    return [
        pytest.param(c, id=c.id, marks=[rewritten] if c.name in REWRITTEN else []) for c in CASES
    ]


@pytest.mark.parametrize("case", _params())
def test_page_meets_the_bar(
    case: Case, browser: Browser, site: Site, contexts: dict[str, BrowserContext], shots: Path
) -> None:
    page = _context(browser, site, contexts, case.role)
    watch = Watch(page, allowed_status=case.status if case.status != 200 else None)
    try:
        path = case.path.format(anna=site.anna, bob=site.bob, alpha=site.alpha)
        response = page.goto(f"{site.url}{path}", wait_until="networkidle")
        assert response is not None and response.status == case.status
        problems = _walk(page, case, shots)
        problems += watch.problems()
    finally:
        page.close()
    assert not problems, f"{case.id} ({path}):\n  " + "\n  ".join(problems)


def _sizes(page: Page, name: str, shots: Path, axe: bool = True) -> list[str]:
    """Overflow (and axe) at each width, with a screenshot of each."""
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        page.wait_for_timeout(150)  # layout and any resize-driven redraw settle
        overflow = sideways_overflow(page)
        if overflow:
            problems.append(f"{width} px: {overflow}")
        page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)
        if axe:
            problems += [f"{width} px axe: {v}" for v in axe_violations(page)]
    return problems


def test_the_readable_export_meets_the_bar(
    browser: Browser, site: Site, contexts: dict[str, BrowserContext], shots: Path
) -> None:
    """The downloaded My data page, opened as the file it is."""
    page = _context(browser, site, contexts, "agent")
    try:
        reply = page.request.get(f"{site.url}/me/export.html")
        assert reply.ok and "attachment" in reply.headers["content-disposition"]
        page.set_content(reply.text())
        expect(page.locator("#events")).to_contain_text("Events (4)")
        problems = _sizes(page, "agent-export", shots)
    finally:
        page.close()
    assert not problems, "export:\n  " + "\n  ".join(problems)


def _docs(browser: Browser, site: Site) -> tuple[BrowserContext, Page, Watch]:
    """/api/docs with nothing but the server reachable: the vendored Swagger UI only."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(CSP_LISTENER)
    context.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith(site.url) else r.abort()
    )
    page = context.new_page()
    watch = Watch(page)
    page.goto(f"{site.url}/api/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    return context, page, watch


def test_api_docs_render_offline_and_fit(browser: Browser, site: Site, shots: Path) -> None:
    """Swagger UI from the vendored files lists the operations, under the site's CSP."""
    context, page, watch = _docs(browser, site)
    try:
        assert page.locator(".opblock").count() > 10
        problems = _sizes(page, "anon-api-docs", shots, axe=False) + watch.problems()
    finally:
        context.close()
    assert not problems, "api docs:\n  " + "\n  ".join(problems)


def test_api_docs_accessibility(browser: Browser, site: Site) -> None:
    context, page, _ = _docs(browser, site)
    try:
        problems = axe_violations(page)
    finally:
        context.close()
    assert not problems, "api docs:\n  " + "\n  ".join(problems)
