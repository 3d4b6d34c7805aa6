"""The pre-shift self-check in the agent: a failed check is reported as numbers, and the
worker's following events are marked low-confidence for reviewers."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import select

from deskwatch.agent.config import load_credentials
from deskwatch.agent.control import Control
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.demo.clip import DemoSource
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.events.models import EventRecord
from deskwatch.transport.client import DeviceClient
from tests.agent.conftest import Server, enroll


def _dark_clip(path: Path) -> Path:
    """The demo clip at 15% brightness: a room with the light off."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 2.0, (640, 360))
    for frame in DemoSource(fps=2, native_fps=2):
        writer.write((frame.image * 0.15).astype(np.uint8))
    writer.release()
    return path


def _server_events(server: Server) -> list[EventRecord]:
    engine = make_engine(server.db_url)
    with session_factory(engine)() as s:
        rows = list(s.scalars(select(EventRecord).order_by(EventRecord.received_at)))
    engine.dispose()
    return rows


def test_failed_check_is_reported_and_marks_events_low_confidence(
    server: Server, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    enroll(server.url, state, server.code())
    config = load_credentials(state)
    opts = RunOptions(
        source=str(_dark_clip(tmp_path / "dark.mp4")),
        self_check=True,
        exit_when_done=True,
        page_port=None,
        heartbeat_s=1.0,
        max_backoff_s=0.5,
    )
    agent = AgentRunner(config, state, opts, DeviceClient(config.server_url, config.token))
    assert agent.run() == 0
    events = _server_events(server)
    checks = [e for e in events if e.type == "self_check"]
    assert len(checks) == 1 and checks[0].evidence["passed"] == 0.0
    evidence = checks[0].evidence
    assert evidence["frames"] >= 10 and evidence["frame_brightness"] < 30  # numbers, no image
    tips = agent.state.self_check["tips"]
    assert isinstance(tips, list) and any("light" in str(tip).lower() for tip in tips), tips
    others = [e for e in events if e.type != "self_check"]
    assert others and all(e.evidence.get("low_confidence") == 1.0 for e in others)


def test_a_check_can_be_requested_while_running(tmp_path: Path) -> None:
    control = Control(tmp_path)
    assert not control.take_check_request()
    control.request_check()
    assert (tmp_path / "self_check.request").stat().st_mode & 0o077 == 0
    assert control.take_check_request() and not control.take_check_request()
