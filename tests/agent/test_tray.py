"""The tray app against a real running agent: its state at a glance, pause and resume in one
click (the agent really pauses: no frame is analysed), and the page opened at its address."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PySide6.QtWidgets", reason="the desktop extra is not installed")

from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication

from deskwatch.agent.control import PageClient
from deskwatch.agent.words import PAUSED, WAITING
from deskwatch.desktop.tray import COLOURS, NOT_RUNNING, Tray
from tests.agent.conftest import Server, wait_for
from tests.agent.test_local_page import bare_page, live_agent


@pytest.fixture(scope="module")
def qapp() -> QApplication:
    found = QApplication.instance()
    return found if isinstance(found, QApplication) else QApplication([])


class Browser(QObject):
    """Stands in for the desktop's browser: QDesktopServices hands it every http URL."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


@pytest.fixture
def browser(qapp: QApplication) -> Iterator[Browser]:
    catcher = Browser()
    # PySide6 6.12 takes the slot's name as str; its stubs say bytes (which it refuses)
    QDesktopServices.setUrlHandler("http", catcher, "open")  # type: ignore[arg-type]
    yield catcher
    QDesktopServices.unsetUrlHandler("http")


def _colour(tray: Tray) -> str:
    image = tray.icon.icon().pixmap(32, 32).toImage()
    return str(image.pixelColor(16, 16).name())


def test_the_tray_pauses_and_resumes_the_running_agent(
    qapp: QApplication, browser: Browser, server: Server, clip: Path, tmp_path: Path
) -> None:
    with live_agent(server, tmp_path / "agent", clip) as runner:
        client = PageClient(runner.dir)
        tray = Tray(client)
        assert tray.view is not None and not tray.view["paused"]
        assert tray.icon.toolTip().startswith("deskwatch: ")
        assert tray.toggle_action.text() == "Pause for a break" and tray.toggle_action.isEnabled()
        assert _colour(tray) == COLOURS[tray.view["tone"]]

        tray.toggle_action.trigger()  # one click, no reason asked
        assert runner.control.state().paused
        assert tray.icon.toolTip().startswith("deskwatch: Paused — nothing is being analysed")
        assert tray.toggle_action.text() == "Resume monitoring"
        assert _colour(tray) == COLOURS["paused"]
        wait_for(lambda: runner.session.pipeline is None, 30, "the detectors closed")
        frames = runner.state.frames
        time.sleep(1.5)  # the clip plays at 5 frames a second: none may be analysed
        assert runner.state.frames == frames and runner.session.source is None
        tray.refresh()
        assert tray.view is not None and tray.view["paused"]
        assert {w["now"] for w in tray.view["watched"] if w["why"].startswith("for ")} == {PAUSED}

        tray.toggle_action.trigger()
        assert not runner.control.state().paused
        assert tray.toggle_action.text() == "Pause for a break"
        wait_for(lambda: runner.state.frames > frames, 60, "frames analysed again")

        tray.open_action.trigger()
        link = client.link()
        assert link is not None and browser.opened == [link.url]
        assert link.url.startswith("http://127.0.0.1:") and link.url.endswith("/")
        client.close()
    tray.refresh()  # the agent stopped: grey, said so, nothing to click
    assert tray.view is None and tray.icon.toolTip().startswith(NOT_RUNNING)
    assert not tray.toggle_action.isEnabled() and not tray.open_action.isEnabled()
    assert _colour(tray) == COLOURS["offline"]


def test_the_tray_shows_an_agent_waiting_for_its_settings(
    qapp: QApplication, browser: Browser, tmp_path: Path
) -> None:
    with bare_page(tmp_path) as page:
        tray = Tray(PageClient(tmp_path))
        assert tray.status_action.text() == WAITING
        assert "waits for your privacy settings" in tray.icon.toolTip()
        assert _colour(tray) == COLOURS["online"]
        tray.open_page()
        assert browser.opened == [page.url]
        tray.toggle()
        assert page.runner.control.state().paused and tray.status_action.text().startswith("Paused")
        page.runner.control.resume()  # on the page, say: the next click pauses again
        tray.toggle()
        assert page.runner.control.state().paused


def test_the_tray_imports_no_server_code() -> None:
    code = (
        "import sys, deskwatch.desktop.tray; "
        "print(sorted(m for m in sys.modules if m.startswith(('deskwatch.server', 'fastapi'))))"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr
