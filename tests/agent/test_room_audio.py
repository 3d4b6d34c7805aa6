"""Room audio on the agent: opened only while the environment category is on for the worker
and the agent is not paused; its events reach the server; an objection closes it."""

from __future__ import annotations

import wave
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from deskwatch.agent import room_audio
from deskwatch.agent import session as session_module
from deskwatch.agent.room_audio import RoomAudio, open_room_audio
from deskwatch.agent.runner import AgentRunner
from deskwatch.audio import SAMPLE_RATE, AudioAnalyser, AudioObservation, open_audio
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.events.models import EventRecord
from tests.agent.conftest import (
    RecordingProxy,
    Server,
    enroll,
    enrolled_runner,
    start_agent,
    wait_for,
)
from tests.agent.test_delivery_e2e import DEVICE_PATHS, assert_only_json
from tests.agent.test_objection import person, render, running, set_category


class Opened:
    """Counts how often the agent opens and closes room audio."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opens, self.closes = 0, 0
        monkeypatch.setattr(session_module, "open_room_audio", self._open)

    def _open(self, spec: str) -> RoomAudio:
        self.opens += 1
        return _Counted(open_room_audio(spec), self)


class _Counted:
    def __init__(self, inner: RoomAudio, opened: Opened) -> None:
        self.inner, self.opened = inner, opened

    def at(self, ts: float) -> AudioObservation | None:
        return self.inner.at(ts)

    def close(self) -> None:
        self.opened.closes += 1
        self.inner.close()


@pytest.fixture(scope="module")
def noisy_room(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """110 s of steady noise at -20 dBFS (a vacuum cleaner next door), as a WAV file."""
    path = tmp_path_factory.mktemp("audio") / "noise.wav"
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 32768 * 10 ** (-20 / 20), SAMPLE_RATE * 110)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(np.clip(noise, -32768, 32767).astype("<i2").tobytes())
    return path


def _runner(server: Server, state: Path, clip: Path, audio: Path | None) -> AgentRunner:
    return enrolled_runner(server, state, clip, audio=None if audio is None else str(audio))


def _stored_types(server: Server) -> list[str]:
    engine = make_engine(server.db_url)
    with session_factory(engine)() as s:
        types = list(s.scalars(select(EventRecord.type)))
    engine.dispose()
    return types


def _people(server: Server) -> tuple[httpx.Client, httpx.Client]:
    return person(server, "admin"), person(server, "agent")


def test_noise_reaches_the_server_and_an_objection_or_a_pause_closes_the_audio(
    server: Server, clip: Path, noisy_room: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = Opened(monkeypatch)
    admin, agent = _people(server)
    set_category(admin, agent, "environment", enabled=True)
    runner = _runner(server, tmp_path / "agent", clip, noisy_room)
    with running(runner):
        wait_for(lambda: runner.session.audio is not None, 30, "room audio opened")
        wait_for(lambda: "background_noise" in _stored_types(server), 40, "noise on the server")
        text = render(runner)
        assert "on: the sound level and how much of it is speech" in text
        assert "the room is loud; speech" in text  # its levels in words, never the sound

        assert agent.put("/api/v1/me/objections/environment", json={"objected": True}).is_success
        wait_for(lambda: runner.session.audio is None, 30, "room audio closed after the objection")
        assert (opened.opens, opened.closes) == (1, 1)
        assert not runner.policy.current.policy.rules.background_noise.enabled

        assert agent.put("/api/v1/me/objections/environment", json={"objected": False}).is_success
        wait_for(lambda: runner.session.audio is not None, 30, "room audio after the withdrawal")
        runner.control.pause()
        session = runner.session
        wait_for(lambda: session.audio is None and session.source is None, 10, "paused")
        assert opened.opens == opened.closes == 2


def test_no_audio_opens_while_the_category_is_off_or_the_pc_has_none(
    server: Server, clip: Path, noisy_room: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = Opened(monkeypatch)
    admin, agent = _people(server)
    off = _runner(server, tmp_path / "off", clip, noisy_room)  # environment is off by default
    with running(off):
        wait_for(lambda: off.state.frames >= 10, 30, "frames analysed")
        assert opened.opens == 0 and off.session.audio is None
        assert "room_audio" not in off.state.detectors

    set_category(admin, agent, "environment", enabled=True)
    deaf = _runner(server, tmp_path / "deaf", clip, None)  # started without --audio
    with running(deaf):
        wait_for(lambda: deaf.state.frames >= 10, 30, "frames analysed")
        assert opened.opens == 0 and deaf.session.audio is None
        assert "on for your team, but this PC is not set up to listen" in render(deaf)
    assert "background_noise" not in _stored_types(server)


def test_only_event_json_leaves_and_no_sound_is_kept_on_disk(
    server: Server, proxy: RecordingProxy, clip: Path, noisy_room: Path, tmp_path: Path
) -> None:
    admin, agent = _people(server)
    set_category(admin, agent, "environment", enabled=True)
    state = tmp_path / "agent"
    enroll(proxy.url, state, server.code())
    process = start_agent(state, clip, "--audio", str(noisy_room))
    try:
        assert process.wait(timeout=120) == 0, (state / "agent.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
    sent = b"".join(r.body for r in proxy.requests if r.path == "/api/v1/events")
    assert b'"background_noise"' in sent
    for rec in proxy.requests:
        assert rec.path in DEVICE_PATHS, rec.path
        assert_only_json(rec)
    kept = [f for f in state.rglob("*") if f.is_file()]
    assert sum(f.stat().st_size for f in kept) < 1_000_000  # 100 s of sound: 3.2 MB
    assert not [f for f in kept if b"RIFF" in f.read_bytes()]


def test_a_live_source_is_read_on_its_own_thread_and_goes_stale(
    noisy_room: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A microphone is read beside the frame loop (a WAV stands in for it here): ``at()``
    never blocks, gives the newest stretch, and nothing once the source has gone quiet."""
    monkeypatch.setattr(room_audio, "FRESH_S", 0.5)
    live = room_audio.LiveAudio(open_audio(str(noisy_room)), AudioAnalyser())
    try:
        wait_for(lambda: live.at(0.0) is not None, 10, "a stretch analysed")
        newest = live.at(123.0)  # any frame time: the newest stretch, whatever its own
        assert newest is not None and -23 < newest.floor_dbfs < -19
        wait_for(lambda: live.at(0.0) is None, 10, "stale once the source ended")
    finally:
        live.close()
    assert not live._thread.is_alive()
