"""SIEM and webhook integrations against real local receivers (an HTTP server checking the
HMAC, a syslog receiver over TCP and one over TLS with a CA made here), on SQLite and
PostgreSQL: at least once, in order per agent, retried with backoff, dead letters an admin
replays, only what the worker's categories allow, admins only, audited."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.server.audit.chain import AuditChain, attach
from deskwatch.server.audit.models import AuditEntry
from deskwatch.server.db import session_factory
from deskwatch.server.integrations import service
from deskwatch.server.integrations.delivery import (
    MAX_ATTEMPTS,
    MAX_BACKOFF_S,
    backoff_s,
    deliver_once,
)
from deskwatch.server.integrations.models import OutboxRow, Sink
from deskwatch.server.integrations.schemas import DeliveryResult, SinkIn
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.settings import Settings
from tests.server.conftest import Clock, Org, login, postgres_schema
from tests.server.helpers import enrol, event, flashed

SECRET = "a-webhook-secret-of-some-length"
MINIMAL = {
    "id",
    "type",
    "state",
    "agent",
    "team",
    "started_at",
    "ended_at",
    "duration_s",
    "confidence",
}


# Receivers --------------------------------------------------------------------------------


class Hook:
    """A webhook receiver: checks each request's signature; ``fail(payload)`` says whether to
    answer 500 instead of 204."""

    def __init__(self, fail: Callable[[dict[str, Any]], bool] = lambda p: False) -> None:
        self.fail = fail
        self.tries: list[dict[str, Any]] = []  # every request, with its headers
        self.taken: list[dict[str, Any]] = []  # the payloads answered 2xx
        self.bad_signatures = 0

    def handle(self, headers: Any, body: bytes) -> int:
        stamp, sig = headers["X-Deskwatch-Timestamp"], headers["X-Deskwatch-Signature"]
        mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        if not hmac.compare_digest(sig, "sha256=" + mac.hexdigest()):
            self.bad_signatures += 1
            return 401
        payload = json.loads(body)
        assert headers["X-Deskwatch-Delivery"] == payload["delivery_id"]
        self.tries.append(payload)
        if self.fail(payload):
            return 500
        self.taken.append(payload)
        return 204


@contextmanager
def http_receiver(hook: Hook) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            self.send_response(hook.handle(self.headers, body))
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def frames(data: bytes) -> list[str]:
    """Octet-counted frames (RFC 6587): ``LEN SP MSG`` after one another."""
    out = []
    while data:
        length, _, rest = data.partition(b" ")
        assert length.isdigit(), data[:40]
        out.append(rest[: int(length)].decode())
        data = rest[int(length) :]
    return out


class SyslogReceiver:
    """Accepts connections (TLS with ``context``), keeps every octet-counted frame."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.context = context
        self.messages: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:  # once stopped, still every connection already waiting
            try:
                conn, _ = self.sock.accept()
            except OSError:  # a timeout: nothing waiting
                if self._stop.is_set():
                    return
                continue
            with contextlib.suppress(OSError):  # a client that refused our certificate
                self._read(conn)

    def _read(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        if self.context is not None:
            conn = self.context.wrap_socket(conn, server_side=True)
        with conn:
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
        self.messages += frames(data)

    def __enter__(self) -> SyslogReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


def unescape_split(text: str, sep: str, most: int) -> list[str]:
    """Split on the first ``most`` of ``sep`` not escaped by a backslash."""
    parts: list[str] = []
    cur, i = "", 0
    while i < len(text):
        if len(parts) == most:
            cur += text[i:]
            break
        if text[i] == "\\" and i + 1 < len(text):
            cur += text[i : i + 2]
            i += 2
            continue
        if text[i] == sep:
            parts.append(cur)
            cur = ""
        else:
            cur += text[i]
        i += 1
    return [*parts, cur]


def parse(message: str) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """An RFC 5424 message with a CEF payload: its header, CEF header fields, extensions."""
    m = re.match(r"^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) (.*)$", message, re.S)
    assert m, message
    pri, stamp, host, app, proc, msgid, sd, msg = m.groups()
    header = {"pri": int(pri), "at": stamp, "host": host, "app": app, "msgid": msgid, "sd": sd}
    assert proc.isdigit()
    fields = unescape_split(msg, "|", 7)  # pipes in extensions are not escaped
    assert fields[0] == "CEF:0" and len(fields) == 8, fields
    ext: dict[str, str] = {}
    for key, value in re.findall(r"(\w+)=((?:\\.|[^\\=])*?)(?= \w+=|$)", fields[7]):
        ext[key] = re.sub(r"\\(.)", lambda g: {"n": "\n", "r": "\r"}.get(g[1], g[1]), value)
    return header, [f.replace("\\|", "|").replace("\\\\", "\\") for f in fields[:7]], ext


# The CA and the receiver's certificate ----------------------------------------------------


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey]
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
    )
    if subject == issuer[0]:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    else:
        san = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(san), False)
    return builder.sign(issuer[1], hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    """A CA, the receiver's certificate signed by it, and another CA that did not sign it."""
    ca_key, other_key, key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _cert("test CA", ca_key, ("test CA", ca_key))
    other = _cert("other CA", other_key, ("other CA", other_key))
    server = _cert("syslog receiver", key, ("test CA", ca_key))
    files = {n: tmp_path / f"{n}.pem" for n in ("ca", "other", "cert", "key")}
    files["ca"].write_bytes(_pem(ca))
    files["other"].write_bytes(_pem(other))
    files["cert"].write_bytes(_pem(server))
    files["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


# Helpers -------------------------------------------------------------------------------------


def deliver(db: sessionmaker[Session], clock: Clock, settings: Settings) -> DeliveryResult:
    return deliver_once(db, now=clock(), signing_key=settings.signing_key())


def add_sink(admin: TestClient, **body: Any) -> dict[str, Any]:
    reply = admin.post("/api/v1/integrations", json=body)
    assert reply.status_code == 201, reply.text
    data: dict[str, Any] = reply.json()
    return data


def webhook(admin: TestClient, url: str, **extra: Any) -> dict[str, Any]:
    body = {
        "name": "SOC hook",
        "kind": "webhook",
        "url": url,
        "secret": SECRET,
        "enabled": True,
        "event_types": ["phone_in_use", "extra_person", "identity_mismatch"],
    }
    return add_sink(admin, **{k: v for k, v in {**body, **extra}.items() if v is not None})


@contextmanager
def hooked(
    app_client: TestClient, hook: Hook, **sink: Any
) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    """The admin, signed in, and a webhook sink (``webhook``'s, with ``sink`` over it) to a
    receiver that ``hook`` answers for as long as the block lasts."""
    admin = login(app_client, "admin")
    with http_receiver(hook) as url:
        yield admin, webhook(admin, url, **sink)


def send(device: TestClient, *events: dict[str, Any]) -> None:
    reply = device.post("/api/v1/events", json={"events": list(events)})
    assert reply.status_code == 200, reply.text


def outbox(db: sessionmaker[Session]) -> list[OutboxRow]:
    with db() as s:
        return list(s.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def actions(db: sessionmaker[Session], prefix: str) -> list[AuditEntry]:
    with db() as s:
        query = select(AuditEntry).where(AuditEntry.action.startswith(prefix))
        return list(s.scalars(query.order_by(AuditEntry.id)))


# Webhooks ------------------------------------------------------------------------------------


def test_retries_with_backoff_keep_each_agents_order(
    app_client: TestClient,
    org: Org,
    db: sessionmaker[Session],
    clock: Clock,
    settings: Settings,
) -> None:
    a1 = org.agent_a1.id
    seen_a1 = 0

    def fail(payload: dict[str, Any]) -> bool:  # a1's first two tries fail
        nonlocal seen_a1
        if payload["event"]["agent"]["id"] != a1:
            return False
        seen_a1 += 1
        return seen_a1 <= 2

    hook = Hook(fail)
    failures = REGISTRY.get_sample_value("deskwatch_webhook_failures_total") or 0.0
    with hooked(app_client, hook) as (admin, _):
        first, second = event("phone_in_use", clock()), event("extra_person", clock(), 60)
        send(enrol(admin, a1), first, second)
        send(enrol(admin, org.agent_a2.id, "pc-2"), event("phone_in_use", clock()))

        assert deliver(db, clock, settings) == DeliveryResult(sent=1, failed=1)
        assert [p["event"]["agent"]["id"] for p in hook.taken] == [org.agent_a2.id]
        assert deliver(db, clock, settings).failed == 0  # not due for 1 s
        clock.advance(backoff_s(1))
        assert deliver(db, clock, settings) == DeliveryResult(failed=1)
        clock.advance(backoff_s(2) - 0.5)
        assert deliver(db, clock, settings) == DeliveryResult()  # 2 s after the 2nd failure
        clock.advance(0.5)
        assert deliver(db, clock, settings) == DeliveryResult(sent=2)

    assert REGISTRY.get_sample_value("deskwatch_webhook_failures_total") == failures + 2
    mine = [p for p in hook.taken if p["event"]["agent"]["id"] == a1]
    assert [p["event"]["id"] for p in mine] == [first["id"], second["id"]]
    tried = [p["delivery_id"] for p in hook.tries if p["event"]["id"] == first["id"]]
    assert len(tried) == 3 and len(set(tried)) == 1  # one delivery id: receivers dedupe
    assert hook.bad_signatures == 0
    got = mine[0]["event"]
    assert set(got) == MINIMAL  # no evidence, stills or comments
    assert got["agent"] == {"id": a1, "name": "Agent_A1"}
    assert got["team"] == {"id": org.team_a.id, "name": "Alpha"}
    assert (got["type"], got["state"], got["duration_s"]) == ("phone_in_use", "closed", 40.0)
    assert outbox(db) == []  # delivered rows are gone


def test_an_open_event_and_its_end_are_both_sent_once(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock, settings: Settings
) -> None:
    hook = Hook()
    with hooked(app_client, hook) as (admin, _):
        device = enrol(admin, org.agent_a1.id)
        opened = event("phone_in_use", clock(), length_s=None)
        send(device, opened)
        send(device, opened)  # a re-send: nothing new
        closed = event("phone_in_use", clock(), id=opened["id"])
        send(device, closed)
        send(device, closed)
        deliver(db, clock, settings)
    assert [p["event"]["state"] for p in hook.taken] == ["open", "closed"]


def test_dead_letters_are_replayed_once_the_receiver_recovers(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock, settings: Settings
) -> None:
    down = True
    hook = Hook(lambda p: down)
    with hooked(app_client, hook) as (admin, sink):
        send(enrol(admin, org.agent_a1.id), event("phone_in_use", clock()))
        for _ in range(MAX_ATTEMPTS):
            deliver(db, clock, settings)
            clock.advance(MAX_BACKOFF_S)
        assert len(hook.tries) == MAX_ATTEMPTS
        letters = admin.get(f"/api/v1/integrations/{sink['id']}/dead-letters").json()
        assert [(d["what"], d["attempts"], d["last_error"]) for d in letters] == [
            ("phone_in_use", MAX_ATTEMPTS, "HTTP 500")
        ]
        shown = admin.get("/admin/integrations").text
        assert f'id="dead-{sink["id"]}"' in shown and "HTTP 500" in shown
        down = False
        assert deliver(db, clock, settings) == DeliveryResult()  # a dead letter waits
        assert admin.get("/api/v1/integrations").json()[0]["dead"] == 1
        reply = admin.post(f"/api/v1/integrations/{sink['id']}/dead-letters/replay", json={})
        assert reply.json() == {"replayed": 1}
        assert deliver(db, clock, settings) == DeliveryResult(sent=1)
        clock.advance(MAX_BACKOFF_S)
        assert deliver(db, clock, settings) == DeliveryResult()
    assert len(hook.taken) == 1
    assert admin.get(f"/api/v1/integrations/{sink['id']}/dead-letters").json() == []
    assert [e.detail for e in actions(db, "integration:replayed")] == [{"replayed": 1}]
    assert len(actions(db, "read:dead_letters")) == 2  # the API's list and the page


def test_audit_entries_go_to_sinks_that_ask_for_them(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock, settings: Settings
) -> None:
    hook = Hook()
    asked = {"event_types": [], "audit_actions": ["integration:*", "user:changed"]}
    with hooked(app_client, hook, **asked) as (admin, sink):
        admin.patch(f"/api/v1/admin/users/{org.agent_a1.id}", json={"team_id": org.team_b.id})
        admin.get("/api/v1/board")  # a read: not asked for
        admin.patch(f"/api/v1/integrations/{sink['id']}", json={"name": "SOC"})
        deliver(db, clock, settings)
    got = [p["audit"] for p in hook.taken]
    assert [a["action"] for a in got] == [
        "integration:created",
        "user:changed",
        "integration:changed",
    ]
    assert got[1]["subject"] == f"user:{org.agent_a1.id}"
    assert got[1]["fields"] == ["team_id"]  # what changed is named, not its values
    assert got[1]["actor"] == {"id": org.admin.id, "name": "Admin"}
    assert SECRET not in json.dumps(got)


# Syslog ----------------------------------------------------------------------------------------


def test_syslog_over_tcp_sends_rfc5424_with_cef(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock, settings: Settings
) -> None:
    with db() as s:
        s.get_one(User, org.agent_a1.id).display_name = "Ann|Lee=x\\y\nz"
        s.commit()
    admin = login(app_client, "admin")
    with SyslogReceiver() as receiver:
        add_sink(
            admin,
            name="QRadar",
            kind="syslog",
            host="127.0.0.1",
            port=receiver.port,
            enabled=True,
            facility=16,
            event_types=["phone_in_use"],
            audit_actions=["integration:created"],
        )
        sent = event("phone_in_use", clock())
        send(enrol(admin, org.agent_a1.id), sent)
        assert deliver(db, clock, settings) == DeliveryResult(sent=2)
    assert len(receiver.messages) == 2
    audit, phone = (parse(m) for m in receiver.messages)
    assert audit[0]["msgid"] == "audit" and audit[1][4] == "integration:created"
    header, cef, ext = phone
    assert header["pri"] == 16 * 8 + 4  # local0, warning
    assert (header["app"], header["msgid"], header["sd"]) == ("deskwatch", "phone_in_use", "-")
    assert header["at"] == "2026-11-02T09:00:00.000Z"
    assert cef[1:3] == ["deskwatch", "deskwatch"] and cef[4:] == [
        "phone_in_use",
        "Phone in use at the desk",
        "7",
    ]
    assert ext["duser"] == "Ann|Lee=x\\y\nz"
    assert "duser=Ann|Lee\\=x\\\\y\\nz" in receiver.messages[1]  # CEF escaping
    assert ext["duid"] == str(org.agent_a1.id) and ext["cs1"] == "Alpha"
    assert ext["cs3"] == sent["id"] and ext["cn1"] == "40" and ext["cfp1"] == "0.9"
    assert ext["start"] == str(int(clock().timestamp() * 1000))


def test_syslog_over_tls_verifies_the_receivers_certificate(
    app_client: TestClient,
    org: Org,
    db: sessionmaker[Session],
    clock: Clock,
    settings: Settings,
    tls_files: dict[str, Path],
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files["cert"], tls_files["key"])
    admin = login(app_client, "admin")
    with SyslogReceiver(context) as receiver:
        common = {"kind": "syslog", "host": "127.0.0.1", "port": receiver.port, "tls": True}
        wrong = add_sink(
            admin, name="wrong CA", ca_file=str(tls_files["other"]), **common, enabled=True
        )
        add_sink(
            admin,
            name="Sentinel",
            ca_file=str(tls_files["ca"]),
            enabled=True,
            event_types=["extra_person"],
            **common,
        )
        admin.patch(f"/api/v1/integrations/{wrong['id']}", json={"event_types": ["extra_person"]})
        send(enrol(admin, org.agent_a1.id), event("extra_person", clock()))
        result = deliver(db, clock, settings)
    assert result == DeliveryResult(sent=1, failed=1)
    assert len(receiver.messages) == 1
    _, cef, ext = parse(receiver.messages[0])
    assert cef[4] == "extra_person" and ext["duid"] == str(org.agent_a1.id)
    (failed,) = outbox(db)
    assert failed.sink_id == wrong["id"] and "CERTIFICATE_VERIFY_FAILED" in failed.last_error


# Categories and objections ---------------------------------------------------------------------


def test_what_the_workers_categories_forbid_is_never_sent(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock, settings: Settings
) -> None:
    hook = Hook()
    with hooked(app_client, hook) as (admin, _):
        a1, a2 = enrol(admin, org.agent_a1.id), enrol(admin, org.agent_a2.id, "pc-2")
        send(a1, event("identity_mismatch", clock()))  # identity is off by default
        reply = admin.put(
            f"/api/v1/teams/{org.team_a.id}/categories/identity", json={"enabled": True}
        )
        assert reply.status_code == 200, reply.text
        objects = login(TestClient(app_client.app), "agent_a1")
        reply = objects.put("/api/v1/me/objections/identity", json={"objected": True})
        assert reply.status_code == 200, reply.text
        send(a1, event("identity_mismatch", clock()))  # objected to
        kept = event("identity_mismatch", clock())
        send(a2, kept)
        deliver(db, clock, settings)
        # queued while allowed, then the category is switched off: dropped, never sent
        send(a2, event("phone_in_use", clock()))
        admin.put(f"/api/v1/teams/{org.team_a.id}/categories/security", json={"enabled": False})
        send(a2, event("phone_in_use", clock()))
        deliver(db, clock, settings)
    assert [p["event"]["id"] for p in hook.taken] == [kept["id"]]
    assert outbox(db) == []


def test_nothing_is_sent_without_a_sink_switched_on(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock, settings: Settings
) -> None:
    hook = Hook()
    admin = login(app_client, "admin")
    device = enrol(admin, org.agent_a1.id)
    send(device, event("phone_in_use", clock()))
    assert outbox(db) == []
    with http_receiver(hook) as url:
        sink = webhook(admin, url, enabled=None)
        assert sink["enabled"] is False  # off until an admin switches it on
        send(device, event("phone_in_use", clock()))
        assert outbox(db) == [] and deliver(db, clock, settings) == DeliveryResult()
    assert hook.tries == []


# Admins only, audited, the secret never shown -------------------------------------------------


@pytest.mark.parametrize("who", ["sup_a", "agent_a1", "privacy"])
def test_only_admins_manage_integrations(app_client: TestClient, org: Org, who: str) -> None:
    client = login(app_client, who)
    body = {"name": "x", "kind": "syslog", "host": "127.0.0.1", "port": 514}
    assert client.get("/api/v1/integrations").status_code == 403
    assert client.post("/api/v1/integrations", json=body).status_code == 403
    assert client.post("/api/v1/integrations/1/dead-letters/replay", json={}).status_code == 403
    assert client.get("/admin/integrations").status_code == 403


def test_changes_are_audited_and_the_secret_is_never_shown(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin = login(app_client, "admin")
    made = webhook(admin, "https://siem.example:8443/in?token=abc", secret=None)
    assert len(made["secret"]) >= 32  # made by the server, shown this once
    assert made["secret_fingerprint"] == hashlib.sha256(made["secret"].encode()).hexdigest()[:16]
    shown = admin.get(f"/api/v1/integrations/{made['id']}").json()
    assert "secret" not in shown
    reply = admin.patch(
        f"/api/v1/integrations/{made['id']}", json={"enabled": False, "secret": SECRET}
    )
    assert reply.status_code == 200
    assert reply.json()["secret_fingerprint"] == hashlib.sha256(SECRET.encode()).hexdigest()[:16]
    assert admin.patch(f"/api/v1/integrations/{made['id']}", json={"port": 0}).status_code == 422
    emptied = admin.patch(f"/api/v1/integrations/{made['id']}", json={"url": None})
    assert emptied.status_code == 422
    assert emptied.json()["detail"] == [{"field": "url", "msg": "a webhook needs a URL"}]
    assert admin.delete(f"/api/v1/integrations/{made['id']}").status_code == 204
    assert admin.get(f"/api/v1/integrations/{made['id']}").status_code == 404
    entries = actions(db, "integration:")
    assert [e.action for e in entries] == [
        "integration:created",
        "integration:changed",
        "integration:deleted",
    ]
    assert entries[0].detail["target"] == "https://siem.example:8443"  # no path or token
    assert entries[1].detail == {"enabled": [True, False], "secret": "replaced"}
    text = json.dumps([e.detail for e in entries])
    assert SECRET not in text and made["secret"] not in text and "token" not in text
    with db() as s:
        assert s.scalars(select(Sink)).all() == []


def test_a_stored_secret_is_encrypted(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin = login(app_client, "admin")
    webhook(admin, "http://127.0.0.1:9/hook")
    with db() as s:
        stored = s.scalars(select(Sink.secret)).one()
    assert stored and SECRET not in stored


def test_an_incomplete_sink_is_refused(app_client: TestClient, org: Org) -> None:
    admin = login(app_client, "admin")
    for body in (
        {"name": "x", "kind": "webhook"},
        {"name": "x", "kind": "syslog", "host": "h"},
        {"name": "x", "kind": "webhook", "url": "ftp://x"},
        {"name": "x", "kind": "syslog", "host": "h", "port": 1, "event_types": ["away"]},
        {"name": "x", "kind": "syslog", "host": "h", "port": 1, "audit_actions": ["DROP"]},
    ):
        assert admin.post("/api/v1/integrations", json=body).status_code == 422, body


# The page and the DPIA ---------------------------------------------------------------------------


def test_the_admin_page_adds_switches_and_replays(
    app_client: TestClient, org: Org, db: sessionmaker[Session]
) -> None:
    admin = login(app_client, "admin")
    page = admin.get("/admin/integrations")
    assert page.status_code == 200 and "nothing leaves deskwatch" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    form = {
        "csrf_token": csrf[1],
        "name": "Splunk",
        "kind": "syslog",
        "host": "splunk.example",
        "port": "6514",
        "tls": "true",
        "event_types": ["phone_in_use", "extra_person"],
        "audit_actions": "user:*, integration:*",
    }
    assert (
        admin.post(
            "/admin/integrations", data={**form, "csrf_token": "x"}, follow_redirects=False
        ).status_code
        == 403
    )
    assert flashed(admin, admin.post("/admin/integrations", data=form, follow_redirects=False)) == (
        "Integration Splunk added (off)"
    )
    no_secret = {**form, "kind": "webhook", "url": "https://x.example/h"}
    assert "secret" in flashed(
        admin, admin.post("/admin/integrations", data=no_secret, follow_redirects=False)
    )
    (sink,) = admin.get("/api/v1/integrations").json()
    assert sink["event_types"] == ["phone_in_use", "extra_person"]
    assert sink["audit_actions"] == ["user:*", "integration:*"] and sink["tls"] is True
    on = {"csrf_token": csrf[1], "enabled": "true"}
    assert "switched on" in flashed(
        admin,
        admin.post(f"/admin/integrations/{sink['id']}/enabled", data=on, follow_redirects=False),
    )
    replay = admin.post(
        f"/admin/integrations/{sink['id']}/replay",
        data={"csrf_token": csrf[1]},
        follow_redirects=False,
    )
    assert "0 dead letter(s)" in flashed(admin, replay)
    shown = admin.get("/admin/integrations").text
    assert "tls://splunk.example:6514" in shown and "Switch off" in shown
    with db() as s:
        assert s.scalars(select(Sink.enabled)).one() is True


def test_the_dpia_lists_every_sink_as_a_recipient(app_client: TestClient, org: Org) -> None:
    admin = login(app_client, "admin")
    webhook(admin, "https://hooks.example/deskwatch?key=s3cret", enabled=False)
    add_sink(admin, name="QRadar", kind="syslog", host="qradar.example", port=514, enabled=True)
    draft = admin.get("/privacy/dpia.md").text
    assert "SOC hook" in draft and "https://hooks.example" in draft and "off" in draft
    assert "tcp://qradar.example:514" in draft
    assert "s3cret" not in draft and SECRET not in draft
    assert "Beyond the integrations above" in draft


# Several server processes (PostgreSQL) ------------------------------------------------------


def test_deliverers_side_by_side_send_each_row_once_in_order(settings: Settings) -> None:
    """Two deliverers on their own connections (as two server processes would be) against a
    slow receiver: every row arrives once, and each stream's rows in their order."""

    def slow(payload: dict[str, Any]) -> bool:
        time.sleep(0.02)
        return False

    hook = Hook(slow)
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with postgres_schema("dw_integrations") as engine, http_receiver(hook) as url:
        upgrade(engine)
        sessions = attach(session_factory(engine), AuditChain.from_settings(settings))
        with sessions.begin() as s:
            admin = User(username="root", display_name="Root", role=Role.ADMIN, password_hash="")
            s.add(admin)
            s.flush()
            body = SinkIn(name="hook", kind="webhook", url=url, secret=SECRET, enabled=True)
            sink, _ = service.create_sink(s, admin=admin, body=body, now=now, signing_key="k")
            for n in range(60):
                s.add(
                    OutboxRow(
                        sink_id=sink.id,
                        stream=f"agent:{n % 4}",
                        kind="audit",
                        delivery_id=f"d-{n:03}",
                        payload={"delivery_id": f"d-{n:03}", "kind": "audit", "audit": {"n": n}},
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        last_error="",
                        created_at=now,
                    )
                )

        def work() -> None:
            for _ in range(40):
                deliver_once(sessions, now=now, signing_key="k")

        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        with sessions() as s:
            left = s.scalars(select(OutboxRow)).all()
    got = [p["audit"]["n"] for p in hook.taken]
    assert sorted(got) == list(range(60)) and left == []  # each once, none left
    for stream in range(4):
        mine = [n for n in got if n % 4 == stream]
        assert mine == sorted(mine)


def test_dead_letters_can_be_discarded_and_an_erasure_forgets_the_queue(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock, settings: Settings
) -> None:
    with hooked(app_client, Hook(lambda p: True)) as (admin, sink):
        device = enrol(admin, org.agent_a1.id)
        send(device, event("phone_in_use", clock()), event("extra_person", clock(), 60))
        for _ in range(MAX_ATTEMPTS):
            deliver(db, clock, settings)
            clock.advance(MAX_BACKOFF_S)
    assert [r.status for r in outbox(db)] == ["dead", "pending"]
    reply = admin.delete(f"/api/v1/integrations/{sink['id']}/dead-letters")
    assert reply.json() == {"discarded": 1}
    assert [e.detail for e in actions(db, "integration:discarded")] == [{"discarded": 1}]
    assert [r.status for r in outbox(db)] == ["pending"]
    worker = login(TestClient(app_client.app), "agent_a1")
    asked = worker.post("/api/v1/me/requests", json={"kind": "erasure", "body": "erase me"})
    officer = login(TestClient(app_client.app), "privacy")
    url = f"/api/v1/privacy/requests/{asked.json()['id']}"
    assert officer.patch(url, json={"status": "done", "response": "erased"}).status_code == 200
    assert outbox(db) == []
    entry = actions(db, "request:done")[0]
    assert entry.detail["integration_deliveries"] == 1


def test_an_unreachable_receiver_costs_one_attempt_a_run(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock, settings: Settings
) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nobody listens there now
    admin = login(app_client, "admin")
    webhook(admin, f"http://127.0.0.1:{port}/hook")
    send(enrol(admin, org.agent_a1.id), event("phone_in_use", clock()))
    send(enrol(admin, org.agent_a2.id, "pc-2"), event("phone_in_use", clock()))
    assert deliver(db, clock, settings) == DeliveryResult(failed=1)
    assert sorted(r.attempts for r in outbox(db)) == [0, 1]
    assert "ConnectError" in outbox(db)[0].last_error


def test_rows_claimed_by_a_run_that_died_are_sent_after_the_lease(
    app_client: TestClient, org: Org, db: sessionmaker[Session], clock: Clock, settings: Settings
) -> None:
    from deskwatch.server.integrations.delivery import LEASE_S, _claim

    hook = Hook()
    with hooked(app_client, hook) as (admin, _):
        send(enrol(admin, org.agent_a1.id), event("phone_in_use", clock()))
        with db.begin() as s:  # a run claims the row, then its process dies before sending
            assert len(_claim(s, clock())) == 1
        assert deliver(db, clock, settings) == DeliveryResult()
        clock.advance(LEASE_S)
        assert deliver(db, clock, settings) == DeliveryResult(sent=1)
    assert len(hook.taken) == 1


def test_what_was_never_delivered_is_purged_after_its_retention(
    db: sessionmaker[Session], clock: Clock
) -> None:
    from deskwatch.server.integrations.models import OutboxRow, Sink
    from deskwatch.server.scheduled import purge

    with db() as s:
        sink = Sink(name="siem", kind="syslog", host="127.0.0.1", port=6514)
        s.add(sink)
        s.flush()
        for age_days, status in ((31, "dead"), (31, "pending"), (29, "dead")):
            at = clock.now - timedelta(days=age_days)
            s.add(
                OutboxRow(
                    sink_id=sink.id,
                    stream="agent:1",
                    kind="event",
                    delivery_id=str(uuid.uuid4()),
                    payload={"agent": "Anna"},
                    status=status,
                    next_attempt_at=at,
                    created_at=at,
                )
            )
        s.commit()
        result = purge(s, now=clock.now, audit_retention_days=1095, undelivered_days=30)
        s.commit()
        left = [r.created_at for r in s.scalars(select(OutboxRow))]
    assert result.undelivered == 2 and len(left) == 1
