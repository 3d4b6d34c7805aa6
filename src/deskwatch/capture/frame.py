"""The unit that flows from capture into perception."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from deskwatch.arrays import Image, as_image


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
    _thumb: list[Image] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"Frame image must be HxWx3 uint8, got {self.image.shape}")

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    def thumbnail(self, width: int = 160) -> Image:
        """A small grey copy (about ``width`` px wide) for cheap whole-picture statistics.

        Made once per frame; an integer area reduction keeps it cheap and noise-averaged.
        """
        if not self._thumb:
            grey = cv2.cvtColor(self.image, cv2.COLOR_BGR2GRAY)
            factor = max(1, self.width // width)
            if factor > 1:
                grey = cv2.resize(
                    grey, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA
                )
            self._thumb.append(as_image(grey))
        return self._thumb[0]
