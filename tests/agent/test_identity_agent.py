"""Identity in the agent against a real server: enrolment behind the worker's password, the
password path for a worker who declined (with the server's lockout), interrupted checks and
prompts, scheduling in frame time, the liveness challenge on the local page, and a face
check in a full run whose requests carry no descriptor."""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from numpy.typing import NDArray

from deskwatch.agent.config import load_credentials
from deskwatch.agent.local_page import REFRESH_S, LocalPage
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.arrays import Image
from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.hook import IdentityHook
from deskwatch.identity.machine import Mode
from deskwatch.identity.reconfirm import password_may_travel
from deskwatch.identity.store import Choice, TemplateStore, owner_of
from deskwatch.identity.words import CHALLENGE as CHALLENGE_WORDS
from deskwatch.privacy.worker import WorkerCategory, WorkerPrivacy
from deskwatch.server.app import create_app
from deskwatch.server.audit.chain import AuditChain, attach
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.devices.service import create_code
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.policies.service import publish
from deskwatch.server.privacy.schemas import CategoryIn
from deskwatch.server.privacy.service import set_category
from deskwatch.server.settings import Settings
from deskwatch.transport.client import DeviceClient
from tests.agent.conftest import RecordingProxy, Server, enroll, seed
from tests.conftest import shared_file
from tests.identity_footage import clip_frames, replayed

ON = IdentityConfig(enabled=True, every_min=60)
OFF = IdentityConfig()
# The dev clips' worker barely turns the head: a smaller enrolment spread (see test_identity).
ENROL = ON.model_copy(update={"min_enrol_spread_deg": 2.0})
BLANK = np.zeros((48, 64, 3), np.uint8)
RIGHT = "pw-agent-123"
OWNER = owner_of("test-device", 7)


def _frame(ts: float, image: Image = BLANK) -> Frame:
    return Frame(image, ts, int(ts * 2))


def _device(server: Server, state: Path) -> DeviceClient:
    enroll(server.url, state, server.code())
    config = load_credentials(state)
    return DeviceClient(config.server_url, config.token)


def _hook(state: Path, client: DeviceClient) -> IdentityHook:
    config = load_credentials(state) if (state / "credentials.json").exists() else None
    owner = owner_of(config.device_id, config.agent_id) if config else OWNER
    return IdentityHook(state, client, owner)


def need_extra() -> None:
    for name in ("dlib", "face_recognition_models"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} not installed (pip install 'deskwatch[identity]')")


