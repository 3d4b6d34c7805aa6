"""Identity in the agent against a real server: the password path for a worker who
declined, and a face check in a full run whose requests carry no descriptor."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from deskwatch.agent.config import load_credentials
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.capture.frame import Frame
from deskwatch.events.event import Event
from deskwatch.identity.config import IdentityConfig
from deskwatch.identity.hook import IdentityHook, Mode
from deskwatch.identity.store import Choice, TemplateStore
from deskwatch.server.audit.chain import AuditChain, attach
from deskwatch.server.db import make_engine, session_factory
from deskwatch.server.orgs.models import Team, User
from deskwatch.server.policies.service import publish
from deskwatch.server.privacy.schemas import CategoryIn
from deskwatch.server.privacy.service import set_category
from deskwatch.server.settings import Settings
from deskwatch.transport.client import DeviceClient
from tests.agent.conftest import RecordingProxy, Server, enroll
from tests.conftest import shared_file

ON = IdentityConfig(enabled=True, every_min=60)
BLANK = np.zeros((48, 64, 3), np.uint8)


def _frame(ts: float) -> Frame:
    return Frame(BLANK, ts, int(ts * 2))


def _device(server: Server, state: Path) -> DeviceClient:
    enroll(server.url, state, server.code())
    config = load_credentials(state)
    return DeviceClient(config.server_url, config.token)


def test_declined_worker_reconfirms_with_password(server: Server, tmp_path: Path) -> None:
    state = tmp_path / "agent"
    client = _device(server, state)
    hook = IdentityHook(state, client)
    hook.decline()
    assert hook.on_frame(_frame(0.5), [], ON) == []  # shift start: the page asks
    assert hook.mode is Mode.AWAITING_PASSWORD
    assert "4 tries left" in hook.password("not-my-password")
    assert hook.on_frame(_frame(1.0), [], ON) == []  # a typo sends nothing yet
    hook.password("pw-agent-123")
    [event] = hook.on_frame(_frame(1.5), [], ON)
    assert event.type == "identity_verified"
    assert event.evidence == {"method_password": 1.0, "failed_attempts": 1.0}
    assert hook.password("pw-agent-123") == "No confirmation is due right now."


def test_wrong_passwords_are_counted_and_end_in_a_mismatch(server: Server, tmp_path: Path) -> None:
    state = tmp_path / "agent"
    hook = IdentityHook(state, _device(server, state))
    TemplateStore(state).set_choice(Choice.PASSWORD)
    hook.on_frame(_frame(0.5), [], ON)
    answers = [hook.password(f"guess-{i}") for i in range(5)]
    assert "4 tries left" in answers[0]
    [event] = hook.on_frame(_frame(1.0), [], ON)
    assert event.type == "identity_mismatch" and event.evidence["method_password"] == 1.0
    # The server keeps counting: the next prompt's correct password is refused for a while.
    hook.on_frame(_frame(3601.0), [], ON)
    hook.password("pw-agent-123")
    [locked] = hook.on_frame(_frame(3602.0), [], ON)
    assert locked.type == "identity_mismatch"


def test_no_answer_is_unverified(tmp_path: Path) -> None:
    hook = IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"))
    TemplateStore(tmp_path).set_choice(Choice.PASSWORD)
    wait = IdentityConfig(enabled=True, password_wait_min=1)
    assert hook.on_frame(_frame(1.0), [], wait) == []
    [event] = hook.on_frame(_frame(62.0), [], wait)
    assert event.type == "identity_unverified"
    assert event.evidence == {"method_password": 1.0, "reason_no_answer": 1.0}


def test_not_enrolled_is_said_once(tmp_path: Path) -> None:
    hook = IdentityHook(tmp_path, DeviceClient("http://127.0.0.1:9"))
    every = IdentityConfig(enabled=True, every_min=1)
    [event] = hook.on_frame(_frame(0.5), [], every)
    assert event.type == "identity_unverified" and event.evidence == {"not_enrolled": 1.0}
    away_ended = Event(type="away", start_s=1.0, end_s=70.0, peak_confidence=0.9)
    assert hook.on_frame(_frame(70.0), [away_ended], every) == []
    assert hook.on_frame(_frame(200.0), [], every) == []


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


def _numbers_lists(value: object) -> list[int]:
    """Lengths of every list in a JSON value (a descriptor would be 128 numbers)."""
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers_lists(v)]
    if isinstance(value, list):
        return [len(value), *(n for v in value for n in _numbers_lists(v))]
    return []


@pytest.mark.slow
def test_face_check_in_a_run_sends_no_descriptor(
    server: Server, proxy: RecordingProxy, tmp_path: Path
) -> None:
    pytest.importorskip("dlib")
    from deskwatch.capture.source import open_source
    from deskwatch.identity.enrolment import enrol_from

    enrol_clip = shared_file("data", "dev", "videos", "webcam-centre.mp4")
    clip = shared_file("data", "dev", "videos", "webcam-centre-left-centre.mp4")
    state = tmp_path / "agent"
    enroll(proxy.url, state, server.code())
    store = TemplateStore(state)
    source = open_source(str(enrol_clip), 4.0)
    enrol_from(source, store)
    source.close()
    _publish(server, "[identity]\nenabled = true\n")
    config = load_credentials(state)
    opts = RunOptions(source=str(clip), exit_when_done=True, page_port=None, heartbeat_s=1.0)
    agent = AgentRunner(config, state, opts, DeviceClient(config.server_url, config.token))
    assert agent.run() == 0
    bodies = [json.loads(r.body) for r in proxy.requests if r.body]
    sent = [e for b in bodies for e in b.get("events", [])]
    identity = [e for e in sent if e["type"].startswith("identity_")]
    assert [e["type"] for e in identity] == ["identity_verified"], identity
    assert identity[0]["evidence"]["method_face"] == 1.0
    for body in bodies:
        assert max(_numbers_lists(body), default=0) < 64  # no descriptor-sized list
        text = json.dumps(body)
        assert "descriptor" not in text and "template" not in text


def test_local_page_buttons_need_the_token(tmp_path: Path) -> None:
    from deskwatch.agent.config import AgentConfig
    from deskwatch.agent.local_page import LocalPage
    from tests.server_process import free_port

    config = AgentConfig(server_url="http://127.0.0.1:1", device_id="d", token="t", agent_id=7)
    client = DeviceClient(config.server_url, config.token)
    runner = AgentRunner(config, tmp_path, RunOptions(source="camera:0", page_port=0), client)
    page = LocalPage(runner, free_port()).start()
    store = TemplateStore(tmp_path)
    try:
        assert httpx.post(page.url + "identity/decline").status_code == 403  # CSRF refused
        assert store.choice() is Choice.NONE
        ok = httpx.post(page.url + "identity/decline", data={"token": page.token})
        assert ok.status_code == 303 and store.choice() is Choice.PASSWORD
        httpx.post(page.url + "identity/delete", data={"token": page.token})
        assert store.choice() is Choice.NONE
        state = httpx.get(page.url + "state.json").json()["identity"]
        assert state["enabled"] is False and state["enrolled"] is False
    finally:
        page.close()
        runner.outbox.close()
