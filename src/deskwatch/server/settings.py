"""Server settings from ``DESKWATCH_*`` environment variables, built once by a factory."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from deskwatch.privacy.categories import CATEGORIES
from deskwatch.server.keyfiles import kept_secret

RoleName = Literal["agent", "supervisor", "admin", "privacy_officer"]


class Settings(BaseSettings):
    """Everything the server needs to start; nothing is read at import time."""

    model_config = SettingsConfigDict(env_prefix="DESKWATCH_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./deskwatch.db", description="SQLite file or postgresql+psycopg URL"
    )
    secret_key: str = Field(default="", description="session signing key; generated if empty")
    secret_key_file: Path = Field(default=Path("./deskwatch.secret"))
    snapshot_key: str = Field(
        default="",
        description="base64 X25519 private key that opens evidence stills; if empty, one is "
        "kept (0600) next to secret_key_file",
    )
    audit_key: str = Field(
        default="",
        description="key of the audit log's HMAC chain; if empty, one is kept (0600) next to "
        "secret_key_file. Never stored in the database.",
    )
    audit_head_file: Path | None = Field(
        default=None,
        description="the audit log's head record (newest id and hash, HMAC'd); default next "
        "to secret_key_file",
    )
    max_body_bytes: int = Field(default=2 * 1024 * 1024, description="larger requests get 413")
    max_batch_events: int = 1000
    offline_after_s: float = Field(default=90.0, description="no heartbeat this long: offline")
    board_long_absence_s: float = Field(
        default=900.0,
        gt=0,
        description="the live board highlights an agent away or offline for longer than this",
    )
    integrations_every_s: float = Field(
        default=2.0, description="how often integrations' outbox is sent; 0: never"
    )
    heartbeat_flush_s: float = Field(
        default=2.0, description="unchanged heartbeats are stored in batches this often; 0: each"
    )
    device_cache_ttl_s: float = Field(
        default=300.0,
        description="revocations reach every worker at once; this bounds a lost signal",
    )
    cache_refresh_s: float = Field(
        default=120.0,
        description="device tokens and agents' privacy revisions reloaded this often (below "
        "device_cache_ttl_s); 0: filled at start only",
    )
    future_skew_s: float = Field(default=300.0, description="events further ahead are refused")
    enrolment_code_ttl_s: float = 24 * 3600
    scheduled_hours: float = Field(default=8.0, description="scheduled time per agent per day")
    secure_cookies: bool = False
    session_idle_s: float = Field(
        default=2 * 3600.0, gt=0, description="a login session unused this long ends"
    )
    session_max_s: float = Field(
        default=12 * 3600.0, gt=0, description="a login session ends this long after login"
    )
    purge_every_s: float = Field(default=3600.0, description="retention purge interval; 0: off")
    audit_retention_days: int = Field(default=1095, ge=1, description="audit log kept this long")
    uncategorised_retention_days: int = Field(
        default=30, ge=1, description="retention of events in no category (self-checks)"
    )
    request_retention_days: int = Field(
        default=1095, ge=1, description="closed data-subject requests kept this long"
    )
    undelivered_retention_days: int = Field(
        default=30,
        ge=1,
        le=90,
        description="integration deliveries never sent (dead letters) kept this long",
    )
    metrics_enabled: bool = Field(
        default=False, description="serve Prometheus metrics at /metrics (404 when off)"
    )
    metrics_token: str = Field(
        default="",
        description="the bearer token a scrape of /metrics must send (16+ characters; "
        "needed when metrics_enabled)",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="server logs as plain text or one JSON object a line"
    )

    local_login: bool = Field(
        default=True,
        description="username and password logins on /login and the API; off: single sign-on "
        "only (the `deskwatch users` commands still work: the break-glass)",
    )
    oidc_issuer: str = Field(
        default="",
        description="OpenID Connect issuer URL (its /.well-known/openid-configuration is read); "
        "empty: no single sign-on",
    )
    oidc_client_id: str = Field(default="", description="this server's client id at the provider")
    oidc_client_secret: str = Field(default="", description="its client secret")
    oidc_scopes: str = Field(default="openid profile email", description="scopes asked for")
    oidc_provider_name: str = Field(
        default="", description='the button says "Sign in with" this; default: the issuer\'s host'
    )
    oidc_groups_claim: str = Field(default="groups", description="the ID token claim of groups")
    oidc_roles: dict[str, RoleName] = Field(
        default_factory=dict,
        description='JSON: group -> role, e.g. {"dw-admins":"admin","dw-agents":"agent"}; '
        "users whose groups map to no role are refused",
    )
    oidc_teams: dict[str, str] = Field(
        default_factory=dict,
        description="JSON: group -> team name (a supervisor supervises these teams, an agent "
        "works in one); empty: teams are kept as set in deskwatch",
    )
    oidc_link_existing: bool = Field(
        default=False,
        description="a local user with the same username is linked at their first sign-on "
        "(only if the provider's usernames can be trusted)",
    )
    oidc_redirect_uri: str = Field(
        default="",
        description="the callback address registered at the provider; default: "
        "/login/sso/callback on the address the browser used",
    )

    @model_validator(mode="after")
    def _sso_is_complete(self) -> Settings:
        if self.oidc_issuer:
            url = urlsplit(self.oidc_issuer)
            if url.scheme not in ("https", "http") or not url.netloc:
                raise ValueError("oidc_issuer must be an http(s) URL")
            if not self.oidc_client_id:
                raise ValueError("oidc_issuer needs oidc_client_id")
            if not self.oidc_roles:
                raise ValueError("oidc_issuer needs oidc_roles (group -> role)")
        elif not self.local_login:
            raise ValueError("local_login off needs single sign-on (oidc_issuer)")
        return self

    @property
    def sso_name(self) -> str:
        """What the sign-on button names: the provider's name, else the issuer's host."""
        return self.oidc_provider_name or urlsplit(self.oidc_issuer).hostname or "SSO"

    @model_validator(mode="after")
    def _metrics_need_a_token(self) -> Settings:
        if self.metrics_enabled and len(self.metrics_token) < 16:
            raise ValueError("metrics_enabled needs metrics_token, at least 16 characters")
        return self

    @field_validator("audit_retention_days")
    @classmethod
    def _outlives_categories(cls, days: int) -> int:
        """The record of who read data must outlive the data: at least every category's
        default retention (admins cannot set a category above it either)."""
        longest = max(c.retention_days for c in CATEGORIES.values())
        if days < longest:
            raise ValueError(f"must be at least {longest}, the longest category retention")
        return days

    def signing_key(self) -> str:
        """The configured key, else one kept in ``secret_key_file`` (created 0600 once)."""
        if self.secret_key:
            return self.secret_key
        return kept_secret(self.secret_key_file, lambda: secrets.token_urlsafe(48))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
