"""The unit that flows from capture into perception."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded picture with its source timestamp.

    ``ts`` is seconds of *source* time (position in the video, or seconds since a camera
    was opened), never the wall clock, so replaying a recording gives the same events.
    The pixels live only in memory: nothing in deskwatch writes a Frame to disk.
    """

    image: Image  # BGR, HxWx3, uint8
    ts: float
    index: int

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"Frame image must be HxWx3 uint8, got {self.image.shape}")

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])
