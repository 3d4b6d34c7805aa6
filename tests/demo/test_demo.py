"""``deskwatch demo``, the README's main job: seeded, simulated, and the real pipeline."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from deskwatch.server.probe import wait_until_up
from tests.server_process import free_port


def test_demo_serves_a_working_board(tmp_path: Path) -> None:
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-u", "-m", "deskwatch", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=(log := (tmp_path / "demo.log").open("w")),
        text=True,
    )
    try:
        assert demo.stdout is not None
        lines = [demo.stdout.readline() for _ in range(16)]
        logins = dict(re.findall(r"^\s+supervisor\s+(\S+)\s+(\S+)$", "".join(lines), re.M))
        assert len([line for line in lines if line.strip().startswith("agent ")]) == 12
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/login")
        client = httpx.Client(base_url=base)
        reply = client.post(
            "/api/v1/auth/login", json={"username": "supervisor", "password": logins["supervisor"]}
        )
        assert reply.status_code == 200
        deadline, statuses = time.monotonic() + 60, Counter[str]()
        while time.monotonic() < deadline:
            statuses = Counter(row["status"] for row in client.get("/api/v1/board").json())
            if statuses["offline"] == 0:
                break
            time.sleep(1)
        log.flush()
        why = (tmp_path / "demo.log").read_text()[-3000:]
        assert sum(statuses.values()) == 12 and statuses["offline"] == 0, (statuses, why)
        teams = client.get("/api/v1/teams").json()
        assert [t["name"] for t in teams] == ["Billing", "Support"]
    finally:
        demo.terminate()
        demo.wait(timeout=20)