# --- the server's clock can move: an in-process app on a real SQLite file ---------------
@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ClockedServer:
    clock: Clock
    client: DeviceClient


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[ClockedServer]:
    """The real app in this process (its clock replaceable), a device enrolled through it."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    seed(url)
    engine = make_engine(url)
    clock = Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    settings = Settings(secret_key="test", secret_key_file=tmp_path / "secret", purge_every_s=0)
    app = create_app(settings, sessions=session_factory(engine), clock=clock)
    with TestClient(app, base_url="http://127.0.0.1") as http, session_factory(engine)() as s:
        admin = s.query(User).filter_by(username="admin").one()
        agent = s.query(User).filter_by(username="agent").one()
        code, _ = create_code(s, admin=admin, agent_id=agent.id, now=clock.now, ttl_s=3600)
        s.commit()
        got = DeviceClient("http://127.0.0.1", http=http).enroll(code, "pc-1")
        yield ClockedServer(clock, DeviceClient("http://127.0.0.1", got.token, http=http))
    engine.dispose()


# --- the password path ----------------------------------------------------------------
def test_declined_worker_reconfirms_with_password(server: Server, tmp_path: Path) -> None:
    state = tmp_path / "agent"
    hook = _hook(state, _device(server, state))
    hook.decline()
    assert hook.on_frame(_frame(0.5), [], ON) == []  # shift start: the page asks
    assert hook.mode is Mode.AWAITING_PASSWORD
    assert "4 tries left" in hook.password("not-my-password")
    assert hook.on_frame(_frame(1.0), [], ON) == []  # a typo sends nothing yet
    hook.password(RIGHT)
    [event] = hook.on_frame(_frame(1.5), [], ON)
    assert event.type == "identity_verified"
    assert event.evidence == {"method_password": 1.0, "failed_attempts": 1.0}
    assert hook.password(RIGHT) == "No confirmation is due right now."


def _away_ended(at: float) -> Event:
    return Event(type="away", start_s=max(0.0, at - 40), end_s=at, peak_confidence=0.9)


def test_wrong_passwords_end_in_a_mismatch_and_the_lock_ends_after_15_minutes(
    clocked: ClockedServer, tmp_path: Path
) -> None:
    hook = IdentityHook(tmp_path, clocked.client, OWNER)
    hook.decline()
    hook.on_frame(_frame(0.5), [], ON)
    answers = [hook.password(f"guess-{i}") for i in range(5)]
    assert "4 tries left" in answers[0] and "identity not confirmed" in answers[4]
    [event] = hook.on_frame(_frame(1.0), [], ON)
    assert event.type == "identity_mismatch" and event.evidence["method_password"] == 1.0
    assert event.evidence["failed_attempts"] == 5.0
    # Back from a break: a new prompt. The right password meets the lock: nothing is
    # decided, the prompt stays open, the worker is told to wait.
    hook.on_frame(_frame(60.0), [_away_ended(60.0)], ON)
    assert hook.mode is Mode.AWAITING_PASSWORD
    clocked.clock.now += timedelta(minutes=14, seconds=59)
    assert "locked" in hook.password(RIGHT)
    assert hook.on_frame(_frame(61.0), [], ON) == []
    assert hook.mode is Mode.AWAITING_PASSWORD
    clocked.clock.now += timedelta(seconds=2)  # 15 minutes after the last wrong password
    assert hook.password(RIGHT) == "Identity confirmed."
    [verified] = hook.on_frame(_frame(62.0), [], ON)
    assert verified.type == "identity_verified" and "failed_attempts" not in verified.evidence


def test_a_prompt_still_locked_at_the_end_is_unverified_locked(
    clocked: ClockedServer, tmp_path: Path
) -> None:
    wait = ON.model_copy(update={"password_wait_min": 1.0})
    hook = IdentityHook(tmp_path, clocked.client, OWNER)
    hook.decline()
    hook.on_frame(_frame(0.5), [], wait)
    for i in range(5):
        hook.password(f"guess-{i}")
    [mismatch] = hook.on_frame(_frame(1.0), [], wait)
    assert mismatch.type == "identity_mismatch"
    hook.on_frame(_frame(10.0), [_away_ended(10.0)], wait)
    assert "locked" in hook.password(RIGHT)
    [event] = hook.on_frame(_frame(71.0), [], wait)
    assert event.type == "identity_unverified"
    assert event.evidence == {"method_password": 1.0, "reason_locked": 1.0}


def test_no_answer_is_unverified(tmp_path: Path) -> None:
    hook = IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"), OWNER)
    TemplateStore(tmp_path).set_choice(Choice.PASSWORD)
    wait = IdentityConfig(enabled=True, password_wait_min=1)
    assert hook.on_frame(_frame(1.0), [], wait) == []
    [event] = hook.on_frame(_frame(62.0), [], wait)
    assert event.type == "identity_unverified"
    assert event.evidence == {"method_password": 1.0, "reason_no_answer": 1.0}


def test_two_answers_to_one_prompt_give_one_result(server: Server, tmp_path: Path) -> None:
    state = tmp_path / "agent"
    hook = _hook(state, _device(server, state))
    hook.decline()
    hook.on_frame(_frame(0.5), [], ON)
    answers: list[str] = []
    threads = [
        threading.Thread(target=lambda: answers.append(hook.password(RIGHT))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count("Identity confirmed.") == 1, answers
    [other] = [a for a in answers if a != "Identity confirmed."]
    assert "already ended" in other or other == "No confirmation is due right now."
    [event] = hook.on_frame(_frame(1.0), [], ON)
    assert event.type == "identity_verified"


def test_not_enrolled_is_said_once(tmp_path: Path) -> None:
    hook = IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"), OWNER)
    every = IdentityConfig(enabled=True, every_min=1)
    [event] = hook.on_frame(_frame(0.5), [], every)
    assert event.type == "identity_unverified" and event.evidence == {"not_enrolled": 1.0}
    assert hook.on_frame(_frame(70.0), [_away_ended(70.0)], every) == []
    assert hook.on_frame(_frame(200.0), [], every) == []


def test_a_return_from_away_and_the_timer_each_start_a_check(
    server: Server, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    hook = _hook(state, _device(server, state))
    hook.decline()
    every = IdentityConfig(enabled=True, every_min=2)

    def confirmed_at(ts: float, events: list[Event] | None = None) -> bool:
        hook.on_frame(_frame(ts), events or [], every)
        asked = hook.mode is Mode.AWAITING_PASSWORD
        if asked:
            assert hook.password(RIGHT) == "Identity confirmed."
            [event] = hook.on_frame(_frame(ts + 0.5), [], every)
            assert event.type == "identity_verified"
        return asked

    assert confirmed_at(0.5)  # shift start
    assert not confirmed_at(30.0)
    assert confirmed_at(60.0, [_away_ended(60.0)])  # back at the desk
    assert not confirmed_at(90.0)
    assert not confirmed_at(179.0)
    assert confirmed_at(181.0)  # every 2 minutes since the last check (60.0 + 120)
    assert not confirmed_at(200.0)


# --- interruptions ----------------------------------------------------------------------
def test_switching_off_ends_an_open_prompt_and_no_password_is_sent(
    server: Server, proxy: RecordingProxy, tmp_path: Path
) -> None:
    state = tmp_path / "agent"
    enroll(proxy.url, state, server.code())
    config = load_credentials(state)
    hook = _hook(state, DeviceClient(config.server_url, config.token))
    hook.decline()
    hook.on_frame(_frame(0.5), [], ON)
    assert hook.mode is Mode.AWAITING_PASSWORD
    [event] = hook.on_frame(_frame(1.0), [], OFF)
    assert event.type == "identity_unverified"
    assert event.evidence == {"method_password": 1.0, "reason_interrupted": 1.0}
    assert hook.password(RIGHT) == "No confirmation is due right now."
    assert not any(r.path == "/api/v1/device/reconfirm" for r in proxy.requests)
    # On again much later: a fresh prompt, no stale "no answer" at once.
    wait = ON.model_copy(update={"password_wait_min": 1.0})
    assert hook.on_frame(_frame(500.0), [_away_ended(500.0)], wait) == []
    assert hook.mode is Mode.AWAITING_PASSWORD
    assert hook.on_frame(_frame(530.0), [], wait) == []


def test_closing_the_agent_and_reopening_the_camera_end_what_was_open(tmp_path: Path) -> None:
    hook = IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"), OWNER)
    hook.decline()
    first = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    hook.on_frame(_frame(5.0), [], ON, origin=first)
    assert hook.mode is Mode.AWAITING_PASSWORD
    # The camera re-opens (a pause, a camera problem): a new session, its ts restart.
    [ended] = hook.on_frame(_frame(0.5), [], ON, origin=first + timedelta(minutes=3))
    assert ended.evidence == {"method_password": 1.0, "reason_interrupted": 1.0}
    assert ended.started_at == first + timedelta(seconds=5.0)  # in the old session's time
    assert hook.mode is Mode.AWAITING_PASSWORD  # and asked again at once
    [closed] = hook.close()
    assert closed.evidence == {"method_password": 1.0, "reason_interrupted": 1.0}
    assert hook.view().mode == Mode.IDLE and hook.close() == []


def test_a_check_left_open_by_a_killed_agent_is_reported_by_the_next_run(
    tmp_path: Path,
) -> None:
    for choice, method in ((Choice.PASSWORD, "method_password"), (None, "method_face")):
        killed = IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"), OWNER)
        if choice is None:
            need_extra()  # the face check builds its models
            killed.store.save(np.zeros((3, 128), np.float32))
        else:
            killed.store.set_choice(choice)
        killed.on_frame(_frame(0.5), [], ON)
        assert killed.mode in (Mode.AWAITING_PASSWORD, Mode.CHECKING)
        del killed  # no close(): the process was killed
        again = IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"), OWNER)
        [event] = again.on_frame(_frame(0.5), [], OFF)
        assert event.evidence == {method: 1.0, "reason_interrupted": 1.0}
        assert IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"), OWNER).close() == []


def test_identity_events_are_stamped_in_frame_time(server: Server, tmp_path: Path) -> None:
    origin = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    lone = IdentityHook(tmp_path / "lone", DeviceClient("http://127.0.0.1:9"), OWNER)
    [told] = lone.on_frame(_frame(1.5), [], ON, origin=origin)
    assert told.started_at == told.ended_at == origin + timedelta(seconds=1.5)
    state = tmp_path / "agent"
    hook = _hook(state, _device(server, state))
    hook.decline()
    hook.on_frame(_frame(2.0), [], ON, origin=origin)
    hook.on_frame(_frame(3.0), [], ON, origin=origin)
    hook.password(RIGHT)
    [event] = hook.on_frame(_frame(3.5), [], ON, origin=origin)
    assert (event.start_s, event.end_s) == (2.0, 3.0)
    assert event.started_at == origin + timedelta(seconds=2.0)
    assert event.ended_at == origin + timedelta(seconds=3.0)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://deskwatch.example", True),
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://[::1]:8000", True),
        ("http://deskwatch.example", False),
        ("http://10.0.0.5:8000", False),
        ("http://127.example.com", False),  # a name that only starts like a loopback address
        ("http://127.0.0.2:8000", True),
        ("ftp://127.0.0.1", False),
    ],
)
def test_password_travels_only_over_https_or_loopback(url: str, ok: bool) -> None:
    assert password_may_travel(url) is ok


def test_no_password_over_plain_http(tmp_path: Path) -> None:
    hook = IdentityHook(tmp_path, DeviceClient("http://deskwatch.example"), OWNER)
    hook.decline()
    [event] = hook.on_frame(_frame(0.5), [], ON)
    assert event.evidence == {"method_password": 1.0, "reason_insecure_server": 1.0}
    assert hook.view().mode == Mode.IDLE and "not https" in hook.note
    hook.ask_consent()
    assert "not https" in hook.note and not hook.view().consenting
    assert "not https" in hook.consent(RIGHT)
    assert hook.view().mode == Mode.IDLE


# --- enrolment and withdrawal -----------------------------------------------------------
def _webcam(name: str, after_s: float = 0.0, start_s: float = 0.0) -> list[Frame]:
    shots = clip_frames(shared_file("data", "dev", "videos", name), 2.0, start_s)
    return [Frame(f.image, f.ts + after_s, f.index) for f in shots]


def _feed(hook: IdentityHook, shots: list[Frame], config: IdentityConfig) -> list[Event]:
    return [e for f in shots for e in hook.on_frame(f, [], config)]


@pytest.mark.slow
def test_enrolment_needs_the_password_and_then_verifies_at_once(
    server: Server, tmp_path: Path
) -> None:
    need_extra()
    state = tmp_path / "agent"
    hook = _hook(state, _device(server, state))
    hook.decline()  # a declined worker is waiting for a password prompt
    hook.on_frame(_frame(0.5, _webcam("webcam-centre.mp4")[0].image), [], ENROL)
    assert hook.mode is Mode.AWAITING_PASSWORD
    hook.ask_consent()
    assert hook.view().consenting
    assert "4 tries left" in hook.consent("someone-else")  # nobody else can enrol here
    assert hook.mode is Mode.AWAITING_PASSWORD and not hook.store.status().enrolled
    assert hook.consent(RIGHT).startswith("Enrolling")
    sent: list[Event] = []
    for shot in _webcam("webcam-centre.mp4", after_s=1.0):
        sent += hook.on_frame(shot, [], ENROL)
        if hook.store.status().enrolled:
            break
    # The open prompt ended as interrupted; enrolment made a template; a check is due.
    assert [e.evidence for e in sent] == [{"method_password": 1.0, "reason_interrupted": 1.0}]
    assert hook.store.status().enrolled and hook.view().mode == Mode.IDLE
    events = _feed(hook, _webcam("webcam-centre-left-centre.mp4", 12.0, start_s=3.0), ENROL)
    assert [e.type for e in events] == ["identity_verified"], [e.evidence for e in events]


@pytest.mark.slow
@pytest.mark.parametrize("withdraw", ["decline", "delete"])
def test_withdrawing_during_enrolment_keeps_nothing(
    server: Server, tmp_path: Path, withdraw: str
) -> None:
    need_extra()
    state = tmp_path / "agent"
    hook = _hook(state, _device(server, state))
    hook.on_frame(_frame(0.2), [], ENROL)  # not enrolled: said once
    assert hook.consent(RIGHT).startswith("Enrolling")
    shots = _webcam("webcam-centre.mp4", after_s=1.0)
    _feed(hook, shots[:8], ENROL)
    assert hook.mode is Mode.ENROLLING
    getattr(hook, withdraw)()
    events = _feed(hook, shots[8:], ENROL)
    assert not hook.store.status().enrolled and not hook.store.key_path.exists()
    want = Choice.PASSWORD if withdraw == "decline" else Choice.NONE
    assert hook.store.choice() is want
    assert all("method_face" not in e.evidence for e in events)


@pytest.mark.slow
def test_deleting_during_a_face_check_reports_it_interrupted_first(tmp_path: Path) -> None:
    need_extra()
    hook = IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"), OWNER)
    hook.store.save(np.random.default_rng(2).normal(0, 0.1, (3, 128)).astype(np.float32))
    shots = _webcam("webcam-centre.mp4")
    assert _feed(hook, shots[:4], ON) == []
    assert hook.mode is Mode.CHECKING
    hook.delete()
    interrupted, not_enrolled = _feed(hook, shots[4:], ON)
    assert interrupted.evidence == {"method_face": 1.0, "reason_interrupted": 1.0}
    assert not_enrolled.evidence == {"not_enrolled": 1.0}


# --- the liveness challenge ---------------------------------------------------------------
@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> NDArray[np.float32]:
    """The webcam worker's template, enrolled from the first seconds of webcam-centre.mp4."""
    need_extra()
    from deskwatch.identity.enrolment import enrol_from

    clip = shared_file("data", "dev", "videos", "webcam-centre.mp4")
    store = TemplateStore(tmp_path_factory.mktemp("worker"), OWNER)
    enrol_from(clip_frames(clip, 4.0), store, config=ENROL)
    return store.load()


