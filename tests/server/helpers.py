"""Helpers for server tests: enrolled devices and events in the edge pipeline's format."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from deskwatch.events.event import Event
from tests.server.conftest import login


def enrol(client: TestClient, agent_id: int, hostname: str = "pc-1") -> TestClient:
    """A fresh client acting as a device enrolled for ``agent_id`` through the real API."""
    admin = login(TestClient(client.app), "admin")
    code = admin.post("/api/v1/admin/enrolment-codes", json={"agent_id": agent_id})
    assert code.status_code == 201, code.text
    device = TestClient(client.app)
    reply = device.post(
        "/api/v1/devices/enroll", json={"code": code.json()["code"], "hostname": hostname}
    )
    assert reply.status_code == 201, reply.text
    device.headers["authorization"] = f"Bearer {reply.json()['token']}"
    return device


def event(
    kind: str, at: datetime, start_s: float = 0.0, length_s: float | None = 40.0, **extra: Any
) -> dict[str, Any]:
    """One event as the agent sends it (``Event.to_json_dict``)."""
    e = Event(
        id=extra.pop("id", uuid.uuid4()),
        type=kind,
        start_s=start_s,
        peak_confidence=0.9,
        evidence={"faces": 0.0},
        started_at=at,
    )
    if length_s is not None:
        e = e.closed(start_s + length_s)
    data = e.to_json_dict()
    data.update(extra)
    return data


def beat(device: TestClient, status: str, at: datetime) -> dict[str, Any]:
    reply = device.post("/api/v1/heartbeat", json={"status": status, "sent_at": at.isoformat()})
    assert reply.status_code == 200, reply.text
    data: dict[str, Any] = reply.json()
    return data


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def server_cli(key_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``deskwatch *args`` in a fresh process with the server's key file at ``key_file``."""
    env = {**os.environ, "COLUMNS": "120", "DESKWATCH_SECRET_KEY_FILE": str(key_file)}
    return subprocess.run(
        [sys.executable, "-m", "deskwatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def flashed(client: TestClient, reply: Any) -> str:
    """What the page a form redirected to says about how it went (its flash messages)."""
    assert reply.status_code == 303, reply.text
    shown = client.get(reply.headers["location"]).text
    return " ".join(re.findall(r'<p class="flash (?:ok|error)">([^<]*)</p>', shown))
