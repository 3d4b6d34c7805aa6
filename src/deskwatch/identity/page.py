"""The identity part of the worker's local page: consent, decline, delete, password, and
the banner of a liveness challenge.

Delete is always offered while a template exists, whatever the policy says; enrolling
needs the worker's password, re-confirmed by the server, before any capture starts. While
a check asks for a head turn or a blink, a banner at the top of the page says so in plain
words with the seconds left, and the page reloads every second (not while paused).
"""

from __future__ import annotations

import html
import math
from dataclasses import asdict
from typing import Any

from deskwatch.identity.hook import IdentityHook, Mode

ACTIONS = (
    "/identity/consent",
    "/identity/cancel",
    "/identity/decline",
    "/identity/delete",
    "/identity/password",
)
_MAX_PASSWORD = 200


def snapshot(hook: IdentityHook, enabled: bool, paused: bool = False) -> dict[str, Any]:
    """What the page shows (and ``/state.json`` returns): no descriptor, no password. While
    monitoring is paused no frame comes, so a challenge's countdown is not shown: the check
    ends as interrupted when the camera opens again."""
    state = {"enabled": enabled, **asdict(hook.view())}
    if paused and state["challenge_left_s"] is not None:
        state["challenge_left_s"] = None
        state["note"] = _PAUSED_WORDS
    return state


def awaiting_password(state: dict[str, Any]) -> bool:
    """The page asks for a password (to confirm, or to start enrolling): no reload then."""
    if not state.get("enabled"):
        return False
    return state.get("mode") == Mode.AWAITING_PASSWORD.value or bool(state.get("consenting"))


def challenge_left_s(state: dict[str, Any]) -> float | None:
    """Seconds left to show a cue, while a check asks for one (None: nothing asked)."""
    left = state.get("challenge_left_s")
    if not state.get("enabled") or state.get("mode") != Mode.CHECKING.value or left is None:
        return None
    return float(left)


def banner(state: dict[str, Any]) -> str:
    """The challenge's request, prominent, with a countdown ("" while nothing is asked)."""
    left = challenge_left_s(state)
    if left is None:
        return ""
    seconds = math.ceil(round(left, 3))  # frame times carry float noise: 28.0003 is 28
    # A heading and <mark> stand out by the browser's own style.
    return (
        f'<h2 role="alert"><mark>{html.escape(state["note"])}</mark></h2>'
        f"<p><b>{seconds} second{'' if seconds == 1 else 's'} left.</b></p>"
    )


def act(hook: IdentityHook, path: str, form: dict[str, list[str]], enabled: bool) -> None:
    """Run one page action (``enabled``: the policy in force); the outcome shows in the note."""
    hook.set_enabled(enabled)
    password = form.get("password", [""])[0][:_MAX_PASSWORD]
    if path == "/identity/decline":
        hook.decline()
    elif path == "/identity/delete":
        hook.delete()
    elif path == "/identity/cancel":
        hook.cancel_consent()
    elif path == "/identity/consent" and password:
        hook.consent(password)
    elif path == "/identity/consent":
        hook.ask_consent()
    else:
        hook.note = hook.password(password) if password else "Please type your password."


def section(state: dict[str, Any], token: str) -> str:
    """The identity section's HTML; with identity off it only offers to delete a template."""
    if not state.get("enabled") and not state["enrolled"] and not state["note"]:
        return ""
    tok = html.escape(token)
    parts = ["<h2>Identity check</h2>", *_status(state)]
    if not state.get("enabled"):
        parts.append("<p>Identity checks are off: nothing is compared.</p>")
        if state["enrolled"]:
            parts.append(_form("delete", tok, "Delete my face template"))
        return "".join(parts)
    if awaiting_password(state):
        parts.append(_form("password", tok, "Confirm", _PASSWORD_FIELD))
    parts.append(
        "<p>Face checks compare your face with a template kept encrypted on this PC; it is "
        "never sent. The server only learns whether a check passed. You may say no and "
        "confirm with your password instead, and delete the template at any time. Enrolling "
        "asks for your password first: the server confirms it is you before the camera is "
        "used.</p>"
    )
    if state.get("consenting"):
        parts.append(_form("consent", tok, "Start enrolling", _PASSWORD_FIELD))
        parts.append(_form("cancel", tok, "Cancel"))
    else:
        again = "Enrol my face again" if state["enrolled"] else "I agree: enrol my face"
        parts.append(_form("consent", tok, again))
    parts.append(_form("decline", tok, "No thanks: use my password"))
    if state["enrolled"]:
        parts.append(_form("delete", tok, "Delete my face template"))
    return "".join(parts)


def _status(state: dict[str, Any]) -> list[str]:
    status = (
        "a face template (encrypted, only on this PC)"
        if state["enrolled"]
        else {"password": "password re-confirmation (you declined face checks)"}.get(
            state["choice"], "nothing chosen yet"
        )
    )
    note = f"<p>{html.escape(state['note'])}</p>" if state["note"] else ""
    return [f"<p>Your choice: <b>{html.escape(status)}</b>.</p>", note]


_PAUSED_WORDS = (
    "Monitoring is paused: the identity check stopped and is reported as interrupted; a new "
    "one starts when you resume."
)
_PASSWORD_FIELD = '<input type="password" name="password" autocomplete="current-password">'


def _form(action: str, token: str, label: str, extra: str = "") -> str:
    return (
        f'<form method="post" action="/identity/{action}">'
        f'<input type="hidden" name="token" value="{token}">{extra}<button>{label}</button></form>'
    )
