"""The identity part of the worker's local page: consent, decline, delete, password."""

from __future__ import annotations

import html
from dataclasses import asdict
from typing import Any

from deskwatch.identity.hook import IdentityHook, Mode

ACTIONS = ("/identity/consent", "/identity/decline", "/identity/delete", "/identity/password")
_MAX_PASSWORD = 200


def snapshot(hook: IdentityHook, enabled: bool) -> dict[str, Any]:
    """What the page shows (and ``/state.json`` returns): no descriptor, no password."""
    return {"enabled": enabled, **asdict(hook.view())}


def awaiting_password(state: dict[str, Any]) -> bool:
    return bool(state.get("enabled")) and state.get("mode") == Mode.AWAITING_PASSWORD.value


def act(hook: IdentityHook, path: str, form: dict[str, list[str]]) -> None:
    """Run one page action; its outcome shows in the hook's note."""
    if path == "/identity/consent":
        hook.consent()
    elif path == "/identity/decline":
        hook.decline()
    elif path == "/identity/delete":
        hook.delete()
    else:
        password = form.get("password", [""])[0][:_MAX_PASSWORD]
        hook.note = hook.password(password) if password else "Please type your password."


def section(state: dict[str, Any], token: str) -> str:
    """The identity section's HTML (empty when the team's policy has no identity check)."""
    if not state.get("enabled"):
        return ""
    esc, tok = html.escape, html.escape(token)
    status = (
        "a face template (encrypted, only on this PC)"
        if state["enrolled"]
        else {"password": "password re-confirmation (you declined face checks)"}.get(
            state["choice"], "nothing chosen yet"
        )
    )
    parts = [
        "<h2>Identity check</h2>",
        f"<p>Your choice: <b>{esc(status)}</b>.</p>",
        f"<p>{esc(state['note'])}</p>" if state["note"] else "",
    ]
    if awaiting_password(state):
        parts.append(_form("password", tok, "Confirm", '<input type="password" name="password">'))
    parts.append(
        "<p>Face checks compare your face with a template kept encrypted on this PC; it is "
        "never sent. The server only learns whether a check passed. You may say no and "
        "confirm with your password instead, and delete the template at any time.</p>"
    )
    parts.append(_form("consent", tok, "I agree: enrol my face"))
    parts.append(_form("decline", tok, "No thanks: use my password"))
    if state["enrolled"]:
        parts.append(_form("delete", tok, "Delete my face template"))
    return "".join(parts)


def _form(action: str, token: str, label: str, extra: str = "") -> str:
    return (
        f'<form method="post" action="/identity/{action}">'
        f'<input type="hidden" name="token" value="{token}">{extra}<button>{label}</button></form>'
    )
