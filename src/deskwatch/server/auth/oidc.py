"""Single sign-on with an OpenID Connect provider (authlib's client).

Authorization code flow with PKCE, state and nonce; the ID token's issuer, audience, nonce,
expiry and signature (the provider's JWKS) are checked by authlib. A person is found by
(issuer, subject), else created from the claims; their role, and their team(s) when groups
map to teams, follow their groups at every sign-on (audited)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OAuthError, OpenIDMixin
from authlib.integrations.base_client.framework_integration import FrameworkIntegration
from authlib.integrations.httpx_client import OAuth2Client
from joserfc.errors import JoseError
from pydantic import ValidationError
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from deskwatch.server.audit.service import record
from deskwatch.server.auth.schemas import SsoClaims
from deskwatch.server.db import serialise
from deskwatch.server.orgs.models import Role, Team, User, team_supervisors
from deskwatch.server.orgs.service import create_user, follow_user_change
from deskwatch.server.security import same
from deskwatch.server.settings import Settings

# When groups give several roles, the first of these wins.
PRECEDENCE = (Role.ADMIN, Role.PRIVACY_OFFICER, Role.SUPERVISOR, Role.AGENT)
SIGNED_ON = "login"
CREATED = "user:created_by_sso"
CHANGED = "user:changed_by_sso"
TIMEOUT_S = 10.0


class SsoError(Exception):
    """Sign-on refused or failed; the message is fit to show the person."""


class _Provider(OAuth2Mixin, OpenIDMixin, BaseApp):  # type: ignore[misc]
    """authlib's synchronous OpenID Connect client (httpx)."""

    client_cls = OAuth2Client


@dataclass(frozen=True)
class Pending:
    """A sign-on under way, kept in the browser's signed cookie until the callback."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Token:
    """The validated ID token's claims and the raw token (the hint at logout)."""

    claims: dict[str, Any]
    id_token: str


def enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer)


def login_context(settings: Settings) -> dict[str, Any]:
    """What the login page shows: the sign-on button, and whether the password form."""
    return {
        "sso_name": settings.sso_name if enabled(settings) else "",
        "local_login": settings.local_login,
    }


def local_off(settings: Settings) -> str:
    return f"Password login is switched off here: sign in with {settings.sso_name}."


def issuer_host(settings: Settings) -> str:
    return urlsplit(settings.oidc_issuer).hostname or settings.oidc_issuer


@lru_cache(maxsize=4)
def _provider(issuer: str, client_id: str, secret: str, scopes: str) -> _Provider:
    return _Provider(
        FrameworkIntegration("oidc"),
        name="oidc",
        client_id=client_id,
        client_secret=secret or None,
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": scopes, "code_challenge_method": "S256", "timeout": TIMEOUT_S},
    )


def provider_of(settings: Settings) -> _Provider:
    """The provider's client, its discovery document read once per process."""
    s = settings
    return _provider(s.oidc_issuer, s.oidc_client_id, s.oidc_client_secret, s.oidc_scopes)


def _metadata(settings: Settings) -> dict[str, Any]:
    try:
        metadata: dict[str, Any] = provider_of(settings).load_server_metadata()
    except Exception as exc:  # network, HTTP or JSON: the provider cannot be reached
        raise SsoError(f"The sign-on provider cannot be reached ({type(exc).__name__}).") from exc
    if str(metadata.get("issuer", "")).rstrip("/") != settings.oidc_issuer.rstrip("/"):
        raise SsoError("The sign-on provider names another issuer than the one configured.")
    return metadata


def begin(settings: Settings, *, redirect_uri: str, next: str) -> tuple[str, Pending]:
    """The provider's authorization URL and what the callback must find again."""
    _metadata(settings)
    made = provider_of(settings).create_authorization_url(redirect_uri)
    pending = Pending(made["state"], made["nonce"], made["code_verifier"], redirect_uri, next)
    return str(made["url"]), pending


def finish(settings: Settings, *, pending: Pending, query: dict[str, str]) -> Token:
    """Swap the callback's code for tokens and validate the ID token (SsoError if not)."""
    if query.get("error"):
        words = query.get("error_description") or query["error"]
        raise SsoError(f"The sign-on provider refused: {words[:300]}")
    if not same(query.get("state", ""), pending.state):
        raise SsoError("This sign-on answer does not belong to this browser's sign-on.")
    metadata = _metadata(settings)
    provider = provider_of(settings)
    try:
        token = provider.fetch_access_token(
            redirect_uri=pending.redirect_uri,
            code=query.get("code", ""),
            code_verifier=pending.code_verifier,
        )
        if "id_token" not in token:
            raise SsoError("The sign-on provider sent no ID token.")
        claims = provider.parse_id_token(
            token, nonce=pending.nonce, claims_options=_expected(settings, metadata)
        )
    except (OAuthError, JoseError, ValueError, httpx.HTTPError) as exc:
        raise SsoError(f"The sign-on answer is not valid ({exc}).") from exc
    return Token(dict(claims), str(token["id_token"]))


def _expected(settings: Settings, metadata: dict[str, Any]) -> dict[str, Any]:
    """Issuer and audience must be these (authlib checks ``aud`` only when told to)."""
    return {
        "iss": {"essential": True, "values": [metadata["issuer"]]},
        "aud": {"essential": True, "values": [settings.oidc_client_id]},
        "sub": {"essential": True},
    }


def logout_url(settings: Settings, *, id_token: str, back_to: str) -> str | None:
    """The provider's end-session URL (RP-initiated logout), if it advertises one."""
    if not enabled(settings):
        return None
    try:
        metadata = _metadata(settings)
    except SsoError:
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    made = provider_of(settings).create_logout_url(
        post_logout_redirect_uri=back_to,
        id_token_hint=id_token or None,
        client_id=settings.oidc_client_id,
    )
    return str(made["url"])