def _still_then_look() -> list[Frame]:
    """The worker sitting still (webcam-centre.mp4, 10 s), then looking left and back (the
    other clip from 5 s): real frames, each clip in its own order."""
    still = _webcam("webcam-centre.mp4")
    look = _webcam("webcam-centre-left-centre.mp4", after_s=still[-1].ts + 0.5 - 5.0, start_s=5.0)
    return still + look


def _cache_policy(state: Path, toml: str) -> None:
    """The team policy and the worker's settings (identity consented to), as fetched."""
    state.mkdir(parents=True, exist_ok=True)
    privacy = _privacy(objected=False).model_dump(mode="json")
    (state / "policy.json").write_text(json.dumps({"version": 1, "toml": toml, "privacy": privacy}))


@contextmanager
def _page_with_identity(state: Path, template: NDArray[np.float32]) -> Iterator[LocalPage]:
    """A runner (camera never opened) whose team policy and worker's settings have identity
    on, the worker enrolled, and its real local page."""
    from deskwatch.agent.config import AgentConfig
    from tests.server_process import free_port

    _cache_policy(state, "[identity]\nenabled = true\n")
    config = AgentConfig(server_url="http://127.0.0.1:1", device_id="d", token="t", agent_id=7)
    client = DeviceClient(config.server_url, config.token)
    runner = AgentRunner(config, state, RunOptions(source="camera:0", page_port=0), client)
    TemplateStore(state, owner_of("d", 7)).save(template)
    page = LocalPage(runner, free_port()).start()
    try:
        yield page
    finally:
        page.close()
        runner.outbox.close()


