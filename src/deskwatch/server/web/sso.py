"""Single sign-on pages: /login/sso starts it at the provider, /login/sso/callback ends it
in a deskwatch session, and logout ends the provider's session too (when it offers that).

The sign-on under way (state, nonce, PKCE verifier, the page asked for) rides in its own
signed cookie, SameSite=Lax: the provider's redirect back is a cross-site navigation, which
never carries the SameSite=Strict session cookie. For the same reason the callback answers
with a page that moves on by itself: a redirect there would still count as cross-site, and
the new session cookie would not be sent with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from itsdangerous import BadData, URLSafeTimedSerializer

from deskwatch.server.audit.service import record
from deskwatch.server.auth import oidc
from deskwatch.server.auth.routes import source_of, start_session
from deskwatch.server.auth.sessions import end_expired, timeouts_of
from deskwatch.server.deps import ChangesDep, NowDep, SessionDep, SettingsDep
from deskwatch.server.devices.service import revoke_all
from deskwatch.server.orgs.models import User
from deskwatch.server.orgs.service import working_agent
from deskwatch.server.settings import Settings
from deskwatch.server.web.access import home_of
from deskwatch.server.web.pages import page
from deskwatch.server.web.routes import safe_next

router = APIRouter(include_in_schema=False)

PENDING_COOKIE = "deskwatch_sso"
HINT_COOKIE = "deskwatch_sso_hint"  # the ID token, for the provider's logout
PENDING_MAX_S = 600
HINT_MAX_CHARS = 3500  # a larger ID token is not kept (the logout then names the client)
REFUSED = "auth:sso_refused"


def _signer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.signing_key(), salt=f"deskwatch-{purpose}")


def _callback_uri(request: Request, settings: Settings) -> str:
    return settings.oidc_redirect_uri or str(request.url_for("sso_callback"))


def _cookie(response: Response, settings: Settings, name: str, value: str, **kw: Any) -> None:
    response.set_cookie(name, value, httponly=True, secure=settings.secure_cookies, **kw)


@router.get("/login/sso")
def sso_start(request: Request, settings: SettingsDep, next: str = "") -> Response:
    """To the provider's sign-in page (404 when single sign-on is not set up)."""
    if not oidc.enabled(settings):
        raise HTTPException(404, "single sign-on is not set up")
    try:
        url, pending = oidc.begin(
            settings, redirect_uri=_callback_uri(request, settings), next=safe_next(next[:2000])
        )
    except oidc.SsoError as exc:
        raise HTTPException(502, str(exc)) from exc
    reply = RedirectResponse(url, status_code=302)
    value = _signer(settings, "sso").dumps(pending.as_dict())
    _cookie(
        reply,
        settings,
        PENDING_COOKIE,
        value,
        max_age=PENDING_MAX_S,
        path="/login/sso",
        samesite="lax",
    )
    return reply


def _pending(request: Request, settings: Settings) -> oidc.Pending:
    raw = request.cookies.get(PENDING_COOKIE, "")
    try:
        data = _signer(settings, "sso").loads(raw, max_age=PENDING_MAX_S)
        return oidc.Pending(**data)
    except (BadData, TypeError) as exc:
        raise oidc.SsoError(
            "This sign-on was started too long ago or in another browser: start again."
        ) from exc


@router.get("/login/sso/callback", name="sso_callback")
def sso_callback(
    request: Request,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    changes: ChangesDep,
) -> Response:
    """The provider's answer: a deskwatch session, or a 403 page that says why not."""
    if not oidc.enabled(settings):
        raise HTTPException(404, "single sign-on is not set up")
    try:
        pending = _pending(request, settings)
        token = oidc.finish(settings, pending=pending, query=dict(request.query_params))
        user, changed = oidc.sign_on(session, settings=settings, token=token, now=now)
    except oidc.SsoError as exc:
        session.rollback()  # nothing of a refused sign-on stays, but the refusal
        detail = {
            "issuer": oidc.issuer_host(settings),
            "reason": str(exc),
            "source": source_of(request),
        }
        record(session, actor=None, action=REFUSED, subject="sso", now=now, detail=detail)
        reply = page(request, "sso_refused.html", None, session, 403, reason=str(exc))
        reply.delete_cookie(PENDING_COOKIE, path="/login/sso")
        return reply
    if working_agent(user, before=changed) and not working_agent(user):
        revoke_all(session, agent_id=user.id, now=now)
    if changed:
        changes.publish(session, agent_id=user.id)
    return _signed_in(request, session, settings, user, token, pending, now)


def _signed_in(
    request: Request,
    session: SessionDep,
    settings: Settings,
    user: User,
    token: oidc.Token,
    pending: oidc.Pending,
    now: datetime,
) -> HTMLResponse:
    end_expired(session, now=now, timeouts=timeouts_of(settings), user_id=user.id)
    start_session(request, session, user, now)
    detail = {"via": "sso", "issuer": oidc.issuer_host(settings)}
    record(
        session,
        actor=user,
        action=oidc.SIGNED_ON,
        subject=f"user:{user.id}",
        now=now,
        detail=detail,
    )
    target = pending.next or home_of(user)
    reply = page(request, "sso_continue.html", user, session, target=target)
    reply.delete_cookie(PENDING_COOKIE, path="/login/sso")
    kept = token.id_token if len(token.id_token) <= HINT_MAX_CHARS else ""
    _cookie(
        reply,
        settings,
        HINT_COOKIE,
        _signer(settings, "sso-hint").dumps(kept),
        max_age=int(settings.session_max_s),
        path="/logout",
        samesite="strict",
    )
    return reply


def after_logout(request: Request, settings: Settings) -> Response:
    """After deskwatch's session ended: to the provider's end-session page when it has one
    (back to /login from there), else to /login."""
    raw = request.cookies.get(HINT_COOKIE, "")
    try:
        id_token = str(_signer(settings, "sso-hint").loads(raw)) if raw else ""
    except BadData:
        raw = id_token = ""
    back = str(request.url_for("login_page"))
    if settings.oidc_redirect_uri:
        back = settings.oidc_redirect_uri.split("/login/sso/callback")[0] + "/login"
    url = oidc.logout_url(settings, id_token=id_token, back_to=back) if raw else None
    reply = RedirectResponse(url or "/login", status_code=303)
    reply.delete_cookie(HINT_COOKIE, path="/logout")
    return reply
