"""The identity part of the worker's local page: what it shows (``snapshot``), when it asks
for a password or shows a challenge, and its actions (consent, decline, delete, password).
The agent's templates (``agent/templates/identity.html``) render it.

Delete is always offered while a template exists, whatever the policy says; enrolling
needs the worker's password, re-confirmed by the server, before any capture starts. While
a check asks for a head turn or a blink, a banner at the top of the page says so in plain
words with the seconds left, and the page reloads every second (not while paused).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from deskwatch.identity.hook import IdentityHook
from deskwatch.identity.machine import Mode

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


_PAUSED_WORDS = (
    "Monitoring is paused: the identity check stopped and is reported as interrupted; a new "
    "one starts when you resume."
)
