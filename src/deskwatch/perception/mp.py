"""MediaPipe's legacy ``solutions`` API, imported on first use without its side imports.

``import mediapipe`` imports matplotlib (for plotting helpers), which writes a font cache
into the user's home, and sounddevice (for the audio tasks), whose library lookup runs
gcc with temporary files. deskwatch uses neither through MediaPipe, and on an agent's PC
nothing should be written, so both are stood in for during that import only; a later
``import matplotlib`` or ``import sounddevice`` elsewhere gets the real package.
"""

from __future__ import annotations

import sys
import types
from functools import cache
from typing import Any


@cache
def solutions() -> Any:
    """``mediapipe.python.solutions``, imported the first time a model is built."""
    names = ("matplotlib", "matplotlib.pyplot", "sounddevice")
    stubbed = [n for n in names if n not in sys.modules]
    for name in stubbed:
        sys.modules[name] = types.ModuleType(name)
    try:
        from mediapipe.python import solutions
    finally:
        for name in stubbed:
            del sys.modules[name]
    return solutions
