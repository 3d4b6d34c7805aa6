"""The worker's own page at http://127.0.0.1:PORT — loopback only, never another interface.

Shows each detector's state in plain words, the exact JSON last sent, the outbox length and
a pause button. Pause/resume are POSTs carrying a per-process token (CSRF-safe); requests
whose Host is not loopback are refused (DNS rebinding).
"""

from __future__ import annotations

import html
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from deskwatch.config import Policy
from deskwatch.files import write_private
from deskwatch.identity import page as identity_page
from deskwatch.privacy.categories import CATEGORIES
from deskwatch.privacy.restrict import detectors_for, rules_of
from deskwatch.privacy.worker import WorkerCategory
from deskwatch.rules.registry import AUDIO_RULES, RULE_NEEDS

if TYPE_CHECKING:
    from deskwatch.agent.policy import Current
    from deskwatch.agent.runner import AgentRunner

HOST = "127.0.0.1"
PAGE_FILE = "page.json"


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
        write_private(self.runner.dir / PAGE_FILE, json.dumps({"url": self.url}))
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        (self.runner.dir / PAGE_FILE).unlink(missing_ok=True)

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows, as JSON."""
        r = self.runner
        pause = r.control.state()
        policy = r.policy.current
        running = dict(r.state.detectors)
        detectors: dict[str, dict[str, str]] = {
            c.type: running.get(c.type, {"state": "off", "last": _why_off(c.type, policy)})
            for c in policy.policy.detectors.values()
        }
        if r.opts.audio is not None:  # this PC was set up with room audio
            detectors["room_audio"] = _room_audio(running, open_now=r.audio is not None)
        level = r.outbox.level()
        return {
            "status": "paused" if pause.paused else r.state.status,
            "paused_for_s": pause.paused_for_s(),
            "source": r.state.source_note,
            "detectors": detectors,
            "outbox": {
                "length": level.length,
                "capacity": level.capacity,
                "warning": level.warning,
            },
            "uploads": {"sent": r.uploader.stats.sent, "last_error": r.uploader.stats.last_error},
            "policy": {"version": policy.version, "note": policy.note},
            "settings_known": policy.known,
            "last_sent": dict(r.client.last_sent),
            "recent_events": list(r.state.recent_events),
            "self_check": dict(r.state.self_check),
            "stills": r.snapshots.page_state(),
            "identity": identity_page.snapshot(
                r.identity, policy.policy.identity.enabled, paused=pause.paused
            ),
            "categories": [
                {
                    "title": c.title,
                    "purpose": c.purpose,
                    "state": _category_state(c, policy, listens=r.opts.audio is not None),
                }
                for c in policy.privacy.categories
            ],
            "my_data": f"{r.config.server_url.rstrip('/')}/me",
        }

    def render(self) -> str:
        s = self.snapshot()
        esc = html.escape
        rows = "".join(
            f"<tr><td>{esc(k)}</td><td>{esc(v['state'])}</td><td>{esc(v['last'])}</td></tr>"
            for k, v in s["detectors"].items()
        )
        sent = (
            "".join(
                f"<h3>last {esc(k)} sent</h3><pre>{esc(_pretty(v))}</pre>"
                for k, v in s["last_sent"].items()
            )
            or "<p>nothing sent yet</p>"
        )
        paused = s["status"] == "paused"
        action = "resume" if paused else "pause"
        warning = f"<p><b>{esc(s['outbox']['warning'])}</b></p>" if s["outbox"]["warning"] else ""
        return _PAGE.format(
            status=esc(s["status"].replace("_", " ")),
            waiting="" if s["settings_known"] else _WAITING,
            source=esc(s["source"]),
            action=action,
            label="Resume monitoring" if paused else "Pause for a break",
            token=esc(self.token),
            rows=rows,
            outbox=s["outbox"]["length"],
            warning=warning,
            policy=esc(f"v{s['policy']['version']} ({s['policy']['note']})"),
            sent=sent,
            my_data=esc(s["my_data"]),
            check=_check_summary(s["self_check"]),
            stills=_stills_summary(s["stills"]),
            categories="".join(
                f"<tr><td>{esc(c['title'])}</td><td>{esc(c['purpose'])}</td>"
                f"<td>{esc(c['state'])}</td></tr>"
                for c in s["categories"]
            ),
            identity=identity_page.section(s["identity"], self.token),
            challenge=identity_page.banner(s["identity"]),
            refresh=_refresh(s["identity"]),
        )


def _refresh(identity: dict[str, Any]) -> str:
    """No reload while the worker types a password; every second during a challenge."""
    if identity_page.awaiting_password(identity):
        return ""
    return _REFRESH_FAST if identity_page.challenge_left_s(identity) is not None else _REFRESH


def _category_state(category: WorkerCategory, current: Current, *, listens: bool) -> str:
    """What this PC does for one category, in plain words (true to what runs)."""
    if not current.known:
        return "off until your settings arrive from the server"
    if category.key not in CATEGORIES:
        return "not known to this version of deskwatch: nothing of it runs here"
    if category.on:
        rules = rules_of(category.key)
        if rules and set(rules) <= AUDIO_RULES:
            if not listens:
                return "on for your team, but this PC is not set up to listen: nothing of it runs"
            if not any(current.policy.rules.of(r).enabled for r in rules):
                return "on, but its rules are switched off in your team's policy: nothing runs"
            return "on: the sound level and how much of it is speech, never the sound itself"
        return "on" + (", with a blurred still at each event" if category.snapshot else "")
    why = "off for your team" if not category.enabled else "off: you objected"
    return f"{why}; {_what_is_off(category.key, current.policy)}"


def _room_audio(running: dict[str, dict[str, str]], *, open_now: bool) -> dict[str, str]:
    """The microphone's row: its last levels, or why it is closed."""
    if "room_audio" in running:
        return running["room_audio"]
    if open_now:
        return {"state": "on", "last": "no reading yet"}
    return {
        "state": "off",
        "last": "closed: it opens only while the camera runs and a category that is on for you "
        "listens",
    }


