"""``deskwatch server`` in its own process, for tests and benchmarks (loopback only)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from deskwatch.server.probe import wait_until_up

LOCAL = "127.0.0.1"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((LOCAL, 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A server on ``database_url``; its key file and log live in ``folder``.

    ``stop()`` then ``start()`` keeps the port and the database (a server restart).
    """

    database_url: str
    folder: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOCAL}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> None:
        env = {
            **os.environ,
            "DESKWATCH_DATABASE_URL": self.database_url,
            "DESKWATCH_SECRET_KEY_FILE": str(self.folder / "server.secret"),
        }
        cmd = [sys.executable, "-m", "deskwatch", "server", "--port", str(self.port)]
        cmd += ["--workers", str(self.workers)]
        log = (self.folder / "server.log").open("ab")  # never an unread pipe
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_up(f"{self.url}/login", timeout_s)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
