"""The device API client (httpx): JSON bodies only, explicit timeouts, typed errors."""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from deskwatch.errors import DeskwatchError
from deskwatch.privacy.worker import WorkerPrivacy
from deskwatch.transport.clock import ServerClock

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class TransportError(DeskwatchError):
    """Base of every network failure."""


class UnreachableError(TransportError):
    """No answer: connection refused, DNS, timeout, dropped connection."""


class ServerError(TransportError):
    """The server answered 5xx (or garbage): try again later."""


class RefusedError(TransportError):
    """The server answered 4xx: retrying the same request will not help."""

    def __init__(self, status: int, detail: Any) -> None:
        self.status, self.detail = status, detail
        super().__init__(f"server refused ({status}): {_short(detail)}")


class AuthError(RefusedError):
    """401 (unknown token) or 403 (device revoked)."""


@dataclass(frozen=True)
class Enrolment:
    device_id: str
    token: str
    agent_id: int
    team_id: int | None


@dataclass(frozen=True)
class IngestReply:
    new: int
    duplicates: int
    updated: int


@dataclass(frozen=True)
class Versions:
    policy_version: int
    privacy_rev: int


@dataclass(frozen=True)
class FetchedPolicy:
    version: int
    toml: str
    privacy: WorkerPrivacy | None  # None from a server without privacy settings


class DeviceClient:
    """One device talking to one server. ``last_sent`` keeps the exact JSON of the last
    request per kind ("events", "heartbeat") for the worker's transparency page."""

    def __init__(
        self,
        server_url: str,
        token: str | None = None,
        *,
        http: httpx.Client | None = None,
        clock: ServerClock | None = None,
    ) -> None:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = http or httpx.Client(timeout=DEFAULT_TIMEOUT)
        self.base = server_url.rstrip("/")
        self.headers = headers
        self.last_sent: dict[str, str] = {}
        self.clock = clock or ServerClock()  # learns the server's time from every reply
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()

    def enroll(self, code: str, hostname: str) -> Enrolment:
        data = self._call("POST", "/api/v1/devices/enroll", {"code": code, "hostname": hostname})
        return Enrolment(data["device_id"], data["token"], data["agent_id"], data.get("team_id"))

    def send_events(self, events: list[dict[str, object]]) -> IngestReply:
        data = self._call("POST", "/api/v1/events", {"events": events}, kind="events")
        return IngestReply(int(data["new"]), int(data["duplicates"]), int(data["updated"]))

    def heartbeat(self, beat: dict[str, object]) -> Versions:
        """Send a heartbeat; returns the team's policy version and the privacy revision."""
        data = self._call("POST", "/api/v1/heartbeat", beat, kind="heartbeat")
        return Versions(int(data["policy_version"]), int(data.get("privacy_rev", 0)))

    def send_snapshot(self, event_id: str, taken_at: datetime, sealed: bytes) -> str:
        """Upload one sealed evidence still; returns its id on the server. The page's copy
        of what was sent names the still's size, not its (encrypted) bytes."""
        body = {"event_id": event_id, "taken_at": taken_at.isoformat()}
        data = self._call(
            "POST", "/api/v1/snapshots", {**body, "sealed": base64.b64encode(sealed).decode()}
        )
        shown = {**body, "sealed": f"{len(sealed)} bytes, encrypted to the server's key"}
        with self._lock:
            self.last_sent["snapshot"] = json.dumps(shown, separators=(",", ":"))
        return str(data["id"])

    def reconfirm(self, password: str) -> tuple[bool, int]:
        """Is this the device's agent's password? (ok, tries left). Never kept in last_sent."""
        data = self._call("POST", "/api/v1/device/reconfirm", {"password": password})
        return bool(data["ok"]), int(data["tries_left"])

    def policy(self) -> FetchedPolicy:
        data = self._call("GET", "/api/v1/policy")
        try:
            privacy = data.get("privacy")
            return FetchedPolicy(
                int(data["version"]),
                str(data["toml"]),
                None if privacy is None else WorkerPrivacy.model_validate(privacy),
            )
        except (KeyError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            raise ServerError(f"malformed policy reply: {exc}") from None

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, kind: str = ""
    ) -> dict[str, Any]:
        content = None if body is None else json.dumps(body, separators=(",", ":"))
        headers = dict(self.headers)
        if content is not None:
            headers["content-type"] = "application/json"
        try:
            with self._send_lock:  # one request at a time per device
                sent = self.clock.local()
                reply = self.http.request(
                    method, self.base + path, content=content, headers=headers
                )
                self.clock.observe(reply.headers.get("date"), sent, self.clock.local())
        except httpx.HTTPError as exc:
            raise UnreachableError(
                f"{self.base} unreachable: {exc or type(exc).__name__}"
            ) from None
        if kind and content is not None:
            with self._lock:
                self.last_sent[kind] = content
        return _reply(reply)

    def close(self) -> None:
        self.http.close()


def _reply(reply: httpx.Response) -> dict[str, Any]:
    try:
        data = reply.json()
    except ValueError:
        data = None
    if reply.status_code >= 500 or (reply.is_success and not isinstance(data, dict)):
        raise ServerError(f"server error {reply.status_code}")
    if reply.status_code >= 400:
        detail = data.get("detail") if isinstance(data, dict) else reply.text[:200]
        cls = AuthError if reply.status_code in (401, 403) else RefusedError
        raise cls(reply.status_code, detail)
    assert isinstance(data, dict)
    return data


def _short(detail: Any) -> str:
    text = detail if isinstance(detail, str) else json.dumps(detail)
    return text if len(text) <= 300 else text[:300] + "…"