def _why_off(detector: str, current: Current) -> str:
    """Why a detector that exists in the policy is not running."""
    if not current.known:
        return "off until your settings arrive from the server"
    if any(c.type == detector and c.enabled for c in current.policy.detectors.values()):
        return "not running"
    rules = current.policy.rules
    if any(detector in RULE_NEEDS[r] for r in rules.enabled()):
        return "switched off in your team's policy"
    return "switched off: no category that is on for you uses it"


def _what_is_off(key: str, policy: Policy) -> str:
    """Which of the category's detectors are off on this PC, and which others still need."""
    needs = detectors_for(key)
    if not needs:
        return "nothing of it runs on this PC"
    configured = {c.type for c in policy.detectors.values()}
    running = {c.type for c in policy.detectors.values() if c.enabled}
    off, shared = sorted((needs & configured) - running), sorted(needs & running)
    words = "its rules do not run"
    if off:
        words += f"; detectors off on this PC: {', '.join(off)} (no frame reaches them)"
    if shared:
        words += f"; still running for other categories that are on: {', '.join(shared)}"
    return words


def _check_summary(result: dict[str, Any]) -> str:
    """The last self-check in plain words, with its tips."""
    if not result:
        return "<p>Not run yet.</p>"
    verdict = "passed" if result.get("passed") else "did not pass"
    tips = "".join(f"<li>{html.escape(str(t))}</li>" for t in result.get("tips", []))
    note = (
        ""
        if result.get("passed")
        else "<p>Until a check passes, your events are marked low-confidence for reviewers.</p>"
    )
    return f"<p>The last check <b>{verdict}</b>.</p><ul>{tips}</ul>{note}"


def _stills_summary(stills: dict[str, Any]) -> str:
    """Evidence stills: off, or on for which categories, and each one kept."""
    if not stills["on_for"] and not stills["taken"]:
        return "<p>Off: no picture of you ever leaves this PC.</p>"
    on = ", ".join(stills["on_for"]) or "nothing now"
    items = "".join(f"<li>{html.escape(t['words'])}</li>" for t in stills["taken"])
    return (
        f"<p>On for: {html.escape(on)}. When such an event starts, one still is kept with "
        "everything but you blurred, encrypted on this PC before it is sent.</p>"
        f"<ul>{items}</ul>"
    )


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return body


class _Handler(BaseHTTPRequestHandler):
    page: LocalPage

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no access log."""

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
        return self._send(404, "text/plain", "not found")

    def do_POST(self) -> None:
        actions = ("/pause", "/resume", "/check", *identity_page.ACTIONS)
        if not self._host_ok() or self.path not in actions:
            return self._send(403, "text/plain", "refused")
        length = min(int(self.headers.get("content-length") or 0), 4096)
        form = parse_qs(self.rfile.read(length).decode(errors="replace"))
        token = self.headers.get("x-deskwatch-token") or form.get("token", [""])[0]
        if not secrets.compare_digest(token, self.page.token):
            return self._send(403, "text/plain", "bad or missing token")
        control = self.page.runner.control
        if self.path in identity_page.ACTIONS:
            enabled = self.page.runner.policy.current.policy.identity.enabled
            identity_page.act(self.page.runner.identity, self.path, form, enabled)
        elif self.path == "/check":
            control.request_check()
        else:
            control.pause() if self.path == "/pause" else control.resume()
        self.page.runner.heartbeat.wake.set()
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
        # Inline styles only (the page has no script); everything else from this page alone.
        policy = "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
        self.send_header("content-security-policy", policy)
        self.end_headers()
        self.wfile.write(data)


_REFRESH = '<meta http-equiv="refresh" content="5">'
_REFRESH_FAST = '<meta http-equiv="refresh" content="1">'
_WAITING = (
    "<p><b>Monitoring waits for your privacy settings from the server.</b> Until this PC "
    "has them the camera stays off and nothing is analysed; only the heartbeat (no "
    "pictures) is sent.</p>"
)
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>deskwatch — what this PC sends</title>
{refresh}</head>
<body style="font-family: sans-serif; max-width: 50em; margin: 1em auto">
<h1>deskwatch on this PC</h1>
<p>Status: <b>{status}</b> — {source}</p>{waiting}{challenge}
<form method="post" action="/{action}"><input type="hidden" name="token" value="{token}">
<button style="font-size: 1.3em">{label}</button></form>
<p>No reason is asked. While paused the camera is off and nothing is analysed; the server
only learns that you are paused and for how long.</p>
<h2>Camera and light self-check</h2>{check}
<form method="post" action="/check"><input type="hidden" name="token" value="{token}">
<button>Run self-check</button></form>
<h2>Evidence stills</h2>{stills}
{identity}
<h2>What is monitored, and why</h2>
<table border="1" cellpadding="4"><tr><th>category</th><th>why</th><th>state</th></tr>
{categories}</table>
<p>To object, comment on or dispute an event, or export everything: <a href="{my_data}">My data</a>
on the server.</p>
<h2>Detectors</h2>
<table border="1" cellpadding="4"><tr><th>detector</th><th>on/off</th><th>last value</th></tr>
{rows}</table>
<h2>Waiting to be sent</h2><p>{outbox} event(s) in the outbox.</p>{warning}
<p>Policy: {policy}</p>
<h2>Exactly what was sent</h2>{sent}
<p><a href="{my_data}">Your data on the server</a></p>
</body></html>
"""
