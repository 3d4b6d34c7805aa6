"""The worker's page on this PC speaks plain words (no detector names, no "face(s)"), is
styled and refreshes itself through its own script (no inline script, no reload), and keeps
its guards: loopback only, a token on every action."""

from __future__ import annotations

import dataclasses
import re
import sys
import threading
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from deskwatch.agent import words
from deskwatch.agent.config import AgentConfig
from deskwatch.agent.control import PAGE_FILE, TOKEN_HEADER, read_link
from deskwatch.agent.local_page import LocalPage
from deskwatch.agent.runner import AgentRunner, RunOptions
from deskwatch.agent.status import ROOM_AUDIO, DetectorView, describe
from deskwatch.cli import app
from deskwatch.perception import observation as o
from deskwatch.perception.stage import Stage
from deskwatch.transport.client import DeviceClient
from tests.agent.conftest import Server, enrolled_runner, wait_for
from tests.server_process import free_port

CHROMIUM = Path("/usr/bin/chromium")
# What the page must never say outside the raw JSON it shows as sent.
JARGON = re.compile(r"camera_health|face_mesh|room_audio|at_desk|camera_problem|\(s\)|dBFS")


def _filled(cls: type[Any], **given: Any) -> Any:
    """One of perception's dataclasses: zeros and False where ``given`` says nothing."""
    hints = typing.get_type_hints(cls)
    zero: dict[Any, Any] = {float: 0.0, int: 0, bool: False}
    needed = {
        f.name: zero.get(hints[f.name])  # None for the rest: describe() does not read them
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    return cls(**(needed | given))


def _readings(**given: Any) -> dict[str, str]:
    obs = o.Observation(
        ts=0.0,
        frame_index=0,
        width=640,
        height=480,
        camera=_filled(o.CameraHealth, **given.pop("camera", {})),
        head=_filled(o.HeadPose, **given.pop("head", {})),
        hands=_filled(o.HandCues, **given.pop("hands", {})),
        objects=_filled(o.ObjectConcepts, **given.pop("objects", {})),
        audio=_filled(o.AudioObservation, **given.pop("audio", {})),
    )
    rows = describe(obs, [s.value for s in Stage])
    return {k: words.now_words(k, v, paused=False) for k, v in rows.items()}


def test_every_detectors_reading_is_said_in_plain_words() -> None:
    calm = _readings(head={"yaw_deg": 3.0}, hands={"count": 2}, audio={"floor_dbfs": -62.0})
    assert calm == {
        "camera_health": "camera check: fine (still learning the usual view)",
        "face": "no face in view",
        "face_mesh": "you face the screen",
        "hands": "both hands in view",
        "objects": "no phone seen",
        ROOM_AUDIO: "the room is quiet; speech 0% of the time (levels only, never the sound)",
    }
    busy = _readings(
        camera={"dark": True, "baseline": True},
        head={"yaw_deg": -41.0},
        hands={"count": 1},
        objects={"phone": 0.9, "phone_held": 0.8, "drink": 0.7, "persons": 2},
        audio={"floor_dbfs": -20.0, "speech_ratio": 0.4},
    )
    assert busy["camera_health"] == "camera check: too dark"
    assert busy["face_mesh"] == "your head is turned about 41° to the side"
    assert busy["hands"] == "one hand in view"
    assert busy["objects"] == "a phone in your hand, a drink seen, 2 people in view"
    assert busy[ROOM_AUDIO].startswith("the room is loud; speech 40% of the time")
    one = DetectorView("on", "1 face(s) in view")
    assert words.now_words("face", one, paused=False) == "your face is in view"
    assert words.now_words("face", one, paused=True) == "paused: nothing is analysed"
    for said in (*calm.values(), *busy.values()):
        assert not JARGON.search(said) and said != "running", said


@contextmanager
def running(runner: AgentRunner) -> Iterator[AgentRunner]:
    """The agent's loop (and its page, on a free port) in a thread for the ``with`` block."""
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: read_link(runner.dir) is not None, 30, "the local page")
        yield runner
    finally:
        runner.stop.set()
        thread.join(timeout=30)


@contextmanager
def live_agent(server: Server, state: Path, clip: Path) -> Iterator[AgentRunner]:
    """A real agent, enrolled with ``server``, playing ``clip`` with its page on."""
    with running(enrolled_runner(server, state, clip, page_port=0)) as runner:
        wait_for(lambda: runner.state.frames >= 3, 60, "frames analysed")
        yield runner


def _said(html: str) -> str:
    """The page's words (no markup), without the raw JSON it shows word for word."""
    return re.sub(r"<[^>]*>", " ", re.sub(r"<pre>.*?</pre>", "", html, flags=re.DOTALL))


