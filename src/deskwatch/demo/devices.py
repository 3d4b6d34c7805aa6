"""Simulated agent PCs: they enrol and report through the real device API."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from deskwatch.demo.real_agent import RealAgent, real_agent
from deskwatch.demo.seed import Seeded
from deskwatch.events.event import Event

log = logging.getLogger(__name__)

HEARTBEAT_S = 30.0


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
