"""Where events and observations go: JSON Lines files or a stream."""

from __future__ import annotations

import json
from typing import IO, Any

from deskwatch.events.event import Event


class JsonLinesWriter:
    """Writes one JSON object per line and flushes, so an interrupted run keeps its lines."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, record: dict[str, Any]) -> None:
        self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._stream.flush()

    def write_event(self, event: Event) -> None:
        self.write(event.to_json_dict())
