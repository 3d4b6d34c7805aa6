"""Checks a real browser makes of any page: axe-core accessibility, no sideways scroll on a
phone, the keyboard path from the top, and console errors or CSP violations."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, Page

AXE = Path(__file__).parents[1] / "vendor" / "axe-core" / "axe.min.js"
BAD_IMPACTS = ("serious", "critical")
# Collects CSP violations from the first byte on; init scripts are not subject to the CSP.
CSP_LISTENER = """
window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`));
"""
AXE_RUN = "async () => await axe.run(document, {resultTypes: ['violations']})"


def axe_violations(page: Page) -> list[str]:
    """Serious and critical axe-core violations, one readable line each.

    axe is injected with ``evaluate`` (not a script tag): the page's CSP forbids inline
    scripts but does not apply to the test's own evaluation.
    """
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result: dict[str, Any] = page.evaluate(AXE_RUN)
    lines = []
    for v in result["violations"]:
        if v["impact"] in BAD_IMPACTS:
            targets = ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:8])
            more = f" (+{len(v['nodes']) - 8} more)" if len(v["nodes"]) > 8 else ""
            lines.append(f"{v['id']} [{v['impact']}]: {v['help']} -> {targets}{more}")
    return lines


def sideways_overflow(page: Page) -> str | None:
    """None when the page fits its viewport's width (1 px slack), else what is too wide."""
    widths: dict[str, Any] = page.evaluate(
        """() => {
          const view = window.innerWidth, scroll = document.documentElement.scrollWidth;
          if (scroll <= view + 1) return {scroll, view, wide: []};
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
            .filter((e) => e.getBoundingClientRect().right > view + 1)
            .filter((e) => !clipped(e));
          const outer = wide.filter((e) => !wide.includes(e.parentElement)).slice(0, 6);
          return {scroll, view, wide: outer.map((e) => `${name(e)} right=${right(e)}`)};
        }"""
    )
    if widths["scroll"] <= widths["view"] + 1:
        return None
    return f"page is {widths['scroll']} px wide in a {widths['view']} px viewport: {widths['wide']}"


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