def test_an_enrolled_worker_is_offered_to_enrol_again_and_to_delete(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    with _page_with_identity(tmp_path, np.zeros((3, 128), np.float32)) as page:
        reply = httpx.get(page.url)
        assert "Enrol my face again" in reply.text and "I agree: enrol my face" not in reply.text
        assert "Delete my face template" in reply.text
        # Only the page's own files load and run (inline styles allowed, no inline script).
        policy = reply.headers["content-security-policy"]
        assert "style-src 'self' 'unsafe-inline'" in policy and "script-src" not in policy


@pytest.mark.slow
def test_the_page_asks_for_a_cue_with_a_countdown_until_one_is_seen(
    tmp_path: Path, worker: NDArray[np.float32], caplog: pytest.LogCaptureFixture
) -> None:
    shots = _still_then_look()
    with _page_with_identity(tmp_path, worker) as page:
        runner = page.runner
        identity = runner.policy.current.policy.identity
        assert identity.enabled and identity.window_s == 8.0 and identity.challenge_s == 30.0
        with caplog.at_level(logging.INFO, logger="deskwatch.identity"):
            passive = [e for f in shots if f.ts <= identity.window_s for e in
                       runner.identity.on_frame(f, [], identity)]  # fmt: skip
            assert passive == [] and runner.identity.view().challenge_left_s is None
            asked = [f for f in shots if identity.window_s < f.ts < 10.0]
            assert _feed(runner.identity, asked, identity) == []  # the still: no cue, asked
            state = httpx.get(page.url + "state.json").json()["identity"]
            assert state["mode"] == "checking" and state["note"] == CHALLENGE_WORDS
            # Asked at the first frame past the window (8.04 s); the last one came at 9.54 s.
            used = asked[-1].ts - asked[0].ts
            assert used == pytest.approx(1.5, abs=0.01)
            assert state["challenge_left_s"] == pytest.approx(identity.challenge_s - used)
            html = httpx.get(page.url).text
            top = html.split('<h1 id="headline">', 1)[1]
            banner = top.split("Pause for a break", 1)[0]  # near the top
            assert f"<mark>{CHALLENGE_WORDS}</mark>" in banner
            assert "<b>29 seconds left.</b>" in banner  # 28.5 s, rounded up
            view = httpx.get(page.url + "view.json").json()  # the page's script follows it
            assert view["challenge"] == {"note": CHALLENGE_WORDS, "seconds": 29}
            assert view["refresh_s"] == 1  # the countdown moves every second
            rest = [f for f in shots if f.ts >= 10.0]
            sent = _feed(runner.identity, rest, identity)
        assert [e.type for e in sent] == ["identity_verified"], [e.evidence for e in sent]
        assert 0 < sent[0].evidence["challenge_s"] < identity.challenge_s
        asks = [r for r in caplog.records if "asking the worker" in r.getMessage()]
        assert len(asks) == 1  # logged once, not at every frame of the challenge
        html = httpx.get(page.url).text
        assert CHALLENGE_WORDS not in html and "Identity confirmed." in html
        view = httpx.get(page.url + "view.json").json()
        assert view["challenge"] is None and view["refresh_s"] == REFRESH_S


@pytest.mark.slow
def test_a_pause_during_a_challenge_ends_it_at_once_and_a_new_check_follows(
    tmp_path: Path, worker: NDArray[np.float32]
) -> None:
    origin = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    still = _webcam("webcam-centre.mp4", start_s=5.0)[0].image
    with _page_with_identity(tmp_path, worker) as page:
        hook, identity = page.runner.identity, page.runner.policy.current.policy.identity
        held = list(replayed(still, seconds=10.0, seed=7))
        assert [e for f in held for e in hook.on_frame(f, [], identity, origin=origin)] == []
        assert CHALLENGE_WORDS in httpx.get(page.url).text
        httpx.post(page.url + "pause", data={"token": page.token})
        html = httpx.get(page.url).text  # before the loop has told the hook: no countdown
        assert CHALLENGE_WORDS not in html and "seconds left" not in html
        assert "a new one starts when you resume" in html
        [event] = hook.pause()  # what the agent's loop does as it pauses
        assert event.evidence == {"method_face": 1.0, "reason_interrupted": 1.0, "challenge_s": 1.5}
        assert CHALLENGE_WORDS not in httpx.get(page.url).text
        httpx.post(page.url + "resume", data={"token": page.token})
        resumed = origin + timedelta(minutes=10)  # the camera opens again: a new session
        assert hook.on_frame(_frame(0.5, still), [], identity, origin=resumed) == []
        assert hook.view().mode == Mode.CHECKING.value  # the pause skipped no check


@pytest.mark.slow
@pytest.mark.parametrize(
    "how", ["camera re-opened", "identity off", "agent stopped", "paused", "declined"]
)
def test_a_challenge_that_is_interrupted_is_reported_as_such(
    tmp_path: Path, worker: NDArray[np.float32], how: str
) -> None:
    hook = IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"), OWNER)
    hook.store.save(worker)
    origin = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    still = _webcam("webcam-centre.mp4", start_s=5.0)[0].image
    held = list(replayed(still, seconds=10.0, seed=6))  # a photo: asked from 8 s on
    assert [e for f in held for e in hook.on_frame(f, [], ON, origin=origin)] == []
    assert hook.view().challenge_left_s == pytest.approx(ON.challenge_s - 1.5)
    if how == "camera re-opened":  # a pause and resume, or a camera problem: ts restart
        sent = hook.on_frame(_frame(0.5, still), [], ON, origin=origin + timedelta(minutes=5))
    elif how == "identity off":
        sent = hook.on_frame(_frame(10.0, still), [], OFF, origin=origin)
    elif how == "agent stopped":
        sent = hook.close()
    elif how == "paused":
        sent = hook.pause()
    else:
        hook.decline()
        sent = hook.on_frame(_frame(10.0, still), [], ON, origin=origin)
    [event] = [e for e in sent if "method_face" in e.evidence]
    assert event.type == "identity_unverified"
    assert event.evidence == {"method_face": 1.0, "reason_interrupted": 1.0, "challenge_s": 1.5}
    assert event.started_at == origin and event.ended_at == origin + timedelta(seconds=9.5)
    assert hook.view().challenge_left_s is None and CHALLENGE_WORDS not in hook.view().note


def _privacy(objected: bool, enabled: bool = True) -> WorkerPrivacy:
    defaults = WorkerPrivacy.unknown()
    cats = [
        c.model_copy(update={"enabled": enabled, "objected": objected})
        if c.key == "identity"
        else c
        for c in defaults.categories
    ]
    return WorkerPrivacy(rev=3, categories=[WorkerCategory.model_validate(c) for c in cats])


@pytest.mark.parametrize(
    ("objected", "enabled", "words"),
    [(True, True, "You withdrew consent"), (False, False, "off for your team")],
)
def test_withdrawing_consent_through_the_category_deletes_the_template(
    tmp_path: Path, objected: bool, enabled: bool, words: str
) -> None:
    pytest.importorskip("cryptography")
    hook = IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"), OWNER)
    hook.store.save(np.zeros((3, 128), np.float32))
    hook.follow_privacy(_privacy(objected, enabled), from_server=False)  # built-in defaults
    assert hook.store.status().enrolled
    hook.follow_privacy(_privacy(False), from_server=True)  # consent given: kept
    assert hook.store.status().enrolled
    hook.follow_privacy(_privacy(objected, enabled), from_server=True)
    assert not hook.store.status().enrolled and hook.store.choice() is Choice.NONE
    assert words in hook.view().note
    [event] = hook.on_frame(_frame(1.0), [], OFF)  # identity is off now: only this is sent
    assert event.evidence == {"not_enrolled": 1.0}
    assert hook.on_frame(_frame(2.0), [], OFF) == []


def test_a_missing_extra_switches_identity_off_once(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    TemplateStore(tmp_path, OWNER).save(np.zeros((3, 128), np.float32))
    code = (
        "import sys, logging, numpy as np\n"
        "sys.modules['dlib'] = None  # as if the identity extra were not installed\n"
        "from pathlib import Path\n"
        "from deskwatch.capture.frame import Frame\n"
        "from deskwatch.events.event import Event\n"
        "from deskwatch.identity.config import IdentityConfig\n"
        "from deskwatch.identity.hook import IdentityHook\n"
        "from deskwatch.transport.client import DeviceClient\n"
        "hook = IdentityHook(Path(sys.argv[1]), DeviceClient('http://127.0.0.1:9'), sys.argv[2])\n"
        "on = IdentityConfig(enabled=True, every_min=1)\n"
        "img = np.zeros((48, 64, 3), np.uint8)\n"
        "sent = [e for i in range(1, 400) for e in hook.on_frame(Frame(img, i, i), [], on)]\n"
        "assert [e.evidence for e in sent] == [{'method_face': 1.0, 'reason_unavailable': 1.0}]\n"
        "assert 'missing' in hook.view().note\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), OWNER], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("identity checks switched off for this run") == 1


# --- a whole run, and the page ----------------------------------------------------------
def _publish(server: Server, toml: str) -> None:
    """Publish the team policy and switch the identity category on (consent-based)."""
    engine = make_engine(server.db_url)
    keys = Settings(secret_key_file=server.folder / "server.secret")  # the server's audit key
    sessions = attach(session_factory(engine), AuditChain.from_settings(keys, create=False))
    with sessions() as s:
        admin = s.query(User).filter_by(username="admin").one()
        agent = s.query(User).filter_by(username="agent").one()
        assert agent.team_id is not None
        now = datetime.now(UTC)
        publish(s, team_id=agent.team_id, toml=toml, actor=admin, now=now)
        team = s.get(Team, agent.team_id)
        assert team is not None
        on = CategoryIn(enabled=True)
        set_category(
            s, team=team, key="identity", change=on, actor=admin, now=now, max_retention_days=1095
        )
        s.commit()
    engine.dispose()


def _numbers(value: object) -> list[float]:
    """Every number in a JSON value."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [float(value)]
    return []


def _clip_descriptors(clip: Path) -> NDArray[np.float32]:
    """A descriptor of the face on every frame of ``clip`` (a superset of the check's)."""
    from deskwatch.identity.check import face_box
    from deskwatch.identity.encoder import FaceEncoder, FaceEncoderOptions
    from deskwatch.perception.detectors.face_mesh import FaceMesh, FaceMeshOptions

    out = []
    with (
        FaceMesh.create_from_options(FaceMeshOptions(max_faces=2)) as mesh,
        FaceEncoder.create_from_options(FaceEncoderOptions()) as encoder,
    ):
        for f in clip_frames(clip, 2.0):
            faces = mesh.faces(f.image, f.ts)
            if faces:
                box = max((face_box(lm) for lm in faces), key=lambda b: b.width)
                out.append(encoder.describe(f.image, box, f.ts))
    return np.stack(out)


@pytest.mark.slow
def test_face_check_in_a_run_sends_no_descriptor(
    server: Server, proxy: RecordingProxy, tmp_path: Path
) -> None:
    need_extra()
    from deskwatch.identity.enrolment import enrol_from

    enrol_clip = shared_file("data", "dev", "videos", "webcam-centre.mp4")
    clip = shared_file("data", "dev", "videos", "webcam-centre-left-centre.mp4")
    state = tmp_path / "agent"
    enroll(proxy.url, state, server.code())
    config = load_credentials(state)
    store = TemplateStore(state, owner_of(config.device_id, config.agent_id))
    enrol_from(clip_frames(enrol_clip, 4.0), store, config=ENROL)
    # The default 8 s passive window ends while the worker looks left (5.5-10 s): the
    # challenge keeps watching and sees the eyes come back.
    _publish(server, "[identity]\nenabled = true\n")
    opts = RunOptions(source=str(clip), exit_when_done=True, page_port=None, heartbeat_s=1.0)
    agent = AgentRunner(config, state, opts, DeviceClient(config.server_url, config.token))
    assert agent.run() == 0
    bodies = [json.loads(r.body) for r in proxy.requests if r.body]
    sent = [e for b in bodies for e in b.get("events", [])]
    identity = [e for e in sent if e["type"].startswith("identity_")]
    assert [e["type"] for e in identity] == ["identity_verified"], identity
    assert identity[0]["evidence"]["method_face"] == 1.0
    assert 0 < identity[0]["evidence"]["challenge_s"] < ON.challenge_s
    assert identity[0]["started_at"] is not None
    secret = np.concatenate([store.load(), _clip_descriptors(clip)]).astype(np.float32)
    values = {float(v) for v in secret.ravel()}
    raw = [d.tobytes() for d in secret]
    for request in proxy.requests:
        body = json.loads(request.body) if request.body else {}
        assert not values.intersection(_numbers(body)), request.path  # no descriptor value
        text = request.body.decode()
        for chunk in raw:  # nor its bytes, hex or base64
            assert (
                chunk[:16].hex() not in text and base64.b64encode(chunk[:15]).decode() not in text
            )
        assert "descriptor" not in text and "template" not in text


def test_local_page_buttons_need_the_token(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    from deskwatch.agent.config import AgentConfig
    from deskwatch.agent.local_page import LocalPage
    from tests.server_process import free_port

    config = AgentConfig(server_url="http://127.0.0.1:1", device_id="d", token="t", agent_id=7)
    client = DeviceClient(config.server_url, config.token)
    runner = AgentRunner(config, tmp_path, RunOptions(source="camera:0", page_port=0), client)
    page = LocalPage(runner, free_port()).start()
    store = TemplateStore(tmp_path, owner_of("d", 7))
    token = {"token": page.token}
    try:
        assert httpx.post(page.url + "identity/decline").status_code == 403  # CSRF refused
        assert store.choice() is Choice.NONE
        ok = httpx.post(page.url + "identity/decline", data=token)
        assert ok.status_code == 303 and store.choice() is Choice.PASSWORD
        # Identity is off for this worker, yet an existing template can always be deleted.
        store.save(np.zeros((3, 128), np.float32))
        html = httpx.get(page.url).text
        assert 'action="/identity/delete"' in html and 'action="/identity/consent"' not in html
        httpx.post(page.url + "identity/consent", data={**token, "password": RIGHT})
        assert "off" in runner.identity.view().note  # nothing to enrol for: refused
        httpx.post(page.url + "identity/password", data={**token, "password": RIGHT})
        assert runner.identity.view().note == "No confirmation is due right now."
        httpx.post(page.url + "identity/delete", data=token)
        assert store.choice() is Choice.NONE and not store.status().enrolled
        state = httpx.get(page.url + "state.json").json()["identity"]
        assert state["enabled"] is False and state["enrolled"] is False
        assert "deleted" in state["note"]
    finally:
        page.close()
        runner.outbox.close()


def test_cli_enrolment_needs_the_password_first(server: Server, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from deskwatch.cli import app

    state = tmp_path / "agent"
    enroll(server.url, state, server.code())
    args = ["agent", "identity", "enrol", "--source", str(tmp_path / "none.mp4")]
    args += ["--state-dir", str(state)]
    off = CliRunner().invoke(app, args, input=f"{RIGHT}\n")  # identity off for the team
    assert off.exit_code == 2 and "identity checks are off for you" in off.output
    assert "password" not in off.output.lower()  # not even asked
    _publish(server, "[identity]\nenabled = true\n")
    wrong = CliRunner().invoke(app, args, input="someone-else\n")
    assert wrong.exit_code == 2 and "4 tries left" in wrong.output  # camera never opened
    right = CliRunner().invoke(app, args, input=f"{RIGHT}\n")
    assert right.exit_code == 2 and "none.mp4" in right.output  # only now the source
    assert not TemplateStore(state).status().enrolled
