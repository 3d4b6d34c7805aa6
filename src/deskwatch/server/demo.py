"""``deskwatch demo``: a seeded site, simulated devices over the real API, one real pipeline."""

from __future__ import annotations

import logging
import random
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from deskwatch.config import Policy
from deskwatch.demo import DemoSource
from deskwatch.events.event import Event
from deskwatch.pipeline import Pipeline
from deskwatch.server.devices.service import create_code
from deskwatch.server.orgs.models import Role, User
from deskwatch.server.orgs.service import create_site, create_team, create_user
from deskwatch.server.probe import wait_until_up
from deskwatch.server.status.models import StatusChange

log = logging.getLogger(__name__)

AGENTS = [
    "Amira Haddad",
    "Ben Okafor",
    "Chloe Martin",
    "Dev Patel",
    "Elena Rossi",
    "Farid Nasser",
    "Grace Kim",
    "Hugo Silva",
    "Ines Duarte",
    "Jonas Berg",
    "Kofi Mensah",
    "Lena Vogel",
]
HEARTBEAT_S = 30.0


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str


@dataclass
class Seeded:
    logins: list[Login] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # one per agent, in AGENTS order
    mornings: list[list[tuple[str, datetime, float]]] = field(default_factory=list)


def seed(sessions: sessionmaker[Session], now: datetime) -> Seeded:
    """The organisation, one enrolment code per agent, and each agent's morning so far."""
    out = Seeded()
    with sessions.begin() as s:
        site = create_site(s, name="Leeds contact centre")
        teams = [create_team(s, site=site, name=n) for n in ("Billing", "Support")]
        admin = _person(s, out, "admin", Role.ADMIN, "Ada Admin")
        _person(s, out, "privacy", Role.PRIVACY_OFFICER, "Priya Privacy")
        _person(s, out, "supervisor", Role.SUPERVISOR, "Sam Supervisor", supervises=teams)
        for i, name in enumerate(AGENTS):
            agent = _person(s, out, name.split()[0].lower(), Role.AGENT, name, team=teams[i % 2])
            code, _ = create_code(s, admin=admin, agent_id=agent.id, now=now, ttl_s=3600)
            out.codes.append(code)
            out.mornings.append(_morning(s, agent.id, now, random.Random(i)))
    return out


def _person(s: Session, out: Seeded, username: str, role: Role, name: str, **kw: Any) -> User:
    password = secrets.token_urlsafe(9)
    out.logins.append(Login(username, password, role.value))
    return create_user(s, username=username, password=password, role=role, display_name=name, **kw)


