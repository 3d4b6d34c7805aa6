"""Outbox, backoff, credentials, local page and CLI errors: no network beyond 127.0.0.1."""

from __future__ import annotations

import logging
import random
import sqlite3
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from deskwatch.agent.config import AgentConfig, load_credentials, save_credentials
from deskwatch.agent.local_page import LocalPage
from deskwatch.agent.outbox import Outbox
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.cli import app
from deskwatch.events.event import Event
from deskwatch.transport.client import DeviceClient
from deskwatch.transport.uploader import Backoff
from tests.server_process import free_port

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def ev(kind: str = "away", end: float | None = 5.0, id: uuid.UUID | None = None) -> Event:
    e = Event(type=kind, start_s=1.0, peak_confidence=0.9, started_at=NOW)
    if id is not None:
        e = e.model_copy(update={"id": id})
    return e if end is None else e.closed(end)


def test_outbox_is_wal_full_sync_and_ordered(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    events = [ev(end=float(i + 2)) for i in range(5)]
    box.put(events[:3])
    box.put(events[3:])
    assert [p.id for p in box.batch(10)] == [str(e.id) for e in events]
    assert box._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert box._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    box.close()
    again = sqlite3.connect(tmp_path / "o.db").execute("SELECT COUNT(*) FROM pending")
    assert again.fetchone()[0] == 5


def test_closed_version_replaces_open_and_inflight_ack_keeps_it(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    opened = ev(end=None)
    box.put([opened])
    inflight = box.batch(10)
    assert inflight[0].body["end_s"] is None
    box.put([opened.closed(9.0)])  # ends while the open version is being sent
    assert box.ack(inflight) == 0  # the server acknowledged the open version only
    (left,) = box.batch(10)
    assert left.body["end_s"] == 9.0 and left.id == str(opened.id)
    assert box.ack([left]) == 1 and len(box) == 0
    assert box.journal_ids() == [str(opened.id)]


def test_outbox_bound_warns_at_80_percent_then_drops(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box = Outbox(tmp_path / "o.db", capacity=10)
    with caplog.at_level(logging.WARNING):
        box.put([ev() for _ in range(7)])
        assert box.level().warning is None and not caplog.records
        box.put([ev()])
        assert "80%" in (box.level().warning or "")
        assert any("full" in r.getMessage() for r in caplog.records)
        assert box.put([ev() for _ in range(4)]) == 2
    assert len(box) == 10 and box.dropped == 2
    assert "dropped" in (box.level().warning or "")


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (20, 60.0), (500, 60.0)],
)
def test_backoff_schedule(attempt: int, ceiling: float) -> None:
    backoff = Backoff(base_s=1.0, cap_s=60.0)
    assert backoff.ceiling(attempt) == ceiling
    rng = random.Random(attempt)
    delays = [backoff.delay(attempt, rng) for _ in range(200)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2  # full jitter


def test_credentials_are_user_only(tmp_path: Path) -> None:
    config = AgentConfig(server_url="http://127.0.0.1:1", device_id="d", token="t", agent_id=1)
    path = save_credentials(tmp_path / "state", config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_credentials(tmp_path / "state") == config


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[AgentRunner]:
    config = AgentConfig(server_url="http://127.0.0.1:1", device_id="d", token="t", agent_id=7)
    client = DeviceClient(config.server_url, config.token)
    r = AgentRunner(config, tmp_path, RunOptions(source="camera:0", page_port=0), client)
    yield r
    r.outbox.close()


def test_local_page_loopback_only_shows_state_and_pauses(runner: AgentRunner) -> None:
    runner.outbox.put([ev(), ev()])
    runner.client.last_sent["heartbeat"] = '{"status":"at_desk"}'
    page = LocalPage(runner, free_port()).start()
    try:
        assert page.server.server_address[0] == "127.0.0.1"
        html = httpx.get(page.url).text
        for words in ("the camera picture", "which way your head is turned",
                      "2 events are waiting to be sent", "Status update", "at_desk",
                      "127.0.0.1:1/me", "Pause for a break"):  # fmt: skip
            assert words in html
        state = httpx.get(page.url + "state.json").json()
        assert state["outbox"]["length"] == 2 and state["detectors"]["face"]["state"] == "off"
        evil = httpx.get(page.url, headers={"host": "evil.example:80"})
        assert evil.status_code == 403
        assert httpx.post(page.url + "pause").status_code == 403  # no token: CSRF refused
        assert not runner.control.state().paused
        ok = httpx.post(page.url + "pause", data={"token": page.token})
        assert ok.status_code == 303 and runner.control.state().paused
        assert "Resume monitoring" in httpx.get(page.url).text
        httpx.post(page.url + "resume", headers={"x-deskwatch-token": page.token})
        assert not runner.control.state().paused
    finally:
        page.close()


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    cli = CliRunner()
    port = free_port()  # nothing listens there
    down = cli.invoke(
        app,
        [
            "agent",
            "enroll",
            "--server",
            f"http://127.0.0.1:{port}",
            "--code",
            "X",
            "--state-dir",
            str(tmp_path),
        ],
    )
    assert down.exit_code == 2 and "unreachable" in down.output
    missing = cli.invoke(app, ["agent", "run", "--state-dir", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "enroll" in missing.output
    assert cli.invoke(app, ["agent", "pause", "--state-dir", str(tmp_path)]).exit_code == 0
    save_credentials(
        tmp_path,
        AgentConfig(server_url="http://127.0.0.1:1", device_id="d", token="t", agent_id=1),
    )
    shown = cli.invoke(app, ["agent", "status", "--state-dir", str(tmp_path)])
    assert shown.exit_code == 0 and "yes, for" in shown.output


def test_enroll_with_a_bad_code_exits_2(
    server_url_and_code: tuple[str, str], tmp_path: Path
) -> None:
    url, _ = server_url_and_code
    result = CliRunner().invoke(
        app, ["agent", "enroll", "--server", url, "--code", "WRONG", "--state-dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "refused" in result.output
