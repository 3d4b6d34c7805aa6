"""``deskwatch demo``: a seeded site, simulated devices over the real API, one real agent."""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

from deskwatch.demo.devices import simulate
from deskwatch.demo.real_agent import RealAgent
from deskwatch.demo.seed import AGENTS, Login, Seeded, seed
from deskwatch.server.probe import wait_until_up

log = logging.getLogger(__name__)

PAGE_PORT = 8765  # the agent's usual local page


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
