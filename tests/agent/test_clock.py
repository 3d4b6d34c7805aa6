"""An agent whose clock is an hour fast: it learns the server's time from the replies'
``Date`` header, sends its events in the server's time (none is buried as "in the
future"), reports its offset in the heartbeat and tells the worker on the local page and the
supervisors on the board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from deskwatch.agent.config import load_credentials
from deskwatch.agent.outbox import Outbox
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.events.event import Event
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.events.models import EventRecord
from deskwatch.transport.client import DeviceClient
from deskwatch.transport.clock import ServerClock
from deskwatch.transport.uploader import Uploader
from tests.agent.conftest import Server, enroll, wait_for

FAST = timedelta(hours=1)


def _fast() -> datetime:
    return datetime.now(UTC) + FAST


def _client(server: Server, tmp_path: Path) -> tuple[DeviceClient, Path]:
    state = tmp_path / "agent"
    enroll(server.url, state, server.code())
    config = load_credentials(state)
    return DeviceClient(config.server_url, config.token, clock=ServerClock(_fast)), state


def _deliver(outbox: Outbox, client: DeviceClient) -> None:
    """Upload steps until the outbox is empty: nothing may end in the dead table."""
    uploader = Uploader(outbox, client)
    for _ in range(5):
        if not len(outbox):
            break
        uploader.step()
    assert len(outbox) == 0 and outbox.dead_count() == 0


def test_a_fast_clock_loses_no_event(server: Server, tmp_path: Path) -> None:
    client, state = _client(server, tmp_path)
    outbox = Outbox(state / "outbox.db")
    at = _fast()  # stamped by the agent's own (wrong) clock, before it met the server
    events = [
        Event(type="away", start_s=i, end_s=i + 1.0, peak_confidence=0.9, started_at=at)
        for i in range(5)
    ]
    outbox.put(events)
    _deliver(outbox, client)
    fast_by = client.clock.fast_by_s()
    assert fast_by is not None and abs(fast_by - FAST.total_seconds()) < 3
    engine = make_engine(server.db_url)
    with session_factory(engine)() as s:
        starts = list(s.scalars(select(EventRecord.started_at)))
    engine.dispose()
    assert len(starts) == 5
    for start in starts:
        assert abs((start.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 30
    outbox.close()


def test_the_heartbeat_and_the_local_page_tell_of_the_clock(
    server: Server, tmp_path: Path, clip: Path
) -> None:
    client, state = _client(server, tmp_path)
    config = load_credentials(state)
    runner = AgentRunner(config, state, RunOptions(source=str(clip), page_port=None), client)
    try:
        client.heartbeat(runner.beat())  # learns the offset (a 200: the field is accepted)
        beat = runner.beat()
        offset = beat["clock_offset_s"]
        assert isinstance(offset, float) and abs(offset - 3600) < 3
        sent_at = datetime.fromisoformat(str(beat["sent_at"]))
        assert abs((sent_at - datetime.now(UTC)).total_seconds()) < 3
        client.heartbeat(beat)
        clock = runner.page_state().uploads["clock"]
        assert isinstance(clock, str) and "s fast" in clock and "clock is 36" in clock
        wait_for(lambda: "fast" in _board_clock(server), 10, "the board's clock note")
        assert _board_clock(server).startswith("clock 36")
    finally:
        runner.outbox.close()


def _board_clock(server: Server) -> str:
    """The clock note on the admin's board for the one agent there."""
    with httpx.Client(base_url=server.url) as admin:
        admin.post("/api/v1/auth/login", json={"username": "admin", "password": "pw-admin-123"})
        rows = admin.get("/api/v1/board").raise_for_status().json()
    return " ".join(str(r["clock"]) for r in rows if r["clock"])


def test_events_stamped_while_the_clock_was_fast_are_not_buried_once_it_is_right(
    server: Server, tmp_path: Path
) -> None:
    """The PC's clock was an hour fast when these events were stamped and has been set right
    since: the server refuses them as in the future, the agent moves them back to now (saying
    so in their evidence) and sends them again."""
    state = tmp_path / "agent"
    enroll(server.url, state, server.code())
    config = load_credentials(state)
    client = DeviceClient(config.server_url, config.token, clock=ServerClock())
    outbox = Outbox(state / "outbox.db")
    at = _fast()
    outbox.put(
        [
            Event(type="away", start_s=i, end_s=i + 1.0, peak_confidence=0.9, started_at=at)
            for i in range(3)
        ]
    )
    _deliver(outbox, client)
    engine = make_engine(server.db_url)
    with session_factory(engine)() as s:
        stored = list(s.execute(select(EventRecord.started_at, EventRecord.evidence)))
    engine.dispose()
    assert len(stored) == 3
    for start, evidence in stored:
        assert abs((start.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 30
        assert abs(evidence["clock_restamped_s"] - FAST.total_seconds()) < 30
    outbox.close()
