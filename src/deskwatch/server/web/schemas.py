"""What the web pages show, typed."""

from __future__ import annotations

from typing import NamedTuple

from markupsafe import Markup

from deskwatch.server.status.schemas import STATUSES, BoardStatus

LABELS = {status: status.replace("_", " ") for status in STATUSES}


class Tile(NamedTuple):
    """One agent on the board page, ready to print: the name is HTML-escaped here and the
    other fields cannot hold markup, so the template prints them without escaping each
    (10,000 tiles render several times faster)."""

    agent_id: int
    name: Markup
    status: BoardStatus
    label: str
    since: str  # a clock time in the page's zone, or "never"
    clock: str  # a clock problem in words, or ""
    at: int  # since when, in Unix seconds (0: never heard from), for the page's live times
    lasted: str  # how long in this status, in words ("12 min"), or ""
    long: bool  # away or offline for longer than the board's threshold
    plan: Markup = Markup("")  # the schedule now in words (escaped), or ""


class Section(NamedTuple):
    """One team on the board: its name, how many in each status, and its tiles."""

    key: str  # the team's id, or "none" for agents in no team
    name: str
    counts: str
    tiles: list[Tile]
