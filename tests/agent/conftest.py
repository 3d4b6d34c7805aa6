"""Agent test fixtures: a real server process on SQLite, an enrolled device, a demo clip
standing in for the camera, and a recording reverse proxy. Only 127.0.0.1 traffic."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from deskwatch.agent.config import load_credentials
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.cli import app
from deskwatch.demo.clip import write_demo_clip
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.devices.service import create_code
from deskwatch.server.events.models import EventRecord
from deskwatch.server.migrate import upgrade
from deskwatch.server.orgs.models import Role
from deskwatch.server.orgs.service import create_site, create_team, create_user
from deskwatch.transport.client import DeviceClient
from tests.server_process import LOCAL, ServerProcess


class Server(ServerProcess):
    """The agent tests' server: SQLite next to ``db_path`` (or ``database_url``); stop() and
    start() keep both."""

    def __init__(self, db_path: Path, database_url: str | None = None) -> None:
        super().__init__(database_url or f"sqlite:///{db_path}", db_path.parent)

    @property
    def db_url(self) -> str:
        return self.database_url

    def code(self) -> str:
        """A fresh enrolment code for the seeded agent."""
        engine = make_engine(self.db_url)
        with session_factory(engine)() as s:
            from deskwatch.server.orgs.models import User

            admin = s.scalars(select(User).where(User.username == "admin")).one()
            agent = s.scalars(select(User).where(User.username == "agent")).one()
            code, _ = create_code(s, admin=admin, agent_id=agent.id, now=_now(), ttl_s=3600)
            s.commit()
        engine.dispose()
        return code

    def event_ids(self) -> list[str]:
        engine = make_engine(self.db_url)
        with session_factory(engine)() as s:
            ids = list(s.scalars(select(EventRecord.id)))
        engine.dispose()
        return ids


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def seed(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with session_factory(engine)() as s:
        site = create_site(s, name="Leeds")
        team = create_team(s, site=site, name="Alpha")
        create_user(s, username="admin", password="pw-admin-123", role=Role.ADMIN)
        create_user(s, username="agent", password="pw-agent-123", role=Role.AGENT, team=team)
        s.commit()
    engine.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "server.db")
    seed(srv.db_url)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """The agent tests' server on SQLite, then on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        srv = Server(tmp_path / "server.db")
        seed(srv.db_url)
        srv.start()
        yield srv
        srv.stop()
        return
    from tests.server.conftest import postgres_schema

    with postgres_schema("dw_agent") as engine:
        srv = Server(tmp_path / "server.db", engine.url.render_as_string(hide_password=False))
        engine.dispose()
        seed(srv.db_url)
        srv.start()
        yield srv
        srv.stop()


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 100 s demo clip (away 20–60 s, a visitor 80–95 s) as the camera."""
    return write_demo_clip(tmp_path_factory.mktemp("clip") / "demo.mp4")


def enroll(server_url: str, state: Path, code: str) -> None:
    result = CliRunner().invoke(
        app, ["agent", "enroll", "--server", server_url, "--code", code, "--state-dir", str(state)]
    )
    assert result.exit_code == 0, result.output


def enrolled_runner(server: Server, state: Path, clip: Path, **options: Any) -> AgentRunner:
    """``live_runner`` of an agent enrolled with ``server`` just now."""
    enroll(server.url, state, server.code())
    return live_runner(state, clip, **options)


def live_runner(state: Path, clip: Path, **options: Any) -> AgentRunner:
    """An enrolled agent (in ``state``) that plays ``clip`` as its camera in real time."""
    config = load_credentials(state)
    defaults: dict[str, Any] = {"realtime": True, "rate": 5, "heartbeat_s": 0.3, "page_port": None}
    opts = RunOptions(source=str(clip), **(defaults | options))
    return AgentRunner(config, state, opts, DeviceClient(config.server_url, config.token))


def agent_cmd(state: Path, clip: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "deskwatch", "agent", "run",
        "--source", str(clip), "--state-dir", str(state), "--exit-when-done",
        "--page-port", "-1", "--heartbeat-s", "1", "--max-backoff-s", "0.5",
        *extra,
    ]  # fmt: skip


def start_agent(state: Path, clip: Path, *extra: str) -> subprocess.Popen[bytes]:
    log = (state / "agent.log").open("ab")
    return subprocess.Popen(agent_cmd(state, clip, *extra), stdout=log, stderr=subprocess.STDOUT)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    reply: bytes = b""


class RecordingProxy:
    """A reverse proxy on 127.0.0.1 that records every request the agent makes.

    ``after_events(n, recorded)`` runs once the n-th events POST was answered by the
    server, before the reply goes back to the agent (to kill it mid-upload).
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests: list[Recorded] = []
        self.after_events: Callable[[int, Recorded], None] | None = None
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._forward(self)

            def do_POST(self) -> None:
                proxy._forward(self)

        self.server = ThreadingHTTPServer((LOCAL, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{LOCAL}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _forward(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("content-length") or 0))
        rec = Recorded(h.command, h.path, {k.lower(): v for k, v in h.headers.items()}, body)
        headers = {k: v for k, v in rec.headers.items() if k in ("authorization", "content-type")}
        try:
            reply = httpx.request(
                h.command, self.target + h.path, content=body, headers=headers, timeout=10
            )
        except httpx.HTTPError:
            h.send_error(502)
            return
        rec.status, rec.reply = reply.status_code, reply.content
        with self._lock:
            self.requests.append(rec)
            n = sum(1 for r in self.requests if r.path == "/api/v1/events")
        if rec.path == "/api/v1/events" and self.after_events is not None:
            self.after_events(n, rec)
        h.send_response(reply.status_code)
        h.send_header("content-type", reply.headers.get("content-type", "application/json"))
        h.send_header("content-length", str(len(reply.content)))
        h.end_headers()
        h.wfile.write(reply.content)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(server: Server) -> Iterator[RecordingProxy]:
    p = RecordingProxy(server.url)
    yield p
    p.close()


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def server_url_and_code(server: Server) -> tuple[str, str]:
    return server.url, server.code()
