"""Run a frame source through the pipeline, reporting progress and outcomes."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING

from deskwatch.capture.frame import Frame
from deskwatch.capture.source import FrameSource
from deskwatch.errors import SourceError
from deskwatch.events.event import Event
from deskwatch.perception.observation import Observation
from deskwatch.pipeline import Pipeline

if TYPE_CHECKING:
    from deskwatch.audio.track import AudioTrack

FrameHook = Callable[[Frame, Observation, list[Event]], None]


@dataclass
class Outcome:
    """What a run produced: every ended event in end order; ``final`` were ended by the end."""

    events: list[Event] = field(default_factory=list)
    final: list[Event] = field(default_factory=list)
    frames: int = 0
    last_ts: float = 0.0
    error: str | None = None
    interrupted: bool = False


def run(
    source: FrameSource,
    pipeline: Pipeline,
    on_frame: FrameHook | None = None,
    audio: AudioTrack | None = None,
) -> Outcome:
    """Analyse every frame of ``source``; a source that breaks or Ctrl-C keeps what was found.

    With ``audio``, each frame is paired with the audio stretch covering its source time.

    Ctrl-C stops after the current frame (a second one interrupts at once). Open events
    are ended at the last analysed frame in every case.
    """
    out = Outcome()
    with _stop_on_sigint() as stop:
        try:
            for frame in source:
                sound = audio.at(frame.ts) if audio is not None else None
                obs, events = pipeline.process(frame, sound)
                out.frames, out.last_ts = out.frames + 1, frame.ts
                out.events.extend(e for e in events if not e.is_open)
                if on_frame is not None:
                    on_frame(frame, obs, events)
                if stop.is_set():
                    out.interrupted = True
                    break
        except SourceError as exc:
            out.error = str(exc)
        except KeyboardInterrupt:
            out.interrupted = True
        finally:
            source.close()
            if audio is not None:
                audio.close()
    out.final = pipeline.finish()
    out.events.extend(out.final)
    return out


@contextmanager
def _stop_on_sigint() -> Iterator[threading.Event]:
    """While running, the first SIGINT asks to stop between frames; a second raises."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
