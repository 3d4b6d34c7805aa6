"""``deskwatch demo``: a seeded site, simulated devices over the real API, one real agent."""

from __future__ import annotations

import logging
import random
import secrets
import socket
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

from deskwatch.events.event import Event
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
PAGE_PORT = 8765  # the agent's usual local page


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
    """The organisation, one enrolment code per agent, and each simulated agent's morning so
    far (the first agent's PC runs the real agent: its day starts with the demo)."""
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
            if i > 0:
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


def simulate(base_url: str, seeded: Seeded, stop: threading.Event, real: RealAgent) -> None:
    """Eleven simulated agents; the first agent's PC runs the real agent instead.

    Like a real agent, a simulated one survives a failed request and carries on.
    """
    threading.Thread(
        target=_safely,
        args=(real_agent, base_url, seeded.codes[0], real.folder, real.page_port, stop),
        daemon=True,
    ).start()
    devices = [
        _enrolled(base_url, code, f"pc-{i:02d}", stop)
        for i, code in enumerate(seeded.codes)
        if i > 0
    ]
    for device, morning in zip(devices, seeded.mornings, strict=True):
        _safely(device.send, [_past(kind, at, secs) for kind, at, secs in morning])
    rng = random.Random(42)
    while not stop.wait(1.0):
        for device in devices:
            _safely(_step, device, rng)


@dataclass(frozen=True)
class RealAgent:
    """Where the demo's real agent keeps its state, and its local page's port."""

    folder: Path
    page_port: int


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


def real_agent(
    base_url: str, code: str, folder: Path, page_port: int, stop: threading.Event
) -> None:
    """The first agent's PC: the real ``deskwatch agent`` (policy and privacy settings,
    outbox, uploader, heartbeats, local page) on the demo clip, played in real time, looped."""
    from deskwatch.agent.config import AgentConfig, save_credentials
    from deskwatch.agent.runner import AgentRunner, RunOptions
    from deskwatch.demo import write_demo_clip
    from deskwatch.transport.client import DeviceClient

    clip = write_demo_clip(folder / "demo-clip.mp4")
    enrolment = DeviceClient(base_url).enroll(code, "pc-00 (real agent)")
    config = AgentConfig(
        server_url=base_url,
        device_id=enrolment.device_id,
        token=enrolment.token,
        agent_id=enrolment.agent_id,
        team_id=enrolment.team_id,
        source=str(clip),
    )
    where = folder / "agent"
    save_credentials(where, config)
    options = RunOptions(source=str(clip), realtime=True, repeat=0, page_port=page_port)
    runner = AgentRunner(config, where, options, DeviceClient(base_url, config.token))
    threading.Thread(target=_relay, args=(stop, runner.stop), daemon=True).start()
    runner.run()


def _relay(stop: threading.Event, to: threading.Event) -> None:
    stop.wait()
    to.set()


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
    real = RealAgent(folder, _port_near(PAGE_PORT))
    _print_logins(seeded.logins, f"http://{host}:{port}/", db)
    print(
        f"  {AGENTS[0]}'s PC runs the real agent; its own page: http://127.0.0.1:{real.page_port}/"
    )
    stop = threading.Event()
    threading.Thread(
        target=_when_up, args=(f"http://{host}:{port}", seeded, stop, real), daemon=True
    ).start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()


def _port_near(preferred: int) -> int:
    """``preferred`` if nothing listens on it on 127.0.0.1, else a free port."""
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise OSError("no free port on 127.0.0.1")


def _when_up(base_url: str, seeded: Seeded, stop: threading.Event, real: RealAgent) -> None:
    try:
        wait_until_up(f"{base_url}/login", timeout_s=120)
        simulate(base_url, seeded, stop, real)
    except Exception:
        log.exception("demo: the simulated devices stopped")


def _print_logins(logins: list[Login], url: str, db: Path) -> None:
    print(f"deskwatch demo at {url}  (database {db}; Ctrl-C stops)")
    for login in logins:
        print(f"  {login.role:<16} {login.username:<12} {login.password}")
