"""While paused no frame is read, no detector exists and the camera is released."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskwatch.agent import session as session_module
from deskwatch.agent.config import load_credentials
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.capture.frame import Frame
from deskwatch.capture.source import FrameSource, open_source
from deskwatch.transport.client import DeviceClient
from tests.agent.conftest import Server, enroll, enrolled_runner, wait_for


class Counting:
    """Wraps the real source: counts frames read and whether it is open."""

    frames = 0
    open = 0

    def __init__(self, inner: FrameSource) -> None:
        self.inner, self.name, self.duration_s = inner, inner.name, inner.duration_s
        Counting.open += 1

    def __iter__(self) -> Iterator[Frame]:
        for frame in self.inner:
            Counting.frames += 1
            yield frame

    def close(self) -> None:
        Counting.open -= 1
        self.inner.close()


def test_paused_reads_no_frame_and_releases_the_camera(
    server: Server, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        session_module, "open_source", lambda spec, fps: Counting(open_source(spec, fps))
    )
    state = tmp_path / "agent"
    agent = enrolled_runner(server, state, clip)
    agent.control.pause()
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: '"paused"' in agent.client.last_sent.get("heartbeat", ""), 10, "beat")
        threading.Event().wait(1.0)
        assert Counting.frames == 0 and Counting.open == 0 and agent.session.pipeline is None
        beat = agent.beat()
        detectors = beat["detectors"]
        assert isinstance(detectors, dict) and not any(detectors.values())
        assert beat["status"] == "paused"
        assert isinstance(beat["paused_for_s"], float) and beat["paused_for_s"] >= 1.0

        agent.control.resume()
        wait_for(lambda: Counting.frames >= 3, 20, "frames after resume")
        assert Counting.open == 1

        agent.control.pause()
        wait_for(lambda: Counting.open == 0, 5, "camera released")
        frozen = Counting.frames
        threading.Event().wait(1.0)
        assert Counting.frames == frozen and agent.session.pipeline is None
    finally:
        agent.stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()


def test_missing_camera_is_a_camera_problem_not_a_crash(server: Server, tmp_path: Path) -> None:
    opened: list[str] = []

    def no_camera(spec: str, fps: float) -> FrameSource:
        opened.append(spec)
        return open_source(spec, fps)  # camera:63 does not exist: SourceError

    state = tmp_path / "agent"
    enroll(server.url, state, server.code())
    config = load_credentials(state)
    opts = RunOptions(source="camera:63", heartbeat_s=0.3, page_port=None)
    agent = AgentRunner(config, state, opts, DeviceClient(config.server_url, config.token))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(session_module, "open_source", no_camera)
        thread = threading.Thread(target=agent.run, daemon=True)
        thread.start()
        try:
            wait_for(
                lambda: '"camera_problem"' in agent.client.last_sent.get("heartbeat", ""),
                10,
                "camera_problem heartbeat",
            )
            wait_for(lambda: len(opened) >= 2, 10, "a retry")  # retried in the background
            assert thread.is_alive() and agent.session.pipeline is None
        finally:
            agent.stop.set()
            thread.join(timeout=20)
    assert not thread.is_alive()


def test_pause_stops_a_self_check_at_once(
    server: Server, clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pause mid-check releases the camera at once (not after ``check_seconds``); the
    check runs again after the worker resumes."""
    monkeypatch.setattr(
        session_module, "open_source", lambda spec, fps: Counting(open_source(spec, fps))
    )
    Counting.frames = Counting.open = 0
    state = tmp_path / "agent"
    agent = enrolled_runner(server, state, clip, self_check=True, check_seconds=30.0)
    thread = threading.Thread(target=agent.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: Counting.frames >= 5, 20, "the self-check reading frames")
        agent.control.pause()
        wait_for(lambda: Counting.open == 0, 2, "camera released mid-check")
        frozen = Counting.frames
        threading.Event().wait(1.0)
        assert Counting.frames == frozen and agent.check.pending
        assert not agent.state.self_check and len(agent.outbox) == 0  # no check was sent
    finally:
        agent.stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
