"""Capture: turn a file, folder, camera or stream into timestamped frames."""

from deskwatch.capture.frame import Frame
from deskwatch.capture.source import FrameSource, open_source

__all__ = ["Frame", "FrameSource", "open_source"]