def test_the_running_agents_page_and_view_speak_plain_words(
    server: Server, clip: Path, tmp_path: Path
) -> None:
    with live_agent(server, tmp_path / "agent", clip) as runner:
        link = read_link(runner.dir)
        assert link is not None and link.url.startswith("http://127.0.0.1:")
        wait_for(lambda: bool(httpx.get(link.url + "view.json").json()["sent"]), 30, "a beat")
        reply = httpx.get(link.url)
        html = reply.text
        assert not JARGON.search(_said(html)), JARGON.findall(_said(html))
        assert "whether your face is in view" in html and "Status update" in html
        assert re.search(r"sent at \d\d:\d\d:\d\d", html)  # what was sent, and when
        assert '"detectors"' in html.replace("&#34;", '"')  # the raw beat, exactly as sent
        view = httpx.get(link.url + "view.json").json()
        plain = {k: v for k, v in view.items() if k not in ("sent", "tone")}  # tone: a colour
        assert not JARGON.search(str(plain)), plain
        assert view["headline"] in ("You are at your desk", "You seem to be away from your desk")
        assert {w["what"] for w in view["watched"]} >= {"whether your face is in view"}
        # Styled and live through its own files; no inline script may run, no reload.
        assert '<script src="/static/page.js"' in html and "http-equiv" not in html
        assert re.search(r"<script>|<script [^>]*>[^<]", html) is None
        policy = reply.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src" not in policy
        css = httpx.get(link.url + "static/page.css")
        assert css.headers["content-type"].startswith("text/css") and "--at_desk" in css.text
        js = httpx.get(link.url + "static/page.js")
        assert js.headers["content-type"].startswith("text/javascript")
        assert "view.json" not in js.text  # the path comes from the page (one contract)
    assert not (runner.dir / PAGE_FILE).exists()  # the agent stopped: its address is gone


def bare_runner(state: Path) -> AgentRunner:
    """An agent that never reached its server (no loop runs): enough for the page's guards."""
    config = AgentConfig(server_url="http://127.0.0.1:1", device_id="d", token="t", agent_id=7)
    client = DeviceClient(config.server_url, config.token)
    return AgentRunner(config, state, RunOptions(source="camera:0", page_port=0), client)


@contextmanager
def bare_page(state: Path) -> Iterator[LocalPage]:
    runner = bare_runner(state)
    page = LocalPage(runner, free_port()).start()
    try:
        yield page
    finally:
        page.close()
        runner.outbox.close()


def test_actions_still_need_the_token_and_a_loopback_host(tmp_path: Path) -> None:
    with bare_page(tmp_path) as page:
        control = page.runner.control
        link = read_link(tmp_path)
        assert link is not None and link.token == page.token and link.url == page.url
        assert httpx.post(page.url + "pause").status_code == 403
        evil = {"host": "evil.example"}
        assert httpx.get(page.url + "view.json", headers=evil).status_code == 403
        stolen = {**evil, TOKEN_HEADER: page.token}
        assert httpx.post(page.url + "pause", headers=stolen).status_code == 403
        assert not control.state().paused
        done = httpx.post(page.url + "pause", headers={TOKEN_HEADER: page.token})
        assert done.status_code == 200 and done.json()["paused"] is True
        assert done.json()["headline"] == "Paused — nothing is being analysed"
        assert done.json()["button"] == "Resume monitoring"
        form = httpx.post(page.url + "resume", data={"token": page.token})
        assert form.status_code == 303 and not control.state().paused


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed")
def test_the_page_follows_a_pause_in_the_browser_without_reloading(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with bare_page(tmp_path) as page, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        tab = browser.new_page()
        refused: list[str] = []
        tab.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
        loads: list[str] = []
        tab.on("load", lambda _: loads.append("load"))
        tab.goto(page.url)
        expect(tab.locator("#headline")).to_have_text(words.WAITING)
        background = tab.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(246, 247, 249)"  # the web app's --bg: the style sheet applies
        page.runner.control.pause()  # from elsewhere (the tray, the command line)
        expect(tab.locator("#headline")).to_have_text("Paused — nothing is being analysed")
        expect(tab.locator("#toggle-button")).to_have_text("Resume monitoring")
        tab.click("#toggle-button")  # one click, no reason asked, no page load
        expect(tab.locator("#headline")).to_have_text(words.WAITING)
        assert not page.runner.control.state().paused
        assert loads == ["load"] and refused == []  # no reload, nothing refused by the CSP
        browser.close()


def test_the_tray_command_says_how_to_install_it_when_pyside_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "deskwatch.desktop.tray", None)  # as if not installed
    result = CliRunner().invoke(app, ["tray", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2 and "install deskwatch[desktop]" in result.output
