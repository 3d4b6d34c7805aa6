"""What every real-browser test shares: a seeded real server process, Debian's Chromium in
Asia/Tokyo, signing in through the form, enrolled devices and their events, and the checks a
real browser makes of any page: axe-core accessibility, no sideways scroll on a phone, the
keyboard path from the top, and console errors or CSP violations."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, sync_playwright
from sqlalchemy.orm import Session

from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.devices.service import create_code
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role, Team, User
from deskwatch.server.orgs.service import create_site, create_team, create_user
from tests.server_process import ServerProcess

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed")
ZONE = "Asia/Tokyo"  # far from UTC, so a page that showed browser-local times would be caught
PHONE: ViewportSize = {"width": 390, "height": 844}
AXE = Path(__file__).parents[1] / "vendor" / "axe-core" / "axe.min.js"
BAD_IMPACTS = ("serious", "critical")
WCAG_AA = ("wcag2a", "wcag2aa")
T = TypeVar("T")
# Collects CSP violations from the first byte on; init scripts are not subject to the CSP.
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`));
"""
AXE_RUN = "async (options) => await axe.run(document, options)"


# The server and its people -----------------------------------------------------------------


def seed(url: str, make: Callable[[Session], T]) -> T:
    """Migrate the database at ``url`` and run ``make`` in one transaction; what it returned."""
    engine = make_engine(url)
    upgrade(engine)
    try:
        with session_factory(engine).begin() as s:
            return make(s)
    finally:
        engine.dispose()


@contextmanager
def serve(folder: Path, make: Callable[[Session], T]) -> Iterator[tuple[str, T]]:
    """A SQLite database in ``folder`` seeded by ``make`` and a real server process on it:
    the server's URL and what ``make`` returned."""
    db = f"sqlite:///{folder / 'server.db'}"
    made = seed(db, make)
    server = ServerProcess(db, folder)
    server.start()
    try:
        yield server.url, made
    finally:
        server.stop()


def staff(
    s: Session, password: str, teams: Sequence[str] = ("Alpha", "Bravo"), po: bool = True
) -> tuple[User, list[Team]]:
    """Site Leeds with ``teams``, an ``admin``, ``sup`` supervising the first team and (with
    ``po``) a privacy officer ``po``: the admin and the teams."""
    site = create_site(s, name="Leeds")
    made = [create_team(s, site=site, name=name) for name in teams]
    admin = create_user(s, username="admin", password=password, role=Role.ADMIN)
    create_user(s, username="sup", password=password, role=Role.SUPERVISOR, supervises=made[:1])
    if po:
        create_user(s, username="po", password=password, role=Role.PRIVACY_OFFICER)
    return admin, made


def agent(s: Session, username: str, name: str, team: Team, password: str) -> User:
    return create_user(
        s, username=username, password=password, role=Role.AGENT, display_name=name, team=team
    )


def code_for(s: Session, admin: User, user: User) -> str:
    """A one-time enrolment code for ``user``'s PC, good for ten minutes."""
    return create_code(s, admin=admin, agent_id=user.id, now=datetime.now(UTC), ttl_s=600)[0]


def enrolled(url: str, code: str, hostname: str = "pc") -> httpx.Client:
    """A device enrolled with ``code`` through the real API, its token in its headers."""
    device = httpx.Client(base_url=url)
    body = {"code": code, "hostname": hostname}
    token = device.post("/api/v1/devices/enroll", json=body).json()["token"]
    device.headers["authorization"] = f"Bearer {token}"
    return device


def signed_in(url: str, username: str, password: str) -> httpx.Client:
    """An API client signed in as ``username``, its CSRF token in its headers."""
    client = httpx.Client(base_url=url)
    reply = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    client.headers["x-csrf-token"] = reply.json()["csrf_token"]
    return client


def beats(device: httpx.Client, *statuses: str) -> None:
    """The device reports each status in turn, each accepted."""
    for status in statuses:
        beat = {"status": status, "sent_at": datetime.now(UTC).isoformat()}
        assert device.post("/api/v1/heartbeat", json=beat).status_code == 200


