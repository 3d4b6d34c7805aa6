"""What each event type's detector measured on labelled validation data.

``measured.json`` beside this module is written by the accuracy benchmarks
(``python -m benchmarks.desk_objects --write-measured``) and shipped with the server, so a
reviewer sees how far to trust a detector where the decision is made. An event type that
has no entry has not been measured, and the queue says so.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

MEASURED_FILE = Path(__file__).with_name("measured.json")


class Measured(BaseModel):
    """One event type's detector on one named validation set."""

    precision: float | None
    recall: float | None
    unit: str  # what was counted: "per frame", "per event"
    data: str  # the data and split, in words
    command: str
    measured_on: str  # ISO date


@cache
def measured() -> dict[str, Measured]:
    """Event type → its measured figures (empty when nothing was measured)."""
    if not MEASURED_FILE.is_file():
        return {}
    text = MEASURED_FILE.read_text(encoding="utf-8")
    return TypeAdapter(dict[str, Measured]).validate_python(json.loads(text))
