"""The identity check's pure schedule, its password prompt, and its state machine driven
frame by frame in frame time (no server, no threads: answers are given as the server's)."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event
from deskwatch.identity import words
from deskwatch.identity.check import Outcome
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.lifecycle import TemplateLifecycle
from deskwatch.identity.machine import IdentityMachine, Mode
from deskwatch.identity.reconfirm import Answer, PasswordPrompt
from deskwatch.identity.schedule import Schedule, SourceClock
from deskwatch.identity.store import Choice, TemplateStore, owner_of
from tests.conftest import shared_file
from tests.identity_footage import clip_frames

ON = IdentityConfig(enabled=True, every_min=2, password_wait_min=1)
BLANK = np.zeros((48, 64, 3), np.uint8)
LOCAL = "http://127.0.0.1:9"
OWNER = owner_of("test-device", 7)


def _frame(ts: float) -> Frame:
    return Frame(BLANK, ts, int(ts * 2))


# --- the schedule -------------------------------------------------------------------------
def test_a_check_is_due_at_the_first_frame_then_every_interval() -> None:
    schedule = Schedule()
    assert schedule.take(37.0, every_min=2)  # shift start, whatever the first frame's time
    assert schedule.due_at_s == 37.0 + 120
    assert not schedule.take(156.9, every_min=2)
    assert schedule.take(157.0, every_min=2) and schedule.due_at_s == 277.0


@pytest.mark.parametrize(
    ("due_at_s", "back_at_s", "due_after_s"),
    [(300.0, 60.0, 60.0), (30.0, 60.0, 30.0), (60.0, 60.0, 60.0)],
)
def test_a_return_from_away_makes_a_check_due_unless_one_is_sooner(
    due_at_s: float, back_at_s: float, due_after_s: float
) -> None:
    schedule = Schedule(due_at_s)
    schedule.back_at_desk(back_at_s)
    assert schedule.due_at_s == due_after_s


def test_after_a_pause_a_check_is_due_at_the_next_frame_whatever_the_clock() -> None:
    schedule = Schedule()
    schedule.take(500.0, every_min=60)
    schedule.at_first_frame()
    assert schedule.take(0.5, every_min=60)


@pytest.mark.parametrize(
    ("ticks", "seconds", "restarts"),
    [
        ([(1.0, False), (2.0, False), (3.0, False)], [1.0, 2.0, 3.0], [False] * 3),
        ([(5.0, False), (0.5, False), (1.0, False)], [5.0, 5.5, 6.0], [False, True, False]),
        ([(5.0, False), (6.0, True), (7.0, False)], [5.0, 11.0, 12.0], [False, True, False]),
    ],
    ids=["one session", "ts restart", "new session"],
)
def test_source_seconds_run_on_across_camera_sessions(
    ticks: list[tuple[float, bool]], seconds: list[float], restarts: list[bool]
) -> None:
    clock = SourceClock()
    got = []
    for ts, new in ticks:
        got.append((clock.tick(ts, new), clock.restarted))
    assert got == list(zip(seconds, restarts, strict=True))


# --- the password prompt --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("answer", "said", "outcome", "failures", "locked"),
    [
        ((True, 5), words.CONFIRMED, Outcome.VERIFIED, 0, False),
        ((False, 4), words.tries_left(4), None, 1, False),
        ((False, 0), words.NOT_CONFIRMED, Outcome.MISMATCH, 1, False),
        (words.LOCKED_WORDS, words.LOCKED_WORDS, None, 0, True),
        (words.UNREACHABLE, words.UNREACHABLE, None, 0, False),
    ],
)
def test_a_prompt_reads_the_servers_answer(
    answer: Answer, said: str, outcome: Outcome | None, failures: int, locked: bool
) -> None:
    prompt = PasswordPrompt(since_s=10.0, ts=10.0)
    assert prompt.take(answer) == (said, outcome)
    assert (prompt.failures, prompt.locked) == (failures, locked)


def test_a_prompt_is_overdue_only_after_its_wait_and_not_while_checked() -> None:
    prompt = PasswordPrompt(since_s=10.0, ts=10.0)
    assert not prompt.overdue(69.9, wait_min=1) and prompt.overdue(70.0, wait_min=1)
    prompt.in_flight = 1
    assert not prompt.overdue(500.0, wait_min=1)


# --- the machine, frame by frame ----------------------------------------------------------
def _machine(state: Path, choice: Choice | None = None, url: str = LOCAL) -> IdentityMachine:
    store = TemplateStore(state, OWNER)
    if choice is not None:
        store.set_choice(choice)
    return IdentityMachine(TemplateLifecycle(store), url)


def _feed(machine: IdentityMachine, times: list[float]) -> list[Event]:
    return [e for ts in times for e in machine.update(_frame(ts), ON)]


def _mode(machine: IdentityMachine) -> Mode:
    """The mode now (a call, so the type checker does not keep an earlier comparison)."""
    return machine.mode


def test_a_worker_who_chose_nothing_is_reported_not_enrolled_once(tmp_path: Path) -> None:
    machine = _machine(tmp_path)
    [event] = machine.update(_frame(0.5), ON)
    assert event.evidence == {words.NOT_ENROLLED: 1.0} and machine.mode is Mode.IDLE
    assert _feed(machine, [130.0, 400.0]) == []
    assert machine.update(_frame(401.0), ON, away_ended=True) == []


def test_a_password_prompt_ends_with_the_servers_answer(tmp_path: Path) -> None:
    machine = _machine(tmp_path, Choice.PASSWORD)
    assert machine.update(_frame(2.0), ON) == [] and machine.mode is Mode.AWAITING_PASSWORD
    assert machine.note == words.ASK_PASSWORD
    prompt = machine.prompt
    assert prompt is not None
    assert machine.update(_frame(3.0), ON) == []
    assert machine.answered(prompt, (False, 4)) == words.tries_left(4)
    assert machine.answered(prompt, (True, 3)) == words.CONFIRMED
    [event] = machine.update(_frame(3.5), ON)
    assert event.type == "identity_verified" and (event.start_s, event.end_s) == (2.0, 3.0)
    assert event.evidence == {"method_password": 1.0, "failed_attempts": 1.0}
    assert _mode(machine) is Mode.IDLE and prompt.done


@pytest.mark.parametrize(
    ("answer", "reason"), [(None, words.NO_ANSWER), (words.LOCKED_WORDS, words.LOCKED)]
)
def test_an_unanswered_prompt_ends_after_its_wait(
    tmp_path: Path, answer: Answer | None, reason: str
) -> None:
    machine = _machine(tmp_path, Choice.PASSWORD)
    machine.update(_frame(1.0), ON)
    assert machine.prompt is not None
    if answer is not None:
        machine.answered(machine.prompt, answer)
    assert _feed(machine, [30.0, 60.9]) == []
    [event] = machine.update(_frame(61.0), ON)
    assert event.evidence == {"method_password": 1.0, reason: 1.0}
    assert (event.start_s, event.end_s) == (1.0, 61.0)


def test_no_prompt_against_a_plain_http_server(tmp_path: Path) -> None:
    machine = _machine(tmp_path, Choice.PASSWORD, url="http://deskwatch.example")
    [event] = machine.update(_frame(0.5), ON)
    assert event.evidence == {"method_password": 1.0, words.INSECURE: 1.0}
    assert machine.mode is Mode.IDLE and machine.note == words.INSECURE_WORDS


def test_a_return_and_the_interval_each_ask_again(tmp_path: Path) -> None:
    machine = _machine(tmp_path, Choice.PASSWORD)

    def asked_at(ts: float, away_ended: bool = False) -> bool:
        machine.update(_frame(ts), ON, away_ended=away_ended)
        prompt = machine.prompt
        if prompt is not None:
            machine.answered(prompt, (True, 5))
            [event] = machine.update(_frame(ts + 0.5), ON)
            assert event.type == "identity_verified"
        return prompt is not None

    asks = [(0.5, False), (30.0, False), (60.0, True), (179.0, False), (181.0, False)]
    assert [asked_at(ts, away) for ts, away in asks] == [True, False, True, False, True]


def test_a_new_camera_session_interrupts_in_the_old_sessions_time(tmp_path: Path) -> None:
    machine = _machine(tmp_path, Choice.PASSWORD)
    first = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    machine.update(_frame(5.0), ON, origin=first)
    [ended] = machine.update(_frame(0.5), ON, origin=first + timedelta(minutes=3))
    assert ended.evidence == {"method_password": 1.0, words.INTERRUPTED: 1.0}
    assert ended.started_at == ended.ended_at == first + timedelta(seconds=5.0)
    assert machine.mode is Mode.AWAITING_PASSWORD  # asked again at once
    assert machine.interrupt("the agent stopped")
    [closed] = machine.take_events()
    assert closed.started_at == first + timedelta(minutes=3, seconds=0.5)
    assert not machine.interrupt("again") and machine.take_events() == []


def test_a_prompt_left_open_by_a_killed_run_is_reported_at_the_start(tmp_path: Path) -> None:
    killed = _machine(tmp_path, Choice.PASSWORD)
    killed.update(_frame(0.5), ON)
    assert killed.mode is Mode.AWAITING_PASSWORD
    [event] = _machine(tmp_path).take_events()
    assert event.evidence == {"method_password": 1.0, words.INTERRUPTED: 1.0}
    assert _machine(tmp_path).take_events() == []


def _need_extra() -> None:
    for name in ("dlib", "face_recognition_models", "cryptography"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} not installed (pip install 'deskwatch[identity]')")


@pytest.mark.slow
def test_an_enrolment_is_kept_and_verified_at_once_on_real_footage(tmp_path: Path) -> None:
    _need_extra()
    enrol = ON.model_copy(update={"min_enrol_spread_deg": 2.0})  # the dev clips barely turn
    machine = _machine(tmp_path)
    assert [e.evidence for e in machine.update(_frame(0.2), enrol)] == [{"not_enrolled": 1.0}]
    machine.start_enrolment()
    assert machine.mode is Mode.ENROLLING and machine.note == words.ENROLLING
    for shot in clip_frames(shared_file("data", "dev", "videos", "webcam-centre.mp4")):
        moved = Frame(shot.image, shot.ts + 1.0, shot.index)
        assert machine.update(moved, enrol) == []
        if _mode(machine) is Mode.IDLE:
            break
    assert machine.note == words.ENROLLED and machine.lifecycle.status().enrolled
    clip = shared_file("data", "dev", "videos", "webcam-centre-left-centre.mp4")
    events = []
    for shot in clip_frames(clip, start_s=3.0):
        events += machine.update(Frame(shot.image, shot.ts + 12.0, shot.index), enrol)
        if events:
            break
    [event] = events
    assert event.type == "identity_verified" and event.evidence["method_face"] == 1.0
    assert _mode(machine) is Mode.IDLE and machine.note == words.CONFIRMED
