"""No single event can block the queue: numbers JSON cannot carry (NaN, infinities, 1e309)
are refused by the server with a 422 naming the field, on SQLite and PostgreSQL, and the
uploader moves exactly the refused events to the dead table, with the reason, while the
rest are delivered."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from deskwatch.agent.config import load_credentials
from deskwatch.agent.outbox import Outbox
from deskwatch.events.event import Event, finite_evidence
from deskwatch.transport.client import DeviceClient
from deskwatch.transport.uploader import Uploader
from tests.agent.conftest import Server, enroll

POISON = ["NaN", "Infinity", "-Infinity", "1e309"]


def _events(n: int) -> list[Event]:
    at = datetime.now(UTC)
    return [
        Event(type="away", start_s=i, end_s=i + 1.0, peak_confidence=0.9, started_at=at)
        for i in range(n)
    ]


def _poison(outbox: Outbox, event: Event, number: str) -> None:
    """Rewrite ``event``'s stored body as an old or broken agent would have sent it."""
    body = json.dumps(event.to_json_dict(), separators=(",", ":"))
    body = body.replace('"evidence":{}', f'"evidence":{{"yaw_deg":{number}}}')
    db = sqlite3.connect(outbox.path)
    db.execute("UPDATE pending SET body = ? WHERE id = ?", (body, str(event.id)))
    db.commit()
    db.close()


def _dead(outbox: Outbox) -> dict[str, str]:
    db = sqlite3.connect(outbox.path)
    try:
        return dict(db.execute("SELECT id, reason FROM dead").fetchall())
    finally:
        db.close()


def _drain(uploader: Uploader, steps: int = 20) -> None:
    for _ in range(steps):
        if not len(uploader.outbox):
            return
        assert uploader.step() == 0.0, uploader.stats.last_error


@pytest.fixture
def device(any_server: Server, tmp_path: Path) -> DeviceClient:
    state = tmp_path / "agent"
    enroll(any_server.url, state, any_server.code())
    config = load_credentials(state)
    return DeviceClient(config.server_url, config.token)


def test_non_finite_numbers_are_a_422_naming_the_field(
    any_server: Server, device: DeviceClient
) -> None:
    event = json.dumps(_events(1)[0].to_json_dict())
    for number in POISON:
        body = event.replace('"evidence": {}', f'"evidence": {{"yaw_deg": {number}}}')
        reply = device.http.post(
            f"{any_server.url}/api/v1/events",
            content=f'{{"events": [{body}]}}',
            headers={**device.headers, "content-type": "application/json"},
        )
        assert reply.status_code == 422, (number, reply.text)
        [error] = reply.json()["detail"]
        assert error["field"] == "events.0.evidence.yaw_deg" and "finite" in error["msg"]
    beat = '{"status": "online", "sent_at": "2026-01-01T00:00:00Z", "paused_for_s": Infinity}'
    reply = device.http.post(
        f"{any_server.url}/api/v1/heartbeat",
        content=beat,
        headers={**device.headers, "content-type": "application/json"},
    )
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["field"] == "paused_for_s"


def test_a_poison_event_before_20_good_ones_blocks_nothing(
    any_server: Server, device: DeviceClient, tmp_path: Path
) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    events = _events(24)
    outbox.put(events)
    poisoned = {0: "NaN", 7: "Infinity", 15: "1e309", 23: "-Infinity"}
    for index, number in poisoned.items():
        _poison(outbox, events[index], number)
    _drain(Uploader(outbox, device))
    assert len(outbox) == 0
    stored = set(any_server.event_ids())
    assert stored == {str(e.id) for i, e in enumerate(events) if i not in poisoned}
    dead = _dead(outbox)
    assert set(dead) == {str(events[i].id) for i in poisoned}
    assert all("evidence.yaw_deg: Input should be a finite number" in r for r in dead.values())
    outbox.close()


class _Picky(httpx.BaseTransport):
    """A server that refuses any batch holding one id with a bare 400 (names no event)."""

    def __init__(self, bad: str) -> None:
        self.bad, self.sizes = bad, list[int]()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        self.sizes.append(len(events))
        if any(e["id"] == self.bad for e in events):
            return httpx.Response(400, json={"detail": "no"})
        return httpx.Response(200, json={"new": len(events), "duplicates": 0, "updated": 0})


def test_a_refusal_naming_no_event_is_bisected_to_the_one_refused(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    events = _events(21)
    outbox.put(events)
    transport = _Picky(str(events[13].id))
    client = DeviceClient("http://server.invalid", "t", http=httpx.Client(transport=transport))
    _drain(Uploader(outbox, client))
    assert len(outbox) == 0
    assert set(_dead(outbox)) == {str(events[13].id)}
    assert len(transport.sizes) <= 10  # halves, not one request per event
    outbox.close()


def test_edge_evidence_is_finite() -> None:
    values = {"a": float("nan"), "b": float("inf"), "c": 1.23456, "d": -float("inf")}
    assert finite_evidence(values) == {"c": 1.235}
    with pytest.raises(ValueError, match="finite"):
        Event(type="away", start_s=0, peak_confidence=0.5, evidence={"x": float("nan")})
