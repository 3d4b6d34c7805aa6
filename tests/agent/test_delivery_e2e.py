"""End to end: a real server process, the agent as a process, the demo clip as its camera.

At the end the server's events table holds exactly the ids the agent enqueued, once each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from deskwatch.agent.outbox import Outbox
from deskwatch.server.devices.schemas import EnrolRequest
from deskwatch.server.events.schemas import IngestBatch
from deskwatch.server.status.schemas import Heartbeat
from tests.agent.conftest import (
    Recorded,
    RecordingProxy,
    Server,
    enroll,
    start_agent,
    wait_for,
)

DEVICE_PATHS = {"/api/v1/devices/enroll", "/api/v1/events", "/api/v1/heartbeat", "/api/v1/policy"}


def agent_ids(state: Path) -> list[str]:
    outbox = Outbox(state / "outbox.db")
    try:
        return outbox.journal_ids()
    finally:
        outbox.close()


def pending(state: Path) -> int:
    outbox = Outbox(state / "outbox.db")
    try:
        return len(outbox)
    finally:
        outbox.close()


def assert_exactly_once(server: Server, state: Path) -> None:
    produced, stored = agent_ids(state), server.event_ids()
    assert produced, "the agent produced no events"
    assert len(stored) == len(set(stored)) == len(produced) == len(set(produced))
    assert set(stored) == set(produced)
    assert pending(state) == 0


def test_server_down_for_a_while_then_back(server: Server, clip: Path, tmp_path: Path) -> None:
    state = tmp_path / "agent"
    enroll(server.url, state, server.code())
    server.stop()
    agent = start_agent(state, clip, "--repeat", "3", "--batch-size", "2")
    try:
        # Analysis goes on without the server; events wait in the outbox.
        wait_for(lambda: (state / "outbox.db").exists() and pending(state) >= 4, 60, "a backlog")
        assert agent.poll() is None
        server.start()
        assert agent.wait(timeout=60) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
    log = (state / "agent.log").read_text()
    # Enrolment cached the policy and the worker's settings: analysis could start offline.
    assert "server unreachable" in log and "keeping v1" in log
    assert_exactly_once(server, state)


def test_agent_killed_mid_upload_then_restarted(
    server: Server, proxy: RecordingProxy, clip: Path, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    enroll(proxy.url, state, server.code())
    agent: subprocess.Popen[bytes] = start_agent(state, clip, "--repeat", "3", "--batch-size", "1")
    killed: list[int] = []

    def kill_after_third(n: int, rec: Recorded) -> None:
        # The server has stored this batch; the agent dies before it hears so.
        if n == 3 and not killed:
            os.kill(agent.pid, signal.SIGKILL)
            killed.append(n)

    proxy.after_events = kill_after_third
    try:
        assert agent.wait(timeout=60) == -signal.SIGKILL
        before = len(proxy.requests)
        assert pending(state) >= 1, "the unacknowledged batch must still be in the outbox"
        proxy.after_events = None
        agent = start_agent(state, clip, "--batch-size", "1")
        assert agent.wait(timeout=60) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
    assert_exactly_once(server, state)
    resent = [r for r in proxy.requests[before:] if r.path == "/api/v1/events"]
    first = json.loads(resent[0].reply)
    assert first["new"] == 0 and first["duplicates"] + first["updated"] == 1


def test_only_device_api_json_leaves_the_agent(
    server: Server, proxy: RecordingProxy, clip: Path, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    enroll(proxy.url, state, server.code())
    agent = start_agent(state, clip)
    try:
        assert agent.wait(timeout=60) == 0
    finally:
        if agent.poll() is None:
            agent.kill()
    assert proxy.requests
    for rec in proxy.requests:
        assert rec.path in DEVICE_PATHS, rec.path
        assert_only_json(rec)
    kinds = {r.path for r in proxy.requests}
    assert {"/api/v1/events", "/api/v1/heartbeat", "/api/v1/policy"} <= kinds


def assert_only_json(rec: Recorded) -> None:
    assert b"\xff\xd8\xff" not in rec.body and b"\x89PNG" not in rec.body
    assert b"RIFF" not in rec.body and b"ftyp" not in rec.body  # no WAV / MP4
    assert len(rec.body) < 64 * 1024
    if rec.method == "GET":
        assert rec.body == b""
        return
    assert rec.headers["content-type"] == "application/json"
    data = json.loads(rec.body)
    if rec.path == "/api/v1/events":
        IngestBatch.model_validate(data)
    elif rec.path == "/api/v1/devices/enroll":
        EnrolRequest.model_validate(data)
    else:
        Heartbeat.model_validate(data)
