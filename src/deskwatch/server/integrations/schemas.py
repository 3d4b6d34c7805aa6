"""Sink bodies: what an admin sets up, what is shown back (never the secret), dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from deskwatch.server.bounds import Id

# The security events a sink may receive (each still only if the worker's categories allow).
SiemType = Literal["phone_in_use", "extra_person", "camera_obstructed", "identity_mismatch"]
SIEM_TYPES: frozenset[str] = frozenset(get_args(SiemType))
Kind = Literal["webhook", "syslog"]
# ``*`` (every entry), ``user:*`` (every action of a kind) or one action (``user:changed``).
ActionPattern = Annotated[
    str, StringConstraints(pattern=r"^(\*|[a-z_]+:(\*|[a-z_]+))$", max_length=60)
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=500)]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=200)]
Host = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9.:\-\[\]]+$", min_length=1, max_length=255)
]
Path = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Port = Annotated[int, Field(ge=1, le=65535)]
Facility = Annotated[int, Field(ge=0, le=23)]


class SinkFields(BaseModel):
    """What a sink is set up with; which fields a kind needs is checked on the whole."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: Kind
    enabled: bool = False
    url: Url | None = None
    secret: Secret | None = None
    host: Host | None = None
    port: Port | None = None
    tls: bool = False
    ca_file: Path | None = None
    facility: Facility = 10
    event_types: list[SiemType] = Field(default_factory=list, max_length=4)
    audit_actions: list[ActionPattern] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.kind == "webhook" and not self.url:
            raise ValueError("url: a webhook needs a URL")
        if self.kind == "syslog" and (not self.host or not self.port):
            raise ValueError("host: a syslog receiver needs a host and a port")
        return self


class SinkIn(SinkFields):
    """A new sink. A webhook without ``secret`` gets one made, shown once in the reply."""


class SinkChange(BaseModel):
    """An admin's change to a sink (omitted fields stay as they are; the kind stays)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    enabled: bool | None = None
    url: Url | None = None
    secret: Secret | None = None
    host: Host | None = None
    port: Port | None = None
    tls: bool | None = None
    ca_file: Path | None = None
    facility: Facility | None = None
    event_types: list[SiemType] | None = Field(default=None, max_length=4)
    audit_actions: list[ActionPattern] | None = Field(default=None, max_length=20)


class SinkOut(BaseModel):
    """A sink as shown to admins: the secret only as a fingerprint."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: Kind
    enabled: bool
    url: str | None
    host: str | None
    port: int | None
    tls: bool
    ca_file: str | None
    facility: int
    event_types: list[str]
    audit_actions: list[str]
    secret_fingerprint: str
    created_at: datetime
    updated_at: datetime
    pending: int = 0
    dead: int = 0


class SinkCreated(SinkOut):
    """The new sink; ``secret`` only when the server made it (shown this once)."""

    secret: str | None = None


class DeadLetter(BaseModel):
    """A delivery that failed too often: what it reports, not its content."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    sink_id: int
    stream: str
    kind: str
    what: str
    attempts: int
    last_error: str
    created_at: datetime


class ReplayIn(BaseModel):
    """Which dead letters to send again (none named: all of the sink's)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[Id] | None = Field(default=None, max_length=1000)


class ReplayOut(BaseModel):
    replayed: int


class DiscardOut(BaseModel):
    discarded: int


class DeliveryResult(BaseModel):
    """One delivery run: rows sent, failed (to retry) and moved to the dead letters."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
