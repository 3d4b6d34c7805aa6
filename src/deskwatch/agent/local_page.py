"""The worker's own page at http://127.0.0.1:PORT — loopback only, never another interface.

It renders the runner's ``PageState`` in plain words (what is watched and why, what each
check saw, the exact JSON last sent and when, the outbox) through a Jinja template with
autoescaping, and sends the page's buttons to ``runner.command``. Actions are POSTs carrying
a per-process token (CSRF-safe); requests whose Host is not loopback are refused (DNS
rebinding). The page's own script (``static/page.js``, no inline script: the CSP forbids
it) refreshes it from ``/view.json`` every few seconds, without reloading.

The running agent writes its address and token to ``control.PAGE_FILE`` (private to this
user), which is how ``control.PageClient`` (the tray app) finds it.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import threading
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from jinja2 import Environment, PackageLoader, select_autoescape

from deskwatch.agent import page_state
from deskwatch.agent.control import CHECK, PAGE_FILE, PAUSE, RESUME, TOKEN_HEADER, VIEW
from deskwatch.files import write_private
from deskwatch.identity import page as identity_page

if TYPE_CHECKING:
    from deskwatch.agent.runner import AgentRunner

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
ACTIONS = (PAUSE, RESUME, CHECK, *identity_page.ACTIONS)
REFRESH_S = 3  # the page's script asks for /view.json this often
REFRESH_CHALLENGE_S = 1  # a countdown runs: every second
MAX_FORM_BYTES = 4096
STATIC = {
    "/static/page.css": "text/css",
    "/static/page.js": "text/javascript",
    "/static/icon.svg": "image/svg+xml",
}
__all__ = ["ACTIONS", "HOST", "PAGE_FILE", "LocalPage", "start_page"]


class LocalPage:
    """Serves one runner's state on 127.0.0.1 in a background thread."""

    def __init__(self, runner: AgentRunner, port: int = 8765) -> None:
        self.runner = runner
        self.token = secrets.token_urlsafe(24)
        handler = type("Handler", (_Handler,), {"page": self})
        self.server = ThreadingHTTPServer((HOST, port), handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://{HOST}:{self.port}/"
        self._thread = threading.Thread(target=self.server.serve_forever, name="page", daemon=True)

    def start(self) -> LocalPage:
        self._thread.start()
        link = {"url": self.url, "token": self.token}
        write_private(self.runner.dir / PAGE_FILE, json.dumps(link))
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        (self.runner.dir / PAGE_FILE).unlink(missing_ok=True)

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows, as JSON (``/state.json``)."""
        return self.runner.page_state().to_json()

    def view(self, state: page_state.PageState | None = None) -> dict[str, Any]:
        """The page in plain words (``/view.json``), with how soon to ask again."""
        state = state or self.runner.page_state()
        left = identity_page.challenge_left_s(state.identity)
        # frame times carry float noise: 28.0003 s left is 28
        challenge_s = None if left is None else math.ceil(round(left, 3))
        return {**page_state.view(state, challenge_s), "refresh_s": _refresh_s(state.identity)}

    def render(self) -> str:
        state = self.runner.page_state()
        return (
            _templates()
            .get_template("page.html")
            .render(
                s=state,
                v=self.view(state),
                token=self.token,
                view_path=VIEW,
                token_header=TOKEN_HEADER,
                awaiting_password=identity_page.awaiting_password(state.identity),
            )
        )


def start_page(runner: AgentRunner, port: int | None) -> LocalPage | None:
    """The page started on ``port`` (None: no page, or the port is taken: logged)."""
    if port is None:
        return None
    try:
        page = LocalPage(runner, port).start()
    except OSError as exc:
        log.warning("local page not started (port %s: %s)", port, exc)
        return None
    log.info("your page: %s", page.url)
    return page


@cache
def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("deskwatch.agent", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    return env


@cache
def _static(path: str) -> str:
    return resources.files("deskwatch.agent").joinpath(path.lstrip("/")).read_text()


def _refresh_s(identity: dict[str, Any]) -> int:
    """Every second during a challenge (its countdown moves), else every few seconds (the
    script never reloads the page while a password is being typed)."""
    if identity_page.challenge_left_s(identity) is not None:
        return REFRESH_CHALLENGE_S
    return REFRESH_S


class _Handler(BaseHTTPRequestHandler):
    page: LocalPage

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no access log."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A method the page has no handler for is a 405 (the standard library says 501)."""
        super().send_error(405 if code == 501 else code, message, explain)

    def _host_ok(self) -> bool:
        host = self.headers.get("host", "")
        return host in (f"{HOST}:{self.page.port}", f"localhost:{self.page.port}")

    def do_GET(self) -> None:
        if not self._host_ok():
            return self._send(403, "text/plain", "loopback only")
        if self.path == "/":
            return self._send(200, "text/html; charset=utf-8", self.page.render())
        if self.path == "/state.json":
            return self._send(200, "application/json", json.dumps(self.page.snapshot()))
        if self.path == VIEW:
            return self._send(200, "application/json", json.dumps(self.page.view()))
        if self.path in STATIC:
            return self._send(200, f"{STATIC[self.path]}; charset=utf-8", _static(self.path))
        return self._send(404, "text/plain", "not found")

    def do_POST(self) -> None:
        if not self._host_ok() or self.path not in ACTIONS:
            return self._send(403, "text/plain", "refused")
        length = _length(self.headers.get("content-length"))
        if length is None:
            return self._send(400, "text/plain", "bad content-length")
        form = parse_qs(self.rfile.read(length).decode(errors="replace"))
        header = self.headers.get(TOKEN_HEADER)
        token = header or form.get("token", [""])[0]
        if not secrets.compare_digest(token.encode(errors="replace"), self.page.token.encode()):
            return self._send(403, "text/plain", "bad or missing token")
        self.page.runner.command(self.path, form)
        if header:  # the page's script or the tray: the view after the action, no redirect
            return self._send(200, "application/json", json.dumps(self.page.view()))
        self.send_response(303)
        self.send_header("location", "/")
        self.send_header("content-length", "0")
        self.end_headers()

    def _send(self, code: int, kind: str, body: str) -> None:
        data = body.encode()
        self.send_response(code)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(data)))
        self.send_header("cache-control", "no-store")
        self.send_header("x-frame-options", "DENY")
        # Scripts only from this page's own files (no inline script); inline styles allowed.
        policy = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
        self.send_header("content-security-policy", policy)
        self.end_headers()
        self.wfile.write(data)


def _length(header: str | None) -> int | None:
    """The form's length to read (at most ``MAX_FORM_BYTES``); None when the header is not
    a non-negative number (a negative one would read until the client hangs up)."""
    text = (header or "0").strip()
    if not (text.isascii() and text.isdigit()):
        return None
    return min(int(text), MAX_FORM_BYTES)