def _morning(
    s: Session, agent_id: int, now: datetime, rng: random.Random
) -> list[tuple[str, datetime, float]]:
    """Status history for the shift so far (from 08:00, or the last 6 hours early in the day
    so that today's timeline has something to show); returns the events to report."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    t = max(midnight, min(midnight + timedelta(hours=8), now - timedelta(hours=6)))
    status, events = "at_desk", []
    while t < now - timedelta(minutes=10):
        s.add(StatusChange(agent_id=agent_id, status=status, at=t))
        minutes = rng.randint(25, 70) if status == "at_desk" else rng.randint(3, 15)
        if status == "away":
            events.append(("away", t, minutes * 60.0))
        elif rng.random() < 0.4:
            kind = rng.choice(["phone_in_use", "looking_away", "extra_person"])
            events.append((kind, t + timedelta(minutes=rng.randint(2, 20)), rng.uniform(4, 40)))
        t += timedelta(minutes=minutes)
        status = rng.choice(["away", "away", "paused"]) if status == "at_desk" else "at_desk"
    return events


class DemoDevice:
    """One PC talking to the server through the real device API."""

    def __init__(self, base_url: str, code: str, hostname: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        reply = self.http.post("/api/v1/devices/enroll", json={"code": code, "hostname": hostname})
        reply.raise_for_status()
        self.http.headers["authorization"] = f"Bearer {reply.json()['token']}"
        self.status, self.last_beat = "at_desk", 0.0
        self.since: datetime | None = None  # when the current status began

    def send(self, events: list[Event]) -> None:
        if events:
            body = {"events": [e.to_json_dict() for e in events]}
            self.http.post("/api/v1/events", json=body).raise_for_status()

    def beat(self, status: str, force: bool = False) -> None:
        if force or status != self.status or time.monotonic() - self.last_beat >= HEARTBEAT_S:
            body = {"status": status, "sent_at": datetime.now(UTC).isoformat(), "detectors": {}}
            self.http.post("/api/v1/heartbeat", json=body).raise_for_status()
            self.status, self.last_beat = status, time.monotonic()


def _past(kind: str, at: datetime, seconds: float) -> Event:
    e = Event(type=kind, start_s=0.0, peak_confidence=0.8, started_at=at)
    return e.closed(seconds)


def simulate(base_url: str, seeded: Seeded, stop: threading.Event) -> None:
    """Eleven simulated agents; the first agent's PC runs the real pipeline instead.

    Like a real agent, a simulated one survives a failed request and carries on.
    """
    devices = [
        _enrolled(base_url, code, f"pc-{i:02d}", stop) for i, code in enumerate(seeded.codes)
    ]
    for device, morning in zip(devices, seeded.mornings, strict=True):
        _safely(device.send, [_past(kind, at, secs) for kind, at, secs in morning])
    threading.Thread(target=real_pipeline, args=(devices[0], stop), daemon=True).start()
    rng = random.Random(42)
    while not stop.wait(1.0):
        for device in devices[1:]:
            _safely(_step, device, rng)


def _enrolled(base_url: str, code: str, hostname: str, stop: threading.Event) -> DemoDevice:
    while True:
        try:
            return DemoDevice(base_url, code, hostname)
        except httpx.HTTPError as exc:
            log.warning("demo device %s: enrolment failed (%s), retrying", hostname, exc)
            if stop.wait(1.0):
                raise


def _safely(action: Callable[..., None], *args: Any) -> None:
    """A failed request (or anything else) is logged; the simulated PC carries on."""
    try:
        action(*args)
    except Exception:
        log.exception("demo device: request failed (will carry on)")


def _step(device: DemoDevice, rng: random.Random) -> None:
    """One second of a simulated agent: status changes, and the events they imply."""
    now = datetime.now(UTC)
    new = _next_status(device.status, rng)
    if device.status == "away" and new != "away" and device.since is not None:
        away_s = (now - device.since).total_seconds()
        if away_s >= 30:  # the pipeline's default min_away_s
            device.send([_past("away", device.since, away_s)])
    if new == "at_desk" and rng.random() < 0.0005:
        seconds = rng.uniform(3, 20)
        device.send([_past("phone_in_use", now - timedelta(seconds=seconds), seconds)])
    if new != device.status:
        device.since = now
    device.beat(new)


def _next_status(status: str, rng: random.Random) -> str:
    roll = rng.random()
    if status == "at_desk":
        return "away" if roll < 0.004 else "paused" if roll < 0.006 else "at_desk"
    return "at_desk" if roll < 0.02 else status


def real_pipeline(device: DemoDevice, stop: threading.Event) -> None:
    """The demo clip through the real edge pipeline, paced to real time, looped."""
    while not stop.is_set():
        origin = datetime.now(UTC)
        started = time.monotonic()
        with Pipeline(Policy(), origin=origin) as pipeline:
            for frame in DemoSource():
                if stop.wait(max(0.0, frame.ts - (time.monotonic() - started))):
                    return
                obs, events = pipeline.process(frame)
                _safely(device.send, events)
                _safely(device.beat, "at_desk" if obs.face_count else "away")
            _safely(device.send, pipeline.finish())


def run_demo(host: str = "127.0.0.1", port: int = 8000, db_path: Path | None = None) -> None:
    """Seed, start the simulators once the server answers, and serve until Ctrl-C."""
    import uvicorn

    from deskwatch.server.app import create_app
    from deskwatch.server.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="deskwatch-demo-"))
    db = db_path or folder / "demo.db"
    settings = Settings(database_url=f"sqlite:///{db}", secret_key_file=folder / "secret")
    app = create_app(settings)
    seeded = seed(app.state.sessions, datetime.now(UTC))
    _print_logins(seeded.logins, f"http://{host}:{port}/", db)
    stop = threading.Event()
    threading.Thread(
        target=_when_up, args=(f"http://{host}:{port}", seeded, stop), daemon=True
    ).start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()


def _when_up(base_url: str, seeded: Seeded, stop: threading.Event) -> None:
    try:
        wait_until_up(f"{base_url}/login", timeout_s=120)
        simulate(base_url, seeded, stop)
    except Exception:
        log.exception("demo: the simulated devices stopped")


def _print_logins(logins: list[Login], url: str, db: Path) -> None:
    print(f"deskwatch demo at {url}  (database {db}; Ctrl-C stops)")
    for login in logins:
        print(f"  {login.role:<16} {login.username:<12} {login.password}")
