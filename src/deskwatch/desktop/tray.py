"""``deskwatch tray``: the agent's state at a glance in the system tray.

The icon's colour is the state's (the web app's colours), its tooltip says it in plain
words; the menu pauses or resumes in one click (no reason asked) and opens the page on
this PC. Everything goes through ``control.PageClient``, exactly as the page's own script
talks to the running agent; this module needs PySide6 (``pip install 'deskwatch[desktop]'``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QAction, QColor, QDesktopServices, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

from deskwatch.agent.control import PageClient

REFRESH_MS = 3000
NOT_RUNNING = "deskwatch is not running on this PC"
WAITING = "Monitoring waits for your privacy settings from the server: nothing is analysed."
# The web app's state colours (server/web/static/app.css, agent/static/page.css).
COLOURS = {
    "at_desk": "#2e9d57",
    "away": "#e0a100",
    "paused": "#6f7bd6",
    "camera_problem": "#d2453b",
    "online": "#4f97b8",
    "offline": "#9aa3ae",
}


def dot(colour: str, size: int = 64) -> QIcon:
    """A filled circle of ``colour``: the tray icon."""
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(colour))
    painter.setPen(QColor("#1d2430"))
    painter.drawEllipse(2, 2, size - 4, size - 4)
    painter.end()
    return QIcon(pixmap)


class Tray:
    """One tray icon for the agent whose state lives in ``directory``."""

    def __init__(self, client: PageClient) -> None:
        self.client = client
        self.view: dict[str, Any] | None = None
        self.icon = QSystemTrayIcon()
        self.menu = QMenu()
        self.status_action = QAction(NOT_RUNNING)
        self.status_action.setEnabled(False)
        self.toggle_action = QAction("Pause for a break")
        self.toggle_action.triggered.connect(self.toggle)
        self.open_action = QAction("Open my deskwatch page")
        self.open_action.triggered.connect(self.open_page)
        self.quit_action = QAction("Close this tray icon")
        self.quit_action.triggered.connect(QApplication.quit)
        for action in (self.status_action, self.toggle_action, self.open_action):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._clicked)
        self.timer = QTimer()
        self.timer.timeout.connect(self.refresh)
        self.refresh()

    def start(self, interval_ms: int = REFRESH_MS) -> Tray:
        self.icon.show()
        self.timer.start(interval_ms)
        return self

    def refresh(self) -> None:
        self.show(self.client.view())

    def show(self, view: dict[str, Any] | None) -> None:
        """The icon, tooltip and menu for ``view`` (None: no agent answers)."""
        self.view = view
        running = view is not None
        tone = str(view["tone"]) if view else "offline"
        self.icon.setIcon(dot(COLOURS.get(tone, COLOURS["offline"])))
        self.icon.setToolTip(self.tooltip())
        self.status_action.setText(str(view["headline"]) if view else NOT_RUNNING)
        self.toggle_action.setText(str(view["button"]) if view else "Pause for a break")
        self.toggle_action.setEnabled(running)
        self.open_action.setEnabled(running)

    def tooltip(self) -> str:
        if self.view is None:
            return f"{NOT_RUNNING}: nothing is watched."
        lines = [f"deskwatch: {self.view['headline']}", str(self.view.get("detail") or "")]
        if self.view.get("waiting"):
            lines.append(WAITING)
        return "\n".join(line for line in lines if line)

    def toggle(self) -> None:
        """Pause, or resume when paused: one click, no reason asked."""
        now = self.client.view()  # the state now: it may have changed on the page meanwhile
        if now is None:
            self.show(None)
            return
        after = self.client.resume() if now.get("paused") else self.client.pause()
        self.show(after if after is not None else self.client.view())

    def page_url(self) -> str | None:
        link = self.client.link()
        return None if link is None else link.url

    def open_page(self) -> None:
        url = self.page_url()
        if url is not None:
            QDesktopServices.openUrl(QUrl(url))

    def _clicked(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:  # a left click opens the page
            self.open_page()


def run(directory: Path) -> int:
    """The tray until the worker closes it (or the desktop session ends)."""
    app = cast(QApplication, QApplication.instance() or QApplication(sys.argv[:1]))
    app.setQuitOnLastWindowClosed(False)
    if not QSystemTrayIcon.isSystemTrayAvailable():
        print(
            "error: this desktop shows no tray icons; the page on this PC still works "
            "(`deskwatch agent status` prints its address)",
            file=sys.stderr,
        )
        return 2
    client = PageClient(directory)
    tray = Tray(client).start()
    try:
        return int(app.exec())
    finally:
        tray.timer.stop()
        client.close()