@dataclass(frozen=True)
class Grant:
    """What someone's groups give them."""

    role: Role
    teams: list[Team]
    manage_teams: bool


def grant_of(session: Session, *, settings: Settings, groups: list[str]) -> Grant:
    """The role (by ``PRECEDENCE``) and teams the groups map to; SsoError if no role."""
    roles = {Role(settings.oidc_roles[g]) for g in groups if g in settings.oidc_roles}
    role = next((r for r in PRECEDENCE if r in roles), None)
    if role is None:
        raise SsoError(
            "Your account at the sign-on provider is in no group that has a role in "
            "deskwatch. Ask your IT admin to add you to one."
        )
    names = sorted({settings.oidc_teams[g] for g in groups if g in settings.oidc_teams})
    teams = (
        list(session.scalars(select(Team).where(Team.name.in_(names)).order_by(Team.id)))
        if names
        else []
    )
    return Grant(role, teams, bool(settings.oidc_teams))


def claims_of(token: Token, *, settings: Settings) -> SsoClaims:
    raw = dict(token.claims)
    groups = raw.get(settings.oidc_groups_claim) or []
    raw["groups"] = [str(g) for g in groups] if isinstance(groups, list) else [str(groups)]
    try:
        return SsoClaims.model_validate(raw)
    except ValidationError as exc:
        raise SsoError(
            "The sign-on provider's claims are not usable (too long or missing)."
        ) from exc


def sign_on(
    session: Session, *, settings: Settings, token: Token, now: datetime
) -> tuple[User, dict[str, list[Any]]]:
    """The deskwatch user of a validated ID token, created just in time if new, with the
    role and teams their groups give (what changed as ``[old, new]``, audited)."""
    claims = claims_of(token, settings=settings)
    serialise(session, "deskwatch_users")
    grant = grant_of(session, settings=settings, groups=claims.groups)
    user = _find(session, settings=settings, claims=claims, now=now)
    if user is None:
        user = _create(session, claims=claims, grant=grant, now=now)
    if not user.active:
        raise SsoError("Your deskwatch account is switched off. Ask your IT admin.")
    changed = _apply(session, user=user, grant=grant)
    if changed:
        detail = {
            k: [v.value if isinstance(v, Role) else v for v in vs] for k, vs in changed.items()
        }
        detail["issuer"] = [claims.iss]
        record(
            session, actor=None, action=CHANGED, subject=f"user:{user.id}", now=now, detail=detail
        )
    return user, changed


def _username(claims: SsoClaims) -> str:
    name = claims.preferred_username or claims.email
    if not name:
        raise SsoError("The sign-on provider sent neither a username nor an email address.")
    return name


def _find(session: Session, *, settings: Settings, claims: SsoClaims, now: datetime) -> User | None:
    """The user of (issuer, subject); or a local one of the same username, linked if the
    settings allow (else SsoError: the name is taken)."""
    found = session.scalar(
        select(User).where(User.oidc_issuer == claims.iss, User.oidc_subject == claims.sub)
    )
    if found is not None:
        return found
    same_name = session.scalar(select(User).where(User.username == _username(claims)))
    if same_name is None:
        return None
    if not settings.oidc_link_existing or same_name.oidc_subject is not None:
        raise SsoError(
            f"A deskwatch account named {same_name.username} exists already and is not linked "
            "to this sign-on. Ask your IT admin."
        )
    same_name.oidc_issuer, same_name.oidc_subject = claims.iss, claims.sub
    detail = {"issuer": claims.iss, "linked": True}
    record(
        session, actor=None, action=CREATED, subject=f"user:{same_name.id}", now=now, detail=detail
    )
    return same_name


def _create(session: Session, *, claims: SsoClaims, grant: Grant, now: datetime) -> User:
    """A new user from the claims (no usable password: only sign-on, or a reset by the CLI)."""
    user = create_user(
        session,
        username=_username(claims),
        password=secrets.token_urlsafe(32),
        role=grant.role,
        display_name=claims.name or None,
    )
    user.oidc_issuer, user.oidc_subject = claims.iss, claims.sub
    session.flush()
    detail = {"issuer": claims.iss, "role": grant.role.value}
    record(session, actor=None, action=CREATED, subject=f"user:{user.id}", now=now, detail=detail)
    return user


def _apply(session: Session, *, user: User, grant: Grant) -> dict[str, list[Any]]:
    """Role, an agent's team and a supervisor's teams as the groups say."""
    changed: dict[str, list[Any]] = {}
    if grant.role != user.role:
        changed["role"] = [user.role, grant.role]
        user.role = grant.role
    if grant.manage_teams and grant.role == Role.AGENT:
        team_id = grant.teams[0].id if grant.teams else None
        if team_id != user.team_id:
            changed["team_id"] = [user.team_id, team_id]
            user.team_id = team_id
    follow_user_change(session, user=user, changed=changed)
    session.flush()
    if grant.manage_teams and grant.role == Role.SUPERVISOR:
        _supervise(session, user=user, team_ids=[t.id for t in grant.teams], changed=changed)
    session.flush()
    return changed


def _supervise(
    session: Session, *, user: User, team_ids: list[int], changed: dict[str, list[Any]]
) -> None:
    had = sorted(
        session.scalars(
            select(team_supervisors.c.team_id).where(team_supervisors.c.user_id == user.id)
        )
    )
    if had == sorted(team_ids):
        return
    session.execute(delete(team_supervisors).where(team_supervisors.c.user_id == user.id))
    if team_ids:
        rows = [{"team_id": t, "user_id": user.id} for t in team_ids]
        session.execute(insert(team_supervisors), rows)
    session.expire_all()
    changed["supervises"] = [had, sorted(team_ids)]