def event_body(
    kind: str,
    started_at: datetime,
    length_s: float,
    confidence: float = 1.0,
    evidence: dict[str, float] | None = None,
    ended: bool = True,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One event as an agent sends it; ``ended``: closed ``length_s`` after it started."""
    return {
        "id": event_id or str(uuid.uuid4()),
        "type": kind,
        "start_s": 0.0,
        "end_s": length_s,
        "peak_confidence": confidence,
        "evidence": evidence or {},
        "started_at": started_at.isoformat(),
        "ended_at": (started_at + timedelta(seconds=length_s)).isoformat() if ended else None,
    }


def send(device: httpx.Client, *events: dict[str, Any]) -> None:
    """The device sends ``events``; each is new to the server."""
    reply = device.post("/api/v1/events", json={"events": list(events)})
    assert reply.json()["new"] == len(events), reply.text


# The browser ---------------------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, closed afterwards."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def launch(**options: Any) -> Iterator[Page]:
    """A page in a fresh Chromium whose context is in Asia/Tokyo (``options`` add to it)."""
    with chromium() as browser:
        yield browser.new_context(**{"timezone_id": ZONE, **options}).new_page()


@pytest.fixture
def page() -> Iterator[Page]:
    """A page in a fresh Chromium, in Asia/Tokyo (a test sets its own viewport)."""
    with launch(accept_downloads=True) as page:
        yield page


def login(page: Page, url: str, username: str, password: str) -> None:
    """Sign in through the form; back once the server has answered with another page."""
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda at: "/login" not in at)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where a test's screenshots go: ``$DESKWATCH_SCREENSHOTS``, else its tmp folder."""
    return screenshot_folder(tmp_path)


# The checks ----------------------------------------------------------------------------------


def axe_violations(
    page: Page,
    tags: Sequence[str] | None = None,
    impacts: Collection[str] | None = BAD_IMPACTS,
) -> list[str]:
    """axe-core violations, one readable line each: those of ``impacts`` (every one with
    None), of the rules with ``tags`` (every rule with None).

    axe is injected with ``evaluate`` (not a script tag): the page's CSP forbids inline
    scripts but does not apply to the test's own evaluation.
    """
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if tags:
        options["runOnly"] = list(tags)
    result: dict[str, Any] = page.evaluate(AXE_RUN, options)
    lines = []
    for v in result["violations"]:
        if impacts is None or v["impact"] in impacts:
            targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:8])
            more = f" (+{len(v['nodes']) - 8} more)" if len(v["nodes"]) > 8 else ""
            lines.append(f"{v['id']} [{v['impact']}]: {v['help']} -> {targets}{more}")
    return lines


def sideways_overflow(page: Page, slack: int = 1) -> str | None:
    """None when the page fits its viewport's width (``slack`` px spare), else what is too
    wide."""
    widths: dict[str, Any] = page.evaluate(
        """(slack) => {
          const view = window.innerWidth, scroll = document.documentElement.scrollWidth;
          if (scroll <= view + slack) return {scroll, view, wide: []};
          const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
            + (typeof e.className === "string" && e.className.trim()
               ? "." + e.className.trim().split(/\\s+/).join(".") : "");
          const right = (e) => Math.round(e.getBoundingClientRect().right);
          const clipped = (e) => {  // inside a box that scrolls or clips: not the page's
            for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
              if (getComputedStyle(a).overflowX !== "visible") return true;
            }
            return false;
          };
          const wide = [...document.querySelectorAll("body *")]
            .filter((e) => e.getBoundingClientRect().right > view + slack)
            .filter((e) => !clipped(e));
          const outer = wide.filter((e) => !wide.includes(e.parentElement)).slice(0, 6);
          return {scroll, view, wide: outer.map((e) => `${name(e)} right=${right(e)}`)};
        }""",
        slack,
    )
    if widths["scroll"] <= widths["view"] + slack:
        return None
    return f"page is {widths['scroll']} px wide in a {widths['view']} px viewport: {widths['wide']}"


def no_sideways_scroll(page: Page) -> None:
    """The page is no wider than its viewport, not by one pixel."""
    overflow = sideways_overflow(page, slack=0)
    assert overflow is None, overflow


def tab_stops(page: Page, hrefs: set[str], limit: int = 40) -> list[dict[str, str]]:
    """What Tab presses from the top focus, until every link in ``hrefs`` was reached."""
    stops: list[dict[str, str]] = []
    missing = set(hrefs)
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop: dict[str, str] = page.evaluate(
            """() => { const e = document.activeElement;
              return {tag: e.tagName.toLowerCase(), text: (e.innerText || "").trim(),
                      href: e.getAttribute("href") || ""}; }"""
        )
        stops.append(stop)
        missing.discard(stop["href"])
        if not missing and len(stops) > 1:
            break
    return stops


@dataclass
class Watch:
    """Console errors and uncaught exceptions a page raised while it was watched."""

    page: Page
    errors: list[str] = field(default_factory=list)
    allowed_status: int | None = None  # the page's own answer, when it is an error page

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        text = msg.text
        expected = f"status of {self.allowed_status}" if self.allowed_status else None
        if expected and expected in text and "Failed to load resource" in text:
            return  # the error page's own 403/404, which the test asked for
        url = msg.location.get("url", "")
        if url.endswith("/favicon.ico"):
            return  # asked for by pages outside base.html (Swagger UI), which names no icon
        self.errors.append(f"console: {text} ({url})")

    def problems(self) -> list[str]:
        """Console errors, then the CSP violations the page recorded."""
        csp: list[str] = self.page.evaluate("() => window.__csp || []")
        return self.errors + [f"CSP: {c}" for c in csp]


def screenshot_folder(fallback: Path) -> Path:
    """``$DESKWATCH_SCREENSHOTS`` if set (created), else ``fallback``."""
    chosen = os.environ.get("DESKWATCH_SCREENSHOTS")
    folder = Path(chosen) if chosen else fallback
    folder.mkdir(parents=True, exist_ok=True)
    return folder
